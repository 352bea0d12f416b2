#pragma once
// Writes a client's parsed JSON object as a new body with a few top-level fields replaced,
// added or removed, without copying the parsed tree. Used by the passthrough translators
// (OpenAI-compatible providers) to build the upstream body in one pass. Pure, no I/O.

#include "aiproxy/json/top_level_index.hpp"

#include <boost/json/fwd.hpp>

#include <span>
#include <string>
#include <string_view>

namespace aiproxy::json {

/// One top-level change. `json` is the replacement value as JSON text (see writer.hpp).
/// When several edits name the same key, the last one wins.
struct field_edit {
  std::string_view key;
  std::string json;
  bool remove = false;

  static field_edit set(std::string_view key, std::string json) {
    return field_edit{key, std::move(json), false};
  }
  static field_edit erase(std::string_view key) { return field_edit{key, {}, true}; }
};

/// Appends `obj` to `out` as compact JSON with `edits` applied: a replaced key keeps its
/// position, a removed key is skipped, a new key is appended after the client's keys in the
/// order of `edits`.
void write_object_with_edits(std::string& out, const boost::json::object& obj,
                             std::span<const field_edit> edits);

/// The same result for an upstream, written from `raw`, the text `obj` was parsed from, when the
/// edits allow: when no edit changes a key the client sent (an erase of an absent key, or a set
/// to the value the key already has, are no change), the client's bytes go out as they came and
/// new keys are appended before the closing brace. A key left alone this way must appear once in
/// `raw`, so that a duplicated key cannot show the upstream another value than the one checked.
/// Otherwise, or when `raw` is empty, it falls back to write_object_with_edits.
void write_edited_object(std::string& out, std::string_view raw, const boost::json::object& obj,
                         std::span<const field_edit> edits);

/// write_edited_object's splice from an index of `raw` (which has no key written twice, so that
/// the upstream sees each key once whatever it is written as): the client's bytes with the new
/// keys appended. Returns false, writing nothing, when an edit would change or remove a key the
/// client sent; the caller then parses `raw` and writes the object with the edits.
bool write_edited_index(std::string& out, std::string_view raw, const top_level_index& index,
                        std::span<const field_edit> edits);

}  // namespace aiproxy::json
