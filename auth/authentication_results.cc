#include "auth/authentication_results.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/ascii.h"
#include "message/cfws.h"

namespace mxkit::auth {
namespace {

using base::AsciiLower;
using base::IsAlnum;
using base::IsAtext;
using base::IsCtl;
using base::IsDigit;
// RFC 2045 §5.1 tspecials.
constexpr bool IsTspecial(char c) {
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
      return true;
    default:
      return false;
  }
}
// RFC 2045 token character: US-ASCII, not SPACE, CTL or tspecial.
constexpr bool IsTokenChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && !IsTspecial(c);
}

// One bit per byte: the RFC 2045 token characters, and Keyword's (RFC 5321
// Ldh-str, plus '_' for names like "policy.is_org"). Looked up per
// character: fakemx formats a field for every message it judges.
struct CharClasses {
  bool token[256] = {};
  bool keyword[256] = {};
};
constexpr CharClasses MakeCharClasses() {
  CharClasses t;
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    t.token[i] = IsTokenChar(c);
    t.keyword[i] = IsAlnum(c) || c == '-' || c == '_';
  }
  return t;
}
constexpr CharClasses kCharClasses = MakeCharClasses();

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kCharClasses.token[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// RFC 6376 domain-name = sub-domain 1*("." sub-domain), sub-domain =
// Let-dig [Ldh-str] (RFC 5321).
bool IsDomainName(std::string_view s) {
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    std::string_view label = s.substr(start, dot - start);
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    ++labels;
    start = dot + 1;
  }
  return labels >= 2;
}

// dot-atom-text (RFC 5322 §3.2.3).
bool IsDotAtomText(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
    } else if (!IsAtext(s[i])) {
      return false;
    }
  }
  return true;
}

// A quoted-string as written: '"' *(qtext / quoted-pair / WSP) '"'.
bool IsQuotedStringText(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;
      ++i;
      if (IsCtl(s[i]) && s[i] != '\t') return false;
      continue;
    }
    if (c == '"' || (IsCtl(c) && c != '\t')) return false;
  }
  return true;
}

// pvalue's second form: [ [ local-part ] "@" ] domain-name.
bool IsAddressPvalue(std::string_view s) {
  std::size_t at = s.rfind('@');
  if (at == std::string_view::npos) return IsDomainName(s);
  std::string_view local = s.substr(0, at);
  if (!local.empty() && !IsDotAtomText(local) && !IsQuotedStringText(local)) return false;
  return IsDomainName(s.substr(at + 1));
}

class Parser {
 public:
  Parser(std::string_view s, const AuthResOptions& o) : s_(s), o_(o) {}

  AuthResParseResult Run() {
    AuthResParseResult r;
    if (s_.size() > kMaxAuthResLength) {
      Fail(AuthResError::kTooLong, kMaxAuthResLength,
           "field body is " + std::to_string(s_.size()) + " bytes, over " +
               std::to_string(kMaxAuthResLength));
      return Finish(std::move(r));
    }
    ParsePayload(r.value);
    return Finish(std::move(r));
  }

 private:
  AuthResParseResult Finish(AuthResParseResult r) {
    if (error_ != AuthResError::kOk) {
      r.error = error_;
      r.offset = error_offset_;
      r.message = message_;
      r.value = {};
    }
    return r;
  }

