// The SMTP DATA phase on the wire: the bytes a client sends after the 354
// reply, up to and including the terminating <CRLF>.<CRLF> (RFC 5321 §4.1.1.4),
// with dot-stuffing (RFC 5321 §4.5.2) in both directions.
//
// DataDecoder is a sans-IO streaming decoder: feed it bytes in any chunking; it
// consumes exactly up to the end of the mail data and leaves whatever follows
// (pipelined commands, RFC 2920) with the caller. It never normalises bytes:
// the message it produces is what the client sent minus the stuffed dots and
// minus the final ".<CRLF>".
//
// Where the end of data is, is a security decision. Receivers that also accept
// a bare LF or a bare CR as a line ending see an end of data where a standards-
// conforming relay in front of them saw message text, and an attacker can then
// "smuggle" a second, spoofed message through the relay (SMTP smuggling,
// SEC Consult, December 2023: CVE-2023-51764 Postfix, CVE-2023-51765 Sendmail,
// CVE-2023-51766 Exim). The default here is the strict RFC 5321 behaviour; each
// lenient behaviour real servers have is its own named policy below, so tests
// and fakemx can reproduce them deliberately.

#ifndef MXKIT_SMTP_DATA_H_
#define MXKIT_SMTP_DATA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/limits.h"

namespace mxkit::smtp {

// Bounds: kMaxTextLine (RFC 5321 §4.5.3.1.6) and kDefaultMaxMessageSize
// (RFC 5321 §4.5.3.1.7 sets only a floor) come from smtp/limits.h.

// How DataDecoder treats a CR not followed by LF ("bare CR") and an LF not
// preceded by CR ("bare LF"). RFC 5321 §2.3.8: "SMTP client implementations
// MUST NOT transmit these characters except when they are intended as line
// terminators and then MUST, as indicated above, transmit them only as a
// <CRLF> sequence." Every policy except kReject relaxes that section.
enum class BareLineEndingPolicy {
  // Strict (default). A bare CR or bare LF anywhere in the data is an error
  // (reported once the real <CRLF>.<CRLF> has arrived, so the session stays in
  // step with the client). Only <CRLF>.<CRLF> ends the data; this is what
  // Postfix's post-disclosure smtpd_forbid_bare_newline = reject does.
  kReject,

  // Bare CR and bare LF are ordinary message bytes and are kept as sent; only
  // <CRLF>.<CRLF> ends the data and only a line after CRLF can start with a
  // stuffed dot. Not vulnerable to smuggling as a final receiver, but as a
  // relay it forwards the ambiguous bytes to a next hop that may be one of the
  // lenient kinds below (that is the outbound half of the SEC Consult attack).
  kPassThrough,

  // VULNERABLE to SMTP smuggling (CVE-2023-51764 Postfix without
  // smtpd_forbid_bare_newline, CVE-2023-51765 Sendmail before 8.18.1,
  // CVE-2023-51766 Exim before 4.97.1): a bare LF also ends a line, so
  // "\n.\n", "\n.\r\n" and "\r\n.\n" all end the data. Bare CR is kept as a
  // message byte. Use only to emulate such servers in tests.
  kAcceptBareLfAsLineEnd,

  // VULNERABLE to SMTP smuggling (the "<CR>.<CR>" variants in SEC Consult's
  // December 2023 write-up, e.g. Cisco Secure Email Gateway's CR handling): a
  // CR not followed by LF also ends a line, so "\r.\r\n", "\r\n.\r" + any
  // non-LF byte, and "\r.\r" + non-LF end the data. Bare LF is kept as a
  // message byte. Use only to emulate such servers in tests.
  kAcceptBareCrAsLineEnd,

