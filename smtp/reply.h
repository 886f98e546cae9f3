// SMTP replies (RFC 5321 §4.2): the value type, its wire format, RFC 3463
// enhanced status codes, and a streaming parser for the client side.
//
// The parser is sans-IO: bytes in, replies or one sticky error out. It stops
// after every complete reply so a client can act on it before looking at the
// bytes behind it (after "220 Ready to start TLS" the plaintext behind the
// reply must be thrown away, not parsed: the reply-side twin of the STARTTLS
// command injection, CVE-2011-0411).

#ifndef MXKIT_SMTP_REPLY_H_
#define MXKIT_SMTP_REPLY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "smtp/limits.h"

namespace mxkit::smtp {

// kMaxReplyLine (RFC 5321 §4.5.3.1.5, 512 octets) is in smtp/limits.h.

// RFC 5321 sets no bound on the number of lines in a multi-line reply. Real
// EHLO replies have 10-25 lines (Exchange Online ~15, Postfix ~12); 128 leaves
// room for chatty banners while keeping one reply under 64 KiB.
inline constexpr size_t kMaxReplyLines = 128;

// An RFC 3463 §2 enhanced status code, "class.subject.detail".
// Valid: klass in {2, 4, 5}, subject and detail in 0..999.
struct EnhancedStatusCode {
  int klass = 0;
  int subject = 0;
  int detail = 0;

  friend bool operator==(const EnhancedStatusCode&, const EnhancedStatusCode&) = default;
};

// Parses exactly "class.subject.detail" (RFC 3463 §2: class = "2"/"4"/"5",
// subject and detail = 1*3digit; leading zeros are allowed by that grammar and
// do not change the value). Returns nullopt for anything else, including
// surrounding spaces.
std::optional<EnhancedStatusCode> ParseEnhancedStatusCode(std::string_view text);

// "5.7.1". Precondition: the code is valid (see EnhancedStatusCode).
std::string FormatEnhancedStatusCode(const EnhancedStatusCode& code);
// The same appended to `out`, with no string of its own: a server writes
// one on most replies it sends.
void AppendEnhancedStatusCode(const EnhancedStatusCode& code, std::string* out);

// A reply line's text with the enhanced status code split off its front.
struct EnhancedText {
  std::optional<EnhancedStatusCode> code;  // nullopt: the text does not start with one
  std::string_view text;                   // the rest, after the separating spaces
};

// When ENHANCEDSTATUSCODES is in use, the text of 2xx, 4xx and 5xx reply
// lines other than the greeting and the EHLO/HELO reply starts with an
// enhanced code, "always followed by one or more spaces" (RFC 2034 §3, §4):
// "2.1.0 Sender ok", or Gmail's "5.1.1  https://...". Splits it off
// `line_text` (one element of Reply::lines), dropping all the spaces after
// it; a line that is the code alone also splits, with empty text. If the text
// does not start with a syntactically valid code followed by SP or the end,
// returns {nullopt, line_text} unchanged. It does not check that the class
// agrees with the reply code; EnhancedCodeMatches does.
EnhancedText SplitEnhancedStatusCode(std::string_view line_text);

// True when `code`'s class equals the first digit of `reply_code` (RFC 2034
// §4: "All status codes returned by the server must agree with the primary
// response code").
bool EnhancedCodeMatches(const EnhancedStatusCode& code, int reply_code);

// One SMTP reply. `lines` holds the text of each line without the code, the
// separator ("-" or SP) and the CRLF; an empty string is a line with no text.
// A reply on the wire always has at least one line; FormatReply writes an
// empty `lines` as one line without text.
struct Reply {
  int code = 0;
  std::vector<std::string> lines;

  friend bool operator==(const Reply&, const Reply&) = default;

