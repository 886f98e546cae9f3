#include "smtp/command.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <string>
#include <utility>
#include <variant>

#include "base/ascii.h"
#include "base/base64.h"
#include "base/utf8.h"

namespace mxkit::smtp {
namespace {

constexpr std::size_t npos = std::string_view::npos;

using base::EqualsIgnoreCase;
using base::IsAlnum;
using base::IsDigit;
using base::ToUpperAscii;

// RFC 5322 §3.2.3 atext (RFC 5321 §4.1.2 Atom; RFC 3461 addr-type).
using base::IsAtext;

// Reply codes and RFC 3463 enhanced status codes for each error.
struct Reply {
  int code;
  std::string_view enhanced;
};
constexpr Reply kReply500Syntax{500, "5.5.2"};
constexpr Reply kReply500Unknown{500, "5.5.1"};
constexpr Reply kReply501Syntax{501, "5.5.2"};
constexpr Reply kReply501Args{501, "5.5.4"};
constexpr Reply kReply502{502, "5.5.1"};
constexpr Reply kReply504{504, "5.5.4"};
constexpr Reply kReply555{555, "5.5.4"};
constexpr Reply kReply553Utf8{553, "5.6.7"};  // RFC 6531 §3.5, RFC 5248 X.6.7

CommandResult Fail(CommandErrorKind kind, std::size_t offset, Reply reply,
                   std::string why,
                   AddressErrorKind address_error = AddressErrorKind::kOk) {
  CommandResult result;
  result.error.kind = kind;
  result.error.offset = offset;
  result.error.reply_code = reply.code;
  result.error.enhanced_status = reply.enhanced;
  result.error.address_error = address_error;
  result.error.message = std::string(CommandErrorKindName(kind)) + " at offset " +
                         std::to_string(offset) + ": " + std::move(why);
  return result;
}

CommandResult Ok(Command command) {
  CommandResult result;
  result.command = std::move(command);
  return result;
}

// Packs up to 8 bytes, upper-cased, into an integer so keyword lookups are
// integer compares rather than memcmp calls (the hot path of every line).
constexpr std::uint64_t PackUpper(std::string_view word) {
  std::uint64_t v = 0;
  for (char c : word) v = (v << 8) | static_cast<unsigned char>(ToUpperAscii(c));
  return v;
}

// Identifies the verb (the bytes before the first SP) case-insensitively.
// Returns false for an unknown verb.
bool LookupVerb(std::string_view word, CommandVerb* verb) {
  if (word.size() != 4 && word.size() != 8) return false;
  switch (PackUpper(word)) {
    case PackUpper("MAIL"): *verb = CommandVerb::kMail; return true;
    case PackUpper("RCPT"): *verb = CommandVerb::kRcpt; return true;
    case PackUpper("DATA"): *verb = CommandVerb::kData; return true;
    case PackUpper("EHLO"): *verb = CommandVerb::kEhlo; return true;
    case PackUpper("HELO"): *verb = CommandVerb::kHelo; return true;
    case PackUpper("BDAT"): *verb = CommandVerb::kBdat; return true;
    case PackUpper("RSET"): *verb = CommandVerb::kRset; return true;
    case PackUpper("NOOP"): *verb = CommandVerb::kNoop; return true;
    case PackUpper("QUIT"): *verb = CommandVerb::kQuit; return true;
    case PackUpper("VRFY"): *verb = CommandVerb::kVrfy; return true;
    case PackUpper("EXPN"): *verb = CommandVerb::kExpn; return true;
    case PackUpper("HELP"): *verb = CommandVerb::kHelp; return true;
    case PackUpper("AUTH"): *verb = CommandVerb::kAuth; return true;
    case PackUpper("STARTTLS"): *verb = CommandVerb::kStarttls; return true;
    default: return false;
  }
}

std::size_t LineLimit(CommandVerb verb, const CommandParseOptions& options) {
  std::size_t limit = options.max_command_line;
  const EsmtpExtensions& ext = options.extensions;
  if (verb == CommandVerb::kMail) {
    if (ext.size) limit += kMailLineSizeAllowance;
    if (ext.dsn) limit += kMailLineDsnAllowance;
    if (ext.auth) limit += kMailLineAuthAllowance;
  } else if (verb == CommandVerb::kRcpt) {
    if (ext.dsn) limit += kRcptLineDsnAllowance;
  } else if (verb == CommandVerb::kAuth && options.allow_long_auth_line) {
    limit = std::max(limit, kMaxAuthResponseLine);
  }
  return limit;
}

// Parses 1*20DIGIT into a uint64 (RFC 1870 size-value, RFC 3030 chunk-size).
bool ParseDecimal(std::string_view digits, std::uint64_t* value) {
  if (digits.empty() || digits.size() > kMaxSizeDigits) return false;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (!IsDigit(static_cast<unsigned char>(c))) return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

// RFC 5321 §4.1.2 String = Atom / Quoted-string, starting at line[pos].
// Returns the end offset, or npos with *bad set to the offending offset.
// UTF-8 (RFC 6531 §3.3 atext/qtextSMTP) is scanned as opaque high bytes; the
// caller decides whether it is allowed and checks well-formedness.
std::size_t ScanString(std::string_view line, std::size_t pos, std::size_t* bad) {
  if (pos >= line.size()) {
    *bad = pos;
    return npos;
  }
  if (line[pos] == '"') {
    std::size_t p = pos + 1;
    while (p < line.size()) {
      const unsigned char c = static_cast<unsigned char>(line[p]);
      if (c == '"') return p + 1;
      if (c == '\\') {
        if (p + 1 >= line.size() || static_cast<unsigned char>(line[p + 1]) < 32 ||
            static_cast<unsigned char>(line[p + 1]) > 126) {
          *bad = p;
          return npos;
        }
        p += 2;
      } else if ((c >= 32 && c <= 126) || c >= 0x80) {
        ++p;
      } else {
        *bad = p;
        return npos;
      }
    }
    *bad = p;
    return npos;
  }
  std::size_t p = pos;
  while (p < line.size()) {
    const unsigned char c = static_cast<unsigned char>(line[p]);
    if (!IsAtext(c) && c < 0x80) break;
    ++p;
  }
  if (p == pos) {
    *bad = pos;
    return npos;
  }
  return p;
}

// Whether an ESMTP keyword (RFC 5321 §4.1.2 esmtp-keyword) may be used and
// what it is.
enum class Param {
  kUnknown,
  kSize,
  kBody,
  kSmtputf8,
  kRet,
  kEnvid,
  kAuth,
  kNotify,
  kOrcpt,
};

Param LookupParam(std::string_view keyword) {
  // Distinct lengths and packed values cannot collide: PackUpper of a
  // shorter word has zero high bytes, and every keyword is 3 to 8 bytes.
  if (keyword.size() < 3 || keyword.size() > 8) return Param::kUnknown;
  switch (PackUpper(keyword)) {
    case PackUpper("SIZE"): return Param::kSize;
    case PackUpper("BODY"): return Param::kBody;
    case PackUpper("SMTPUTF8"): return Param::kSmtputf8;
    case PackUpper("RET"): return Param::kRet;
    case PackUpper("ENVID"): return Param::kEnvid;
    case PackUpper("AUTH"): return Param::kAuth;
    case PackUpper("NOTIFY"): return Param::kNotify;
    case PackUpper("ORCPT"): return Param::kOrcpt;
    default: return Param::kUnknown;
  }
}

std::string_view ParamName(Param p) {
  switch (p) {
    case Param::kSize: return "SIZE";
    case Param::kBody: return "BODY";
    case Param::kSmtputf8: return "SMTPUTF8";
    case Param::kRet: return "RET";
    case Param::kEnvid: return "ENVID";
    case Param::kAuth: return "AUTH";
    case Param::kNotify: return "NOTIFY";
    case Param::kOrcpt: return "ORCPT";
    case Param::kUnknown: break;
  }
  return "?";
}

// One esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 §4.1.2).
struct RawParam {
  std::string_view keyword;
  std::string_view value;  // empty if no "="
  bool has_value = false;
  std::size_t keyword_offset = 0;
  std::size_t value_offset = 0;
};

// Iterates over Mail-parameters / Rcpt-parameters: esmtp-param *(SP
// esmtp-param), starting after the path. Strict: exactly one SP between
// parameters and none trailing.
class ParamScanner {
 public:
  ParamScanner(std::string_view line, std::size_t pos) : line_(line), pos_(pos) {}

  // Returns false at the end of the line; on a syntax error returns false and
  // sets *error.
  bool Next(RawParam* param, CommandResult* error) {
    if (pos_ >= line_.size()) return false;
    if (line_[pos_] != ' ') {
      *error = Fail(CommandErrorKind::kSyntax, pos_, kReply501Syntax,
                    "expected SP before an ESMTP parameter (RFC 5321 §4.1.2)");
      return false;
    }
    ++pos_;
    const std::size_t start = pos_;
    if (pos_ >= line_.size() || !IsAlnum(static_cast<unsigned char>(line_[pos_]))) {
      *error = Fail(CommandErrorKind::kSyntax, pos_, kReply501Syntax,
                    "expected an esmtp-keyword, which starts with ALPHA or DIGIT "
                    "(RFC 5321 §4.1.2)");
      return false;
    }
    while (pos_ < line_.size() &&
           (IsAlnum(static_cast<unsigned char>(line_[pos_])) || line_[pos_] == '-')) {
      ++pos_;
    }
    param->keyword = line_.substr(start, pos_ - start);
    param->keyword_offset = start;
    param->has_value = false;
    param->value = {};
    param->value_offset = pos_;
    if (pos_ < line_.size() && line_[pos_] == '=') {
      ++pos_;
      const std::size_t value = pos_;
      // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF8-non-ascii (RFC 6531
      // §3.3); the per-parameter checks reject high bytes where they do not
      // belong.
      while (pos_ < line_.size()) {
        const unsigned char c = static_cast<unsigned char>(line_[pos_]);
        if (c == ' ') break;
        if (c == '=' || c < 33 || c == 127) {
          *error = Fail(CommandErrorKind::kSyntax, pos_, kReply501Syntax,
                        "byte not allowed in an esmtp-value (RFC 5321 §4.1.2)");
          return false;
        }
        ++pos_;
      }
      if (pos_ == value) {
        *error = Fail(CommandErrorKind::kSyntax, value, kReply501Syntax,
                      "empty esmtp-value after \"=\" (RFC 5321 §4.1.2)");
        return false;
      }
      param->has_value = true;
      param->value = line_.substr(value, pos_ - value);
      param->value_offset = value;
    }
    if (pos_ < line_.size() && line_[pos_] != ' ') {
      *error = Fail(CommandErrorKind::kSyntax, pos_, kReply501Syntax,
                    "byte not allowed in an esmtp-keyword (RFC 5321 §4.1.2)");
      return false;
    }
    return true;
  }

 private:
  std::string_view line_;
  std::size_t pos_;
};

CommandResult PathError(const PathResult& path, std::size_t base, CommandVerb verb) {
  const AddressErrorKind kind = path.error.kind;
  const std::size_t offset = base + path.error.offset;
  const bool mail = verb == CommandVerb::kMail;
  // The address message starts "<Kind> at offset <n>: " with an offset into
  // the path; keep only the reason, the command error has the line offset.
  std::string_view reason = path.error.message;
  if (const std::size_t colon = reason.find(": "); colon != npos) {
    reason.remove_prefix(colon + 2);
  }
  std::string why = mail ? "reverse-path: " : "forward-path: ";
  why += reason;
  if (kind == AddressErrorKind::kUtf8NotAllowed) {
    return Fail(CommandErrorKind::kUtf8NotAllowed, offset, kReply553Utf8,
                std::move(why), kind);
  }
  Reply reply;
  switch (kind) {
    case AddressErrorKind::kEmpty:
    case AddressErrorKind::kExpectedOpenAngle:
    case AddressErrorKind::kPathTooLong:  // §4.5.3.1.10 "501 Path too long"
      reply = kReply501Args;
      break;
    default:
      // §4.2.2 "553 ... mailbox name not allowed (e.g., mailbox syntax
      // incorrect)"; RFC 3463 X.1.7 bad sender / X.1.3 bad destination
      // mailbox address syntax.
      reply = Reply{553, mail ? "5.1.7" : "5.1.3"};
      break;
  }
  return Fail(CommandErrorKind::kInvalidPath, offset, reply, std::move(why), kind);
}

CommandResult Duplicate(const RawParam& p) {
  return Fail(CommandErrorKind::kDuplicateParameter, p.keyword_offset, kReply501Args,
              "parameter " + std::string(ParamName(LookupParam(p.keyword))) +
                  " appears more than once");
}

CommandResult NotAllowed(const RawParam& p, std::string_view why) {
  return Fail(CommandErrorKind::kParameterNotAllowed, p.keyword_offset, kReply555,
              "parameter " + std::string(ParamName(LookupParam(p.keyword))) + " " +
                  std::string(why) + " (RFC 5321 §4.1.1.11)");
}

CommandResult BadValue(const RawParam& p, std::size_t offset, std::string why) {
  return Fail(CommandErrorKind::kInvalidParameterValue, offset, kReply501Args,
              std::string(ParamName(LookupParam(p.keyword))) + "= value: " +
                  std::move(why));
}

bool RequireValue(const RawParam& p, CommandResult* error) {
  if (!p.has_value) {
    *error = BadValue(p, p.value_offset, "a value is required");
    return false;
  }
  return true;
}

// Parses "<verb> FROM:" / "<verb> TO:" and the path after it; returns the
// offset after the path or sets *error.
std::size_t ParsePathArgument(std::string_view line, CommandVerb verb,
                              const CommandParseOptions& options, bool allow_utf8,
                              MailPath* path, CommandResult* error) {
  const bool mail = verb == CommandVerb::kMail;
  const std::string_view keyword = mail ? " FROM:" : " TO:";
  std::size_t pos = 4;
  if (line.size() - pos < keyword.size() ||
      !EqualsIgnoreCase(line.substr(pos, keyword.size()), keyword)) {
    if (pos == line.size()) {
      *error = Fail(CommandErrorKind::kMissingArgument, pos, kReply501Args,
                    mail ? "expected \" FROM:<reverse-path>\" (RFC 5321 §4.1.1.2)"
                         : "expected \" TO:<forward-path>\" (RFC 5321 §4.1.1.3)");
    } else {
      *error = Fail(CommandErrorKind::kSyntax, pos, kReply501Syntax,
                    mail ? "expected \" FROM:\" (RFC 5321 §4.1.1.2)"
                         : "expected \" TO:\" (RFC 5321 §4.1.1.3)");
    }
    return npos;
  }
  pos += keyword.size();
  if (options.allow_space_before_path) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
  }
  AddressParseOptions address_options;
  address_options.allow_utf8 = allow_utf8;
  address_options.allow_missing_angle_brackets = options.allow_missing_angle_brackets;
  PathResult parsed = ParsePathPrefix(line.substr(pos),
                                      mail ? PathRole::kReverse : PathRole::kForward,
                                      address_options);
  if (!parsed.ok()) {
    *error = PathError(parsed, pos, verb);
    return npos;
  }
  *path = std::move(parsed.path);
  return pos + parsed.consumed;
}

// RFC 3461 §4 xtext decoding of a parameter value; on failure sets *error.
bool DecodeXtextValue(const RawParam& p, std::string* out, CommandResult* error) {
  const std::size_t bad = DecodeXtext(p.value, out);
  if (bad != p.value.size()) {
    *error = BadValue(p, p.value_offset + bad,
                      "not xtext: \"+\" must be followed by two upper-case hex "
                      "digits and other bytes must be \"!\"..\"~\" except \"+\" "
                      "and \"=\" (RFC 3461 §4)");
    return false;
  }
  return true;
}

CommandResult ParseMail(std::string_view line, const CommandParseOptions& options,
                        std::size_t first_non_ascii) {
  const EsmtpExtensions& ext = options.extensions;
  // Built in place: the result is returned without moving the command.
  CommandResult result;
  MailCommand& mail = result.command.args.emplace<MailCommand>();
  CommandResult error;
  // UTF-8 is tentatively allowed in the path when SMTPUTF8 is offered; it is
  // kept only if the SMTPUTF8 parameter follows (RFC 6531 §3.4).
  const std::size_t path_end = ParsePathArgument(line, CommandVerb::kMail, options,
                                                 ext.smtputf8, &mail.reverse_path, &error);
  if (path_end == npos) return error;

  ParamScanner scanner(line, path_end);
  RawParam p;
  while (scanner.Next(&p, &error)) {
    const Param kind = LookupParam(p.keyword);
    switch (kind) {
      case Param::kUnknown:
        return Fail(CommandErrorKind::kUnknownParameter, p.keyword_offset, kReply555,
                    "MAIL FROM parameter not recognized (RFC 5321 §4.1.1.11)");
      case Param::kNotify:
      case Param::kOrcpt:
        return NotAllowed(p, "belongs to RCPT TO, not MAIL FROM (RFC 3461 §4.1, §4.2)");
      case Param::kSize: {
        if (!ext.size) return NotAllowed(p, "needs the SIZE extension (RFC 1870)");
        if (mail.size) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        std::uint64_t size = 0;
        if (!ParseDecimal(p.value, &size)) {
          return BadValue(p, p.value_offset,
                          "expected 1 to 20 digits within 64 bits (RFC 1870 §3)");
        }
        mail.size = size;
        break;
      }
      case Param::kBody: {
        if (!ext.eightbitmime && !ext.binarymime) {
          return NotAllowed(p, "needs the 8BITMIME or BINARYMIME extension (RFC 6152, RFC 3030)");
        }
        if (mail.body) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        if (EqualsIgnoreCase(p.value, "7BIT")) {
          mail.body = BodyType::k7Bit;
        } else if (EqualsIgnoreCase(p.value, "8BITMIME")) {
          if (!ext.eightbitmime) return NotAllowed(p, "value 8BITMIME needs the 8BITMIME extension (RFC 6152)");
          mail.body = BodyType::k8BitMime;
        } else if (EqualsIgnoreCase(p.value, "BINARYMIME")) {
          if (!ext.binarymime) return NotAllowed(p, "value BINARYMIME needs the BINARYMIME extension (RFC 3030 §3)");
          mail.body = BodyType::kBinaryMime;
        } else {
          return BadValue(p, p.value_offset,
                          "expected 7BIT, 8BITMIME or BINARYMIME (RFC 6152 §2, RFC 3030 §3)");
        }
        break;
      }
      case Param::kSmtputf8:
        if (!ext.smtputf8) return NotAllowed(p, "needs the SMTPUTF8 extension (RFC 6531)");
        if (mail.smtputf8) return Duplicate(p);
        if (p.has_value) {
          return BadValue(p, p.value_offset, "SMTPUTF8 takes no value (RFC 6531 §3.4)");
        }
        mail.smtputf8 = true;
        break;
      case Param::kRet:
        if (!ext.dsn) return NotAllowed(p, "needs the DSN extension (RFC 3461)");
        if (mail.ret) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        if (EqualsIgnoreCase(p.value, "FULL")) {
          mail.ret = DsnRet::kFull;
        } else if (EqualsIgnoreCase(p.value, "HDRS")) {
          mail.ret = DsnRet::kHdrs;
        } else {
          return BadValue(p, p.value_offset, "expected FULL or HDRS (RFC 3461 §4.3)");
        }
        break;
      case Param::kEnvid: {
        if (!ext.dsn) return NotAllowed(p, "needs the DSN extension (RFC 3461)");
        if (mail.envid) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        if (p.value.size() > kMaxEnvid) {
          return BadValue(p, p.value_offset + kMaxEnvid,
                          "longer than " + std::to_string(kMaxEnvid) +
                              " characters (RFC 3461 §4.4)");
        }
        std::string envid;
        if (!DecodeXtextValue(p, &envid, &error)) return error;
        // RFC 3461 §4.4: the envelope identifier is printable US-ASCII.
        for (std::size_t i = 0; i < envid.size(); ++i) {
          const unsigned char c = static_cast<unsigned char>(envid[i]);
          if (c < 0x20 || c > 0x7E) {
            return BadValue(p, p.value_offset,
                            "decodes to a byte outside printable US-ASCII (RFC 3461 §4.4)");
          }
        }
        mail.envid = std::move(envid);
        break;
      }
      case Param::kAuth: {
        if (!ext.auth) return NotAllowed(p, "needs the AUTH extension (RFC 4954)");
        if (mail.auth) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        AuthParam auth;
        if (p.value == "<>") {
          auth.is_null = true;
        } else {
          std::string decoded;
          if (!DecodeXtextValue(p, &decoded, &error)) return error;
          MailboxResult mailbox = ParseMailbox(decoded);
          if (!mailbox.ok()) {
            return BadValue(p, p.value_offset,
                            "xtext-decoded value is not \"<>\" or a mailbox (RFC 4954 §5): " +
                                std::string(AddressErrorKindName(mailbox.error.kind)));
          }
          auth.mailbox = std::move(mailbox.mailbox);
        }
        mail.auth = std::move(auth);
        break;
      }
    }
  }
  if (error.error.kind != CommandErrorKind::kOk) return error;
  if (!mail.smtputf8 && first_non_ascii != npos && first_non_ascii < path_end) {
    return Fail(CommandErrorKind::kUtf8NotAllowed, first_non_ascii, kReply553Utf8,
                "a non-ASCII reverse-path needs the SMTPUTF8 parameter (RFC 6531 §3.4)",
                AddressErrorKind::kUtf8NotAllowed);
  }
  return result;
}

CommandResult ParseRcpt(std::string_view line, const CommandParseOptions& options) {
  const EsmtpExtensions& ext = options.extensions;
  CommandResult result;
  RcptCommand& rcpt = result.command.args.emplace<RcptCommand>();
  CommandResult error;
  const std::size_t path_end = ParsePathArgument(line, CommandVerb::kRcpt, options,
                                                 options.allow_utf8, &rcpt.forward_path,
                                                 &error);
  if (path_end == npos) return error;

  ParamScanner scanner(line, path_end);
  RawParam p;
  while (scanner.Next(&p, &error)) {
    switch (LookupParam(p.keyword)) {
      case Param::kUnknown:
        return Fail(CommandErrorKind::kUnknownParameter, p.keyword_offset, kReply555,
                    "RCPT TO parameter not recognized (RFC 5321 §4.1.1.11)");
      case Param::kSize:
      case Param::kBody:
      case Param::kSmtputf8:
      case Param::kRet:
      case Param::kEnvid:
      case Param::kAuth:
        return NotAllowed(p, "belongs to MAIL FROM, not RCPT TO");
      case Param::kNotify: {
        if (!ext.dsn) return NotAllowed(p, "needs the DSN extension (RFC 3461)");
        if (rcpt.notify) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        // RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
        DsnNotify notify;
        std::size_t start = 0;
        const std::string_view v = p.value;
        for (;;) {
          std::size_t comma = v.find(',', start);
          if (comma == npos) comma = v.size();
          const std::string_view item = v.substr(start, comma - start);
          bool* flag = nullptr;
          if (EqualsIgnoreCase(item, "NEVER")) {
            flag = &notify.never;
          } else if (EqualsIgnoreCase(item, "SUCCESS")) {
            flag = &notify.success;
          } else if (EqualsIgnoreCase(item, "FAILURE")) {
            flag = &notify.failure;
          } else if (EqualsIgnoreCase(item, "DELAY")) {
            flag = &notify.delay;
          } else {
            return BadValue(p, p.value_offset + start,
                            "expected NEVER, SUCCESS, FAILURE or DELAY (RFC 3461 §4.1)");
          }
          if (*flag) {
            return BadValue(p, p.value_offset + start, "keyword listed twice (RFC 3461 §4.1)");
          }
          *flag = true;
          if (comma == v.size()) break;
          start = comma + 1;
        }
        if (notify.never && (notify.success || notify.failure || notify.delay)) {
          return BadValue(p, p.value_offset,
                          "NEVER cannot be combined with other keywords (RFC 3461 §4.1)");
        }
        rcpt.notify = notify;
        break;
      }
      case Param::kOrcpt: {
        if (!ext.dsn) return NotAllowed(p, "needs the DSN extension (RFC 3461)");
        if (rcpt.orcpt) return Duplicate(p);
        if (!RequireValue(p, &error)) return error;
        if (p.value.size() > kMaxOrcpt) {
          return BadValue(p, p.value_offset + kMaxOrcpt,
                          "longer than " + std::to_string(kMaxOrcpt) +
                              " characters (RFC 3461 §4.2)");
        }
        // original-recipient-address = addr-type ";" xtext; addr-type = atom.
        const std::size_t semi = p.value.find(';');
        std::size_t type_end = 0;
        while (type_end < p.value.size() &&
               IsAtext(static_cast<unsigned char>(p.value[type_end]))) {
          ++type_end;
        }
        if (type_end == 0 || semi == npos || type_end != semi) {
          return BadValue(p, p.value_offset + type_end,
                          "expected addr-type \";\" xtext (RFC 3461 §4.2)");
        }
        OriginalRecipient orcpt;
        orcpt.addr_type.assign(p.value.substr(0, semi));
        RawParam address = p;
        address.value = p.value.substr(semi + 1);
        address.value_offset = p.value_offset + semi + 1;
        if (address.value.empty()) {
          return BadValue(p, address.value_offset, "the original address is empty (RFC 3461 §4.2)");
        }
        if (!DecodeXtextValue(address, &orcpt.address, &error)) return error;
        const bool rfc822 = EqualsIgnoreCase(orcpt.addr_type, "RFC822");
        for (unsigned char c : orcpt.address) {
          if (c < 0x20 || c == 0x7F || (rfc822 && c > 0x7F)) {
            return BadValue(p, address.value_offset,
                            rfc822 ? "an rfc822 address must decode to printable US-ASCII "
                                     "(RFC 3461 §4.2)"
                                   : "the address decodes to a control character (RFC 3461 §4.2)");
          }
        }
        rcpt.orcpt = std::move(orcpt);
        break;
      }
    }
  }
  if (error.error.kind != CommandErrorKind::kOk) return error;
  return result;
}

// "VRFY" SP String [ SP "SMTPUTF8" ] and the same for EXPN (RFC 5321
// §4.1.1.6-7, RFC 6531 §3.7).
template <typename T>
CommandResult ParseVrfyOrExpn(std::string_view line, const CommandParseOptions& options,
                              std::size_t first_non_ascii) {
  if (line.size() == 4) {
    return Fail(CommandErrorKind::kMissingArgument, 4, kReply501Args,
                "expected SP String (RFC 5321 §4.1.1.6)");
  }
  std::size_t bad = 0;
  const std::size_t end = ScanString(line, 5, &bad);
  if (end == npos) {
    return Fail(CommandErrorKind::kSyntax, bad, kReply501Syntax,
                "expected an Atom or Quoted-string (RFC 5321 §4.1.2 String)");
  }
  T command;
  command.argument.assign(line.substr(5, end - 5));
  if (end != line.size()) {
    if (line[end] != ' ' || !EqualsIgnoreCase(line.substr(end + 1), "SMTPUTF8")) {
      return Fail(CommandErrorKind::kSyntax, end, kReply501Syntax,
                  "only \" SMTPUTF8\" may follow the String (RFC 6531 §3.7)");
    }
    if (!options.extensions.smtputf8) {
      return Fail(CommandErrorKind::kParameterNotAllowed, end + 1, kReply504,
                  "SMTPUTF8 needs the SMTPUTF8 extension (RFC 6531 §3.7)");
    }
    command.smtputf8 = true;
  }
  if (first_non_ascii != npos) {
    if (!command.smtputf8) {
      return Fail(CommandErrorKind::kUtf8NotAllowed, first_non_ascii, kReply553Utf8,
                  "a non-ASCII argument needs the SMTPUTF8 parameter (RFC 6531 §3.7)",
                  AddressErrorKind::kUtf8NotAllowed);
    }
    const std::size_t invalid = base::FindInvalidUtf8(command.argument);
    if (invalid != command.argument.size()) {
      return Fail(CommandErrorKind::kSyntax, 5 + invalid, kReply501Syntax,
                  "ill-formed UTF-8 (RFC 3629 §4)", AddressErrorKind::kInvalidUtf8);
    }
  }
  return Ok(Command{std::move(command)});
}

// "NOOP" [ SP String ] / "HELP" [ SP String ] (RFC 5321 §4.1.1.8-9).
template <typename T>
CommandResult ParseOptionalString(std::string_view line) {
  T command;
  if (line.size() > 4) {
    std::size_t bad = 0;
    const std::size_t end = ScanString(line, 5, &bad);
    if (end == npos || end != line.size()) {
      return Fail(CommandErrorKind::kSyntax, end == npos ? bad : end, kReply501Syntax,
                  "expected an Atom or Quoted-string (RFC 5321 §4.1.2 String)");
    }
    command.argument.emplace(line.substr(5));
  }
  return Ok(Command{std::move(command)});
}

CommandResult ParseHello(std::string_view line, CommandVerb verb,
                         const CommandParseOptions& options) {
  const bool ehlo = verb == CommandVerb::kEhlo;
  if (line.size() <= 5) {
    return Fail(CommandErrorKind::kMissingArgument, line.size(), kReply501Args,
                ehlo ? "expected SP ( Domain / address-literal ) (RFC 5321 §4.1.1.1)"
                     : "expected SP Domain (RFC 5321 §4.1.1.1)");
  }
  const std::string_view argument = line.substr(5);
  const bool allow_literal = ehlo || options.allow_helo_address_literal;
  HostResult host = ParseHost(argument, allow_literal);
  if (!host.ok()) {
    std::string_view reason = host.error.message;
    if (const std::size_t colon = reason.find(": "); colon != npos) {
      reason.remove_prefix(colon + 2);
    }
    return Fail(CommandErrorKind::kSyntax, 5 + host.error.offset, kReply501Syntax,
                (ehlo ? "EHLO argument: " : "HELO argument: ") + std::string(reason),
                host.error.kind);
  }
  if (ehlo) {
    EhloCommand command;
    command.domain.assign(argument);
    command.domain_kind = host.kind;
    return Ok(Command{std::move(command)});
  }
  HeloCommand command;
  command.domain.assign(argument);
  command.domain_kind = host.kind;
  return Ok(Command{std::move(command)});
}

CommandResult ParseBdat(std::string_view line) {
  if (line.size() <= 5) {
    return Fail(CommandErrorKind::kMissingArgument, line.size(), kReply501Args,
                "expected SP chunk-size (RFC 3030 §2)");
  }
  std::size_t end = line.find(' ', 5);
  if (end == npos) end = line.size();
  BdatCommand command;
  if (!ParseDecimal(line.substr(5, end - 5), &command.chunk_size)) {
    return Fail(CommandErrorKind::kSyntax, 5, kReply501Syntax,
                "chunk-size must be 1 to 20 digits within 64 bits (RFC 3030 §2)");
  }
  if (end != line.size()) {
    if (!EqualsIgnoreCase(line.substr(end + 1), "LAST")) {
      return Fail(CommandErrorKind::kSyntax, end, kReply501Syntax,
                  "only \" LAST\" may follow the chunk-size (RFC 3030 §2)");
    }
    command.last = true;
  }
  return Ok(Command{command});
}

CommandResult ParseAuth(std::string_view line) {
  if (line.size() <= 5) {
    return Fail(CommandErrorKind::kMissingArgument, line.size(), kReply501Args,
                "expected SP sasl-mech (RFC 4954 §4)");
  }
  std::size_t end = line.find(' ', 5);
  if (end == npos) end = line.size();
  const std::string_view mechanism = line.substr(5, end - 5);
  // sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / "-" / "_".
  // Lower case is accepted and upper-cased: argument values are not case
  // sensitive (RFC 5321 §2.4).
  if (mechanism.empty() || mechanism.size() > kMaxSaslMechanism) {
    return Fail(CommandErrorKind::kSyntax, 5, kReply501Args,
                "sasl-mech must be 1 to 20 characters (RFC 4954 §4)");
  }
  AuthCommand command;
  command.mechanism.resize(mechanism.size());
  for (std::size_t i = 0; i < mechanism.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(mechanism[i]);
    if (!IsAlnum(c) && c != '-' && c != '_') {
      return Fail(CommandErrorKind::kSyntax, 5 + i, kReply501Args,
                  "byte not allowed in sasl-mech (RFC 4954 §4)");
    }
    command.mechanism[i] = ToUpperAscii(static_cast<char>(c));
  }
  if (end != line.size()) {
    const std::string_view response = line.substr(end + 1);
    std::string decoded;
    if (response == "=") {
      // RFC 4954 §4: "=" is an initial response of zero length.
    } else if (response.empty()) {
      return Fail(CommandErrorKind::kSyntax, end + 1, kReply501Syntax,
                  "empty initial-response; use \"=\" (RFC 4954 §4)");
    } else {
      base::Base64Result b64 = base::DecodeBase64(response);
      if (!b64.ok()) {
        // RFC 4954 §4: "501 5.5.2 Cannot Base64-decode Client responses".
        return Fail(CommandErrorKind::kSyntax, end + 1 + b64.offset, kReply501Syntax,
                    "initial-response is not canonical base64 (RFC 4954 §4, RFC 4648 §4)");
      }
      decoded = std::move(b64.bytes);
    }
    command.initial_response = std::move(decoded);
  }
  return Ok(Command{std::move(command)});
}

}  // namespace

std::string_view CommandVerbName(CommandVerb verb) {
  switch (verb) {
    case CommandVerb::kHelo: return "HELO";
    case CommandVerb::kEhlo: return "EHLO";
    case CommandVerb::kMail: return "MAIL";
    case CommandVerb::kRcpt: return "RCPT";
    case CommandVerb::kData: return "DATA";
    case CommandVerb::kBdat: return "BDAT";
    case CommandVerb::kRset: return "RSET";
    case CommandVerb::kNoop: return "NOOP";
    case CommandVerb::kQuit: return "QUIT";
    case CommandVerb::kVrfy: return "VRFY";
    case CommandVerb::kExpn: return "EXPN";
    case CommandVerb::kHelp: return "HELP";
    case CommandVerb::kStarttls: return "STARTTLS";
    case CommandVerb::kAuth: return "AUTH";
  }
  return "?";
}

std::string_view CommandErrorKindName(CommandErrorKind kind) {
  switch (kind) {
    case CommandErrorKind::kOk: return "Ok";
    case CommandErrorKind::kLineTooLong: return "LineTooLong";
    case CommandErrorKind::kForbiddenControl: return "ForbiddenControl";
    case CommandErrorKind::kNonAscii: return "NonAscii";
    case CommandErrorKind::kEmptyLine: return "EmptyLine";
    case CommandErrorKind::kUnknownVerb: return "UnknownVerb";
    case CommandErrorKind::kVerbNotEnabled: return "VerbNotEnabled";
    case CommandErrorKind::kMissingArgument: return "MissingArgument";
    case CommandErrorKind::kUnexpectedArgument: return "UnexpectedArgument";
    case CommandErrorKind::kSyntax: return "Syntax";
    case CommandErrorKind::kInvalidPath: return "InvalidPath";
    case CommandErrorKind::kUtf8NotAllowed: return "Utf8NotAllowed";
    case CommandErrorKind::kUnknownParameter: return "UnknownParameter";
    case CommandErrorKind::kParameterNotAllowed: return "ParameterNotAllowed";
    case CommandErrorKind::kDuplicateParameter: return "DuplicateParameter";
    case CommandErrorKind::kInvalidParameterValue: return "InvalidParameterValue";
  }
  return "Unknown";
}

CommandResult ParseCommand(std::string_view line, const CommandParseOptions& options) {
  if (line.empty()) {
    return Fail(CommandErrorKind::kEmptyLine, 0, kReply500Syntax, "empty command line");
  }
  std::size_t verb_end = 0;
  while (verb_end < line.size() && verb_end < 9 && line[verb_end] != ' ') ++verb_end;
  CommandVerb verb;
  const bool known = LookupVerb(line.substr(0, verb_end), &verb);

  // §4.5.3.1.4, checked first so no later step works on an unbounded line.
  const std::size_t limit = known ? LineLimit(verb, options) : options.max_command_line;
  if (line.size() + 2 > limit) {
    return Fail(CommandErrorKind::kLineTooLong, limit < 2 ? 0 : limit - 2, kReply500Syntax,
                "command line is longer than " + std::to_string(limit) +
                    " octets including CRLF (RFC 5321 §4.5.3.1.4)");
  }
  // §2.3.8: CR and LF only as the line terminator; NUL is never valid
  // (§4.1.1 commands are US-ASCII text). Smuggling attacks rely on peers
  // disagreeing about bare CR/LF, so they are rejected outright.
  std::size_t first_non_ascii = npos;
  // A branch-free pass the compiler vectorizes finds the common case (plain
  // printable ASCII) before the byte-by-byte pass that locates a problem.
  unsigned char high = 0;
  unsigned char low = 0;
  for (char ch : line) {
    const unsigned char c = static_cast<unsigned char>(ch);
    high |= c;
    low |= static_cast<unsigned char>(c <= '\r');
  }
  for (std::size_t i = 0; ((high & 0x80) != 0 || low != 0) && i < line.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c <= '\r') {
      if (c == 0 || c == '\r' || c == '\n') {
        return Fail(CommandErrorKind::kForbiddenControl, i, kReply500Syntax,
                    c == 0 ? "NUL inside a command line (RFC 5321 §4.1.1)"
                           : "bare CR or LF inside a command line (RFC 5321 §2.3.8)");
      }
    } else if (c >= 0x80 && first_non_ascii == npos) {
      first_non_ascii = i;
    }
  }
  if (!known) {
    return Fail(CommandErrorKind::kUnknownVerb, 0, kReply500Unknown,
                "command not recognized (RFC 5321 §4.2.4)");
  }
  const EsmtpExtensions& ext = options.extensions;
  // Non-ASCII is possible only in SMTPUTF8 contexts (RFC 6531 §3.3).
  if (first_non_ascii != npos && verb != CommandVerb::kMail &&
      verb != CommandVerb::kRcpt && verb != CommandVerb::kVrfy &&
      verb != CommandVerb::kExpn) {
    return Fail(CommandErrorKind::kNonAscii, first_non_ascii, kReply501Syntax,
                "non-ASCII octet in a command line (RFC 5321 §2.4)");
  }
  const std::size_t name_size = CommandVerbName(verb).size();
  if (line.size() > name_size && line[name_size] != ' ') {
    return Fail(CommandErrorKind::kSyntax, name_size, kReply501Syntax,
                "expected SP after the command verb (RFC 5321 §4.1.1)");
  }
  const auto no_argument = [&](Command command) {
    if (line.size() != name_size) {
      return Fail(CommandErrorKind::kUnexpectedArgument, name_size, kReply501Args,
                  std::string(CommandVerbName(verb)) + " takes no argument (RFC 5321 §4.1.1)");
    }
    return Ok(std::move(command));
  };
  switch (verb) {
    case CommandVerb::kHelo:
    case CommandVerb::kEhlo:
      return ParseHello(line, verb, options);
    case CommandVerb::kMail:
      return ParseMail(line, options, first_non_ascii);
    case CommandVerb::kRcpt:
      return ParseRcpt(line, options);
    case CommandVerb::kData:
      return no_argument(Command{DataCommand{}});
    case CommandVerb::kBdat:
      if (!ext.chunking) {
        return Fail(CommandErrorKind::kVerbNotEnabled, 0, kReply502,
                    "BDAT needs the CHUNKING extension (RFC 3030 §2)");
      }
      return ParseBdat(line);
    case CommandVerb::kRset:
      return no_argument(Command{RsetCommand{}});
    case CommandVerb::kNoop:
      return ParseOptionalString<NoopCommand>(line);
    case CommandVerb::kQuit:
      return no_argument(Command{QuitCommand{}});
    case CommandVerb::kVrfy:
      return ParseVrfyOrExpn<VrfyCommand>(line, options, first_non_ascii);
    case CommandVerb::kExpn:
      return ParseVrfyOrExpn<ExpnCommand>(line, options, first_non_ascii);
    case CommandVerb::kHelp:
      return ParseOptionalString<HelpCommand>(line);
    case CommandVerb::kStarttls:
      if (!ext.starttls) {
        return Fail(CommandErrorKind::kVerbNotEnabled, 0, kReply502,
                    "STARTTLS is not offered (RFC 3207 §4)");
      }
      return no_argument(Command{StarttlsCommand{}});
    case CommandVerb::kAuth:
      if (!ext.auth) {
        return Fail(CommandErrorKind::kVerbNotEnabled, 0, kReply502,
                    "AUTH is not offered (RFC 4954 §4)");
      }
      return ParseAuth(line);
  }
  return Fail(CommandErrorKind::kUnknownVerb, 0, kReply500Unknown, "command not recognized");
}

