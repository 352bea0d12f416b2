// The incremental multipart/form-data scanner (multipart_stream.hpp): a small state machine over
// one buffer of not-yet-released bytes (a partial delimiter, unfinished part headers, the closing
// delimiter and epilogue); everything else is handed back at once. Pure: no I/O.

#include "aiproxy/providers/multipart_stream.hpp"

#include "aiproxy/providers/openai_api_family.hpp"

#include <algorithm>

namespace aiproxy::providers {

namespace {

constexpr std::size_t max_padding_bytes = 256;  // transport padding after a delimiter
constexpr std::size_t max_kept_name_bytes = 256;

}  // namespace

multipart_scanner::multipart_scanner(std::string boundary, std::vector<std::string> captured,
                                     std::size_t max_value)
    : boundary_(std::move(boundary)), max_value_(max_value) {
  dash_boundary_ = "--" + boundary_;
  delimiter_ = "\r\n" + dash_boundary_;
  captures_.reserve(captured.size());
  for (auto& name : captured) {
    captures_.push_back(capture{std::move(name), field_state::absent, {}});
  }
  if (boundary_.empty()) {
    (void)fail("empty boundary");
  }
}

error multipart_scanner::fail(std::string_view why) {
  if (stage_ != stage::failed) {
    stage_ = stage::failed;
    error_ = "request body is not valid multipart/form-data: " + std::string(why);
  }
  return error::bad_request(error_);
}

void multipart_scanner::take_content(std::size_t end) {
  const std::size_t n = end - pos_;
  if (stage_ == stage::preamble) {
    preamble_ += n;
  } else if (current_ != nullptr && n != 0) {
    if (current_->value.size() + n > max_value_) {
      current_->state = field_state::too_long;
      current_->value.clear();
      current_->value.shrink_to_fit();
      current_ = nullptr;
    } else {
      current_->value.append(buf_, pos_, n);
    }
  }
  consumed_ += n;
  pos_ = end;
}

void multipart_scanner::end_part() {
  if (current_ != nullptr && current_->state == field_state::reading) {
    current_->state = field_state::complete;
  }
  current_ = nullptr;
}

result<void> multipart_scanner::scan() {
  for (;;) {
    switch (stage_) {
      case stage::failed:
        return error::bad_request(error_);

      case stage::preamble:
      case stage::content: {
        if (at_start_) {  // the first delimiter may open the body without a CRLF before it
          const std::size_t have = buf_.size() - pos_;
          const std::size_t n = std::min(have, dash_boundary_.size());
          if (buf_.compare(pos_, n, dash_boundary_, 0, n) == 0) {
            if (have < dash_boundary_.size()) {
              return {};
            }
            at_start_ = false;
            bare_ = true;
            delimiter_length_ = dash_boundary_.size();
            stage_ = stage::after_delimiter;
            continue;
          }
          at_start_ = false;
        }
        const auto at = buf_.find(delimiter_, pos_);
        if (at == std::string::npos) {
          // Keep back only a tail that may be the start of a delimiter.
          const std::size_t window = std::min(buf_.size() - pos_, delimiter_.size() - 1);
          std::size_t keep_at = buf_.size();
          for (std::size_t i = buf_.size() - window; i < buf_.size(); ++i) {
            if (buf_[i] == '\r' &&
                buf_.compare(i, buf_.size() - i, delimiter_, 0, buf_.size() - i) == 0) {
              keep_at = i;
              break;
            }
          }
          take_content(keep_at);
          if (stage_ == stage::preamble && preamble_ > max_preamble_bytes) {
            return fail("no delimiter in the first " + std::to_string(max_preamble_bytes) +
                        " bytes");
          }
          return {};
        }
        take_content(at);
        if (stage_ == stage::preamble && preamble_ > max_preamble_bytes) {
          return fail("no delimiter in the first " + std::to_string(max_preamble_bytes) + " bytes");
        }
        bare_ = false;
        delimiter_length_ = delimiter_.size();
        stage_ = stage::after_delimiter;
        continue;
      }

      case stage::after_delimiter: {
        const std::size_t q = pos_ + delimiter_length_;
        if (buf_.size() < q + 2) {
          return {};
        }
        if (buf_[q] == '-' && buf_[q + 1] == '-') {
          end_part();
          hold_from_ = pos_;
          close_bare_ = bare_;
          stage_ = stage::closing;
          continue;
        }
        std::size_t r = q;
        while (r < buf_.size() && (buf_[r] == ' ' || buf_[r] == '\t')) {
          ++r;
        }
        if (r - q > max_padding_bytes) {
          return fail("a delimiter line is too long");
        }
        if (buf_.size() < r + 2) {
          return {};
        }
        if (buf_[r] != '\r' || buf_[r + 1] != '\n') {
          return fail("a delimiter is not followed by a line break");
        }
        end_part();
        if (parts_.size() >= max_parts) {
          return fail("more than " + std::to_string(max_parts) + " parts");
        }
        consumed_ += r + 2 - pos_;
        pos_ = r + 2;
        header_search_ = pos_;
        stage_ = stage::headers;
        continue;
      }

      case stage::headers: {
        if (buf_.size() - pos_ < 2) {
          return {};
        }
        std::string_view headers;
        std::size_t content_at = 0;
        if (buf_[pos_] == '\r' && buf_[pos_ + 1] == '\n') {
          content_at = pos_ + 2;  // a part without headers
        } else {
          const auto end = buf_.find("\r\n\r\n", std::max(header_search_, pos_));
          if (end == std::string::npos) {
            if (buf_.size() - pos_ > max_part_header_bytes) {
              return fail("part headers longer than " + std::to_string(max_part_header_bytes) +
                          " bytes");
            }
            header_search_ = std::max(pos_, buf_.size() - std::min<std::size_t>(buf_.size(), 3));
            return {};
          }
          if (end - pos_ > max_part_header_bytes) {
            return fail("part headers longer than " + std::to_string(max_part_header_bytes) +
                        " bytes");
          }
          headers = std::string_view(buf_).substr(pos_, end - pos_);
          content_at = end + 4;
        }
        auto d = read_multipart_disposition(headers);
        multipart_part part;
        part.file = d.file;
        if (d.name) {
          part.name = d.name->substr(0, max_kept_name_bytes);
        }
        current_ = nullptr;
        if (!d.file && d.name) {
          for (auto& c : captures_) {
            if (c.name == *d.name && c.state == field_state::absent) {
              c.state = field_state::reading;
              current_ = &c;
              break;
            }
          }
        }
        parts_.push_back(std::move(part));
        consumed_ += content_at - pos_;
        pos_ = content_at;
        stage_ = stage::content;
        continue;
      }

      case stage::closing:
        if (buf_.size() - hold_from_ > max_epilogue_bytes + delimiter_.size() + 2) {
          return fail("an epilogue longer than " + std::to_string(max_epilogue_bytes) + " bytes");
        }
        return {};
    }
  }
}

result<std::string_view> multipart_scanner::feed(std::string_view piece) {
  if (stage_ == stage::failed) {
    return error::bad_request(error_);
  }
  if (finished_) {
    return fail("bytes after the end of the body");
  }
  // Drop what the last call handed out; positions move with the buffer.
  buf_.erase(0, give_);
  pos_ -= std::min(pos_, give_);
  hold_from_ -= std::min(hold_from_, give_);
  header_search_ -= std::min(header_search_, give_);
  give_ = 0;
  buf_.append(piece);
  if (auto r = scan(); !r) {
    return r.error();
  }
  give_ = stage_ == stage::closing ? hold_from_ : pos_;
  released_total_ += give_;
  return std::string_view(buf_.data(), give_);
}

result<std::string_view> multipart_scanner::finish() {
  if (stage_ == stage::failed) {
    return error::bad_request(error_);
  }
  if (finished_) {
    return std::string_view();
  }
  if (stage_ != stage::closing) {
    return fail("the body ended before its closing delimiter");
  }
  finished_ = true;
  buf_.erase(0, give_);
  hold_from_ -= std::min(hold_from_, give_);
  give_ = 0;
  tail_.clear();
  if (!added_.empty()) {
    if (close_bare_) {  // no part before: the added ones open the body bare
      tail_.append(added_, 2, std::string::npos);
      tail_ += "\r\n";
    } else {
      tail_ += added_;
    }
  }
  tail_.append(buf_, hold_from_, std::string::npos);
  buf_.clear();
  buf_.shrink_to_fit();
  released_total_ += tail_.size();
  return std::string_view(tail_);
}

bool multipart_scanner::add_field(std::string_view name, std::string_view value) {
  if (finished_ || name.find_first_of("\"\\\r\n") != std::string_view::npos ||
      value.find_first_of("\r\n") != std::string_view::npos) {
    return false;
  }
  added_ += "\r\n";
  added_ += dash_boundary_;
  added_ += "\r\nContent-Disposition: form-data; name=\"";
  added_ += name;
  added_ += "\"\r\n\r\n";
  added_ += value;
  return true;
}

multipart_scanner::field_state multipart_scanner::state(std::string_view name) const noexcept {
  for (const auto& c : captures_) {
    if (c.name == name) {
      return c.state;
    }
  }
  return field_state::absent;
}

const std::string* multipart_scanner::value(std::string_view name) const noexcept {
  for (const auto& c : captures_) {
    if (c.name == name) {
      return c.state == field_state::complete ? &c.value : nullptr;
    }
  }
  return nullptr;
}

}  // namespace aiproxy::providers
