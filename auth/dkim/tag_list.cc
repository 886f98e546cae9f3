#include "auth/dkim/tag_list.h"

#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "auth/dkim/internal/cat.h"
#include "base/ascii.h"

namespace mxkit::auth::dkim {
namespace {

using internal::Cat;

using base::IsAlpha;
using base::IsDigit;
// ALNUMPUNC = ALPHA / DIGIT / "_" (§3.2).
bool IsAlnumPunc(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }
// VALCHAR = %x21-3A / %x3C-7E (§3.2): printable ASCII except ";".
bool IsValChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && u != 0x3b;
}

// End of the run of VALCHARs starting at `i`.
std::size_t ValCharRunEnd(std::string_view in, std::size_t i) {
  const char* p = in.data();
  const std::size_t n = in.size();
#if defined(__SSE2__)
  // Sixteen bytes at a time: b= and p= values are runs of hundreds of
  // base64 bytes. Signed compares suffice: bytes >= 0x80 are negative, so
  // below 0x21.
  const __m128i lo = _mm_set1_epi8(0x20);
  const __m128i hi = _mm_set1_epi8(0x7f);
  const __m128i semicolon = _mm_set1_epi8(';');
  while (i + 16 <= n) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(w, semicolon),
                                        _mm_and_si128(_mm_cmpgt_epi8(w, lo), _mm_cmplt_epi8(w, hi)));
    const unsigned bad = ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xffffu;
    if (bad != 0) return i + static_cast<std::size_t>(__builtin_ctz(bad));
    i += 16;
  }
#endif
  while (i < n && IsValChar(p[i])) ++i;
  return i;
}

// Tag names are short (1-2 bytes): an inline comparison beats memcmp calls.
inline bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

class Parser {
 public:
  Parser(std::string_view in, const TagListOptions& options) : in_(in), options_(options) {}

  TagListResult Run() {
    // A DKIM-Signature has about a dozen tags, a key record a few: one
    // allocation instead of a vector growing through 1, 2, 4, 8, 16.
    result_.list.tags.reserve(16);
    if (in_.size() > kMaxTagListBytes) {
      return Fail(TagListError::kTooLong, kMaxTagListBytes,
                  Cat("tag-list is ", in_.size(), " bytes, over the limit of ",
                               kMaxTagListBytes));
    }
    // tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
    for (;;) {
      std::size_t spec_start = pos_;
      if (!SkipFws()) return result_;
      if (pos_ == in_.size() || in_[pos_] == ';') {
        // An empty tag-spec. Legal only as the nothing after a final ";" when
        // it really is nothing; otherwise it needs the leniency switch.
        bool after_semicolon = !result_.list.tags.empty() || had_empty_spec_;
        bool nothing = pos_ == spec_start && pos_ == in_.size();
        if (!(after_semicolon && nothing) && !options_.allow_empty_tag_spec) {
          if (pos_ == in_.size() && !after_semicolon) {
            return Fail(TagListError::kExpectedTagName, pos_,
                        "empty tag-list: expected a tag-name (RFC 6376 §3.2)");
          }
          return Fail(TagListError::kEmptyTagSpec, pos_,
                      "empty tag-spec (\";;\" or whitespace after the final \";\"), "
                      "not allowed by RFC 6376 §3.2");
        }
        had_empty_spec_ = true;
        if (pos_ == in_.size()) break;
        ++pos_;  // the ";"
        continue;
      }
      if (!ParseTagSpec()) return result_;
      if (pos_ == in_.size()) break;
      // ParseTagSpec stops only at ";" or the end.
      ++pos_;
      if (pos_ == in_.size()) break;
    }
    return std::move(result_);
  }

