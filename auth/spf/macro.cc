#include "auth/spf/macro.h"

#include <algorithm>

#include "base/ascii.h"

namespace mxkit::auth::spf {
namespace {

using base::IsAlpha;
using base::IsDigit;

// RFC 7208 §7.1: delimiter = "." / "-" / "+" / "," / "/" / "_" / "=".
bool IsDelimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

// macro-literal = %x21-24 / %x26-7E (visible ASCII except '%'); an
// explain-string also allows SP.
bool IsLiteral(char c, MacroContext context) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u == ' ') return context == MacroContext::kExplainString;
  return u >= 0x21 && u <= 0x7e && u != '%';
}

SyntaxError Error(SyntaxErrorCode code, size_t offset, std::string message) {
  return SyntaxError{code, offset, std::move(message) + " at offset " + std::to_string(offset)};
}

void AppendLiteral(MacroString& out, std::string_view text) {
  if (out.tokens.empty() || out.tokens.back().is_macro) out.tokens.emplace_back();
  out.tokens.back().literal.append(text);
}

// Offset in `text` (already known to be a valid macro-string) where the final
// run of plain macro-literals begins: everything after the last macro-expand.
size_t TailLiteralStart(std::string_view text) {
  size_t tail = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (text[i + 1] == '{') i = text.find('}', i);
    else ++i;
    tail = i + 1;
  }
  return tail;
}

}  // namespace

bool IsTopLabel(std::string_view label) {
  if (label.empty()) return false;
  bool has_alpha = false, has_hyphen = false;
  for (char c : label) {
    if (IsAlpha(c)) has_alpha = true;
    else if (c == '-') has_hyphen = true;
    else if (!IsDigit(c)) return false;
  }
  if (label.front() == '-' || label.back() == '-') return false;
  return has_alpha || has_hyphen;
}

ParseResult<MacroString> ParseMacroString(std::string_view text, MacroContext context) {
  MacroString out;
  out.tokens.reserve(4);
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '%') {
      if (!IsLiteral(c, context)) {
        return Error(SyntaxErrorCode::kBadCharacter, i,
                     base::DescribeOctet(c) +
                         " is not allowed in a macro-string (RFC 7208 §7.1: visible "
                         "ASCII only" + std::string(context == MacroContext::kExplainString
                                                    ? " and SP)" : ")"));
      }
      size_t start = i;
      while (i < text.size() && text[i] != '%' && IsLiteral(text[i], context)) ++i;
      AppendLiteral(out, text.substr(start, i - start));
      out.ends_with_macro_expand = false;
      continue;
    }
    if (i + 1 >= text.size()) {
      return Error(SyntaxErrorCode::kBadPercent, i,
                   "'%' at the end of a macro-string; a literal percent is written \"%%\" "
                   "(RFC 7208 §7.1)");
    }
    char next = text[i + 1];
    if (next == '%' || next == '_' || next == '-') {
      AppendLiteral(out, next == '%' ? "%" : next == '_' ? " " : "%20");
      out.ends_with_macro_expand = true;
      i += 2;
      continue;
    }
    if (next != '{') {
      return Error(SyntaxErrorCode::kBadPercent, i,
                   "'%' followed by " + base::DescribeOctet(next) +
                   "; only '{', '%', '_' or '-' may follow it (RFC 7208 §7.1)");
    }
    size_t open = i;
    i += 2;
    if (i >= text.size()) {
      return Error(SyntaxErrorCode::kUnterminatedMacro, open, "\"%{\" without a closing '}'");
    }
    MacroExpand m;
    char letter = base::ToLowerAscii(text[i]);
    if (std::string_view("slodiphcrtv").find(letter) == std::string_view::npos ||
        !IsAlpha(text[i])) {
      return Error(SyntaxErrorCode::kUnknownMacroLetter, i,
                   base::DescribeOctet(text[i]) + " is not a macro letter; RFC 7208 §7.1 defines "
                   "s l o d i p h c r t v");
    }
    if ((letter == 'c' || letter == 'r' || letter == 't') &&
        context != MacroContext::kExplainString) {
      return Error(SyntaxErrorCode::kLetterOnlyInExp, i,
                   std::string("macro letter '") + text[i] +
                   "' is allowed only in explanation text (RFC 7208 §7.1)");
    }
    m.letter = letter;
    m.url_escape = text[i] != letter;
    if (letter == 'p') out.uses_p = true;
    ++i;
    size_t digits_at = i;
    bool any_digit = false;
    long keep = 0;
    while (i < text.size() && IsDigit(text[i])) {
      any_digit = true;
      keep = std::min<long>(keep * 10 + (text[i] - '0'), kMaxTransformerDigits);
      ++i;
    }
    if (any_digit && keep == 0) {
      return Error(SyntaxErrorCode::kZeroTransformer, digits_at,
                   "transformer digits are zero; RFC 7208 §7.3 requires a nonzero count");
    }
    m.keep = static_cast<int>(keep);
    if (i < text.size() && (text[i] == 'r' || text[i] == 'R')) {
      m.reverse = true;
      ++i;
    }
    while (i < text.size() && IsDelimiter(text[i])) m.delimiters.push_back(text[i++]);
    if (i >= text.size()) {
      return Error(SyntaxErrorCode::kUnterminatedMacro, open, "\"%{\" without a closing '}'");
    }
    if (text[i] != '}') {
      return Error(SyntaxErrorCode::kBadTransformer, i,
                   base::DescribeOctet(text[i]) +
                       " inside \"%{...}\"; RFC 7208 §7.1 allows a letter, "
                       "digits, 'r' and delimiters .-+,/_= only");
    }
    ++i;
    MacroToken token;
    token.is_macro = true;
    token.macro = std::move(m);
    out.tokens.push_back(std::move(token));
    out.ends_with_macro_expand = true;
  }
  return out;
}