  // RFC 5321 §4.2.1 first-digit classes.
  bool is_positive_completion() const { return code / 100 == 2; }
  bool is_positive_intermediate() const { return code / 100 == 3; }
  bool is_transient_failure() const { return code / 100 == 4; }
  bool is_permanent_failure() const { return code / 100 == 5; }
};

// Writes `reply` byte-exact per RFC 5321 §4.2:
//   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//                Reply-code [ SP textstring ] CRLF
// e.g. {250, {"first", "last"}} -> "250-first\r\n250 last\r\n" and
// {250, {""}} -> "250\r\n". A line with empty text gets no SP after the code.
// The code is written as three digits (zero-padded).
// FormatReply does not validate: it writes what the fields say, so fakemx can
// send malformed replies on purpose. Check ValidateReply first when the reply
// comes from configuration or a user (text with CR/LF would inject lines).
std::string FormatReply(const Reply& reply);

// Parser limits and leniencies. The defaults are strict RFC 5321.
struct ReplyParserOptions {
  // Longest line accepted, counting the code and the line ending
  // (RFC 5321 §4.5.3.1.5 says 512; §4.5.3.1 allows raising it).
  size_t max_line_length = kMaxReplyLine;
  // Most lines accepted in one reply.
  size_t max_lines = kMaxReplyLines;
  // Accept a bare LF as the end of a line. Relaxes RFC 5321 §2.3.8 ("lines
  // ... terminated by <CRLF>") because real servers (old qmail patches, test
  // scripts, some appliances) send "250 ok\n". A client-side leniency: it
  // cannot smuggle, but it does make a lone LF and CRLF equivalent. The LF
  // counts as two octets towards max_line_length, as the CRLF it stands for.
  bool allow_bare_lf = false;
  // Accept octets 0x80-0xFF in reply text. Relaxes RFC 5321 §4.2 textstring
  // (%d09 / %d32-126; RFC 6531 does not extend it) because servers put UTF-8
  // or Latin-1 in banners. Control characters are never accepted.
  bool allow_8bit_text = false;
};

enum class ReplyErrorKind {
  kInvalidCode,       // a byte of the reply code is not a digit
  kCodeOutOfRange,    // digits outside RFC 5321 §4.2 Reply-code (%x32-35 %x30-35 %x30-39)
  kInconsistentCode,  // a line's code differs from the first line's (RFC 5321 §4.2.1)
  kInvalidSeparator,  // after the code: not SP, "-" or the line ending
  kInvalidCharacter,  // text octet outside textstring (control character, or 8-bit when strict)
  kNul,               // a NUL octet anywhere
  kBareLf,            // LF not preceded by CR (unless allow_bare_lf)
  kBareCr,            // CR not followed by LF
  kLineTooLong,       // more than max_line_length octets in one line
  kTooManyLines,      // more than max_lines lines in one reply
  kTruncated,         // input ended inside a reply (ParseReply, ReplyParser::Finish)
  kTrailingData,      // ParseReply: bytes after the one complete reply
};

// "invalid code", "bare LF", ... for messages and test output.
std::string_view ReplyErrorKindName(ReplyErrorKind kind);

struct ReplyError {
  ReplyErrorKind kind;
  // Offset of the octet at which parsing stopped, counted from the first byte
  // ever fed to the parser (for ParseReply, from the start of the buffer).
  size_t offset = 0;
  std::string message;  // what, where and why, for humans

  friend bool operator==(const ReplyError&, const ReplyError&) = default;
};

// Checks that `reply` would parse back to itself under `options`: code in the
// Reply-code range, every line's text a valid textstring (no CR, LF, NUL or
// other control characters except HT), each formatted line within
// max_line_length, and at most max_lines lines. Returns InvalidArgument
// naming the line and the reason otherwise.
absl::Status ValidateReply(const Reply& reply, const ReplyParserOptions& options = {});

// Incremental reply parser for the client side of a session.
//
//   ReplyParser parser;
//   while (!input.empty()) {
//     ReplyParser::Result r = parser.Feed(input);
//     input.remove_prefix(r.consumed);
//     if (r.error) { ...give up: the error is sticky...; }
//     if (r.reply) { ...act on *r.reply before feeding more... }
//     if (!r.reply) break;  // everything consumed, need more bytes
//   }
//
// Feed accepts bytes in any chunking and consumes at most up to the end of one
// complete reply; bytes after it are left for the next call. The partial
// reply is buffered inside the parser, so `bytes` need not outlive the call.
class ReplyParser {
 public:
  struct Result {
    size_t consumed = 0;               // octets of `bytes` used
    std::optional<Reply> reply;        // a reply that ended at bytes[consumed - 1]
    std::optional<ReplyError> error;   // set on failure; sticky
  };

  explicit ReplyParser(ReplyParserOptions options = {});