  // VULNERABLE to SMTP smuggling: both of the above at once (a bare CR and a
  // bare LF each end a line). Use only to emulate such servers in tests.
  kAcceptBareCrOrLfAsLineEnd,
};

// How DataDecoder treats NUL bytes in the data. RFC 5321 §4.1.1.4 / §2.3.1:
// mail data is lines of US-ASCII (or 8BITMIME octets, RFC 6152), and neither
// admits NUL; many MTAs nonetheless pass it. A NUL never changes where the
// data ends ("\r\n\0.\r\n" is a line of two bytes, not the end).
enum class NulPolicy {
  kReject,       // strict (default): a NUL is an error, reported at the end
  kPassThrough,  // keep NUL as a message byte
};

enum class DataError {
  kOk,
  kBareCr,           // RFC 5321 §2.3.8 (kReject policy)
  kBareLf,           // RFC 5321 §2.3.8 (kReject policy)
  kNul,              // NulPolicy::kReject
  kLineTooLong,      // RFC 5321 §4.5.3.1.6
  kMessageTooLarge,  // DataDecoderOptions::max_message_size, RFC 5321 §4.5.3.1.10
};

// The enumerator's name without the leading 'k' ("BareLf").
std::string_view DataErrorName(DataError error);

// The reply a server should send for `error`, as wire bytes including the
// trailing CRLF, e.g. "550 5.5.2 Bare LF received (RFC 5321 section 2.3.8)\r\n".
// Codes: 550/5.5.2 for bare CR/LF and NUL, 500/5.5.2 "Line too long" and
// 552/5.3.4 "Too much mail data" (both from RFC 5321 §4.5.3.1.10). For kOk it
// returns "250 2.0.0 OK\r\n".
std::string_view DataErrorReply(DataError error);

// The three-digit code of DataErrorReply(error).
int DataErrorReplyCode(DataError error);

struct DataDecoderOptions {
  BareLineEndingPolicy bare_line_ending = BareLineEndingPolicy::kReject;
  NulPolicy nul = NulPolicy::kReject;
  // Maximum octets of one line including its line ending, excluding a stuffed
  // leading dot (RFC 5321 §4.5.3.1.6). SIZE_MAX disables the check.
  std::size_t max_line_length = kMaxTextLine;
  // Maximum size of the decoded message (after removing stuffed dots). Once it
  // would be exceeded the decoder stops appending and reports kMessageTooLarge
  // at the end of data (RFC 5321 §4.5.3.1.10: "552 Too much mail data").
  std::uint64_t max_message_size = kDefaultMaxMessageSize;
};

enum class DataStatus {
  kNeedMore,  // all input consumed, the end of data not seen yet
  kDone,      // end of data seen; the message is complete and valid
  kError,     // end of data seen; the message is invalid, see error()
};

struct DataPutResult {
  std::size_t consumed = 0;  // bytes of the input that belong to the DATA phase
  DataStatus status = DataStatus::kNeedMore;
};

// Incremental decoder of one DATA phase (one mail transaction). Not thread-safe;
// cheap to construct; Reset() reuses it for the next transaction.
//
// Errors in the data (bare CR/LF, NUL, long lines, size) are detected as they
// arrive but reported only when the end of data has been found: the decoder
// keeps scanning for the real <CRLF>.<CRLF> so the SMTP session does not
// desynchronise, and appends nothing after the chunk in which the first error
// was found. How much of that chunk was appended depends on the chunking, so
// the caller must discard the partial message on kError.
class DataDecoder {
 public:
  explicit DataDecoder(const DataDecoderOptions& options = {});

  // Decodes `input`, the next bytes of the stream after the 354 reply,
  // appending un-stuffed message bytes to `*out` (never cleared; the caller
  // may pass a different string each call, e.g. to spool chunks to disk).
  // Consumes everything while the end of data has not been seen; when it has,
  // `consumed` stops right after the terminating line ending and the status is
  // kDone or kError. Once finished, further calls consume nothing and repeat
  // the final status until Reset().
  DataPutResult Put(std::string_view input, std::string* out);

  // Forgets all state (but keeps the options) for the next transaction.
  void Reset();