ParseResult<MacroString> ParseDomainSpec(std::string_view text) {
  if (text.empty()) {
    return Error(SyntaxErrorCode::kEmptyDomainSpec, 0,
                 "empty domain-spec (RFC 7208 §7.1: domain-spec = macro-string domain-end)");
  }
  ParseResult<MacroString> parsed = ParseMacroString(text, MacroContext::kDomainSpec);
  if (!parsed.ok() || parsed->ends_with_macro_expand) return parsed;
  size_t tail = TailLiteralStart(text);
  std::string_view end = text.substr(tail);
  if (!end.empty() && end.back() == '.') end.remove_suffix(1);
  size_t dot = end.rfind('.');
  if (dot == std::string_view::npos) {
    return Error(SyntaxErrorCode::kBadDomainEnd, tail,
                 "domain-spec \"" + std::string(text) + "\" has no \".\" before its last "
                 "label; it must end in \".\" toplabel or a macro (RFC 7208 §7.1)");
  }
  std::string_view label = end.substr(dot + 1);
  if (!IsTopLabel(label)) {
    return Error(SyntaxErrorCode::kBadDomainEnd, tail + dot + 1,
                 "\"" + std::string(label) + "\" is not a valid top label (RFC 7208 §7.1: "
                 "letters, digits and inner hyphens, not all digits)");
  }
  return parsed;
}

std::string UrlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  base::AppendPercentEncoded(out, text, base::kUriUnreservedMarks);
  return out;
}

std::string TruncateDomain(std::string name) {
  size_t cut = 0;
  while (name.size() - cut > kMaxDomainLength) {
    size_t dot = name.find('.', cut);
    if (dot == std::string::npos) break;  // one over-long label left: unqueryable anyway
    cut = dot + 1;
  }
  if (cut > 0) name.erase(0, cut);
  return name;
}

namespace {

void ExpandOne(const MacroExpand& m, std::string_view value, std::string& out) {
  std::string_view delimiters = m.delimiters.empty() ? std::string_view(".") : m.delimiters;
  // Fast path: no transformation at all.
  if (m.keep == 0 && !m.reverse && m.delimiters.empty() && !m.url_escape) {
    out.append(value);
    return;
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (m.reverse) std::reverse(parts.begin(), parts.end());
  size_t first = 0;
  if (m.keep > 0 && static_cast<size_t>(m.keep) < parts.size()) first = parts.size() - m.keep;
  // §7.3: parts are rejoined with "." whatever the splitting characters were.
  std::string joined;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i > first) joined.push_back('.');
    joined.append(parts[i]);
  }
  if (m.url_escape) base::AppendPercentEncoded(out, joined, base::kUriUnreservedMarks);
  else out.append(joined);
}

}  // namespace

std::string ExpandMacroString(const MacroString& macro, const MacroValues& values,
                              bool for_domain) {
  std::string out;
  out.reserve(64);
  std::string p;
  bool have_p = false;
  for (const MacroToken& token : macro.tokens) {
    if (!token.is_macro) {
      out.append(token.literal);
      if (out.size() > kMaxExpansionLength) break;
      continue;
    }
    std::string_view value;
    switch (token.macro.letter) {
      case 's': value = values.sender; break;
      case 'l': value = values.local_part; break;
      case 'o': value = values.sender_domain; break;
      case 'd': value = values.domain; break;
      case 'i': value = values.ip; break;
      case 'c': value = values.client_ip; break;
      case 'v': value = values.ip_version; break;
      case 'h': value = values.helo; break;
      case 'r': value = values.receiver; break;
      case 't': value = values.timestamp; break;
      case 'p':
        if (!have_p) {
          p = values.validated_domain ? values.validated_domain() : std::string("unknown");
          have_p = true;
        }
        value = p;
        break;
    }
    ExpandOne(token.macro, value, out);
    if (out.size() > kMaxExpansionLength) break;
  }
  if (out.size() > kMaxExpansionLength) {
    if (for_domain) return std::string();
    out.resize(kMaxExpansionLength);
    return out;
  }
  if (for_domain) {
    if (!out.empty() && out.back() == '.') out.pop_back();
    if (out.size() > kMaxDomainLength) out = TruncateDomain(std::move(out));
  }
  return out;
}

}  // namespace mxkit::auth::spf
