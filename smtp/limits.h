// Size limits of the SMTP wire protocol, each next to the RFC section that
// sets it, and the per-session limits built from them.
//
// RFC 5321 §4.5.3.1 gives *minimum maximums*: an implementation MUST be able
// to handle objects of at least these sizes. mxkit enforces them as maximums
// by default (strict) and lets a session raise the ones the RFC lets a server
// raise (recipients, message size).

#ifndef MXKIT_SMTP_LIMITS_H_
#define MXKIT_SMTP_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace mxkit::smtp {

// RFC 5321 §4.5.3.1.1: "The maximum total length of a user name or other
// local-part is 64 octets."
inline constexpr std::size_t kMaxLocalPart = 64;

// RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number
// is 255 octets."
inline constexpr std::size_t kMaxDomain = 255;

// RFC 1035 §2.3.4 (referenced by RFC 5321 §2.3.5): labels are 63 octets or
// less.
inline constexpr std::size_t kMaxDomainLabel = 63;

// RFC 5321 §4.5.3.1.3: "The maximum total length of a reverse-path or
// forward-path is 256 octets (including the punctuation and element
// separators)", i.e. including "<", ">", a source route and its ":".
inline constexpr std::size_t kMaxPath = 256;

// RFC 5321 §4.5.3.1.4: "The maximum total length of a command line including
// the command word and the <CRLF> is 512 octets."
inline constexpr std::size_t kMaxCommandLine = 512;

// RFC 5321 §4.5.3.1.5: "The maximum total length of a reply line including the
// reply code and the <CRLF> is 512 octets."
inline constexpr std::size_t kMaxReplyLine = 512;

// RFC 5321 §4.5.3.1.6: "The maximum total length of a text line including the
// <CRLF> is 1000 octets (not counting the leading dot duplicated for
// transparency)."
inline constexpr std::size_t kMaxTextLine = 1000;

// RFC 5321 §4.5.3.1.7: "The maximum total length of a message content
// (including any message header section as well as the message body) MUST BE
// at least 64K octets."
inline constexpr std::uint64_t kMinMessageContent = 64 * 1024;

// RFC 5321 §4.5.3.1.8: "The minimum total number of recipients that MUST be
// buffered is 100 recipients."
inline constexpr std::size_t kMinRecipientsBuffer = 100;

// Extensions that lengthen the command line (RFC 5321 §4.5.3.1.4: "SMTP
// extensions may be used to increase this limit").
// RFC 1870 §3: MAIL FROM grows by 26 characters for SIZE=.
inline constexpr std::size_t kMailLineSizeAllowance = 26;
// RFC 3461 §4 (DSN): MAIL FROM grows by 100 characters for RET= and ENVID=,
// RCPT TO by 500 characters for NOTIFY= and ORCPT=.
inline constexpr std::size_t kMailLineDsnAllowance = 100;
inline constexpr std::size_t kRcptLineDsnAllowance = 500;
// RFC 4954 §5: MAIL FROM grows by 500 characters for AUTH=.
inline constexpr std::size_t kMailLineAuthAllowance = 500;

// RFC 4954 §4: SASL response lines the client sends after "334" may be up to
// 12288 octets (the AUTH command line itself stays within kMaxCommandLine).
inline constexpr std::size_t kMaxAuthResponseLine = 12288;

// RFC 3461 §4.4: the ENVID esmtp-value is at most 100 characters.
inline constexpr std::size_t kMaxEnvid = 100;
// RFC 3461 §4.2: the ORCPT esmtp-value is at most 500 characters.
inline constexpr std::size_t kMaxOrcpt = 500;

// RFC 1870 §3: size-value ::= 1*20DIGIT. RFC 3030 §2 sets no bound on the
// BDAT chunk-size; we use the same 20 digits (any uint64).
inline constexpr std::size_t kMaxSizeDigits = 20;

// RFC 4954 §4 / RFC 4422 §3.1: a SASL mechanism name is 1 to 20 characters.
inline constexpr std::size_t kMaxSaslMechanism = 20;

// mxkit's default message size bound; RFC 5321 only sets the 64K floor above.
// 10 MiB is below common MTA defaults (Postfix message_size_limit 10240000 is
// about this) and bounds the work a test peer can cause.
inline constexpr std::uint64_t kDefaultMaxMessageSize = 10 * 1024 * 1024;

// The limits a session and its DATA/BDAT decoder enforce. Defaults are the
// RFC 5321 §4.5.3.1 values, which is the strict reading.
struct SessionLimits {
  // Octets of a command line including CRLF (§4.5.3.1.4). Extension
  // allowances above are added per command by the command parser.
  std::size_t max_command_line = kMaxCommandLine;
  // Octets of a DATA text line including CRLF, not counting a transparency
  // dot (§4.5.3.1.6).
  std::size_t max_text_line = kMaxTextLine;
  // Recipients per transaction. §4.5.3.1.8 requires at least 100; a server
  // may accept more ("configurable upward"), and must answer 452 past it
  // (§4.5.3.1.10).
  std::size_t max_recipients = kMinRecipientsBuffer;
  // Octets of message content (§4.5.3.1.7 floor: kMinMessageContent); also
  // the value advertised with the SIZE extension (RFC 1870).
  std::uint64_t max_message_size = kDefaultMaxMessageSize;

  friend bool operator==(const SessionLimits&, const SessionLimits&) = default;
};

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_LIMITS_H_
