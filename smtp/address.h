// RFC 5321 §4.1.2 paths and mailboxes, with the address literals of §4.1.3
// and the RFC 6531 (SMTPUTF8) extensions.
//
//   Reverse-path = Path / "<>"
//   Forward-path = Path                       (plus "<Postmaster>", §4.1.1.3)
//   Path         = "<" [ A-d-l ":" ] Mailbox ">"
//   A-d-l        = At-domain *( "," At-domain )   ; source route, §4.1.2
//   Mailbox      = Local-part "@" ( Domain / address-literal )
//
// Parsers are strict by default, sans-IO, and report errors as values with the
// byte offset where parsing stopped. Parsed values are canonical: a local part
// is stored unquoted (quotes and quoted-pair backslashes removed, RFC 5321
// §4.1.2 treats the forms as equivalent), a domain or literal is stored as
// written. FormatPath() writes the canonical wire form, so for every parsed p,
// ParsePath(FormatPath(p)) == p.

#ifndef MXKIT_SMTP_ADDRESS_H_
#define MXKIT_SMTP_ADDRESS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/limits.h"

namespace mxkit::smtp {

enum class AddressErrorKind {
  kOk,
  kEmpty,                     // nothing where a path/mailbox/domain was required
  kExpectedOpenAngle,         // Path must start with "<" (§4.1.2)
  kExpectedCloseAngle,        // Path must end with ">" (§4.1.2)
  kNullPathNotAllowed,        // "<>" where only a Forward-path may stand
  kInvalidSourceRoute,        // malformed A-d-l (§4.1.2)
  kInvalidLocalPart,          // byte not allowed in Dot-string / Quoted-string
  kUnterminatedQuotedString,  // Quoted-string without its closing DQUOTE
  kInvalidQuotedPair,         // "\" not followed by %d32-126 (§4.1.2)
  kLocalPartTooLong,          // > kMaxLocalPart (§4.5.3.1.1)
  kExpectedAt,                // Local-part not followed by "@"
  kInvalidDomain,             // not a sub-domain *("." sub-domain) (§4.1.2)
  kLabelTooLong,              // label > kMaxDomainLabel (RFC 1035 §2.3.4)
  kDomainTooLong,             // > kMaxDomain (§4.5.3.1.2)
  kInvalidAddressLiteral,     // malformed "[...]" / General-address-literal
  kInvalidIPv4Literal,        // IPv4-address-literal (§4.1.3)
  kInvalidIPv6Literal,        // IPv6-addr (§4.1.3)
  kPathTooLong,               // > kMaxPath (§4.5.3.1.3)
  kInvalidUtf8,               // ill-formed UTF-8 (RFC 3629 §4)
  kUtf8NotAllowed,            // non-ASCII without SMTPUTF8 (RFC 6531 §3.3)
  kTrailingCharacters,        // input continues after a complete element
};

// The enumerator's name without the leading 'k' ("PathTooLong").
std::string_view AddressErrorKindName(AddressErrorKind kind);

struct AddressError {
  AddressErrorKind kind = AddressErrorKind::kOk;
  std::size_t offset = 0;  // byte offset into the parsed input
  std::string message;     // what, where and why

  friend bool operator==(const AddressError&, const AddressError&) = default;
};

// What the domain part of a mailbox (or an EHLO argument) is.
enum class DomainKind {
  kName,            // Domain: sub-domain *("." sub-domain), A- or U-labels
  kIPv4Literal,     // "[192.0.2.1]"
  kIPv6Literal,     // "[IPv6:2001:db8::1]"
  kGeneralLiteral,  // "[tag:content]", General-address-literal (§4.1.3)
};

struct Mailbox {
  // Unquoted: a Quoted-string local part is stored without its DQUOTEs and
  // with quoted-pairs resolved ("\"a\\\"b\"" is stored as a"b). May hold
  // UTF-8 when parsed with allow_utf8.
  std::string local_part;
  // The domain as written, or an address literal including its brackets.
  // Empty only in the "<Postmaster>" forward path (§4.1.1.3).
  std::string domain;
  DomainKind domain_kind = DomainKind::kName;

  friend bool operator==(const Mailbox&, const Mailbox&) = default;
};

struct MailPath {
  // The null reverse-path "<>" (§4.1.2 Reverse-path; bounces, §6.1).
  bool is_null = false;
  // Source route domains in order, without "@" (§4.1.2 A-d-l). Accepted and
  // recorded but to be ignored: §4.1.1.3 "SMTP servers MAY ignore the route
  // information" and Appendix C deprecates it.
  std::vector<std::string> source_route;
  Mailbox mailbox;