  bool Fail(AuthResError e, std::size_t offset, std::string message) {
    if (error_ == AuthResError::kOk) {
      error_ = e;
      error_offset_ = offset;
      message_ = std::move(message) + " at offset " + std::to_string(offset);
    }
    return false;
  }

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }

  // [CFWS] (RFC 5322 §3.2.2), through the one lexer in message/cfws.h; sets
  // *skipped when it consumed anything.
  bool SkipCfws(bool* skipped = nullptr) {
    const std::size_t start = pos_;
    if (!Take(message::SkipCfws(s_, pos_))) return false;
    if (skipped != nullptr) *skipped = pos_ > start;
    return true;
  }

  // Moves past what the lexer skipped, or fails with its error kind mapped.
  bool Take(const message::CfwsResult& r) {
    if (r.ok()) {
      pos_ = r.offset;
      return true;
    }
    using message::CfwsError;
    const AuthResError e = r.error == CfwsError::kUnterminatedComment ? AuthResError::kUnterminatedComment
                           : r.error == CfwsError::kCommentTooDeep    ? AuthResError::kCommentTooDeep
                                                                      : AuthResError::kSyntax;
    return Fail(e, r.offset, std::string(message::CfwsErrorText(r.error)));
  }

  // quoted-string at '"'; *decoded gets the content, *raw the bytes as
  // written with folding removed.
  bool QuotedString(std::string* decoded, std::string* raw) {
    std::size_t start = pos_;
    ++pos_;
    if (raw) raw->push_back('"');
    while (!AtEnd()) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        if (raw) raw->push_back('"');
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        char q = s_[pos_ + 1];
        if (IsCtl(q) && q != '\t') {
          return Fail(AuthResError::kSyntax, pos_ + 1,
                      "quoted-pair escapes a control character (RFC 5322 §3.2.1)");
        }
        decoded->push_back(q);
        if (raw) {
          raw->push_back('\\');
          raw->push_back(q);
        }
        pos_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n') {
        if (!Take(message::SkipFold(s_, pos_))) return false;
        continue;  // the CRLF of FWS is not part of the content
      }
      if (IsCtl(c) && c != '\t') {
        return Fail(AuthResError::kSyntax, pos_, "control character inside a quoted string");
      }
      decoded->push_back(c);
      if (raw) raw->push_back(c);
      ++pos_;
    }
    return Fail(AuthResError::kUnterminatedQuotedString, start, "unterminated quoted string");
  }

  bool IsKeywordChar(char c) const {
    return IsAlnum(c) || c == '-' || (o_.allow_nonstandard_tokens && c == '_');
  }

  // Keyword (RFC 5321 Ldh-str: Let-dig *(Let-dig / "-"), not ending in "-").
  bool Keyword(std::string* out, const char* what) {
    std::size_t start = pos_;
    while (!AtEnd() && IsKeywordChar(s_[pos_])) ++pos_;
    std::string_view kw = s_.substr(start, pos_ - start);
    if (kw.empty()) {
      return Fail(AuthResError::kSyntax, start, std::string("expected ") + what);
    }
    if (!o_.allow_nonstandard_tokens && (kw.front() == '-' || kw.back() == '-')) {
      return Fail(AuthResError::kSyntax, start,
                  std::string(what) + " \"" + std::string(kw) +
                      "\" starts or ends with '-' (RFC 5321 Ldh-str)");
    }
    *out = AsciiLower(kw);
    return true;
  }

  bool Version(std::optional<uint32_t>* out) {
    std::size_t start = pos_;
    while (!AtEnd() && IsDigit(s_[pos_])) ++pos_;
    if (pos_ == start) return Fail(AuthResError::kSyntax, start, "expected a version number");
    if (pos_ - start > kMaxVersionDigits) {
      return Fail(AuthResError::kBadVersion, start,
                  "version longer than " + std::to_string(kMaxVersionDigits) + " digits");
    }
    uint32_t v = 0;
    for (std::size_t i = start; i < pos_; ++i) v = v * 10 + static_cast<uint32_t>(s_[i] - '0');
    *out = v;
    return true;
  }

  // value = token / quoted-string (RFC 2045 §5.1).
  bool Value(std::string* out, const char* what) {
    if (Peek() == '"') return QuotedString(out, nullptr);
    std::size_t start = pos_;
    while (!AtEnd() && IsTokenChar(s_[pos_])) ++pos_;
    if (pos_ == start) return Fail(AuthResError::kSyntax, start, std::string("expected ") + what);
    *out = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  bool LenientPvalueChar(char c) const {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != ';' && c != '(' && c != ')' && c != '"' && c != '\\';
  }

  // pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
  bool Pvalue(std::string* out) {
    if (!SkipCfws()) return false;
    std::size_t start = pos_;
    if (Peek() == '"') {
      std::string decoded, raw;
      if (!QuotedString(&decoded, &raw)) return false;
      if (Peek() != '@') {
        *out = std::move(decoded);
        return true;
      }
      // A quoted local-part: keep it as written so the address survives.
      std::size_t at = pos_;
      ++pos_;
      std::size_t dstart = pos_;
      while (!AtEnd() && (IsAlnum(s_[pos_]) || s_[pos_] == '-' || s_[pos_] == '.')) ++pos_;
      std::string_view domain = s_.substr(dstart, pos_ - dstart);
      if (!IsDomainName(domain)) {
        return Fail(AuthResError::kSyntax, at + 1, "expected a domain-name after '@'");
      }
      *out = raw + "@" + std::string(domain);
      return true;
    }
    while (!AtEnd()) {
      char c = s_[pos_];
      bool ok = o_.allow_nonstandard_tokens ? LenientPvalueChar(c)
                                            : (IsTokenChar(c) || IsAtext(c) || c == '@');
      if (!ok) break;
      ++pos_;
    }
    std::string_view text = s_.substr(start, pos_ - start);
    if (text.empty()) return Fail(AuthResError::kSyntax, start, "expected a property value");
    if (!o_.allow_nonstandard_tokens && !IsToken(text) && !IsAddressPvalue(text)) {
      return Fail(AuthResError::kSyntax, start,
                  "\"" + std::string(text) +
                      "\" is neither a token nor [local-part]@domain-name (RFC 8601 §2.2 "
                      "pvalue); quote it");
    }
    *out = std::string(text);
    return true;
  }

  // Whether a methodspec starts here (Keyword [CFWS] ["/" ...] "="), for
  // allow_missing_authserv_id. Does not move.
  bool LooksLikeMethodspec() {
    std::size_t save = pos_;
    AuthResError save_error = error_;
    std::string kw;
    bool yes = Keyword(&kw, "method") && SkipCfws() && (Peek() == '=' || Peek() == '/');
    pos_ = save;
    if (error_ != save_error) {
      error_ = save_error;
      message_.clear();
    }
    return yes;
  }

  void ParsePayload(AuthenticationResults& v) {
    if (!SkipCfws()) return;
    bool first_without_semicolon = false;
    if (o_.allow_missing_authserv_id && LooksLikeMethodspec()) {
      first_without_semicolon = true;
    } else {
      if (AtEnd() || Peek() == ';') {
        Fail(AuthResError::kMissingAuthservId, pos_, "missing authserv-id (RFC 8601 §2.2)");
        return;
      }
      std::size_t id_start = pos_;
      if (!Value(&v.authserv_id, "authserv-id")) return;
      if (v.authserv_id.empty()) {
        // "" matches the grammar's quoted-string but names no server (RFC
        // 8601 §2.5: it identifies the authentication service), and the
        // model reserves an empty id for allow_missing_authserv_id.
        Fail(AuthResError::kMissingAuthservId, id_start, "empty authserv-id");
        return;
      }
      bool cfws = false;
      if (!SkipCfws(&cfws)) return;
      if (IsDigit(Peek())) {
        if (!cfws) {
          Fail(AuthResError::kSyntax, pos_, "authres-version must follow CFWS");
          return;
        }
        if (!Version(&v.version)) return;
        if (!SkipCfws()) return;
      }
    }
    bool first = true;
    while (true) {
      if (!(first && first_without_semicolon)) {
        if (AtEnd()) {
          if (first) Fail(AuthResError::kSyntax, pos_, "expected ';' and a result or \"none\"");
          return;
        }
        if (Peek() != ';') {
          Fail(AuthResError::kSyntax, pos_, "expected ';' before the next result");
          return;
        }
        ++pos_;
        if (!SkipCfws()) return;
      }
      std::size_t method_start = pos_;
      AuthResInfo info;
      if (!Keyword(&info.method, "a method keyword")) return;
      if (!SkipCfws()) return;
      if (first && !first_without_semicolon && info.method == "none" && AtEnd()) {
        return;  // no-result
      }
      first = false;
      if (v.results.size() >= kMaxResultInfos) {
        Fail(AuthResError::kTooManyResults, method_start,
             "more than " + std::to_string(kMaxResultInfos) + " results");
        return;
      }
      if (Peek() == '/') {
        ++pos_;
        if (!SkipCfws()) return;
        if (!Version(&info.method_version)) return;
        if (!SkipCfws()) return;
      }
      if (Peek() != '=') {
        Fail(AuthResError::kSyntax, pos_, "expected '=' after method \"" + info.method + "\"");
        return;
      }
      ++pos_;
      if (!SkipCfws()) return;
      if (!Keyword(&info.result, "a result keyword")) return;
      bool cfws = false;
      if (!SkipCfws(&cfws)) return;
      while (!AtEnd() && Peek() != ';') {
        if (!cfws) {
          Fail(AuthResError::kSyntax, pos_, "expected CFWS, ';' or the end after a value");
          return;
        }
        std::size_t item = pos_;
        std::string name;
        if (!Keyword(&name, "reason= or ptype.property=")) return;
        if (!SkipCfws()) return;
        if (Peek() == '.') {
          ++pos_;
          AuthResProperty prop;
          prop.ptype = std::move(name);
          if (!SkipCfws()) return;
          if (!Keyword(&prop.property, "a property after '.'")) return;
          if (!SkipCfws()) return;
          if (Peek() != '=') {
            Fail(AuthResError::kSyntax, pos_, "expected '=' after " + prop.ptype + "." + prop.property);
            return;
          }
          ++pos_;
          if (!Pvalue(&prop.value)) return;
          if (!AddProperty(info, std::move(prop), item)) return;
        } else if (Peek() == '=' && name == "reason" && !info.reason && info.properties.empty()) {
          ++pos_;
          if (!SkipCfws()) return;
          std::string reason;
          if (!Value(&reason, "a reason value")) return;
          info.reason = std::move(reason);
        } else if (Peek() == '=' && o_.allow_property_without_ptype) {
          ++pos_;
          AuthResProperty prop;
          prop.property = std::move(name);
          if (!Pvalue(&prop.value)) return;
          if (!AddProperty(info, std::move(prop), item)) return;
        } else {
          Fail(AuthResError::kSyntax, Peek() == '=' ? item : pos_,
               Peek() == '=' ? "\"" + name + "=\" is neither reason= (before any property) nor "
                                   "ptype.property= (RFC 8601 §2.2)"
                             : std::string("expected '.' or '=' after \"") + name + "\"");
          return;
        }
        if (!SkipCfws(&cfws)) return;
      }
      v.results.push_back(std::move(info));
      if (AtEnd()) return;
    }
  }

  bool AddProperty(AuthResInfo& info, AuthResProperty prop, std::size_t offset) {
    if (info.properties.size() >= kMaxPropertiesPerResult) {
      return Fail(AuthResError::kTooManyProperties, offset,
                  "more than " + std::to_string(kMaxPropertiesPerResult) + " properties");
    }
    info.properties.push_back(std::move(prop));
    return true;
  }

  std::string_view s_;
  const AuthResOptions& o_;
  std::size_t pos_ = 0;
  AuthResError error_ = AuthResError::kOk;
  std::size_t error_offset_ = 0;
  std::string message_;
};

