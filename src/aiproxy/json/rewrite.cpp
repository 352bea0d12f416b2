// Object rewriting with top-level edits (see rewrite.hpp). Pure: no I/O.
#include "aiproxy/json/rewrite.hpp"

#include "aiproxy/json/text_scan.hpp"
#include "aiproxy/json/writer.hpp"

#include <boost/json/object.hpp>

namespace aiproxy::json {

namespace {

// Index of the last edit for `key`, or -1.
int last_edit_for(std::span<const field_edit> edits, std::string_view key) {
  for (std::size_t i = edits.size(); i-- > 0;) {
    if (edits[i].key == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
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

/// The client's bytes with the edits of keys `client_has` does not know appended before the
/// closing brace at `close`.
template <class Contains>
void append_new_keys(std::string& out, std::string_view raw, std::size_t close, bool empty,
                     std::span<const field_edit> edits, Contains client_has) {
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
    if (edit.remove || last_edit_for(edits, edit.key) != static_cast<int>(i) ||
        client_has(edit.key)) {
      continue;
    }
    if (!first) {
      out.push_back(',');
    }
    first = false;
    write_string(out, edit.key);
    out.push_back(':');
    out.append(edit.json);
  }
  out.append(raw.substr(close));
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
  append_new_keys(out, raw, close, obj.empty(), edits,
                  [&](std::string_view key) { return obj.contains(key); });
}

bool write_edited_index(std::string& out, std::string_view raw, const top_level_index& index,
                        std::span<const field_edit> edits) {
  const auto close = raw.find_last_of('}');
  if (close == std::string_view::npos || !index.is_object() || index.has_duplicate_keys()) {
    return false;
  }
  std::string scratch;
  for (std::size_t i = 0; i < edits.size(); ++i) {
    const auto& edit = edits[i];
    if (last_edit_for(edits, edit.key) != static_cast<int>(i)) {
      continue;  // superseded
    }
    const auto* present = index.find(edit.key);
    if (present == nullptr) {
      continue;
    }
    if (edit.remove || present->kind == member_kind::object ||
        present->kind == member_kind::array) {
      return false;
    }
    scratch.clear();
    top_level_index::write_scalar(scratch, *present);
    if (scratch != edit.json) {
      return false;
    }
  }
  append_new_keys(out, raw, close, index.members().empty(), edits,
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
