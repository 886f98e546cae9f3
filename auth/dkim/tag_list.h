// RFC 6376 §3.2 tag=value lists, the syntax of DKIM-Signature header fields
// and of DKIM key records.
//
// The parser is strict: it follows the §3.2 ABNF exactly and returns where and
// why it stopped. Values are views into the caller's buffer with surrounding
// FWS removed and inner FWS kept byte for byte (§3.2: "Whitespace within a
// value MUST be retained unless explicitly excluded by the specific tag
// description"); tags that exclude it (b=, bh=, p=) strip it with StripFws.

#ifndef MXKIT_AUTH_DKIM_TAG_LIST_H_
#define MXKIT_AUTH_DKIM_TAG_LIST_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::auth::dkim {

// RFC 6376 sets no upper bound on a tag-list; these are ours. A DKIM-Signature
// of a 4096-bit RSA key with a long h= list is about 1.5 KB, a key record of
// an 8192-bit key about 1.5 KB; 64 KiB and 64 tags leave room for any honest
// producer while bounding work per header field.
inline constexpr std::size_t kMaxTagListBytes = 64 * 1024;
inline constexpr std::size_t kMaxTags = 64;

enum class TagListError {
  kOk,
  kTooLong,           // input exceeds kMaxTagListBytes
  kTooManyTags,       // more than kMaxTags tag-specs
  kExpectedTagName,   // tag-name must start with ALPHA (§3.2)
  kExpectedEquals,    // tag-name not followed by [FWS] "="
  kInvalidValueChar,  // byte outside VALCHAR/FWS inside a tag-value
  kMalformedFws,      // CRLF not followed by WSP (not FWS, RFC 5322 §3.2.2)
  kDuplicateTag,      // §3.2: "the entire tag-list is invalid"
  kEmptyTagSpec,      // ";;" or FWS after the final ";" (see TagListOptions)
};

// The enumerator's name without the leading 'k' ("DuplicateTag").
std::string_view TagListErrorName(TagListError error);

struct TagListOptions {
  // Leniency: accept empty tag-specs, i.e. ";;" and whitespace after the final
  // ";". The §3.2 grammar (tag-spec *( ";" tag-spec ) [ ";" ]) forbids them,
  // but DNS publishers routinely write "v=DKIM1; p=...; " and widely deployed
  // verifiers (dkimpy, OpenDKIM) accept it. Not a security risk: an empty
  // tag-spec carries no data. Off by default.
  bool allow_empty_tag_spec = false;
};

struct Tag {
  std::string_view name;   // case-sensitive (§3.2)
  std::string_view value;  // without leading/trailing FWS; may be empty
  std::size_t name_offset = 0;
  std::size_t value_offset = 0;  // where the value starts (or would start)
};

struct TagList {
  std::vector<Tag> tags;  // in input order

  // The tag named exactly `name`, or nullptr.
  const Tag* Find(std::string_view name) const;
  // Position of `name` in `tags`, or -1.
  int IndexOf(std::string_view name) const;
};

struct TagListResult {
  TagListError error = TagListError::kOk;
  std::size_t offset = 0;  // byte offset where parsing stopped (on error)
  std::string message;     // what, where and why (on error)
  TagList list;            // complete on success, partial on error

  bool ok() const { return error == TagListError::kOk; }
};

// Parses `input` (a DKIM-Signature field value or a key record) as an
// RFC 6376 §3.2 tag-list. On success every tag is listed with views into
// `input`; on failure `error`, `offset` and `message` say where and why.
TagListResult ParseTagList(std::string_view input, const TagListOptions& options = {});

// `value` with every WSP, CR and LF removed: the form of tags whose
// description excludes whitespace (b=, bh=, p=; RFC 6376 §3.5, §3.6.1).
std::string StripFws(std::string_view value);

// True for RFC 5234 WSP (SP, HTAB).
constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace mxkit::auth::dkim

#endif  // MXKIT_AUTH_DKIM_TAG_LIST_H_