absl::Status CheckKeyword(std::string_view kw, const char* what, bool allow_empty = false) {
  if (kw.empty() && allow_empty) return absl::OkStatus();
  bool ok = !kw.empty();
  for (char c : kw) ok = ok && kCharClasses.keyword[static_cast<unsigned char>(c)];
  if (!ok) {
    return absl::InvalidArgumentError(std::string(what) + " \"" + std::string(kw) +
                                      "\" is not a keyword");
  }
  return absl::OkStatus();
}

// Appends `v` as a token when it is one, else as a quoted-string; with
// controls_to_spaces (only without allow_address), control characters as
// spaces. A control character is never a token character, nor is a space,
// so the choice of form is the one the cleaned value would get.
absl::Status AppendValue(std::string& out, std::string_view v, bool allow_address,
                         bool controls_to_spaces = false) {
  if (IsToken(v) || (allow_address && IsAddressPvalue(v))) {
    out.append(v);
    return absl::OkStatus();
  }
  // Copied in runs between the characters that need a backslash: a reason
  // is a long value and fakemx formats one for every message it judges.
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (IsCtl(c) && (controls_to_spaces || c != '\t')) {
      if (!controls_to_spaces) {
        return absl::InvalidArgumentError(
            "value has a control character no quoted-string can carry");
      }
      out.append(v.data() + run, i - run);
      out.push_back(' ');
      run = i + 1;
      continue;
    }
    if (c == '"' || c == '\\') {
      out.append(v.data() + run, i - run);
      out.push_back('\\');
      run = i;
    }
  }
  out.append(v.data() + run, v.size() - run);
  out.push_back('"');
  return absl::OkStatus();
}

}  // namespace

