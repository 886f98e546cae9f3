// RFC 5321 §4.1 SMTP commands and the ESMTP parameters mxkit understands:
// SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), DSN
// RET/ENVID/NOTIFY/ORCPT (RFC 3461), AUTH= and the AUTH command (RFC 4954),
// BDAT (RFC 3030) and STARTTLS (RFC 3207).
//
// ParseCommand() takes one command line WITHOUT its CRLF and returns either a
// typed Command or a CommandError that carries the reply a server should send
// (code and RFC 3463 enhanced status). Parsing is strict by default; each
// leniency is a named switch in CommandLeniencies. FormatCommand() writes
// the canonical wire form (upper-case verbs and keywords, parameters in a
// fixed order, minimal quoting and xtext), so for every parsed c,
// ParseCommand(FormatCommand(c) minus CRLF) == c.
//
// The parser checks syntax only. Sequencing (503), policy (SIZE too large,
// unknown AUTH mechanism, recipient limits) belong to the session.

#ifndef MXKIT_SMTP_COMMAND_H_
#define MXKIT_SMTP_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "smtp/address.h"
#include "smtp/limits.h"

namespace mxkit::smtp {

// Enumerators are in the order of Command::args alternatives, so
// static_cast<CommandVerb>(args.index()) is the verb.
enum class CommandVerb {
  kHelo,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kBdat,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kExpn,
  kHelp,
  kStarttls,
  kAuth,
};

// "HELO", "EHLO", ... (upper case, as FormatCommand writes it).
std::string_view CommandVerbName(CommandVerb verb);

// RFC 6152 / RFC 3030 BODY= values.
enum class BodyType { k7Bit, k8BitMime, kBinaryMime };
// RFC 3461 §4.3 RET= values.
enum class DsnRet { kFull, kHdrs };

// RFC 4954 §5 AUTH= value on MAIL FROM.
struct AuthParam {
  bool is_null = false;  // "AUTH=<>": the submitter is unknown/untrusted
  Mailbox mailbox;       // xtext-decoded and parsed (when !is_null)

  friend bool operator==(const AuthParam&, const AuthParam&) = default;
};

// RFC 3461 §4.1 NOTIFY= value: "NEVER" alone, or any non-empty set of the
// other three without repetition.
struct DsnNotify {
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;

  friend bool operator==(const DsnNotify&, const DsnNotify&) = default;
};

// RFC 3461 §4.2 ORCPT= value: addr-type ";" xtext.
struct OriginalRecipient {
  std::string addr_type;  // atom as written (compare case-insensitively)
  std::string address;    // xtext-decoded

  friend bool operator==(const OriginalRecipient&, const OriginalRecipient&) = default;
};

struct HeloCommand {  // RFC 5321 §4.1.1.1: "HELO" SP Domain
  std::string domain;
  DomainKind domain_kind = DomainKind::kName;  // literal only if allowed
  friend bool operator==(const HeloCommand&, const HeloCommand&) = default;
};
struct EhloCommand {  // RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal )
  std::string domain;  // as written; literals include brackets
  DomainKind domain_kind = DomainKind::kName;
  friend bool operator==(const EhloCommand&, const EhloCommand&) = default;
};
struct MailCommand {  // RFC 5321 §4.1.1.2
  MailPath reverse_path;
  std::optional<std::uint64_t> size;      // RFC 1870
  std::optional<BodyType> body;           // RFC 6152, RFC 3030
  bool smtputf8 = false;                  // RFC 6531 §3.4
  std::optional<DsnRet> ret;              // RFC 3461 §4.3
  std::optional<std::string> envid;       // RFC 3461 §4.4, xtext-decoded
  std::optional<AuthParam> auth;          // RFC 4954 §5
  friend bool operator==(const MailCommand&, const MailCommand&) = default;
};
struct RcptCommand {  // RFC 5321 §4.1.1.3
  MailPath forward_path;  // may be <Postmaster> (is_postmaster())
  std::optional<DsnNotify> notify;            // RFC 3461 §4.1
  std::optional<OriginalRecipient> orcpt;     // RFC 3461 §4.2
  friend bool operator==(const RcptCommand&, const RcptCommand&) = default;
};
struct DataCommand {  // RFC 5321 §4.1.1.4
  friend bool operator==(const DataCommand&, const DataCommand&) = default;
};
struct BdatCommand {  // RFC 3030 §2: "BDAT" SP chunk-size [ SP "LAST" ]
  std::uint64_t chunk_size = 0;
  bool last = false;
  friend bool operator==(const BdatCommand&, const BdatCommand&) = default;
};
struct RsetCommand {  // RFC 5321 §4.1.1.5
  friend bool operator==(const RsetCommand&, const RsetCommand&) = default;
};
// RFC 5321 §4.1.1.6-4.1.1.9: the String argument (Atom / Quoted-string) is
// kept as written, quotes included.
struct NoopCommand {  // "NOOP" [ SP String ]
  std::optional<std::string> argument;
  friend bool operator==(const NoopCommand&, const NoopCommand&) = default;
};
struct QuitCommand {  // RFC 5321 §4.1.1.10
  friend bool operator==(const QuitCommand&, const QuitCommand&) = default;
};
struct VrfyCommand {  // "VRFY" SP String [ SP "SMTPUTF8" ] (RFC 6531 §3.7)
  std::string argument;
  bool smtputf8 = false;
  friend bool operator==(const VrfyCommand&, const VrfyCommand&) = default;
};
struct ExpnCommand {  // "EXPN" SP String [ SP "SMTPUTF8" ] (RFC 6531 §3.7)
  std::string argument;
  bool smtputf8 = false;
  friend bool operator==(const ExpnCommand&, const ExpnCommand&) = default;
};
struct HelpCommand {  // "HELP" [ SP String ]
  std::optional<std::string> argument;
  friend bool operator==(const HelpCommand&, const HelpCommand&) = default;
};
struct StarttlsCommand {  // RFC 3207 §4: no parameters
  friend bool operator==(const StarttlsCommand&, const StarttlsCommand&) = default;
};
struct AuthCommand {  // RFC 4954 §4: "AUTH" SP sasl-mech [ SP initial-response ]
  std::string mechanism;  // upper-cased (RFC 4422 §3.1 names are upper case)
  // Absent: no initial response. Present: base64-decoded bytes; "=" (an
  // empty initial response) is the empty string.
  std::optional<std::string> initial_response;
  friend bool operator==(const AuthCommand&, const AuthCommand&) = default;
};

struct Command {
  std::variant<HeloCommand, EhloCommand, MailCommand, RcptCommand, DataCommand,
               BdatCommand, RsetCommand, NoopCommand, QuitCommand, VrfyCommand,
               ExpnCommand, HelpCommand, StarttlsCommand, AuthCommand>
      args;