  bool finished() const { return state_ == State::kFinished; }
  // The first error seen (kOk if none yet). Known before the end of data, but
  // Put reports it only with the end of data.
  DataError error() const { return error_; }
  // Offset of the first error's offending byte, counted from the first byte
  // after the 354 reply (0 when error() == kOk).
  std::uint64_t error_offset() const { return error_offset_; }
  // What, where and why, for logs (empty when error() == kOk).
  const std::string& error_message() const { return error_message_; }
  // Total bytes consumed since construction or Reset().
  std::uint64_t bytes_consumed() const { return consumed_; }
  // Size of the decoded message so far, including bytes not appended after an
  // error (so it keeps growing past max_message_size).
  std::uint64_t message_size() const { return message_size_; }

 private:
  enum class State {
    kLineStart,  // at the first byte of a line
    kInLine,     // inside a line
    kCr,         // just after a CR inside a line; the next byte decides
    kDot,        // after a '.' at the start of a line
    kDotCr,      // after ".\r" at the start of a line
    kFinished,
  };

  void Fail(DataError error, std::uint64_t offset);
  void Emit(const char* begin, const char* end, std::uint64_t offset, std::string* out);

  DataDecoderOptions options_;
  bool lf_ends_line_ = false;
  bool cr_ends_line_ = false;
  bool reject_bare_ = true;
  bool reject_nul_ = true;

  State state_ = State::kLineStart;
  DataError error_ = DataError::kOk;
  std::uint64_t error_offset_ = 0;
  std::string error_message_;
  std::uint64_t consumed_ = 0;
  std::uint64_t message_size_ = 0;
  std::uint64_t line_length_ = 0;  // octets of the current line so far
};

// How DataEncoder treats bare CR and bare LF in the message it is given.
enum class DataEncoderBareLineEndingPolicy {
  // Strict (default): a bare CR or LF is an error (RFC 5321 §2.3.8); nothing
  // after it is encoded.
  kReject,
  // Each bare CR and each bare LF is sent as CRLF, the fix Postfix and Exim
  // adopted for outbound mail after the smuggling disclosures. Changes the
  // message (and so breaks DKIM signatures over those bytes).
  kNormalizeToCrlf,
  // VULNERABLE (this is the outbound half of SMTP smuggling): bare CR/LF are
  // sent as they are, and a dot is stuffed only at the start of the message
  // and after CRLF, so "\n.\r\n" in the message reaches the wire unchanged.
  // For tests that attack a receiver; never for relaying real mail.
  kPassThrough,
};

struct DataEncoderOptions {
  DataEncoderBareLineEndingPolicy bare_line_ending = DataEncoderBareLineEndingPolicy::kReject;
};

struct DataEncodeResult {
  DataError error = DataError::kOk;  // kBareCr or kBareLf under kReject
  std::size_t offset = 0;            // offset in the message of the bad byte
  bool ok() const { return error == DataError::kOk; }
};

// Streaming dot-stuffer (RFC 5321 §4.5.2): the inverse of DataDecoder.
class DataEncoder {
 public:
  explicit DataEncoder(const DataEncoderOptions& options = {});

  // Appends the transparent form of the next `chunk` of the message to `*out`.
  // On error `*out` holds an incomplete payload the caller must discard;
  // further calls append nothing and repeat the error.
  DataEncodeResult Put(std::string_view chunk, std::string* out);

  // Appends CRLF if the message so far is non-empty and does not end with
  // CRLF, then ".\r\n". The encoder is finished after this; Reset() reuses it.
  DataEncodeResult Finish(std::string* out);

  void Reset();

 private:
  DataEncoderOptions options_;
  bool at_line_start_ = true;  // the previous bytes were CRLF or nothing
  bool after_cr_ = false;      // the previous byte was a CR (not yet known bare)
  bool empty_ = true;
  DataEncodeResult result_;
  std::size_t offset_ = 0;
};

// Appends the complete DATA payload for `message` to `*out`: dot-stuffed, CRLF
// added if `message` is non-empty and does not end with one, then ".\r\n".
// For a message that ends with CRLF (or is empty) and has no bare CR/LF,
// DataDecoder gives back exactly `message`.
DataEncodeResult EncodeData(std::string_view message, std::string* out,
                            const DataEncoderOptions& options = {});

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_DATA_H_
