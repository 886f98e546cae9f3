#include "smtp/ehlo.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/ascii.h"

namespace mxkit::smtp {
namespace {

using base::EqualsIgnoreCase;
using base::IsAlpha;
using base::IsDigit;
using base::AsciiUpper;

// RFC 5321 §4.1.1.1: ehlo-param = 1*(%d33-126).
bool IsParamOctet(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126;
}

// RFC 4422 §3.1: mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE,
// checked after upper-casing.
bool IsMechChar(char c) { return (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '-' || c == '_'; }

// Offset of the first octet of `s` that breaks ehlo-keyword
// (RFC 5321 §4.1.1.1: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")), or npos.
size_t KeywordViolation(std::string_view s, bool allow_underscore) {
  if (s.empty()) return 0;
  if (!IsAlpha(s[0]) && !IsDigit(s[0])) return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '_' && allow_underscore) continue;
    if (!IsAlpha(s[i]) && !IsDigit(s[i]) && s[i] != '-') return i;
  }
  return std::string_view::npos;
}

using base::DescribeOctet;

// The keywords with a typed field, in FormatEhloReply's order.
enum class Known {
  kPipelining,
  kSize,
  kStartTls,
  kAuth,
  kEnhancedStatusCodes,
  k8BitMime,
  kDsn,
  kSmtpUtf8,
  kChunking,
  kBinaryMime,
  kNone,
};

struct KnownName {
  Known known;
  std::string_view name;
};
constexpr KnownName kKnownNames[] = {
    {Known::kPipelining, "PIPELINING"},
    {Known::kSize, "SIZE"},
    {Known::kStartTls, "STARTTLS"},
    {Known::kAuth, "AUTH"},
    {Known::kEnhancedStatusCodes, "ENHANCEDSTATUSCODES"},
    {Known::k8BitMime, "8BITMIME"},
    {Known::kDsn, "DSN"},
    {Known::kSmtpUtf8, "SMTPUTF8"},
    {Known::kChunking, "CHUNKING"},
    {Known::kBinaryMime, "BINARYMIME"},
};

Known Classify(std::string_view keyword) {
  for (const KnownName& k : kKnownNames) {
    if (EqualsIgnoreCase(keyword, k.name)) return k.known;
  }
  return Known::kNone;
}

// The flag of a parameterless keyword; nullptr for SIZE, AUTH and kNone.
// A template so it serves both const and mutable capabilities.
template <typename Caps>
auto FlagFor(Caps& caps, Known known) -> decltype(&caps.pipelining) {
  switch (known) {
    case Known::kPipelining: return &caps.pipelining;
    case Known::kStartTls: return &caps.starttls;
    case Known::kEnhancedStatusCodes: return &caps.enhanced_status_codes;
    case Known::k8BitMime: return &caps.eightbitmime;
    case Known::kDsn: return &caps.dsn;
    case Known::kSmtpUtf8: return &caps.smtputf8;
    case Known::kChunking: return &caps.chunking;
    case Known::kBinaryMime: return &caps.binarymime;
    default: return nullptr;
  }
}

// A line split at single SPs. `offsets` holds where each word starts.
struct Words {
  std::vector<std::string_view> words;
  std::vector<size_t> offsets;
};

Words SplitAtSpaces(std::string_view line) {
  Words w;
  size_t start = 0;
  while (true) {
    size_t sp = line.find(' ', start);
    w.words.push_back(line.substr(start, sp == std::string_view::npos ? sp : sp - start));
    w.offsets.push_back(start);
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return w;
}

// Parses SIZE's parameter (RFC 1870 §3 size-value = 1*20DIGIT, held in a
// uint64). Returns nullopt on any violation.
std::optional<uint64_t> ParseSizeValue(std::string_view s) {
  if (s.empty() || s.size() > kMaxSizeDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

class LineParser {
 public:
  LineParser(const EhloParseOptions& options, EhloReply& out) : options_(options), out_(out) {}

  void ParseLine(size_t index, std::string_view line) {
    index_ = index;
    Words w = SplitAtSpaces(line);
    std::string_view keyword = w.words[0];

    // "AUTH=LOGIN PLAIN": the keyword is "AUTH=LOGIN", which is not an
    // ehlo-keyword; under the leniency its tail is the first mechanism.
    bool auth_equals = false;
    if (keyword.size() >= 5 && EqualsIgnoreCase(keyword.substr(0, 5), "AUTH=")) {
      if (!options_.allow_auth_equals) {
        Error(EhloErrorKind::kInvalidKeyword, 4,
              "\"AUTH=\" is the pre-standard AUTH syntax; '=' is not allowed in an "
              "ehlo-keyword (RFC 5321 §4.1.1.1; see allow_auth_equals)");
        return;
      }
      auth_equals = true;
    } else if (size_t bad = KeywordViolation(keyword, options_.allow_keyword_underscore); bad != std::string_view::npos) {
      Error(EhloErrorKind::kInvalidKeyword, bad,
            keyword.empty()
                ? std::string("empty keyword (RFC 5321 §4.1.1.1 ehlo-keyword)")
                : absl::StrCat("octet ", DescribeOctet(keyword[bad]),
                               " is not allowed in an ehlo-keyword (RFC 5321 §4.1.1.1",
                               keyword[bad] == '_' ? "; see allow_keyword_underscore)" : ")"));
      return;
    }

    // Parameters: every word after the keyword must be a non-empty ehlo-param.
    std::vector<std::string_view> params(w.words.begin() + 1, w.words.end());
    std::vector<size_t> param_offsets(w.offsets.begin() + 1, w.offsets.end());
    if (auth_equals) {
      // The "=" form: the first mechanism follows "AUTH=".
      params.insert(params.begin(), keyword.substr(5));
      param_offsets.insert(param_offsets.begin(), 5);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].empty()) {
        Error(EhloErrorKind::kInvalidParameter, param_offsets[i],
              "empty parameter: parameters are separated by exactly one SP "
              "(RFC 5321 §4.1.1.1 ehlo-line)");
        return;
      }
      for (size_t j = 0; j < params[i].size(); ++j) {
        if (!IsParamOctet(params[i][j])) {
          Error(EhloErrorKind::kInvalidParameter, param_offsets[i] + j,
                absl::StrCat("octet ", DescribeOctet(params[i][j]),
                             " is not allowed in an ehlo-param (%d33-126, RFC 5321 §4.1.1.1)"));
          return;
        }
      }
    }

    if (auth_equals) {
      ParseAuth(params, param_offsets, /*merge=*/true);
      return;
    }

    const Known known = Classify(keyword);
    if (known == Known::kNone) {
      for (const Extension& e : out_.capabilities.other) {
        if (EqualsIgnoreCase(e.keyword, keyword)) {
          Duplicate(keyword);
          return;
        }
      }
      Extension e;
      e.keyword = std::string(keyword);
      for (std::string_view p : params) e.params.emplace_back(p);
      out_.capabilities.other.push_back(std::move(e));
      return;
    }

    if (seen_[static_cast<int>(known)]) {
      Duplicate(keyword);
      return;
    }

    switch (known) {
      case Known::kSize: {
        if (params.size() > 1) {
          Error(EhloErrorKind::kInvalidSize, param_offsets[1],
                "SIZE takes at most one parameter (RFC 1870 §3)");
          return;
        }
        SizeExtension size;
        if (params.size() == 1) {
          size.limit = ParseSizeValue(params[0]);
          if (!size.limit) {
            Error(EhloErrorKind::kInvalidSize, param_offsets[0],
                  absl::StrCat("SIZE parameter is not 1*", kMaxSizeDigits,
                               "DIGIT within 64 bits (RFC 1870 §3)"));
            return;
          }
        }
        out_.capabilities.size = size;
        break;
      }
      case Known::kAuth:
        if (!ParseAuth(params, param_offsets, /*merge=*/auth_seen_)) return;
        break;
      default:
        if (!params.empty()) {
          Error(EhloErrorKind::kUnexpectedParameter, param_offsets[0],
                absl::StrCat(AsciiUpper(keyword), " takes no parameters"));
          return;
        }
        *FlagFor(out_.capabilities, known) = true;
        break;
    }
    seen_[static_cast<int>(known)] = true;
  }

 private:
  // Adds AUTH mechanisms. With `merge`, mechanisms already present are
  // skipped (the "AUTH" and "AUTH=" lines of one server list the same ones).
  bool ParseAuth(const std::vector<std::string_view>& params,
                 const std::vector<size_t>& offsets, bool merge) {
    if (params.empty()) {
      Error(EhloErrorKind::kMissingParameter, 4,
            "AUTH without a mechanism (RFC 4954 §3)");
      return false;
    }
    std::vector<std::string> mechs;
    for (size_t i = 0; i < params.size(); ++i) {
      std::string mech = AsciiUpper(params[i]);
      bool valid = mech.size() <= kMaxSaslMechanism;
      for (char c : mech) valid = valid && IsMechChar(c);
      if (!valid) {
        Error(EhloErrorKind::kInvalidMechanism, offsets[i],
              absl::StrCat("\"", mech, "\" is not a SASL mechanism name (1*",
                           kMaxSaslMechanism, " of A-Z 0-9 - _, RFC 4422 §3.1)"));
        return false;
      }
      mechs.push_back(std::move(mech));
    }
    std::vector<std::string>& out = out_.capabilities.auth_mechanisms;
    for (std::string& m : mechs) {
      bool present = false;
      if (merge) {
        for (const std::string& have : out) present = present || have == m;
      }
      if (!present) out.push_back(std::move(m));
    }
    auth_seen_ = true;
    return true;
  }

  void Duplicate(std::string_view keyword) {
    Error(EhloErrorKind::kDuplicateKeyword, 0,
          absl::StrCat("keyword ", AsciiUpper(keyword),
                       " was already advertised on an earlier line; the first one counts"));
  }

  void Error(EhloErrorKind kind, size_t offset, std::string why) {
    out_.errors.push_back(EhloLineError{
        kind, index_, offset,
        absl::StrCat("EHLO reply line ", index_ + 1, ", offset ", offset, ": ", why)});
  }

  const EhloParseOptions& options_;
  EhloReply& out_;
  size_t index_ = 0;
  bool seen_[static_cast<int>(Known::kNone)] = {};
  // Some AUTH or AUTH= line was accepted: later ones merge into it. Only
  // reachable with allow_auth_equals, since a second plain AUTH line is a
  // duplicate.
  bool auth_seen_ = false;
};

}  // namespace

std::optional<uint64_t> EhloCapabilities::max_message_size() const {
  if (!size || !size->limit || *size->limit == 0) return std::nullopt;
  return size->limit;
}

bool EhloCapabilities::offers_auth(std::string_view mechanism) const {
  for (const std::string& m : auth_mechanisms) {
    if (EqualsIgnoreCase(m, mechanism)) return true;
  }
  return false;
}

std::string_view EhloErrorKindName(EhloErrorKind kind) {
  switch (kind) {
    case EhloErrorKind::kNotEhloOk: return "not an EHLO success reply";
    case EhloErrorKind::kInvalidDomain: return "invalid domain";
    case EhloErrorKind::kInvalidKeyword: return "invalid keyword";
    case EhloErrorKind::kInvalidParameter: return "invalid parameter";
    case EhloErrorKind::kUnexpectedParameter: return "unexpected parameter";
    case EhloErrorKind::kMissingParameter: return "missing parameter";
    case EhloErrorKind::kInvalidSize: return "invalid SIZE";
    case EhloErrorKind::kInvalidMechanism: return "invalid SASL mechanism";
    case EhloErrorKind::kDuplicateKeyword: return "duplicate keyword";
  }
  return "unknown";
}

EhloReply ParseEhloReply(const Reply& reply, const EhloParseOptions& options) {
  EhloReply out;
  if (reply.code != 250) {
    out.errors.push_back(EhloLineError{
        EhloErrorKind::kNotEhloOk, 0, 0,
        absl::StrCat("reply code ", reply.code,
                     " is not 250, so this is no EHLO capability list (RFC 5321 §4.1.1.1)")});
    return out;
  }
  std::string_view first = reply.lines.empty() ? std::string_view() : reply.lines[0];
  size_t sp = first.find(' ');
  std::string_view domain = first.substr(0, sp);
  out.domain = std::string(domain);
  if (sp != std::string_view::npos) out.greeting = std::string(first.substr(sp + 1));
  if (domain.empty()) {
    out.errors.push_back(EhloLineError{
        EhloErrorKind::kInvalidDomain, 0, 0,
        "EHLO reply line 1, offset 0: no domain before the greeting (RFC 5321 §4.1.1.1 "
        "ehlo-ok-rsp)"});
  } else {
    for (size_t i = 0; i < domain.size(); ++i) {
      if (!IsParamOctet(domain[i])) {
        out.errors.push_back(EhloLineError{
            EhloErrorKind::kInvalidDomain, 0, i,
            absl::StrCat("EHLO reply line 1, offset ", i, ": octet ", DescribeOctet(domain[i]),
                         " cannot be part of a domain (RFC 5321 §4.1.2)")});
        break;
      }
    }
  }
  LineParser parser(options, out);
  for (size_t i = 1; i < reply.lines.size(); ++i) parser.ParseLine(i, reply.lines[i]);
  return out;
}

Reply FormatEhloReply(std::string_view domain, std::string_view greeting,
                      const EhloCapabilities& capabilities) {
  Reply r;
  r.code = 250;
  std::string first(domain);
  if (!greeting.empty()) first.append(" ").append(greeting);
  r.lines.push_back(std::move(first));

  const EhloCapabilities& c = capabilities;
  for (const KnownName& k : kKnownNames) {
    switch (k.known) {
      case Known::kSize:
        if (c.size) {
          r.lines.push_back(c.size->limit ? absl::StrCat("SIZE ", *c.size->limit) : "SIZE");
        }
        break;
      case Known::kAuth:
        if (!c.auth_mechanisms.empty()) {
          std::string line = "AUTH";
          for (const std::string& m : c.auth_mechanisms) line.append(" ").append(m);
          r.lines.push_back(std::move(line));
        }
        break;
      default: {
        const bool* flag = FlagFor(c, k.known);
        if (flag && *flag) r.lines.emplace_back(k.name);
        break;
      }
    }
  }
  for (const Extension& e : c.other) {
    std::string line = e.keyword;
    for (const std::string& p : e.params) line.append(" ").append(p);
    r.lines.push_back(std::move(line));
  }
  return r;
}

}  // namespace mxkit::smtp