  CommandVerb verb() const { return static_cast<CommandVerb>(args.index()); }
  template <typename T>
  const T* get_if() const { return std::get_if<T>(&args); }
  template <typename T>
  T* get_if() { return std::get_if<T>(&args); }

  friend bool operator==(const Command&, const Command&) = default;
};

enum class CommandErrorKind {
  kOk,
  kLineTooLong,            // over the limit for this verb (§4.5.3.1.4)
  kForbiddenControl,       // NUL, bare CR or LF inside the line (§2.3.8)
  kNonAscii,               // octet > 0x7F outside an SMTPUTF8 context (§2.4)
  kEmptyLine,              // "" (no verb)
  kUnknownVerb,            // 500 (§4.2.4)
  kVerbNotEnabled,         // verb of an extension not offered: 502 (§4.2.4)
  kMissingArgument,        // e.g. "VRFY", "BDAT"
  kUnexpectedArgument,     // e.g. "DATA x", "QUIT x"
  kSyntax,                 // argument does not match the command's grammar
  kInvalidPath,            // reverse/forward path error; see address_error
  kUtf8NotAllowed,         // UTF-8 path without SMTPUTF8 (RFC 6531 §3.4)
  kUnknownParameter,       // 555 (§4.1.1.11)
  kParameterNotAllowed,    // known keyword, wrong command or extension off: 555
  kDuplicateParameter,     // same keyword twice
  kInvalidParameterValue,  // e.g. BODY=FOO, NOTIFY=NEVER,DELAY, bad xtext
};

// The enumerator's name without the leading 'k' ("UnknownParameter").
std::string_view CommandErrorKindName(CommandErrorKind kind);

// Replies ParseCommand suggests (RFC 5321 §4.2.2-4.2.4, RFC 3463 codes):
//   500 5.5.2  kEmptyLine, kLineTooLong, kForbiddenControl
//   500 5.5.1  kUnknownVerb
//   502 5.5.1  kVerbNotEnabled (STARTTLS/AUTH/BDAT of an extension not offered)
//   501 5.5.2  kSyntax (incl. RFC 4954 §4 undecodable base64), kNonAscii
//   501 5.5.4  kMissingArgument, kUnexpectedArgument, kDuplicateParameter,
//              kInvalidParameterValue, and kInvalidPath for a missing "<",
//              an empty path or a path over kMaxPath (§4.5.3.1.10)
//   553 5.1.7  kInvalidPath in MAIL FROM (bad sender address syntax)
//   553 5.1.3  kInvalidPath in RCPT TO (bad destination address syntax)
//   553 5.6.7  kUtf8NotAllowed (RFC 6531 §3.5)
//   555 5.5.4  kUnknownParameter, kParameterNotAllowed (§4.1.1.11)
//   504 5.5.4  kParameterNotAllowed for VRFY/EXPN SMTPUTF8 when not offered
struct CommandError {
  CommandErrorKind kind = CommandErrorKind::kOk;
  std::size_t offset = 0;  // byte offset into the line where parsing stopped
  std::string message;     // what, where and why; usable as reply text
  // The reply a server should send: 500, 501, 502, 504, 553 or 555, and the
  // RFC 3463 enhanced status code ("5.5.2"); points to static storage.
  int reply_code = 0;
  std::string_view enhanced_status;
  // For kInvalidPath / kUtf8NotAllowed: the path parser's error kind.
  AddressErrorKind address_error = AddressErrorKind::kOk;