  // Consumes bytes until a reply completes, an error occurs, or `bytes` runs
  // out. After an error every later call returns consumed = 0 and the same
  // error.
  Result Feed(std::string_view bytes);

  // Call at end of input. Returns kTruncated if a reply was started but not
  // finished, the sticky error if there is one, and nullopt otherwise.
  std::optional<ReplyError> Finish();

  // True when some bytes of an unfinished reply have been consumed.
  bool in_reply() const { return state_ != State::kLineStart || !lines_.empty(); }

  const std::optional<ReplyError>& error() const { return error_; }

  // Total octets consumed since construction (the origin of error offsets).
  size_t offset() const { return offset_; }

 private:
  enum class State { kLineStart, kCode2, kCode3, kSeparator, kText, kCr };

  std::optional<ReplyError> Fail(ReplyErrorKind kind, std::string message);
  std::optional<ReplyError> FailAt(size_t offset, ReplyErrorKind kind, std::string message);

  ReplyParserOptions options_;
  State state_ = State::kLineStart;
  size_t offset_ = 0;
  size_t line_length_ = 0;
  char code_[3] = {0, 0, 0};
  bool last_line_ = false;
  std::string text_;
  std::vector<std::string> lines_;
  int first_code_ = 0;
  std::optional<ReplyError> error_;
};

// Parses `bytes` as exactly one complete reply. Errors: anything ReplyParser
// reports, kTruncated if the reply is unfinished, kTrailingData if bytes
// follow it.
struct ReplyParseResult {
  std::optional<Reply> reply;
  std::optional<ReplyError> error;
};
ReplyParseResult ParseReply(std::string_view bytes, const ReplyParserOptions& options = {});

// Parses `bytes` as a sequence of complete replies (a pipelined response
// group, RFC 2920). On error, `replies` holds those parsed before it.
struct RepliesParseResult {
  std::vector<Reply> replies;
  std::optional<ReplyError> error;
};
RepliesParseResult ParseReplies(std::string_view bytes, const ReplyParserOptions& options = {});

// True when `code` is an RFC 5321 §4.2 Reply-code: %x32-35 %x30-35 %x30-39
// (so 200-599 with a second digit of 0-5; 470 or 599 is not one).
bool IsReplyCode(int code);

// Convenience constructors. Texts follow RFC 5321 §4.2.2/§4.2.3 and §4.3.2
// wording where it gives one.
Reply MakeReply(int code, std::string_view text);
// Named apart from MakeReply: with C++20's iterator-pair string_view
// constructor, MakeReply(250, {"a", "b"}) would be ambiguous.
Reply MakeMultilineReply(int code, std::vector<std::string> lines);
// "<code> <class.subject.detail> <text>" (RFC 2034 §4).
Reply MakeReply(int code, const EnhancedStatusCode& enhanced, std::string_view text);
// Returns `reply` with "class.subject.detail " prefixed to every line (RFC
// 2034 §4: each line of a multi-line reply carries the code).
Reply WithEnhancedStatusCode(Reply reply, const EnhancedStatusCode& enhanced);

Reply ServiceReadyReply(std::string_view domain, std::string_view text = "ESMTP");    // 220
Reply ClosingReply(std::string_view domain);                 // 221
Reply OkReply(std::string_view text = "OK");                 // 250
Reply StartMailInputReply();                                 // 354
Reply ServiceNotAvailableReply(std::string_view domain);     // 421
Reply LocalErrorReply();                                     // 451
Reply InsufficientStorageReply();                            // 452
Reply StartTlsReadyReply();                                  // 220 (RFC 3207 §4)
Reply TlsNotAvailableReply();                                // 454 (RFC 3207 §4)
Reply CommandUnrecognizedReply();                            // 500
Reply LineTooLongReply();                                    // 500 (RFC 5321 §4.5.3.1)
Reply SyntaxErrorInParametersReply();                        // 501
Reply CommandNotImplementedReply();                          // 502
Reply BadSequenceReply();                                    // 503
Reply ParameterNotImplementedReply();                        // 504
Reply MailboxUnavailableReply();                             // 550
Reply ExceededStorageReply();                                // 552 (RFC 1870 §6.3 message too big)
Reply TransactionFailedReply();                              // 554

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_REPLY_H_