std::string_view AuthResErrorName(AuthResError error) {
  switch (error) {
    case AuthResError::kOk: return "Ok";
    case AuthResError::kTooLong: return "TooLong";
    case AuthResError::kMissingAuthservId: return "MissingAuthservId";
    case AuthResError::kSyntax: return "Syntax";
    case AuthResError::kUnterminatedComment: return "UnterminatedComment";
    case AuthResError::kCommentTooDeep: return "CommentTooDeep";
    case AuthResError::kUnterminatedQuotedString: return "UnterminatedQuotedString";
    case AuthResError::kBadVersion: return "BadVersion";
    case AuthResError::kTooManyResults: return "TooManyResults";
    case AuthResError::kTooManyProperties: return "TooManyProperties";
  }
  return "Unknown";
}

AuthResParseResult ParseAuthenticationResults(std::string_view body, const AuthResOptions& options) {
  return Parser(body, options).Run();
}

AuthResWriter::AuthResWriter(std::string_view authserv_id, std::optional<uint32_t> version)
    : has_authserv_id_(!authserv_id.empty()) {
  // One allocation for a usual field: fakemx's for a message is 200-400 bytes.
  out_.reserve(512);
  out_.push_back(' ');
  if (!authserv_id.empty()) {
    status_ = AppendValue(out_, authserv_id, false);
    if (status_.ok() && version) {
      out_.push_back(' ');
      out_ += std::to_string(*version);
    }
  } else if (version) {
    status_ = absl::InvalidArgumentError("a version needs an authserv-id");
  }
}

