// UTF-8 well-formedness (RFC 3629 §4), for the places mail admits UTF-8:
// SMTPUTF8 addresses (RFC 6531), RFC 6532 header fields, and text we hand on
// to formats that require UTF-8, such as JSON.

#ifndef MXKIT_SMTP_UTF8_H_
#define MXKIT_SMTP_UTF8_H_

#include <cstddef>
#include <string_view>

namespace mxkit::smtp {

// Length (1 to 4) of the well-formed UTF-8 sequence starting at s[pos], or 0
// if it is ill-formed there: a stray continuation byte, an overlong form, a
// surrogate, a code point over U+10FFFF, or a sequence cut short by the end
// of `s`. Requires pos < s.size().
std::size_t Utf8SequenceLength(std::string_view s, std::size_t pos);

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_UTF8_H_
