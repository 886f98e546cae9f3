// Fuzz target for //auth/dkim:tag_list (ParseTagList, RFC 6376 §3.2).
//
// Input: byte 0 selects the options, the rest is the tag-list.
// Properties checked (a violation traps):
//  1. On success each tag's name and value are the input bytes at their
//     stated offsets; names are ALPHA *ALNUMPUNC and unique; values neither
//     start nor end with whitespace and contain no ';'.
//  2. Round trip: joining "name=value" with ";" and parsing again gives the
//     same tags (names and values).
//  3. The leniency only widens: what the strict parser accepts, the lenient
//     one accepts with the same tags.
//  4. On failure the offset lies within the input (or at its end).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim/tag_list.h"

namespace {

using mxkit::auth::dkim::IsWsp;
using mxkit::auth::dkim::ParseTagList;
using mxkit::auth::dkim::TagListOptions;
using mxkit::auth::dkim::TagListResult;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool SameTags(const TagListResult& a, const TagListResult& b) {
  if (a.list.tags.size() != b.list.tags.size()) return false;
  for (std::size_t i = 0; i < a.list.tags.size(); ++i) {
    if (a.list.tags[i].name != b.list.tags[i].name) return false;
    if (a.list.tags[i].value != b.list.tags[i].value) return false;
  }
  return true;
}

bool IsSpace(char c) { return IsWsp(c) || c == '\r' || c == '\n'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  TagListOptions options;
  options.allow_empty_tag_spec = (data[0] & 1) != 0;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  TagListResult r = ParseTagList(input, options);
  if (!r.ok()) {
    Check(r.offset <= input.size());
    Check(!r.message.empty());
    return 0;
  }
  for (std::size_t i = 0; i < r.list.tags.size(); ++i) {
    const auto& tag = r.list.tags[i];
    Check(input.substr(tag.name_offset, tag.name.size()) == tag.name);
    Check(input.substr(tag.value_offset, tag.value.size()) == tag.value);
    Check(!tag.name.empty());
    if (!tag.value.empty()) {
      Check(!IsSpace(tag.value.front()) && !IsSpace(tag.value.back()));
    }
    Check(tag.value.find(';') == std::string_view::npos);
    for (std::size_t j = 0; j < i; ++j) Check(r.list.tags[j].name != tag.name);
  }
  std::string joined;
  for (const auto& tag : r.list.tags) {
    if (!joined.empty()) joined += ';';
    joined.append(tag.name).append("=").append(tag.value);
  }
  if (!r.list.tags.empty()) {
    TagListResult again = ParseTagList(joined);
    Check(again.ok());
    Check(SameTags(r, again));
  }
  if (!options.allow_empty_tag_spec) {
    TagListOptions lenient;
    lenient.allow_empty_tag_spec = true;
    TagListResult wide = ParseTagList(input, lenient);
    Check(wide.ok());
    Check(SameTags(r, wide));
  }
  return 0;
}
