// The EHLO reply (RFC 5321 §4.1.1.1) as a typed capability set: what a
// client may use on this connection, and what fakemx advertises.

#ifndef MXKIT_SMTP_EHLO_H_
#define MXKIT_SMTP_EHLO_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/limits.h"
#include "smtp/reply.h"

namespace mxkit::smtp {

// Limits used here, from smtp/limits.h: kMaxSizeDigits (RFC 1870 §3
// size-value = 1*20DIGIT) and kMaxSaslMechanism (RFC 4422 §3.1).

// An EHLO keyword this library has no typed field for, with its parameters
// as sent (RFC 5321 §4.1.1.1 ehlo-line = ehlo-keyword *( SP ehlo-param )).
struct Extension {
  std::string keyword;              // as sent; keywords compare case-insensitively
  std::vector<std::string> params;

  friend bool operator==(const Extension&, const Extension&) = default;
};

// RFC 1870 SIZE. `limit` is the advertised maximum message size in octets;
// nullopt when SIZE was sent without a number. Both nullopt and 0 mean "no
// fixed maximum" (RFC 1870 §4); they are kept apart so formatting reproduces
// what was parsed.
struct SizeExtension {
  std::optional<uint64_t> limit;

  friend bool operator==(const SizeExtension&, const SizeExtension&) = default;
};

struct EhloCapabilities {
  bool pipelining = false;             // PIPELINING, RFC 2920
  std::optional<SizeExtension> size;   // SIZE, RFC 1870; nullopt: not advertised
  bool eightbitmime = false;           // 8BITMIME, RFC 6152
  bool smtputf8 = false;               // SMTPUTF8, RFC 6531
  bool starttls = false;               // STARTTLS, RFC 3207
  bool chunking = false;               // CHUNKING, RFC 3030
  bool binarymime = false;             // BINARYMIME, RFC 3030
  bool dsn = false;                    // DSN, RFC 3461
  bool enhanced_status_codes = false;  // ENHANCEDSTATUSCODES, RFC 2034
  // AUTH, RFC 4954: SASL mechanisms upper-cased, in the order first seen.
  // Empty: AUTH not advertised.
  std::vector<std::string> auth_mechanisms;
  // Every other keyword, in the order sent. Must not repeat a keyword that
  // has a typed field above (FormatEhloReply would write it twice).
  std::vector<Extension> other;

  friend bool operator==(const EhloCapabilities&, const EhloCapabilities&) = default;

  // The maximum message size to respect, or nullopt when there is none
  // (SIZE not advertised, SIZE without a number, or SIZE 0).
  std::optional<uint64_t> max_message_size() const;

  // True when `mechanism` (any case) is in auth_mechanisms.
  bool offers_auth(std::string_view mechanism) const;
};

struct EhloParseOptions {
  // Accept "AUTH=LOGIN PLAIN", the form of the AUTH keyword from drafts
  // before RFC 2554 that Microsoft Exchange and other servers of that era
  // still send beside "AUTH" for old Outlook clients. "=" is not legal in an
  // ehlo-keyword (RFC 5321 §4.1.1.1). Its mechanisms are merged into
  // auth_mechanisms; a server may send both lines without a duplicate error.
  // When false the line is reported as kInvalidKeyword and ignored.
  bool allow_auth_equals = false;
  // Accept "_" inside keywords, as in "PIPE_CONNECT" (draft-harris-early-pipe,
  // sent by Exim 4.93 and later) and "X_PIPE_CONNECT". Relaxes RFC 5321
  // §4.1.1.1 ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"). Such
  // keywords land in `other`.
  bool allow_keyword_underscore = false;
};

enum class EhloErrorKind {
  kNotEhloOk,            // reply code is not 250: nothing else was parsed
  kInvalidDomain,        // first line does not start with a domain
  kInvalidKeyword,       // not (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
  kInvalidParameter,     // empty (doubled SP) or with octets outside %d33-126
  kUnexpectedParameter,  // a keyword that takes no parameters got some
  kMissingParameter,     // AUTH with no mechanism
  kInvalidSize,          // SIZE parameter not 1*20DIGIT, > 2^64-1, or more than one
  kInvalidMechanism,     // AUTH mechanism not a RFC 4422 §3.1 sasl-mech
  kDuplicateKeyword,     // keyword already seen on an earlier line
};

std::string_view EhloErrorKindName(EhloErrorKind kind);

// A problem with one line of the reply. The line contributed nothing to the
// capabilities (except kInvalidDomain, which keeps the first token as the
// domain; see ParseEhloReply).
struct EhloLineError {
  EhloErrorKind kind;
  size_t line = 0;    // index into Reply::lines
  size_t offset = 0;  // offset within that line's text where the problem is
  std::string message;

  friend bool operator==(const EhloLineError&, const EhloLineError&) = default;
};

struct EhloReply {
  std::string domain;    // first token of the first line (RFC 5321 ehlo-ok-rsp Domain)
  std::string greeting;  // the rest of the first line after one SP (ehlo-greet), may be empty
  EhloCapabilities capabilities;
  std::vector<EhloLineError> errors;

  bool ok() const { return errors.empty(); }
  friend bool operator==(const EhloReply&, const EhloReply&) = default;
};

// Interprets a complete EHLO reply.
//
// A reply whose code is not 250 yields one kNotEhloOk error and nothing else.
// Otherwise line 0 is "Domain [SP ehlo-greet]" and every further line is an
// ehlo-line. Keywords are matched case-insensitively (RFC 5321 §2.4).
// Each bad line is reported in `errors` and left out of `capabilities`, so a
// client can use whatever was well-formed and a test can still fail a server
// that sent garbage.
//
// Duplicates: a keyword repeated on a later line is reported as
// kDuplicateKeyword and the later line is ignored; the first occurrence wins.
// RFC 5321 gives repeats no meaning; first-wins is deterministic, and
// flagging it lets fakemx-driven tests catch servers that contradict
// themselves ("SIZE 1000" then "SIZE 0"). The one
// expected repeat, "AUTH" beside "AUTH=" under allow_auth_equals, is merged
// instead.
//
// The domain is checked only for being a non-empty token of printable ASCII;
// real servers put host names, address literals and "localhost" there.
EhloReply ParseEhloReply(const Reply& reply, const EhloParseOptions& options = {});

// Builds the 250 reply advertising `capabilities`: the first line is
// "domain" or "domain greeting", then one line per capability, typed fields
// first in a fixed order, then `other` in order.
// ParseEhloReply(FormatEhloReply(d, g, c)) yields d, g and c back with no
// errors whenever d is a non-empty token without SP or control characters,
// g holds no CR/LF, the mechanisms are valid upper-case sasl-mechs and `other`
// holds valid, distinct keywords that have no typed field.
Reply FormatEhloReply(std::string_view domain, std::string_view greeting,
                      const EhloCapabilities& capabilities);

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_EHLO_H_
