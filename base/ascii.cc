#include "base/ascii.h"

namespace mxkit::base {

std::string DescribeOctet(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u <= 0x7E) return std::string("'") + c + "'";
  return std::string("0x") + LowerHexDigit(u >> 4) + LowerHexDigit(u);
}

std::string QuoteForMessage(std::string_view s, std::size_t max_octets) {
  const std::string_view shown = s.substr(0, max_octets);
  std::string out = "\"";
  for (const char c : shown) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '"': out += "\\\""; continue;
      case '\'': out += "\\'"; continue;
      case '\\': out += "\\\\"; continue;
      default: break;
    }
    if (IsPrintableAscii(c)) {
      out += c;
    } else {
      out += "\\x";
      out += LowerHexDigit(u >> 4);
      out += LowerHexDigit(u);
    }
  }
  out += '"';
  if (s.size() > shown.size()) out += "... (" + std::to_string(s.size()) + " octets)";
  return out;
}

void AppendPercentEncoded(std::string& out, std::string_view text,
                          std::string_view unreserved_marks) {
  for (const char c : text) {
    if (IsAlnum(c) || unreserved_marks.find(c) != std::string_view::npos) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += UpperHexDigit(u >> 4);
      out += UpperHexDigit(u);
    }
  }
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToUpperAscii(c);
  return out;
}

std::string_view ControlsToSpaces(std::string_view s, std::string& scratch) {
  std::size_t i = 0;
  while (i < s.size() && !IsCtl(s[i])) ++i;
  if (i == s.size()) return s;
  scratch.assign(s);
  for (char& c : scratch) {
    if (IsCtl(c)) c = ' ';
  }
  return scratch;
}

std::string_view StripOneTrailingDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

}  // namespace mxkit::base