void AuthResWriter::Method(std::string_view method, std::optional<uint32_t> method_version,
                           std::string_view result) {
  if (!status_.ok()) return;
  if (status_ = CheckKeyword(method, "method"); !status_.ok()) return;
  if (status_ = CheckKeyword(result, "result"); !status_.ok()) return;
  if (any_method_ || has_authserv_id_) out_ += ";\r\n\t";
  any_method_ = true;
  out_ += method;
  if (method_version) {
    out_.push_back('/');
    out_ += std::to_string(*method_version);
  }
  out_.push_back('=');
  out_ += result;
}

void AuthResWriter::Reason(std::string_view reason, bool controls_to_spaces) {
  if (!status_.ok()) return;
  out_ += " reason=";
  status_ = AppendValue(out_, reason, false, controls_to_spaces);
}

void AuthResWriter::Property(std::string_view ptype, std::string_view property,
                             std::string_view value) {
  if (!status_.ok()) return;
  if (status_ = CheckKeyword(ptype, "ptype", /*allow_empty=*/true); !status_.ok()) return;
  if (status_ = CheckKeyword(property, "property"); !status_.ok()) return;
  out_.push_back(' ');
  if (!ptype.empty()) {
    out_ += ptype;
    out_.push_back('.');
  }
  out_ += property;
  out_.push_back('=');
  status_ = AppendValue(out_, value, true);
}

absl::StatusOr<std::string> AuthResWriter::Finish() && {
  if (!status_.ok()) return status_;
  if (!any_method_) {
    if (!has_authserv_id_) {
      return absl::InvalidArgumentError("the \"none\" form needs an authserv-id");
    }
    out_ += "; none";
  }
  return std::move(out_);
}

absl::StatusOr<std::string> FormatAuthenticationResults(const AuthenticationResults& results) {
  AuthResWriter w(results.authserv_id, results.version);
  for (const AuthResInfo& r : results.results) {
    w.Method(r.method, r.method_version, r.result);
    if (r.reason) w.Reason(*r.reason);
    for (const AuthResProperty& p : r.properties) w.Property(p.ptype, p.property, p.value);
  }
  return std::move(w).Finish();
}

absl::StatusOr<std::string> FormatAuthenticationResultsField(const AuthenticationResults& results) {
  absl::StatusOr<std::string> body = FormatAuthenticationResults(results);
  if (!body.ok()) return body.status();
  return "Authentication-Results:" + *body + "\r\n";
}

}  // namespace mxkit::auth
