// Object rewriting with top-level edits (see rewrite.hpp). Pure: no I/O.
#include "aiproxy/json/rewrite.hpp"

#include "aiproxy/json/text_scan.hpp"
#include "aiproxy/json/writer.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <cstring>

namespace aiproxy::json {

namespace {

bool same_key(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && (a.empty() || a[0] == b[0]) && a == b;
}

// Index of the last edit for `key`, or -1.
int last_edit_for(std::span<const field_edit> edits, std::string_view key) {
  for (std::size_t i = edits.size(); i-- > 0;) {
    if (same_key(edits[i].key, key)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

/// Which edits a later edit of the same key replaces, as a bit per edit, found in one pass.
class superseded_edits {
 public:
  explicit superseded_edits(std::span<const field_edit> edits) : edits_(edits) {
    if (edits.size() > 64) {
      return;  // asked edit by edit instead
    }
    for (std::size_t i = 0; i < edits.size(); ++i) {
      for (std::size_t j = i + 1; j < edits.size(); ++j) {
        if (same_key(edits[i].key, edits[j].key)) {
          bits_ |= std::uint64_t{1} << i;
          break;
        }
      }
    }
  }
  bool operator[](std::size_t i) const {
    return edits_.size() > 64 ? last_edit_for(edits_, edits_[i].key) != static_cast<int>(i)
                              : ((bits_ >> i) & 1) != 0;
  }

 private:
  std::span<const field_edit> edits_;
  std::uint64_t bits_ = 0;
};

/// True for the bytes write_string (writer.hpp) escapes.
constexpr bool escaped(unsigned char c) noexcept {
  return c < 0x20 || c == '"' || c == '\\';
}

bool has_escapes(std::string_view s) noexcept {
  for (const char c : s) {
    if (escaped(static_cast<unsigned char>(c))) {
      return true;
    }
  }
  return false;
}

/// True when the edit leaves the client's value of a present key as it is.
bool same_value(const boost::json::value& v, std::string_view edit_json, std::string& scratch) {
  if (v.is_object() || v.is_array()) {
    return false;  // not worth comparing: rewrite
  }
  scratch.clear();
  write_value(scratch, v);
  return scratch == edit_json;
}

/// Appends `,"key":json` (no comma when `first`), the key written as write_string writes it.
void append_member(std::string& out, std::string_view key, std::string_view json, bool first) {
  if (has_escapes(key)) {
    if (!first) {
      out.push_back(',');
    }
    write_string(out, key);
    out.push_back(':');
    out.append(json);
    return;
  }
  const std::size_t at = out.size();
  out.resize(at + (first ? 0 : 1) + key.size() + 3 + json.size());
  char* p = out.data() + at;
  if (!first) {
    *p++ = ',';
  }
  *p++ = '"';
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '"';
  *p++ = ':';
  std::memcpy(p, json.data(), json.size());
}

/// The client's bytes with the edits of keys `client_has` does not know appended before the
/// closing brace at `close`.
template <class Contains>
void append_new_keys(std::string& out, std::string_view raw, std::size_t close, bool empty,
                     std::span<const field_edit> edits, const superseded_edits& superseded,
                     Contains client_has) {
  bool appends = false;
  for (std::size_t i = 0; i < edits.size() && !appends; ++i) {
    appends = !edits[i].remove && !client_has(edits[i].key);
  }
  if (!appends) {
    out.append(raw);
    return;
  }
  out.append(raw.substr(0, close));
  bool first = empty;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto& edit = edits[i];
    if (edit.remove || superseded[i] || client_has(edit.key)) {
      continue;
    }
    append_member(out, edit.key, edit.json, first);
    first = false;
  }
  out.append(raw.substr(close));
}

/// True when write_scalar would write `m` as `json`. A string without bytes to escape is written
/// as itself in quotes, so it is compared in place; anything else is written out and compared.
bool same_scalar(const top_level_member& m, std::string_view json, std::string& scratch) {
  if (m.kind == member_kind::string && json.size() == m.text.size() + 2) {
    // write_string gives exactly two bytes more than the text only when nothing is escaped.
    return json.front() == '"' && json.back() == '"' && json.substr(1, m.text.size()) == m.text &&
           !has_escapes(m.text);
  }
  scratch.clear();
  top_level_index::write_scalar(scratch, m);
  return scratch == json;
}

}  // namespace

void write_edited_object(std::string& out, std::string_view raw, const boost::json::object& obj,
                         std::span<const field_edit> edits) {
  const auto close = raw.find_last_of('}');
  if (raw.empty() || close == std::string_view::npos) {
    write_object_with_edits(out, obj, edits);
    return;
  }
  std::string scratch;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto& edit = edits[i];
    if (last_edit_for(edits, edit.key) != static_cast<int>(i)) {
      continue;  // superseded
    }
    const auto* present = obj.if_contains(edit.key);
    if (present == nullptr) {
      continue;
    }
    if (edit.remove || !same_value(*present, edit.json, scratch) ||
        key_occurrences(raw, edit.key) != 1) {
      write_object_with_edits(out, obj, edits);
      return;
    }
  }
  append_new_keys(out, raw, close, obj.empty(), edits, superseded_edits(edits),
                  [&](std::string_view key) { return obj.contains(key); });
}

bool write_edited_index(std::string& out, std::string_view raw, const top_level_index& index,
                        std::span<const field_edit> edits) {
  const auto close = raw.find_last_of('}');
  if (close == std::string_view::npos || !index.is_object() || index.has_duplicate_keys()) {
    return false;
  }
  const superseded_edits superseded(edits);
  std::string scratch;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto& edit = edits[i];
    if (superseded[i]) {
      continue;
    }
    const auto* present = index.find(edit.key);
    if (present == nullptr) {
      continue;
    }
    if (edit.remove || present->kind == member_kind::object ||
        present->kind == member_kind::array) {
      return false;
    }
    if (!same_scalar(*present, edit.json, scratch)) {
      return false;
    }
  }
  append_new_keys(out, raw, close, index.members().empty(), edits, superseded,
                  [&](std::string_view key) { return index.contains(key); });
  return true;
}

void write_object_with_edits(std::string& out, const boost::json::object& obj,
                             std::span<const field_edit> edits) {
  // Edits are few (a handful per request): linear scans beat any map here.
  out.push_back('{');
  bool first = true;
  const auto emit_key = [&](std::string_view key) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    write_string(out, key);
    out.push_back(':');
  };
  for (const auto& kv : obj) {
    const std::string_view key = kv.key();
    const int e = last_edit_for(edits, key);
    if (e < 0) {
      emit_key(key);
      write_value(out, kv.value());
      continue;
    }
    if (!edits[static_cast<std::size_t>(e)].remove) {
      emit_key(key);
      out.append(edits[static_cast<std::size_t>(e)].json);
    }
  }
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto& edit = edits[i];
    if (edit.remove || last_edit_for(edits, edit.key) != static_cast<int>(i) ||
        obj.contains(edit.key)) {
      continue;  // removed, superseded, or already written in the client's position
    }
    emit_key(edit.key);
    out.append(edit.json);
  }
  out.push_back('}');
}

}  // namespace aiproxy::json