std::size_t DecodeXtext(std::string_view input, std::string* out) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // RFC 3461 §4: hexchar uses upper-case A-F only
  };
  std::size_t run = 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(input[i]);
    if (c == '+') {
      if (i + 2 >= input.size()) return i;
      const int hi = hex(input[i + 1]);
      const int lo = hex(input[i + 2]);
      if (hi < 0 || lo < 0) return i;
      out->append(input.substr(run, i - run));
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      run = i + 1;
    } else if (c < '!' || c > '~' || c == '=') {
      return i;
    }
  }
  out->append(input.substr(run));
  return input.size();
}

void AppendXtext(std::string_view input, std::string* out) {
  for (char ch : input) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < '!' || c > '~' || c == '+' || c == '=') {
      out->push_back('+');
      out->push_back(base::UpperHexDigit(c >> 4));
      out->push_back(base::UpperHexDigit(c));
    } else {
      out->push_back(ch);
    }
  }
}

void AppendCommand(const Command& command, std::string* out) {
  out->append(CommandVerbName(command.verb()));
  std::visit(
      [out](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, HeloCommand> || std::is_same_v<T, EhloCommand>) {
          out->push_back(' ');
          out->append(c.domain);
        } else if constexpr (std::is_same_v<T, MailCommand>) {
          out->append(" FROM:");
          AppendPath(c.reverse_path, out);
          if (c.size) {
            out->append(" SIZE=");
            out->append(std::to_string(*c.size));
          }
          if (c.body) {
            out->append(*c.body == BodyType::k7Bit       ? " BODY=7BIT"
                        : *c.body == BodyType::k8BitMime ? " BODY=8BITMIME"
                                                         : " BODY=BINARYMIME");
          }
          if (c.smtputf8) out->append(" SMTPUTF8");
          if (c.ret) out->append(*c.ret == DsnRet::kFull ? " RET=FULL" : " RET=HDRS");
          if (c.envid) {
            out->append(" ENVID=");
            AppendXtext(*c.envid, out);
          }
          if (c.auth) {
            out->append(" AUTH=");
            if (c.auth->is_null) {
              out->append("<>");
            } else {
              AppendXtext(FormatMailbox(c.auth->mailbox), out);
            }
          }
        } else if constexpr (std::is_same_v<T, RcptCommand>) {
          out->append(" TO:");
          AppendPath(c.forward_path, out);
          if (c.notify) {
            out->append(" NOTIFY=");
            if (c.notify->never) {
              out->append("NEVER");
            } else {
              bool first = true;
              const auto item = [&](bool on, std::string_view name) {
                if (!on) return;
                if (!first) out->push_back(',');
                out->append(name);
                first = false;
              };
              item(c.notify->success, "SUCCESS");
              item(c.notify->failure, "FAILURE");
              item(c.notify->delay, "DELAY");
            }
          }
          if (c.orcpt) {
            out->append(" ORCPT=");
            out->append(c.orcpt->addr_type);
            out->push_back(';');
            AppendXtext(c.orcpt->address, out);
          }
        } else if constexpr (std::is_same_v<T, BdatCommand>) {
          out->push_back(' ');
          out->append(std::to_string(c.chunk_size));
          if (c.last) out->append(" LAST");
        } else if constexpr (std::is_same_v<T, NoopCommand> || std::is_same_v<T, HelpCommand>) {
          if (c.argument) {
            out->push_back(' ');
            out->append(*c.argument);
          }
        } else if constexpr (std::is_same_v<T, VrfyCommand> || std::is_same_v<T, ExpnCommand>) {
          out->push_back(' ');
          out->append(c.argument);
          if (c.smtputf8) out->append(" SMTPUTF8");
        } else if constexpr (std::is_same_v<T, AuthCommand>) {
          out->push_back(' ');
          out->append(c.mechanism);
          if (c.initial_response) {
            out->push_back(' ');
            if (c.initial_response->empty()) {
              out->push_back('=');
            } else {
              base::AppendBase64(*c.initial_response, *out);
            }
          }
        }
      },
      command.args);
  out->append("\r\n");
}

std::string FormatCommand(const Command& command) {
  std::string out;
  AppendCommand(command, &out);
  return out;
}

}  // namespace mxkit::smtp
