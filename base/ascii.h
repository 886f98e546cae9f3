// ASCII character classes and case folding (RFC 5234 Appendix B.1 ALPHA,
// DIGIT, HEXDIG), locale-independent: <cctype> follows the C locale and
// takes int, so a negative char is undefined behaviour there. Every keyword
// of SMTP, DNS, SPF, DKIM and DMARC compares case-insensitively in ASCII only
// (RFC 5234 §2.3).

#ifndef MXKIT_BASE_ASCII_H_
#define MXKIT_BASE_ASCII_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mxkit::base {

constexpr bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
constexpr bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// 0..15 for a hex digit of either case, -1 for anything else.
constexpr int HexDigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// The hex digit for the low four bits of `v`, the inverse of HexDigitValue.
// Upper case where the protocol says so: percent-encoding (RFC 3986 §2.1),
// xtext (RFC 3461 §4), SPF's IPv6 nibbles (RFC 7208 §7.3, as its test suite
// writes them); lower case in JSON's \u escapes and our own messages.
constexpr char UpperHexDigit(unsigned v) { return "0123456789ABCDEF"[v & 15]; }
constexpr char LowerHexDigit(unsigned v) { return "0123456789abcdef"[v & 15]; }

// RFC 3986 §2.3: the unreserved characters besides ALPHA and DIGIT.
inline constexpr std::string_view kUriUnreservedMarks = "-._~";

// Appends `text` percent-encoded (RFC 3986 §2.1, upper-case digits): ASCII
// letters, digits and the octets in `unreserved_marks` as they are, every
// other octet as "%XX". RFC 3986 §2.3's are kUriUnreservedMarks;
// JavaScript's encodeURIComponent (ECMA-262 §19.2.6.4) also keeps "!*'()".
void AppendPercentEncoded(std::string& out, std::string_view text,
                          std::string_view unreserved_marks);

// RFC 5234 B.1 CTL = %x00-1F / %x7F.
constexpr bool IsCtl(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

// `s` with each CTL (tab included) as a space, for a value from DNS or a
// message that goes into a header field, where a control character would
// break the field (RFC 5322 §3.2.5). A view of `s` itself when it has none
// (the usual case: no copy), else of `scratch`, which it overwrites.
std::string_view ControlsToSpaces(std::string_view s, std::string& scratch);

// Printable US-ASCII: RFC 5234 B.1 VCHAR (%x21-7E) and SP (%x20).
constexpr bool IsPrintableAscii(char c) { return c >= 0x20 && c < 0x7F; }
// Every byte of `s` is printable US-ASCII (true for the empty string).
constexpr bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (!IsPrintableAscii(c)) return false;
  }
  return true;
}

// RFC 5322 §3.2.3 atext, the characters of an atom (RFC 5321 §4.1.2 Atom
// is built from it). US-ASCII only; RFC 6532 §3.2 widening to UTF-8 is the
// caller's choice.
constexpr bool IsAtext(char c) {
  if (IsAlnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

constexpr char ToLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ToUpperAscii(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// True when `a` and `b` are equal after folding ASCII letters; other bytes
// (including UTF-8) must match exactly. Does not allocate.
constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

// `s` starts with `prefix`, ignoring ASCII case.
constexpr bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// A byte for an error message: "'x'" when it is printable US-ASCII, else
// its value ("0x0a"), so a message never carries a raw control byte.
std::string DescribeOctet(char c);

// What a user wrote, for an error message: in double quotes, C-escaped
// (\n \r \t \" \' \\, other control and all non-ASCII octets as \xNN, as
// abseil's CHexEscape does) so the text is printable ASCII whatever the
// input; at most `max_octets` of the input, and when it is longer the quote
// is followed by "... (N octets)".
std::string QuoteForMessage(std::string_view s, std::size_t max_octets);

// Copies of `s` with ASCII letters folded; other bytes unchanged.
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);

// `name` without one trailing dot: "mx.example." and "mx.example" name the
// same host (RFC 1034 §3.1: the dot marks an absolute name). A view into
// `name`; "." becomes "", and "a.." keeps one dot.
std::string_view StripOneTrailingDot(std::string_view name);

}  // namespace mxkit::base

#endif  // MXKIT_BASE_ASCII_H_