  friend bool operator==(const CommandError&, const CommandError&) = default;
};

// The ESMTP extensions the server offered (RFC 5321 §4.1.1.1 EHLO keywords).
// A parameter of an extension that is off is rejected with 555 (§4.1.1.11);
// a verb of an extension that is off with 502. All on by default, so the
// parser alone accepts every grammar it knows.
struct EsmtpExtensions {
  bool size = true;         // RFC 1870 SIZE
  bool eightbitmime = true; // RFC 6152 8BITMIME (BODY=7BIT|8BITMIME)
  bool binarymime = true;   // RFC 3030 BINARYMIME (BODY=BINARYMIME)
  bool chunking = true;     // RFC 3030 CHUNKING (BDAT)
  bool smtputf8 = true;     // RFC 6531 SMTPUTF8
  bool dsn = true;          // RFC 3461 DSN (RET, ENVID, NOTIFY, ORCPT)
  bool auth = true;         // RFC 4954 AUTH (AUTH command, AUTH= parameter)
  bool starttls = true;     // RFC 3207 STARTTLS

  friend bool operator==(const EsmtpExtensions&, const EsmtpExtensions&) = default;
};

// The parser's leniencies, each off (strict) by default. A separate struct so
// that ServerSessionConfig can carry exactly these switches: a leniency added
// here reaches the server session (and fakemx) without further plumbing.
struct CommandLeniencies {
  // Accept SP between "FROM:"/"TO:" and the path ("MAIL FROM: <a@b>"). RFC
  // 5321 §4.1.1.2/§4.1.1.3 forbid it (§4.1.2: "no space"), but many clients
  // send it and Postfix/Exim accept it.
  bool allow_space_before_path = false;
  // Accept a path without "<" ">" (see
  // AddressParseOptions::allow_missing_angle_brackets, RFC 5321 §4.1.2).
  bool allow_missing_angle_brackets = false;
  // Accept an address-literal as the HELO argument. RFC 5321 §4.1.1.1 allows
  // only a Domain for HELO; clients without a name send "HELO [192.0.2.1]".
  bool allow_helo_address_literal = false;
  // Let an AUTH command line be as long as a SASL response line
  // (kMaxAuthResponseLine, RFC 4954 §4) instead of max_command_line. RFC
  // 4954 §4 keeps AUTH within the §4.5.3.1.4 limit and tells clients to drop
  // the initial response otherwise, but OAuth clients send "AUTH XOAUTH2"
  // with a 1-2 KB token. Bounded, so not a resource risk.
  bool allow_long_auth_line = false;

  friend bool operator==(const CommandLeniencies&, const CommandLeniencies&) = default;
};

struct CommandParseOptions : CommandLeniencies {
  EsmtpExtensions extensions;
  // Octets of a command line including CRLF (§4.5.3.1.4). The allowances of
  // limits.h for enabled SIZE/DSN/AUTH are added for MAIL and RCPT.
  std::size_t max_command_line = kMaxCommandLine;
  // RFC 6531 §3.4: the current transaction's MAIL FROM carried SMTPUTF8, so
  // RCPT TO paths may hold UTF-8. (MAIL FROM with SMTPUTF8, and VRFY/EXPN
  // with SMTPUTF8, allow it for their own line whenever extensions.smtputf8.)
  bool allow_utf8 = false;
};

struct CommandResult {
  CommandError error;  // kind == kOk on success
  Command command;     // valid on success

  bool ok() const { return error.kind == CommandErrorKind::kOk; }
};

// Parses one command line, WITHOUT its terminating CRLF. Never throws or
// aborts; any error is a value (see CommandError).
CommandResult ParseCommand(std::string_view line,
                           const CommandParseOptions& options = {});

// The canonical wire form of `command`, terminated by CRLF.
std::string FormatCommand(const Command& command);
void AppendCommand(const Command& command, std::string* out);

// RFC 3461 §4 xtext: decodes `input` into `out` (appended). Returns
// input.size() on success, else the offset of the first invalid byte ("+"
// must be followed by two UPPER-case hex digits; "=" / SP / controls /
// non-ASCII are not xchar).
std::size_t DecodeXtext(std::string_view input, std::string* out);
// Encodes every byte outside "!".."~" and "+", "=" as "+XX" (appended).
void AppendXtext(std::string_view input, std::string* out);

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_COMMAND_H_