 private:
  // Skips [FWS]; false (with the error recorded) on a CRLF that is not
  // followed by WSP, which would end a header field rather than fold it.
  bool SkipFws() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (IsWsp(c)) {
        ++pos_;
      } else if (c == '\r' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '\n' &&
                 pos_ + 2 < in_.size() && IsWsp(in_[pos_ + 2])) {
        pos_ += 3;
      } else if (c == '\r' || c == '\n') {
        Fail(TagListError::kMalformedFws, pos_,
             Cat("CR or LF at offset ", pos_,
                          " is not part of folding whitespace (CRLF must be followed "
                          "by WSP, RFC 5322 §3.2.2)"));
        return false;
      } else {
        break;
      }
    }
    return true;
  }

  bool ParseTagSpec() {
    if (result_.list.tags.size() == kMaxTags) {
      Fail(TagListError::kTooManyTags, pos_,
           Cat("more than ", kMaxTags, " tags in one tag-list"));
      return false;
    }
    Tag tag;
    tag.name_offset = pos_;
    if (!IsAlpha(in_[pos_])) {
      Fail(TagListError::kExpectedTagName, pos_,
           Cat("expected a tag-name (ALPHA *ALNUMPUNC, RFC 6376 §3.2) at offset ",
                        pos_, ", found ", base::DescribeOctet(in_[pos_])));
      return false;
    }
    ++pos_;
    while (pos_ < in_.size() && IsAlnumPunc(in_[pos_])) ++pos_;
    tag.name = in_.substr(tag.name_offset, pos_ - tag.name_offset);
    if (!SkipFws()) return false;
    if (pos_ == in_.size() || in_[pos_] != '=') {
      Fail(TagListError::kExpectedEquals, pos_,
           Cat("expected \"=\" after tag-name \"", tag.name, "\" at offset ", pos_,
                        pos_ == in_.size() ? ", found the end"
                                           : Cat(", found ", base::DescribeOctet(in_[pos_]))));
      return false;
    }
    ++pos_;
    if (!SkipFws()) return false;
    // tag-value = [ tval *( 1*(WSP / FWS) tval ) ], then [FWS].
    tag.value_offset = pos_;
    std::size_t value_end = pos_;
    while (pos_ < in_.size() && in_[pos_] != ';') {
      char c = in_[pos_];
      if (IsValChar(c)) {
        // The run of VALCHARs (a whole base64 line of b=) in one go.
        pos_ = ValCharRunEnd(in_, pos_ + 1);
        value_end = pos_;
      } else if (IsWsp(c) || c == '\r' || c == '\n') {
        if (!SkipFws()) return false;
      } else {
        Fail(TagListError::kInvalidValueChar, pos_,
             Cat("byte ", base::DescribeOctet(c), " at offset ", pos_, " in the value of tag \"",
                          tag.name, "\" is not a VALCHAR (RFC 6376 §3.2)"));
        return false;
      }
    }
    tag.value = in_.substr(tag.value_offset, value_end - tag.value_offset);
    for (const Tag& seen : result_.list.tags) {
      if (SameName(seen.name, tag.name)) {
        Fail(TagListError::kDuplicateTag, tag.name_offset,
             Cat("tag \"", tag.name, "\" at offset ", tag.name_offset,
                          " repeats the one at offset ", seen.name_offset,
                          "; RFC 6376 §3.2 makes the whole tag-list invalid"));
        return false;
      }
    }
    result_.list.tags.push_back(tag);
    return true;
  }

  TagListResult Fail(TagListError error, std::size_t offset, std::string message) {
    result_.error = error;
    result_.offset = offset;
    result_.message = std::move(message);
    return result_;
  }

  std::string_view in_;
  const TagListOptions& options_;
  std::size_t pos_ = 0;
  bool had_empty_spec_ = false;
  TagListResult result_;
};

}  // namespace

std::string_view TagListErrorName(TagListError error) {
  switch (error) {
    case TagListError::kOk: return "Ok";
    case TagListError::kTooLong: return "TooLong";
    case TagListError::kTooManyTags: return "TooManyTags";
    case TagListError::kExpectedTagName: return "ExpectedTagName";
    case TagListError::kExpectedEquals: return "ExpectedEquals";
    case TagListError::kInvalidValueChar: return "InvalidValueChar";
    case TagListError::kMalformedFws: return "MalformedFws";
    case TagListError::kDuplicateTag: return "DuplicateTag";
    case TagListError::kEmptyTagSpec: return "EmptyTagSpec";
  }
  return "Unknown";
}

const Tag* TagList::Find(std::string_view name) const {
  for (const Tag& tag : tags) {
    if (SameName(tag.name, name)) return &tag;
  }
  return nullptr;
}

int TagList::IndexOf(std::string_view name) const {
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (SameName(tags[i].name, name)) return static_cast<int>(i);
  }
  return -1;
}

TagListResult ParseTagList(std::string_view input, const TagListOptions& options) {
  return Parser(input, options).Run();
}

std::string StripFws(std::string_view value) {
  std::string out(value.size(), '\0');
  char* d = out.data();
  for (char c : value) {
    *d = c;
    d += !(IsWsp(c) || c == '\r' || c == '\n');
  }
  out.resize(static_cast<std::size_t>(d - out.data()));
  return out;
}

}  // namespace mxkit::auth::dkim
