#include "auth/spf/record.h"

#include <arpa/inet.h>

#include <cstring>

#include "base/ascii.h"

namespace mxkit::auth::spf {
namespace {

using base::AsciiLower;
using base::EqualsIgnoreCase;
using base::IsAlpha;
using base::IsDigit;

SyntaxError Error(SyntaxErrorCode code, size_t offset, std::string message) {
  return SyntaxError{code, offset, std::move(message) + " at offset " + std::to_string(offset)};
}

// Re-bases an error from a sub-parser (macro-strings) onto the record.
SyntaxError Shift(const SyntaxError& e, size_t base, std::string_view term) {
  return SyntaxError{e.code, base + e.offset,
                     "in \"" + std::string(term) + "\": " + e.message.substr(0, e.message.rfind(" at offset ")) +
                         " at offset " + std::to_string(base + e.offset)};
}

// "/" 1*DIGIT with no leading zero (the suite's cidr4-032: RFC 7208 §5.6 forbids
// leading zeros in ip4-network, and the cidr follows suit) and at most `max`.
std::optional<int> ParseCidr(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// If `s` ends with `slashes` followed by one or more digits, cuts that off and
// returns the digits.
std::optional<std::string_view> CutCidrSuffix(std::string_view& s, std::string_view slashes) {
  size_t end = s.size();
  size_t i = end;
  while (i > 0 && IsDigit(s[i - 1])) --i;
  if (i == end || i < slashes.size()) return std::nullopt;
  if (s.substr(i - slashes.size(), slashes.size()) != slashes) return std::nullopt;
  // "a//64" must not also be read as ip4-cidr "/64" after the first cut.
  if (slashes.size() == 1 && i >= 2 && s[i - 2] == '/') return std::nullopt;
  std::string_view digits = s.substr(i);
  s = s.substr(0, i - slashes.size());
  return digits;
}

struct TermParser {
  std::string_view term;
  size_t base;  // offset of `term` in the record

  SyntaxError Fail(SyntaxErrorCode code, size_t at, std::string why) const {
    return Error(code, base + at, "in \"" + std::string(term) + "\": " + why);
  }
};

ParseResult<Mechanism> ParseMechanism(std::string_view term, size_t base) {
  TermParser p{term, base};
  Mechanism m;
  m.text = std::string(term);
  m.offset = base;
  size_t i = 0;
  if (!term.empty() && (term[0] == '+' || term[0] == '-' || term[0] == '~' || term[0] == '?')) {
    m.qualifier = static_cast<Qualifier>(term[0]);
    i = 1;
  }
  size_t name_start = i;
  while (i < term.size() && (IsAlpha(term[i]) || IsDigit(term[i]))) ++i;
  std::string name = AsciiLower(term.substr(name_start, i - name_start));
  std::string_view rest = term.substr(i);
  size_t rest_at = i;
  static constexpr std::pair<std::string_view, MechanismKind> kNames[] = {
      {"all", MechanismKind::kAll},   {"include", MechanismKind::kInclude},
      {"a", MechanismKind::kA},       {"mx", MechanismKind::kMx},
      {"ptr", MechanismKind::kPtr},   {"ip4", MechanismKind::kIp4},
      {"ip6", MechanismKind::kIp6},   {"exists", MechanismKind::kExists},
  };
  bool known = false;
  for (const auto& [text, kind] : kNames) {
    if (name == text) {
      m.kind = kind;
      known = true;
    }
  }
  if (!known) {
    if (name.empty() && i < term.size()) {
      unsigned char u = static_cast<unsigned char>(term[i]);
      if (u < 0x21 || u > 0x7e) {
        return p.Fail(SyntaxErrorCode::kBadCharacter, i,
                      "byte " + std::to_string(u) + " is not allowed in a record (RFC 7208 §3.1, "
                      "§4.6.1: terms are visible ASCII separated by SP)");
      }
    }
    return p.Fail(SyntaxErrorCode::kUnknownMechanism, name_start,
                  "\"" + std::string(term.substr(name_start, i - name_start)) +
                      "\" is not a mechanism (RFC 7208 §5: all include a mx ptr ip4 ip6 exists) "
                      "and the term is not name=value");
  }

  auto domain_spec = [&](std::string_view spec, size_t at) -> std::optional<SyntaxError> {
    ParseResult<MacroString> parsed = ParseDomainSpec(spec);
    if (!parsed.ok()) return Shift(parsed.error(), base + at, term);
    m.domain_spec = std::move(parsed.value());
    return std::nullopt;
  };

  switch (m.kind) {
    case MechanismKind::kAll:
      if (!rest.empty()) {
        return p.Fail(SyntaxErrorCode::kBadMechanismArgument, rest_at,
                      "\"all\" takes no argument or CIDR (RFC 7208 §5.1)");
      }
      return m;
    case MechanismKind::kInclude:
    case MechanismKind::kExists:
    case MechanismKind::kPtr: {
      if (rest.empty()) {
        if (m.kind == MechanismKind::kPtr) return m;
        return p.Fail(SyntaxErrorCode::kBadMechanismArgument, rest_at,
                      std::string(MechanismName(m.kind)) +
                          " requires \":\" domain-spec (RFC 7208 §5.2, §5.7)");
      }
      if (rest[0] != ':') {
        return p.Fail(SyntaxErrorCode::kBadMechanismArgument, rest_at,
                      std::string(MechanismName(m.kind)) +
                          " takes only \":\" domain-spec, no CIDR length (RFC 7208 §5.2, §5.5, §5.7)");
      }
      if (auto e = domain_spec(rest.substr(1), rest_at + 1)) return *e;
      return m;
    }
    case MechanismKind::kA:
    case MechanismKind::kMx: {
      std::string_view s = rest;
      if (auto d6 = CutCidrSuffix(s, "//")) {
        auto v = ParseCidr(*d6, 128);
        if (!v) {
          return p.Fail(SyntaxErrorCode::kBadCidr, rest_at + s.size() + 2,
                        "ip6-cidr-length \"" + std::string(*d6) +
                            "\" is not 0..128 without leading zeros (RFC 7208 §5.6)");
        }
        m.ip6_cidr = *v;
      }
      if (auto d4 = CutCidrSuffix(s, "/")) {
        auto v = ParseCidr(*d4, 32);
        if (!v) {
          return p.Fail(SyntaxErrorCode::kBadCidr, rest_at + s.size() + 1,
                        "ip4-cidr-length \"" + std::string(*d4) +
                            "\" is not 0..32 without leading zeros (RFC 7208 §5.6)");
        }
        m.ip4_cidr = *v;
      }
      if (s.empty()) return m;
      if (s[0] != ':') {
        return p.Fail(SyntaxErrorCode::kBadMechanismArgument, rest_at,
                      std::string(MechanismName(m.kind)) +
                          " is followed by neither \":\" domain-spec nor dual-cidr-length "
                          "(RFC 7208 §5.3, §5.4)");
      }
      if (auto e = domain_spec(s.substr(1), rest_at + 1)) return *e;
      return m;
    }
    case MechanismKind::kIp4:
    case MechanismKind::kIp6: {
      bool v6 = m.kind == MechanismKind::kIp6;
      if (rest.empty() || rest[0] != ':') {
        return p.Fail(SyntaxErrorCode::kBadMechanismArgument, rest_at,
                      std::string(MechanismName(m.kind)) + " requires \":\" and a network (RFC 7208 §5.6)");
      }
      std::string_view value = rest.substr(1);
      size_t slash = value.find('/');
      std::string_view address = value.substr(0, slash);
      if (slash != std::string_view::npos) {
        std::string_view digits = value.substr(slash + 1);
        auto v = ParseCidr(digits, v6 ? 128 : 32);
        if (!v) {
          return p.Fail(SyntaxErrorCode::kBadCidr, rest_at + 1 + slash,
                        std::string(v6 ? "ip6" : "ip4") + "-cidr-length \"/" + std::string(digits) +
                            "\" is not a single /0.." + (v6 ? "128" : "32") +
                            " without leading zeros (RFC 7208 §5.6: no dual CIDR here)");
        }
        if (v6) m.ip6_cidr = *v;
        else m.ip4_cidr = *v;
      }
      if (v6) {
        std::optional<IpAddress> ip;
        if (address.find(':') != std::string_view::npos) ip = IpAddress::Parse(address);
        if (!ip || !ip->is_v6) {
          return p.Fail(SyntaxErrorCode::kBadIp6, rest_at + 1,
                        "\"" + std::string(address) + "\" is not an IPv6 address (RFC 4291 §2.2)");
        }
        m.network = *ip;
      } else {
        auto ip = ParseIp4(address);
        if (!ip) {
          return p.Fail(SyntaxErrorCode::kBadIp4, rest_at + 1,
                        "\"" + std::string(address) +
                            "\" is not a dotted-quad IPv4 address without leading zeros "
                            "(RFC 7208 §5.6 ip4-network)");
        }
        std::memcpy(m.network.bytes.data(), ip->data(), 4);
      }
      return m;
    }
  }
  return m;
}

}  // namespace

std::optional<std::array<uint8_t, 4>> ParseIp4(std::string_view text) {
  std::array<uint8_t, 4> out{};
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
    size_t start = i;
    int value = 0;
    while (i < text.size() && IsDigit(text[i]) && i - start < 3) value = value * 10 + (text[i++] - '0');
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && text[start] == '0')) return std::nullopt;
    if (i < text.size() && IsDigit(text[i])) return std::nullopt;
    out[part] = static_cast<uint8_t>(value);
  }
  if (i != text.size()) return std::nullopt;
  return out;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  IpAddress ip;
  if (auto v4 = ParseIp4(text)) {
    std::memcpy(ip.bytes.data(), v4->data(), 4);
    return ip;
  }
  // INET6_ADDRSTRLEN bounds any valid text form; longer cannot be an address.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (inet_pton(AF_INET6, buffer, ip.bytes.data()) != 1) return std::nullopt;
  ip.is_v6 = true;
  return ip;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (!is_v6) {
    char* p = buffer;
    for (int i = 0; i < 4; ++i) {
      if (i > 0) *p++ = '.';
      unsigned v = bytes[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
    }
    return std::string(buffer, p - buffer);
  }
  inet_ntop(AF_INET6, bytes.data(), buffer, sizeof buffer);
  return buffer;
}

