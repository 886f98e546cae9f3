// SPF macro-strings (RFC 7208 §7): parsing into tokens, and expansion against
// the values of one check_host() call. Parsing is separate from expansion so a
// record is syntax-checked once, before any DNS lookup (§4.6: syntax errors
// anywhere in a record are a permerror), and so the parser can be fuzzed alone.
//
// Sans-IO: the only value that may need DNS, %{p}, is supplied by the caller
// through a callback that is invoked only when a string actually uses it.

#ifndef MXKIT_AUTH_SPF_MACRO_H_
#define MXKIT_AUTH_SPF_MACRO_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace mxkit::auth::spf {

// RFC 7208 §7.3: an expanded name used in a DNS query longer than this is
// truncated from the left, label by label (also RFC 1035 §2.3.4 in text form).
inline constexpr size_t kMaxDomainLength = 253;
// RFC 1035 §2.3.4.
inline constexpr size_t kMaxLabelLength = 63;
// Bound on one expansion's output. RFC 7208 sets none, but a 64 KiB TXT
// record of "%{s}" against a long sender would otherwise expand to tens of
// megabytes. 4096 is far above any real name (253 after truncation) or
// explanation (an SMTP reply line is 512 octets, RFC 5321 §4.5.3.1.5).
inline constexpr size_t kMaxExpansionLength = 4096;
// RFC 7208 §7.3 transformer digits: a 253-character name has at most 127
// labels, so any larger count means "all of them"; parsing saturates here so
// "%{d99999999999999}" cannot overflow.
inline constexpr int kMaxTransformerDigits = 128;

enum class SyntaxErrorCode {
  // Macro-strings (RFC 7208 §7.1).
  kBadPercent,            // '%' not followed by '{', '%', '_' or '-'
  kUnterminatedMacro,     // "%{" without its '}'
  kUnknownMacroLetter,    // not one of s l o d i p h c r t v
  kLetterOnlyInExp,       // c, r or t outside an explanation (§7.1)
  kBadTransformer,        // junk between the letter and '}'
  kZeroTransformer,       // "%{d0}": digits MUST be nonzero (§7.3)
  kBadCharacter,          // control, non-ASCII or space where not allowed
  kBadDomainEnd,          // domain-spec not ending in "." toplabel or a macro
  kEmptyDomainSpec,       // "a:", "include:", "exp="
  // Records (RFC 7208 §4.5, §4.6, §12).
  kNotSpfRecord,          // no "v=spf1" version term
  kUnknownMechanism,      // e.g. "moo", "1up=foo", "redirect:x"
  kBadMechanismArgument,  // "all:x", "ptr/0", "exists" without ':'
  kBadCidr,               // "/33", "/032", "//129", ip4 with "//"
  kBadIp4,                // not a dotted quad without leading zeros
  kBadIp6,                // not an RFC 4291 §2.2 text address
  kDuplicateModifier,     // redirect= or exp= twice (§6)
  kTooManyTerms,          // more than kMaxTerms terms
};

// What went wrong, the byte offset (into the text handed to the parser) where
// parsing stopped, and a message for humans saying what, where and why.
struct SyntaxError {
  SyntaxErrorCode code;
  size_t offset = 0;
  std::string message;
};

// A parsed value or the error that stopped the parser.
template <typename T>
class ParseResult {
 public:
  ParseResult(T value) : v_(std::move(value)) {}               // NOLINT
  ParseResult(SyntaxError error) : v_(std::move(error)) {}     // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& value() { return std::get<T>(v_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }
  const SyntaxError& error() const { return std::get<SyntaxError>(v_); }

 private:
  std::variant<T, SyntaxError> v_;
};

// Where a macro-string appears decides what it may contain (RFC 7208 §7.1).
enum class MacroContext {
  kDomainSpec,     // mechanisms, redirect=, exp=, unknown modifiers: no SP, no c/r/t
  kExplainString,  // the TXT record fetched by exp= (§6.2): SP and c/r/t allowed
};

// "%{" letter transformers *delimiter "}".
struct MacroExpand {
  char letter = 'd';         // lower case: s l o d i p h c r t v
  bool url_escape = false;   // the letter was upper case (§7.3)
  int keep = 0;              // rightmost parts to keep; 0 = all
  bool reverse = false;      // "r" transformer
  std::string delimiters;    // empty = "." (§7.3)
};

struct MacroToken {
  // Literal text, with "%%", "%_" and "%-" already turned into "%", " ", "%20".
  // Empty when this token is a macro.
  std::string literal;
  bool is_macro = false;
  MacroExpand macro;
};

struct MacroString {
  std::vector<MacroToken> tokens;
  // True when some token is %{p}, whose value needs DNS lookups.
  bool uses_p = false;
  // True when the last token came from "%{...}", "%%", "%_" or "%-": the
  // ABNF's domain-end may be a macro-expand (§7.1).
  bool ends_with_macro_expand = false;
};

// Parses `text` as a macro-string (RFC 7208 §7.1, explain-string for
// kExplainString). Offsets in errors are into `text`.
ParseResult<MacroString> ParseMacroString(std::string_view text, MacroContext context);

// Parses a domain-spec: a non-empty macro-string whose end is "." toplabel
// [ "." ] or a macro-expand (RFC 7208 §7.1), so "a:museum", "a:1.2.3.4" and
// "a:example.com:8080" are permerrors before any lookup.
ParseResult<MacroString> ParseDomainSpec(std::string_view text);

// True when `label` is a toplabel: alphanumerics with at least one letter, or
// alphanumerics and hyphens, neither starting nor ending with a hyphen.
bool IsTopLabel(std::string_view label);

// The values macros expand to for one check_host() call (RFC 7208 §7.2).
struct MacroValues {
  std::string_view sender;        // s: <sender>, "postmaster@..." when it had no local-part
  std::string_view local_part;    // l
  std::string_view sender_domain; // o
  std::string_view domain;        // d: current <domain>
  std::string_view ip;            // i: dotted quad, or 32 dotted nibbles for IPv6
  std::string_view client_ip;     // c: RFC 5952 text of <ip>
  std::string_view ip_version;    // v: "in-addr" or "ip6"
  std::string_view helo;          // h
  std::string_view receiver;      // r
  std::string_view timestamp;     // t: decimal seconds since the epoch
  // p: the validated domain name of <ip> (§5.5), or "unknown". Called only
  // when a string uses %{p}; may do DNS lookups.
  std::function<std::string()> validated_domain;
};

// Expands `macro` (RFC 7208 §7.3). For a name used in a DNS query
// (`for_domain`), one trailing '.' is dropped and the result is cut to
// kMaxDomainLength by removing leftmost labels; explanation text is kept as is.
// Past kMaxExpansionLength a name expands to "" (no valid name: callers treat
// it as non-existent) and an explanation is cut at that length.
std::string ExpandMacroString(const MacroString& macro, const MacroValues& values,
                              bool for_domain);

// Drops leftmost labels (and their dots) until `name` is at most
// kMaxDomainLength characters (RFC 7208 §7.3). When only one label is left
// and it is still too long, that label is returned; the caller's name checks
// reject it.
std::string TruncateDomain(std::string name);

// "%" followed by two upper-case hex digits for every byte outside RFC 3986
// §2.3 unreserved (ALPHA DIGIT "-" "." "_" "~"), as upper-case macros need.
std::string UrlEscape(std::string_view text);

}  // namespace mxkit::auth::spf

#endif  // MXKIT_AUTH_SPF_MACRO_H_
