#include "smtp/reply.h"

#include <charconv>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/ascii.h"

namespace mxkit::smtp {
namespace {

using base::IsDigit;

// RFC 5321 §4.2: textstring = 1*(%d09 / %d32-126).
bool IsTextOctet(unsigned char c, bool allow_8bit) {
  if (c == '\t' || (c >= 0x20 && c <= 0x7e)) return true;
  return allow_8bit && c >= 0x80;
}

// RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39.
bool CodeDigitInRange(int position, char c) {
  switch (position) {
    case 0: return c >= '2' && c <= '5';
    case 1: return c >= '0' && c <= '5';
    default: return IsDigit(c);
  }
}

using base::DescribeOctet;

void AppendCode(std::string& out, int code) {
  if (code >= 0 && code <= 999) {
    out.push_back(static_cast<char>('0' + code / 100));
    out.push_back(static_cast<char>('0' + code / 10 % 10));
    out.push_back(static_cast<char>('0' + code % 10));
  } else {
    absl::StrAppend(&out, code);
  }
}

// Parses 1*3DIGIT into *value; returns the number of digits used (0: none).
size_t ParseUpTo3Digits(std::string_view s, int* value) {
  size_t n = 0;
  int v = 0;
  while (n < s.size() && n < 3 && IsDigit(s[n])) {
    v = v * 10 + (s[n] - '0');
    ++n;
  }
  *value = v;
  return n;
}

// Length of the enhanced code at the front of `s` ("2.1.10" -> 6), or 0.
size_t EnhancedCodePrefix(std::string_view s, EnhancedStatusCode* code) {
  if (s.empty() || (s[0] != '2' && s[0] != '4' && s[0] != '5')) return 0;
  if (s.size() < 2 || s[1] != '.') return 0;
  size_t pos = 2;
  int subject = 0;
  size_t n = ParseUpTo3Digits(s.substr(pos), &subject);
  if (n == 0) return 0;
  pos += n;
  if (pos >= s.size() || s[pos] != '.') return 0;
  ++pos;
  int detail = 0;
  n = ParseUpTo3Digits(s.substr(pos), &detail);
  if (n == 0) return 0;
  pos += n;
  // A fourth digit means the field is longer than 1*3digit.
  if (pos < s.size() && IsDigit(s[pos])) return 0;
  *code = EnhancedStatusCode{s[0] - '0', subject, detail};
  return pos;
}

}  // namespace

std::optional<EnhancedStatusCode> ParseEnhancedStatusCode(std::string_view text) {
  EnhancedStatusCode code;
  size_t n = EnhancedCodePrefix(text, &code);
  if (n == 0 || n != text.size()) return std::nullopt;
  return code;
}

std::string FormatEnhancedStatusCode(const EnhancedStatusCode& code) {
  std::string out;
  AppendEnhancedStatusCode(code, &out);
  return out;
}

void AppendEnhancedStatusCode(const EnhancedStatusCode& code, std::string* out) {
  // std::to_chars into one buffer, appended once: absl::StrAppend of five
  // pieces cost about 400 instructions per reply.
  constexpr size_t kMaxInt = 11;  // "-2147483648"
  char buffer[3 * kMaxInt + 2];
  char* p = std::to_chars(buffer, buffer + kMaxInt, code.klass).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + kMaxInt, code.subject).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + kMaxInt, code.detail).ptr;
  out->append(buffer, p);
}

EnhancedText SplitEnhancedStatusCode(std::string_view line_text) {
  EnhancedStatusCode code;
  size_t n = EnhancedCodePrefix(line_text, &code);
  if (n == 0) return {std::nullopt, line_text};
  if (n == line_text.size()) return {code, line_text.substr(n)};
  // RFC 2034 §3: "always followed by one or more spaces".
  if (line_text[n] != ' ') return {std::nullopt, line_text};
  while (n < line_text.size() && line_text[n] == ' ') ++n;
  return {code, line_text.substr(n)};
}

bool EnhancedCodeMatches(const EnhancedStatusCode& code, int reply_code) {
  return reply_code / 100 == code.klass;
}