bool PrefixMatch(const IpAddress& a, const IpAddress& b, int prefix) {
  if (a.is_v6 != b.is_v6) return false;
  int max = a.is_v6 ? 128 : 32;
  if (prefix > max) prefix = max;
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), full) != 0) return false;
  int bits = prefix % 8;
  if (bits == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
  return (a.bytes[full] & mask) == (b.bytes[full] & mask);
}

std::string_view MechanismName(MechanismKind kind) {
  switch (kind) {
    case MechanismKind::kAll: return "all";
    case MechanismKind::kInclude: return "include";
    case MechanismKind::kA: return "a";
    case MechanismKind::kMx: return "mx";
    case MechanismKind::kPtr: return "ptr";
    case MechanismKind::kIp4: return "ip4";
    case MechanismKind::kIp6: return "ip6";
    case MechanismKind::kExists: return "exists";
  }
  return "?";
}

bool IsSpfRecord(std::string_view txt) {
  return txt.size() >= 6 && EqualsIgnoreCase(txt.substr(0, 6), "v=spf1") &&
         (txt.size() == 6 || txt[6] == ' ');
}

ParseResult<Record> ParseRecord(std::string_view txt) {
  if (!IsSpfRecord(txt)) {
    return Error(SyntaxErrorCode::kNotSpfRecord, 0,
                 "record does not start with \"v=spf1\" followed by a space or its end "
                 "(RFC 7208 §4.5)");
  }
  Record record;
  size_t terms = 0;
  size_t i = 6;
  while (true) {
    while (i < txt.size() && txt[i] == ' ') ++i;  // §4.6.1: 1*SP between terms
    if (i >= txt.size()) break;
    size_t start = i;
    while (i < txt.size() && txt[i] != ' ') ++i;
    std::string_view term = txt.substr(start, i - start);
    if (++terms > kMaxTerms) {
      return Error(SyntaxErrorCode::kTooManyTerms, start,
                   "more than " + std::to_string(kMaxTerms) + " terms in one record");
    }
    // modifier = name "=" value; name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    // (§4.6.1: "=" right after the name, before any ":" or "/").
    size_t n = 0;
    if (IsAlpha(term[0])) {
      n = 1;
      while (n < term.size() && (IsAlpha(term[n]) || IsDigit(term[n]) || term[n] == '-' ||
                                 term[n] == '_' || term[n] == '.')) {
        ++n;
      }
    }
    if (n > 0 && n < term.size() && term[n] == '=') {
      std::string name = AsciiLower(term.substr(0, n));
      std::string_view value = term.substr(n + 1);
      size_t value_at = start + n + 1;
      bool is_redirect = name == "redirect", is_exp = name == "exp";
      if (is_redirect || is_exp) {
        if ((is_redirect && record.redirect) || (is_exp && record.exp)) {
          return Error(SyntaxErrorCode::kDuplicateModifier, start,
                       "\"" + name + "=\" appears twice; RFC 7208 §6 allows it at most once");
        }
        ParseResult<MacroString> spec = ParseDomainSpec(value);
        if (!spec.ok()) return Shift(spec.error(), value_at, term);
        if (is_redirect) {
          record.redirect = std::move(spec.value());
          record.redirect_text = std::string(term);
        } else {
          record.exp = std::move(spec.value());
          record.exp_text = std::string(term);
        }
        continue;
      }
      // §6: unknown modifiers are ignored, but their value must still be a
      // valid macro-string (the suite's unknown-modifier-syntax).
      ParseResult<MacroString> parsed = ParseMacroString(value, MacroContext::kDomainSpec);
      if (!parsed.ok()) return Shift(parsed.error(), value_at, term);
      record.unknown_modifiers.push_back({std::move(name), std::move(parsed.value()), start});
      continue;
    }
    ParseResult<Mechanism> mechanism = ParseMechanism(term, start);
    if (!mechanism.ok()) return mechanism.error();
    record.mechanisms.push_back(std::move(mechanism.value()));
  }
  return record;
}

}  // namespace mxkit::auth::spf