  // "<Postmaster>" without a domain (§4.1.1.3); local_part keeps its case.
  bool is_postmaster() const { return !is_null && mailbox.domain.empty(); }

  friend bool operator==(const MailPath&, const MailPath&) = default;
};

struct AddressParseOptions {
  // RFC 6531 §3.3: with SMTPUTF8, Local-part may hold UTF8-non-ascii (in atext
  // and qtextSMTP) and Domain may hold U-labels. Input must be well-formed
  // UTF-8 (RFC 3629) either way; without this switch any non-ASCII octet is
  // kUtf8NotAllowed.
  bool allow_utf8 = false;
  // Leniency: accept a Path without its angle brackets ("MAIL FROM:a@b").
  // RFC 5321 §4.1.2 requires them; RFC 821-era clients omit them and Postfix
  // accepts it unless strict_rfc821_envelopes. A bare path ends at SP or end
  // of input. Not a security risk by itself. Off by default.
  bool allow_missing_angle_brackets = false;
};

// Which grammar a path is parsed against.
enum class PathRole {
  kReverse,  // Reverse-path: also accepts "<>" (MAIL FROM, §4.1.1.2)
  kForward,  // Forward-path: also accepts "<Postmaster>" (RCPT TO, §4.1.1.3)
};

struct PathResult {
  AddressError error;    // kind == kOk on success
  MailPath path;         // complete on success
  std::size_t consumed = 0;  // bytes of input that form the path (on success)

  bool ok() const { return error.kind == AddressErrorKind::kOk; }
};

// Parses a path at the start of `input` and stops after it (after ">", or for
// a bare path under allow_missing_angle_brackets at the first SP); `consumed`
// says where. Used by the command parser, which reads parameters after it.
PathResult ParsePathPrefix(std::string_view input, PathRole role,
                           const AddressParseOptions& options = {});

// Parses all of `input` as a path of `role`; anything after it is
// kTrailingCharacters.
PathResult ParsePath(std::string_view input, PathRole role,
                     const AddressParseOptions& options = {});
inline PathResult ParseReversePath(std::string_view input,
                                   const AddressParseOptions& options = {}) {
  return ParsePath(input, PathRole::kReverse, options);
}
inline PathResult ParseForwardPath(std::string_view input,
                                   const AddressParseOptions& options = {}) {
  return ParsePath(input, PathRole::kForward, options);
}

struct MailboxResult {
  AddressError error;
  Mailbox mailbox;

  bool ok() const { return error.kind == AddressErrorKind::kOk; }
};

// Parses all of `input` as a bare Mailbox (no angle brackets), e.g. the
// decoded AUTH= parameter of RFC 4954 §5.
MailboxResult ParseMailbox(std::string_view input,
                           const AddressParseOptions& options = {});

struct HostResult {
  AddressError error;
  DomainKind kind = DomainKind::kName;

  bool ok() const { return error.kind == AddressErrorKind::kOk; }
};

// Validates all of `input` as a Domain (allow_literal false: HELO, At-domain)
// or as Domain / address-literal (allow_literal true: EHLO, Mailbox).
HostResult ParseHost(std::string_view input, bool allow_literal,
                     const AddressParseOptions& options = {});

// True if `local_part` (unquoted) can be written as a Dot-string, i.e. needs
// no quoting (§4.1.2). UTF-8 counts as atext (RFC 6531 §3.3).
bool IsDotString(std::string_view local_part);

// Canonical wire forms. A local part is written as a Dot-string when it is
// one and as a Quoted-string otherwise, escaping only DQUOTE and "\" (the
// shortest equivalent form; §4.1.2 "SHOULD" avoid quoting when unneeded).
std::string FormatLocalPart(std::string_view local_part);
std::string FormatMailbox(const Mailbox& mailbox);
// "<>", "<Postmaster>", "<@a,@b:l@d>" or "<l@d>".
std::string FormatPath(const MailPath& path);
void AppendLocalPart(std::string_view local_part, std::string* out);
void AppendMailbox(const Mailbox& mailbox, std::string* out);
void AppendPath(const MailPath& path, std::string* out);

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_ADDRESS_H_