std::string FormatReply(const Reply& reply) {
  std::string out;
  if (reply.lines.empty()) {
    AppendCode(out, reply.code);
    out += "\r\n";
    return out;
  }
  for (size_t i = 0; i < reply.lines.size(); ++i) {
    const std::string& text = reply.lines[i];
    bool last = i + 1 == reply.lines.size();
    AppendCode(out, reply.code);
    if (!last) {
      out.push_back('-');
    } else if (!text.empty()) {
      out.push_back(' ');
    }
    out += text;
    out += "\r\n";
  }
  return out;
}

std::string_view ReplyErrorKindName(ReplyErrorKind kind) {
  switch (kind) {
    case ReplyErrorKind::kInvalidCode: return "invalid code";
    case ReplyErrorKind::kCodeOutOfRange: return "code out of range";
    case ReplyErrorKind::kInconsistentCode: return "inconsistent code";
    case ReplyErrorKind::kInvalidSeparator: return "invalid separator";
    case ReplyErrorKind::kInvalidCharacter: return "invalid character";
    case ReplyErrorKind::kNul: return "NUL";
    case ReplyErrorKind::kBareLf: return "bare LF";
    case ReplyErrorKind::kBareCr: return "bare CR";
    case ReplyErrorKind::kLineTooLong: return "line too long";
    case ReplyErrorKind::kTooManyLines: return "too many lines";
    case ReplyErrorKind::kTruncated: return "truncated";
    case ReplyErrorKind::kTrailingData: return "trailing data";
  }
  return "unknown";
}

bool IsReplyCode(int code) { return code >= 200 && code <= 599 && (code / 10) % 10 <= 5; }

absl::Status ValidateReply(const Reply& reply, const ReplyParserOptions& options) {
  int c = reply.code;
  if (!IsReplyCode(c)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reply code ", c, " is outside RFC 5321 §4.2 Reply-code (2-5, 0-5, 0-9)"));
  }
  size_t line_count = reply.lines.empty() ? 1 : reply.lines.size();
  if (line_count > options.max_lines) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reply has ", line_count, " lines, more than the limit of ", options.max_lines));
  }
  for (size_t i = 0; i < reply.lines.size(); ++i) {
    const std::string& text = reply.lines[i];
    for (size_t j = 0; j < text.size(); ++j) {
      if (!IsTextOctet(static_cast<unsigned char>(text[j]), options.allow_8bit_text)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "reply line ", i + 1, ": octet ", DescribeOctet(text[j]), " at text offset ", j,
            " is not allowed in RFC 5321 §4.2 textstring"));
      }
    }
    bool last = i + 1 == reply.lines.size();
    size_t length = 3 + ((last && text.empty()) ? 0 : 1) + text.size() + 2;
    if (length > options.max_line_length) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reply line ", i + 1, " is ", length, " octets with CRLF, more than the limit of ",
          options.max_line_length, " (RFC 5321 §4.5.3.1.5)"));
    }
  }
  return absl::OkStatus();
}

ReplyParser::ReplyParser(ReplyParserOptions options) : options_(options) {}

std::optional<ReplyError> ReplyParser::Fail(ReplyErrorKind kind, std::string message) {
  return FailAt(offset_, kind, std::move(message));
}

std::optional<ReplyError> ReplyParser::FailAt(size_t offset, ReplyErrorKind kind,
                                              std::string message) {
  error_ = ReplyError{kind, offset,
                      absl::StrCat("reply line ", lines_.size() + 1, ", offset ", offset, ": ",
                                   message)};
  return error_;
}

