// UTF-8 well-formedness (RFC 3629 §4), for the places mail admits UTF-8:
// SMTPUTF8 addresses (RFC 6531), RFC 6532 header fields, and text we hand on
// to formats that require UTF-8, such as JSON (RFC 8259 §8.1).

#ifndef MXKIT_BASE_UTF8_H_
#define MXKIT_BASE_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mxkit::base {

// Length (1 to 4) of the well-formed UTF-8 sequence starting at s[pos], or 0
// if it is ill-formed there: a stray continuation byte, an overlong form, a
// surrogate, a code point over U+10FFFF, or a sequence cut short by the end
// of `s`. Requires pos < s.size().
std::size_t Utf8SequenceLength(std::string_view s, std::size_t pos);

// Offset of the first byte of `input` that does not start a well-formed
// sequence, or input.size() when all of `input` is well-formed UTF-8.
std::size_t FindInvalidUtf8(std::string_view input);

// Appends `bytes` to `out` with each maximal ill-formed subpart replaced by
// U+FFFD, the substitution the Unicode Standard recommends (Unicode 15 §3.9,
// "U+FFFD Substitution of Maximal Subparts"; also the WHATWG Encoding
// Standard's): "\xE2\x82" (a cut-short euro sign) becomes one U+FFFD,
// "\xC0\xAF" (an overlong '/') two. Well-formed sequences pass unchanged, so
// the output is always well-formed and equals `bytes` when `bytes` was.
void AppendUtf8Replacing(std::string& out, std::string_view bytes);

}  // namespace mxkit::base

#endif  // MXKIT_BASE_UTF8_H_
