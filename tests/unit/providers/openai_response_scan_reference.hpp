#pragma once
// Test-only oracle for scan_openai_response: the original one-pass scan on Boost.JSON's SAX
// basic_parser (with the same handler the gateway used before the hand-written scanner). The
// differential tests in openai_response_scan_test.cpp require both to agree on every input.

#include "aiproxy/providers/openai_response_scan.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aiproxy::providers::reference {

namespace detail {

/// Where a value sits, as far as the scan cares.
enum class frame : std::uint8_t {
  other,               // anything the scan ignores
  root,                // the top-level object
  choices,             // root.choices (array)
  choice,              // root.choices[i] (object)
  usage,               // root.usage (object)
  prompt_details,      // root.usage.prompt_tokens_details
  completion_details,  // root.usage.completion_tokens_details
};

class scan_handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit scan_handler(std::string_view payload_field) : payload_field_(payload_field) {
    frames_.reserve(8);
  }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }

  bool on_object_begin(boost::system::error_code&) {
    frame f = frame::other;
    if (frames_.empty()) {
      f = frame::root;
      result_.is_object = true;
    } else {
      switch (frames_.back()) {
        case frame::root:
          f = key_ == "usage" ? frame::usage : frame::other;
          break;
        case frame::choices:
          f = frame::choice;
          break;
        case frame::usage:
          f = key_ == "prompt_tokens_details"       ? frame::prompt_details
              : key_ == "completion_tokens_details" ? frame::completion_details
                                                    : frame::other;
          break;
        default:
          break;
      }
    }
    frames_.push_back(f);
    key_.clear();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    if (frames_.back() == frame::usage) {
      finish_usage();
    }
    frames_.pop_back();
    return true;
  }

  bool on_array_begin(boost::system::error_code&) {
    frame f = frame::other;
    if (!frames_.empty() && frames_.back() == frame::root) {
      result_.has_payload = result_.has_payload || key_ == payload_field_;
      f = key_ == "choices" ? frame::choices : frame::other;
    }
    frames_.push_back(f);
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    frames_.pop_back();
    return true;
  }

  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    if (!key_partial_) {
      key_.clear();
      key_partial_ = true;
    }
    key_.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code&) {
    if (!key_partial_) {
      key_.clear();
    }
    key_.append(s);
    key_partial_ = false;
    return true;
  }

  bool on_string_part(std::string_view s, std::size_t, boost::system::error_code&) {
    if (wants_string()) {
      string_.append(s);
    }
    return true;
  }
  bool on_string(std::string_view s, std::size_t, boost::system::error_code&) {
    if (wants_string()) {
      string_.append(s);
      if (frames_.back() == frame::root) {
        if (!string_.empty()) {
          result_.summary.response_model = string_;
        }
      } else if (!finish_set_) {
        result_.summary.finish_reason = string_;
        finish_set_ = true;
      }
      string_.clear();
    }
    end_value();
    return true;
  }

  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t v, std::string_view, boost::system::error_code&) {
    if (v >= 0) {
      count(v);
    }
    end_value();
    return true;
  }
  bool on_uint64(std::uint64_t v, std::string_view, boost::system::error_code&) {
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      count(static_cast<std::int64_t>(v));
    }
    end_value();
    return true;
  }
  bool on_double(double v, std::string_view, boost::system::error_code&) {
    if (v >= 0.0 && v <= 9.0e18 && std::floor(v) == v) {
      count(static_cast<std::int64_t>(v));
    }
    end_value();
    return true;
  }
  bool on_bool(bool, boost::system::error_code&) {
    end_value();
    return true;
  }
  bool on_null(boost::system::error_code&) {
    end_value();
    return true;
  }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

  openai_response_scan& result() { return result_; }

 private:
  // The string values the scan keeps: root.model and choices[i].finish_reason.
  bool wants_string() const {
    if (frames_.empty()) {
      return false;
    }
    return (frames_.back() == frame::root && key_ == "model") ||
           (frames_.back() == frame::choice && key_ == "finish_reason");
  }

  void end_value() { string_.clear(); }

  void count(std::int64_t v) {
    if (frames_.empty()) {
      return;
    }
    switch (frames_.back()) {
      case frame::usage:
        if (key_ == "prompt_tokens") {
          usage_.prompt_tokens = v;
          has_prompt_ = true;
        } else if (key_ == "completion_tokens") {
          usage_.completion_tokens = v;
          has_completion_ = true;
        } else if (key_ == "total_tokens") {
          usage_.total_tokens = v;
          has_total_ = true;
        }
        break;
      case frame::prompt_details:
        if (key_ == "cached_tokens") {
          usage_.cached_tokens = v;
        }
        break;
      case frame::completion_details:
        if (key_ == "reasoning_tokens") {
          usage_.reasoning_tokens = v;
        }
        break;
      default:
        break;
    }
  }

  void finish_usage() {
    if (!has_total_) {
      // Counts reach int64's maximum; their sum wraps (as the plain addition did on every target
      // the gateway runs on) instead of being undefined.
      usage_.total_tokens =
          static_cast<std::int64_t>(static_cast<std::uint64_t>(usage_.prompt_tokens) +
                                    static_cast<std::uint64_t>(usage_.completion_tokens));
    }
    usage_.known = has_prompt_ || has_completion_ || has_total_;
    if (usage_.known) {
      result_.summary.usage = usage_;
    }
    usage_ = {};
    has_prompt_ = has_completion_ = has_total_ = false;
  }

  std::string_view payload_field_;
  std::vector<frame> frames_;
  std::string key_;
  std::string string_;
  bool key_partial_ = false;  // a key's first parts arrived through on_key_part
  bool finish_set_ = false;
  json::usage usage_;
  bool has_prompt_ = false;
  bool has_completion_ = false;
  bool has_total_ = false;
  openai_response_scan result_;
};

}  // namespace detail

/// The Boost.JSON basic_parser scan, kept as the oracle for the hand-written scanner.
inline std::optional<openai_response_scan> scan_openai_response(std::string_view body,
                                                                std::string_view payload_field) {
  // The body reaches the client as the upstream sent it, so its strings' UTF-8 is the
  // upstream's business: not checking it saves a fifth of the scan.
  boost::json::parse_options opts;
  opts.allow_invalid_utf8 = true;
  boost::json::basic_parser<detail::scan_handler> parser(opts, payload_field);
  boost::system::error_code ec;
  const std::size_t n = parser.write_some(false, body.data(), body.size(), ec);
  if (ec || n != body.size() || !parser.done()) {
    return std::nullopt;
  }
  return std::move(parser.handler().result());
}

}  // namespace aiproxy::providers::reference