ReplyParser::Result ReplyParser::Feed(std::string_view bytes) {
  Result result;
  if (error_) {
    result.error = error_;
    return result;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    // Every error stops at the offending octet: offset_ is its position and
    // it is not counted as consumed.
    auto fail = [&](ReplyErrorKind kind, std::string why) {
      result.consumed = i;
      result.error = Fail(kind, std::move(why));
      return result;
    };

    if (state_ == State::kCr && c != '\n') {
      // The CR was consumed by an earlier step, possibly an earlier call;
      // the error points at it.
      result.consumed = i;
      result.error = FailAt(offset_ - 1, ReplyErrorKind::kBareCr,
                            "CR not followed by LF (RFC 5321 §2.3.8)");
      return result;
    }
    if (state_ == State::kLineStart && lines_.size() >= options_.max_lines) {
      return fail(ReplyErrorKind::kTooManyLines,
                  absl::StrCat("reply has more than ", options_.max_lines, " lines"));
    }
    // A bare LF accepted under allow_bare_lf counts as the CRLF it stands
    // for, so a reply accepted here still fits the limit once formatted.
    const size_t octets =
        (c == '\n' && state_ != State::kCr && options_.allow_bare_lf) ? 2 : 1;
    if (line_length_ + octets > options_.max_line_length) {
      return fail(ReplyErrorKind::kLineTooLong,
                  absl::StrCat("line is longer than ", options_.max_line_length,
                               " octets including the code and CRLF (RFC 5321 §4.5.3.1.5)"));
    }
    if (c == '\0') {
      return fail(ReplyErrorKind::kNul, "NUL octet in a reply");
    }

    bool line_ended = false;
    switch (state_) {
      case State::kLineStart:
      case State::kCode2:
      case State::kCode3: {
        const int position = state_ == State::kLineStart ? 0 : state_ == State::kCode2 ? 1 : 2;
        if (!IsDigit(c)) {
          return fail(ReplyErrorKind::kInvalidCode,
                      absl::StrCat("reply code octet ", DescribeOctet(c),
                                   " is not a digit (RFC 5321 §4.2)"));
        }
        if (!CodeDigitInRange(position, c)) {
          return fail(ReplyErrorKind::kCodeOutOfRange,
                      absl::StrCat("reply code digit ", DescribeOctet(c), " at position ",
                                   position + 1,
                                   " is outside Reply-code = %x32-35 %x30-35 %x30-39 "
                                   "(RFC 5321 §4.2)"));
        }
        if (!lines_.empty() && c != code_[position]) {
          return fail(ReplyErrorKind::kInconsistentCode,
                      absl::StrCat("code differs from the first line's ", first_code_,
                                   " at digit ", position + 1,
                                   " (RFC 5321 §4.2.1: every line carries the same code)"));
        }
        code_[position] = c;
        if (position == 2 && lines_.empty()) {
          first_code_ = (code_[0] - '0') * 100 + (code_[1] - '0') * 10 + (code_[2] - '0');
        }
        state_ = position == 0 ? State::kCode2 : position == 1 ? State::kCode3 : State::kSeparator;
        break;
      }
      case State::kSeparator:
        if (c == ' ') {
          last_line_ = true;
          state_ = State::kText;
        } else if (c == '-') {
          last_line_ = false;
          state_ = State::kText;
        } else if (c == '\r') {
          last_line_ = true;
          state_ = State::kCr;
        } else if (c == '\n' && options_.allow_bare_lf) {
          last_line_ = true;
          line_ended = true;
        } else if (c == '\n') {
          return fail(ReplyErrorKind::kBareLf,
                      "LF without CR ends the line (RFC 5321 §2.3.8; see allow_bare_lf)");
        } else {
          return fail(ReplyErrorKind::kInvalidSeparator,
                      absl::StrCat("octet ", DescribeOctet(c),
                                   " after the reply code is not SP, '-' or CRLF "
                                   "(RFC 5321 §4.2)"));
        }
        break;
      case State::kText:
        if (c == '\r') {
          state_ = State::kCr;
        } else if (c == '\n' && options_.allow_bare_lf) {
          line_ended = true;
        } else if (c == '\n') {
          return fail(ReplyErrorKind::kBareLf,
                      "LF without CR ends the line (RFC 5321 §2.3.8; see allow_bare_lf)");
        } else if (IsTextOctet(static_cast<unsigned char>(c), options_.allow_8bit_text)) {
          text_.push_back(c);
        } else {
          return fail(ReplyErrorKind::kInvalidCharacter,
                      absl::StrCat("octet ", DescribeOctet(c),
                                   " is not allowed in reply text (RFC 5321 §4.2 textstring",
                                   options_.allow_8bit_text ? ")" : "; see allow_8bit_text)"));
        }
        break;
      case State::kCr:  // c == '\n', checked above
        line_ended = true;
        break;
    }
    ++offset_;
    if (!line_ended) {
      ++line_length_;
      continue;
    }

    line_length_ = 0;
    lines_.push_back(std::move(text_));
    text_.clear();
    state_ = State::kLineStart;
    if (last_line_) {
      result.consumed = i + 1;
      result.reply = Reply{first_code_, std::move(lines_)};
      lines_.clear();
      first_code_ = 0;
      last_line_ = false;
      return result;
    }
  }
  result.consumed = bytes.size();
  return result;
}

std::optional<ReplyError> ReplyParser::Finish() {
  if (error_) return error_;
  if (in_reply()) {
    return Fail(ReplyErrorKind::kTruncated,
                "input ended inside a reply");
  }
  return std::nullopt;
}

ReplyParseResult ParseReply(std::string_view bytes, const ReplyParserOptions& options) {
  ReplyParser parser(options);
  ReplyParser::Result r = parser.Feed(bytes);
  if (r.error) return {std::nullopt, std::move(r.error)};
  if (!r.reply) {
    std::optional<ReplyError> e = parser.Finish();
    if (!e) e = ReplyError{ReplyErrorKind::kTruncated, 0, "empty input: no reply"};
    return {std::nullopt, std::move(e)};
  }
  if (r.consumed != bytes.size()) {
    return {std::nullopt,
            ReplyError{ReplyErrorKind::kTrailingData, r.consumed,
                       absl::StrCat(bytes.size() - r.consumed, " octets follow the reply at offset ",
                                    r.consumed)}};
  }
  return {std::move(r.reply), std::nullopt};
}

RepliesParseResult ParseReplies(std::string_view bytes, const ReplyParserOptions& options) {
  RepliesParseResult out;
  ReplyParser parser(options);
  while (true) {
    ReplyParser::Result r = parser.Feed(bytes);
    bytes.remove_prefix(r.consumed);
    if (r.error) {
      out.error = std::move(r.error);
      return out;
    }
    if (!r.reply) break;
    out.replies.push_back(std::move(*r.reply));
    if (bytes.empty()) break;
  }
  out.error = parser.Finish();
  return out;
}

Reply MakeReply(int code, std::string_view text) {
  return Reply{code, {std::string(text)}};
}

Reply MakeMultilineReply(int code, std::vector<std::string> lines) {
  return Reply{code, std::move(lines)};
}

Reply MakeReply(int code, const EnhancedStatusCode& enhanced, std::string_view text) {
  return WithEnhancedStatusCode(MakeReply(code, text), enhanced);
}

Reply WithEnhancedStatusCode(Reply reply, const EnhancedStatusCode& enhanced) {
  const std::string prefix = FormatEnhancedStatusCode(enhanced);
  if (reply.lines.empty()) reply.lines.emplace_back();
  for (std::string& line : reply.lines) {
    line = line.empty() ? prefix : absl::StrCat(prefix, " ", line);
  }
  return reply;
}

Reply ServiceReadyReply(std::string_view domain, std::string_view text) {
  std::string line(domain);
  if (!text.empty()) line.append(" ").append(text);
  return MakeReply(220, line);
}
Reply ClosingReply(std::string_view domain) {
  return MakeReply(221, std::string(domain) + " Service closing transmission channel");
}
Reply OkReply(std::string_view text) { return MakeReply(250, text); }
Reply StartMailInputReply() {
  return MakeReply(354, "Start mail input; end with <CRLF>.<CRLF>");
}
Reply ServiceNotAvailableReply(std::string_view domain) {
  return MakeReply(
      421, std::string(domain) + " Service not available, closing transmission channel");
}
Reply LocalErrorReply() {
  return MakeReply(451, "Requested action aborted: local error in processing");
}
Reply InsufficientStorageReply() {
  return MakeReply(452, "Requested action not taken: insufficient system storage");
}
Reply StartTlsReadyReply() { return MakeReply(220, "Ready to start TLS"); }
Reply TlsNotAvailableReply() {
  return MakeReply(454, "TLS not available due to temporary reason");
}
Reply CommandUnrecognizedReply() { return MakeReply(500, "Syntax error, command unrecognized"); }
Reply LineTooLongReply() { return MakeReply(500, "Line too long"); }
Reply SyntaxErrorInParametersReply() {
  return MakeReply(501, "Syntax error in parameters or arguments");
}
Reply CommandNotImplementedReply() { return MakeReply(502, "Command not implemented"); }
Reply BadSequenceReply() { return MakeReply(503, "Bad sequence of commands"); }
Reply ParameterNotImplementedReply() {
  return MakeReply(504, "Command parameter not implemented");
}
Reply MailboxUnavailableReply() {
  return MakeReply(550, "Requested action not taken: mailbox unavailable");
}
Reply ExceededStorageReply() {
  return MakeReply(552, "Requested mail action aborted: exceeded storage allocation");
}
Reply TransactionFailedReply() { return MakeReply(554, "Transaction failed"); }

}  // namespace mxkit::smtp
