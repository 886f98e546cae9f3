#include "smtp/address.h"

#include <array>
#include <cstdint>
#include <string>

#include "base/ascii.h"
#include "base/utf8.h"

namespace mxkit::smtp {
namespace {

using base::EqualsIgnoreCase;
using base::IsDigit;
using base::IsHexDigit;
using base::Utf8SequenceLength;
// RFC 5321 §4.1.2 Let-dig = ALPHA / DIGIT.
constexpr bool IsLetDig(char c) { return base::IsAlnum(c); }

// RFC 5322 §3.2.3 atext, used by RFC 5321 §4.1.2 Atom.
constexpr std::array<bool, 256> MakeAtextTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = base::IsAtext(static_cast<char>(c));
  return t;
}
constexpr std::array<bool, 256> kAtext = MakeAtextTable();

constexpr bool IsAtext(unsigned char c) { return kAtext[c]; }
// RFC 5321 §4.1.2 qtextSMTP = %d32-33 / %d35-91 / %d93-126.
constexpr bool IsQtextSmtp(unsigned char c) {
  return c >= 32 && c <= 126 && c != '"' && c != '\\';
}
// RFC 5321 §4.1.3 dcontent = %d33-90 / %d94-126 (not "[", "\", "]").
constexpr bool IsDcontent(unsigned char c) {
  return (c >= 33 && c <= 90) || (c >= 94 && c <= 126);
}


// Length of the RFC 3492 Punycode encoding of the code points of the
// well-formed UTF-8 `label` (the part of an A-label after "xn--"). Labels
// are at most kMaxDomain octets, so 64-bit arithmetic cannot overflow.
std::size_t PunycodeLength(std::string_view label) {
  constexpr std::uint64_t kBase = 36, kTMin = 1, kTMax = 26, kSkew = 38,
                          kDamp = 700, kInitialBias = 72, kInitialN = 128;
  std::uint32_t cps[kMaxDomain];
  std::size_t count = 0;
  for (std::size_t i = 0; i < label.size() && count < kMaxDomain;) {
    const unsigned char c = static_cast<unsigned char>(label[i]);
    const std::size_t n = Utf8SequenceLength(label, i);
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t j = 1; j < n; ++j) {
      cp = (cp << 6) | (static_cast<unsigned char>(label[i + j]) & 0x3F);
    }
    cps[count++] = cp;
    i += n == 0 ? 1 : n;
  }
  std::size_t basic = 0;
  for (std::size_t i = 0; i < count; ++i) basic += cps[i] < 0x80;
  std::size_t out = basic + (basic > 0 ? 1 : 0);  // basic code points and "-"
  const auto adapt = [&](std::uint64_t delta, std::uint64_t points, bool first) {
    delta = first ? delta / kDamp : delta / 2;
    delta += delta / points;
    std::uint64_t k = 0;
    while (delta > ((kBase - kTMin) * kTMax) / 2) {
      delta /= kBase - kTMin;
      k += kBase;
    }
    return k + (kBase - kTMin + 1) * delta / (delta + kSkew);
  };
  std::uint64_t n = kInitialN, delta = 0, bias = kInitialBias;
  std::size_t handled = basic;
  while (handled < count) {
    std::uint64_t m = UINT64_MAX;
    for (std::size_t i = 0; i < count; ++i) {
      if (cps[i] >= n && cps[i] < m) m = cps[i];
    }
    delta += (m - n) * (handled + 1);
    n = m;
    for (std::size_t i = 0; i < count; ++i) {
      if (cps[i] < n) ++delta;
      if (cps[i] != n) continue;
      std::uint64_t q = delta;
      for (std::uint64_t k = kBase;; k += kBase) {
        const std::uint64_t t = k <= bias ? kTMin : k >= bias + kTMax ? kTMax : k - bias;
        if (q < t) break;
        ++out;
        q = (q - t) / (kBase - t);
      }
      ++out;
      bias = adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out;
}

// A parse position over one input, and the first error seen.
class Parser {
 public:
  Parser(std::string_view input, const AddressParseOptions& options)
      : s_(input), options_(options) {}

  std::size_t pos() const { return pos_; }
  void set_pos(std::size_t pos) { pos_ = pos; }
  bool at_end() const { return pos_ >= s_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(s_[pos_]); }
  AddressError& error() { return error_; }
  bool failed() const { return error_.kind != AddressErrorKind::kOk; }

  bool Fail(AddressErrorKind kind, std::size_t offset, std::string why) {
    if (!failed()) {
      error_.kind = kind;
      error_.offset = offset;
      error_.message = std::string(AddressErrorKindName(kind)) + " at offset " +
                       std::to_string(offset) + ": " + why;
    }
    return false;
  }

  // Consumes one non-ASCII UTF-8 sequence at pos_ if SMTPUTF8 allows it.
  bool ConsumeUtf8(std::string_view where) {
    if (!options_.allow_utf8) {
      return Fail(AddressErrorKind::kUtf8NotAllowed, pos_,
                  "non-ASCII octet " + base::DescribeOctet(peek()) + " in " + std::string(where) +
                      " requires SMTPUTF8 (RFC 6531 §3.3)");
    }
    const std::size_t n = Utf8SequenceLength(s_, pos_);
    if (n == 0) {
      return Fail(AddressErrorKind::kInvalidUtf8, pos_,
                  "ill-formed UTF-8 sequence in " + std::string(where) +
                      " (RFC 3629 §4)");
    }
    pos_ += n;
    return true;
  }

  // Local-part = Dot-string / Quoted-string (§4.1.2); appends the unquoted
  // form to *out.
  bool LocalPart(std::string* out) {
    const std::size_t start = pos_;
    if (at_end()) {
      return Fail(AddressErrorKind::kInvalidLocalPart, pos_,
                  "expected a local part");
    }
    if (peek() == '"') {
      ++pos_;
      std::size_t run = pos_;  // start of a run of bytes copied verbatim
      for (;;) {
        if (at_end()) {
          return Fail(AddressErrorKind::kUnterminatedQuotedString, pos_,
                      "Quoted-string has no closing DQUOTE (RFC 5321 §4.1.2)");
        }
        const unsigned char c = peek();
        if (c == '"') break;
        if (c == '\\') {
          out->append(s_.substr(run, pos_ - run));
          if (pos_ + 1 >= s_.size() ||
              static_cast<unsigned char>(s_[pos_ + 1]) < 32 ||
              static_cast<unsigned char>(s_[pos_ + 1]) > 126) {
            return Fail(AddressErrorKind::kInvalidQuotedPair, pos_,
                        "\"\\\" must be followed by a printable ASCII character "
                        "(quoted-pairSMTP, RFC 5321 §4.1.2)");
          }
          run = pos_ + 1;
          pos_ += 2;
        } else if (IsQtextSmtp(c)) {
          ++pos_;
        } else if (c >= 0x80) {
          if (!ConsumeUtf8("a quoted local part")) return false;
        } else {
          return Fail(AddressErrorKind::kInvalidLocalPart, pos_,
                      "byte " + base::DescribeOctet(c) +
                          " is not allowed in a Quoted-string (qtextSMTP, RFC 5321 §4.1.2)");
        }
      }
      out->append(s_.substr(run, pos_ - run));
      ++pos_;  // closing DQUOTE
    } else {
      for (;;) {
        const std::size_t atom = pos_;
        while (!at_end()) {
          const unsigned char c = peek();
          if (IsAtext(c)) {
            ++pos_;
          } else if (c >= 0x80) {
            if (!ConsumeUtf8("a local part")) return false;
          } else {
            break;
          }
        }
        if (pos_ == atom) {
          if (at_end()) {
            return Fail(AddressErrorKind::kInvalidLocalPart, pos_,
                        "expected an Atom of the local part (RFC 5321 §4.1.2)");
          }
          return Fail(AddressErrorKind::kInvalidLocalPart, pos_,
                      "byte " + base::DescribeOctet(peek()) +
                          " cannot start an Atom of a Dot-string (RFC 5321 §4.1.2)");
        }
        if (!at_end() && peek() == '.') {
          ++pos_;
          continue;
        }
        break;
      }
      out->append(s_.substr(start, pos_ - start));
    }
    if (pos_ - start > kMaxLocalPart) {
      return Fail(AddressErrorKind::kLocalPartTooLong, start + kMaxLocalPart,
                  "local part is " + std::to_string(pos_ - start) +
                      " octets, more than " + std::to_string(kMaxLocalPart) +
                      " (RFC 5321 §4.5.3.1.1)");
    }
    return true;
  }

  // Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
  // (§4.1.2), or a U-label under SMTPUTF8 (RFC 6531 §3.3).
  bool Domain() {
    const std::size_t start = pos_;
    for (;;) {
      const std::size_t label = pos_;
      bool ascii = true;
      while (!at_end()) {
        const unsigned char c = peek();
        if (IsLetDig(c) || c == '-') {
          ++pos_;
        } else if (c >= 0x80) {
          ascii = false;
          if (!ConsumeUtf8("a domain")) return false;
        } else {
          break;
        }
      }
      if (pos_ == label) {
        if (at_end()) {
          return Fail(AddressErrorKind::kInvalidDomain, pos_,
                      "expected a domain label (RFC 5321 §4.1.2)");
        }
        return Fail(AddressErrorKind::kInvalidDomain, pos_,
                    "byte " + base::DescribeOctet(peek()) +
                        " cannot start a domain label (Let-dig, RFC 5321 §4.1.2)");
      }
      if (s_[label] == '-') {
        return Fail(AddressErrorKind::kInvalidDomain, label,
                    "a domain label cannot start with \"-\" (RFC 5321 §4.1.2)");
      }
      if (s_[pos_ - 1] == '-') {
        return Fail(AddressErrorKind::kInvalidDomain, pos_ - 1,
                    "a domain label cannot end with \"-\" (Ldh-str, RFC 5321 §4.1.2)");
      }
      if (ascii && pos_ - label > kMaxDomainLabel) {
        return Fail(AddressErrorKind::kLabelTooLong, label + kMaxDomainLabel,
                    "domain label is " + std::to_string(pos_ - label) +
                        " octets, more than " + std::to_string(kMaxDomainLabel) +
                        " (RFC 1035 §2.3.4)");
      }
      // A U-label's 63-octet limit applies to its A-label form, "xn--" and
      // the Punycode (RFC 5890 §2.3.2.1, RFC 3492), not to its UTF-8.
      if (!ascii) {
        const std::size_t a_label = 4 + PunycodeLength(s_.substr(label, pos_ - label));
        if (a_label > kMaxDomainLabel) {
          return Fail(AddressErrorKind::kLabelTooLong, label,
                      "U-label's A-label form is " + std::to_string(a_label) +
                          " octets, more than " + std::to_string(kMaxDomainLabel) +
                          " (RFC 5890 §2.3.2.1)");
        }
      }
      if (!at_end() && peek() == '.') {
        ++pos_;
        continue;
      }
      break;
    }
    if (pos_ - start > kMaxDomain) {
      return Fail(AddressErrorKind::kDomainTooLong, start + kMaxDomain,
                  "domain is " + std::to_string(pos_ - start) +
                      " octets, more than " + std::to_string(kMaxDomain) +
                      " (RFC 5321 §4.5.3.1.2)");
    }
    return true;
  }

  // IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0-255
  // (§4.1.3). Validates s_[begin, end) exactly.
  bool IPv4(std::size_t begin, std::size_t end) {
    std::size_t p = begin;
    for (int part = 0; part < 4; ++part) {
      if (part > 0) {
        if (p >= end || s_[p] != '.') {
          return Fail(AddressErrorKind::kInvalidIPv4Literal, p,
                      "expected \".\" between the four Snum of an IPv4 literal "
                      "(RFC 5321 §4.1.3)");
        }
        ++p;
      }
      const std::size_t digits = p;
      int value = 0;
      while (p < end && IsDigit(static_cast<unsigned char>(s_[p])) && p - digits < 3) {
        value = value * 10 + (s_[p] - '0');
        ++p;
      }
      if (p == digits) {
        return Fail(AddressErrorKind::kInvalidIPv4Literal, p,
                    "expected 1 to 3 digits (Snum, RFC 5321 §4.1.3)");
      }
      if (value > 255) {
        return Fail(AddressErrorKind::kInvalidIPv4Literal, digits,
                    "Snum " + std::string(s_.substr(digits, p - digits)) +
                        " is above 255 (RFC 5321 §4.1.3)");
      }
    }
    if (p != end) {
      return Fail(AddressErrorKind::kInvalidIPv4Literal, p,
                  "unexpected byte after the fourth Snum of an IPv4 literal "
                  "(RFC 5321 §4.1.3)");
    }
    return true;
  }

  // IPv6-addr of §4.1.3 over s_[begin, end): IPv6-full (8 groups),
  // IPv6-comp (at most 6 groups and "::", which stands for at least 2),
  // IPv6v4-full (6 groups and an IPv4 tail), IPv6v4-comp (at most 4 groups,
  // "::" and an IPv4 tail).
  bool IPv6(std::size_t begin, std::size_t end) {
    const auto fail = [&](std::size_t at, const char* why) {
      return Fail(AddressErrorKind::kInvalidIPv6Literal, at,
                  std::string(why) + " (IPv6-addr, RFC 5321 §4.1.3)");
    };
    std::size_t p = begin;
    int groups = 0;
    bool compressed = false;
    bool v4 = false;
    if (p + 1 < end && s_[p] == ':' && s_[p + 1] == ':') {
      compressed = true;
      p += 2;
    } else if (p < end && s_[p] == ':') {
      return fail(p, "a single \":\" cannot start an IPv6 address");
    }
    while (p < end) {
      const std::size_t group = p;
      while (p < end && IsHexDigit(static_cast<unsigned char>(s_[p]))) ++p;
      if (p < end && s_[p] == '.') {
        if (!IPv4(group, end)) return false;
        v4 = true;
        p = end;
        break;
      }
      if (p == group) return fail(p, "expected 1 to 4 hex digits");
      if (p - group > 4) return fail(group + 4, "more than 4 hex digits in a group");
      ++groups;
      if (p == end) break;
      if (s_[p] != ':') return fail(p, "unexpected byte in an IPv6 address");
      if (p + 1 < end && s_[p + 1] == ':') {
        if (compressed) return fail(p, "\"::\" may appear only once");
        compressed = true;
        p += 2;
        continue;
      }
      ++p;
      if (p == end) return fail(p, "an IPv6 address cannot end with a single \":\"");
    }
    const int max_groups = v4 ? 6 : 8;
    if (compressed) {
      if (groups > max_groups - 2) {
        return fail(begin, v4 ? "at most 4 groups may accompany \"::\" and an IPv4 tail"
                              : "at most 6 groups may accompany \"::\"");
      }
    } else if (groups != max_groups) {
      return fail(end, v4 ? "expected 6 groups before the IPv4 tail"
                          : "expected 8 groups");
    }
    return true;
  }

  // address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
  // General-address-literal ) "]" (§4.1.3), at pos_.
  bool AddressLiteral(DomainKind* kind) {
    const std::size_t open = pos_;
    std::size_t close = open + 1;
    std::size_t colon = std::string_view::npos;
    while (close < s_.size() && s_[close] != ']') {
      const unsigned char c = static_cast<unsigned char>(s_[close]);
      if (!IsDcontent(c)) {
        return Fail(AddressErrorKind::kInvalidAddressLiteral, close,
                    "byte " + base::DescribeOctet(c) +
                        " is not allowed in an address literal (dcontent, RFC 5321 §4.1.3)");
      }
      if (c == ':' && colon == std::string_view::npos) colon = close;
      ++close;
      // §4.5.3.1.2 bounds "a domain name or number" at 255 octets; the
      // literal with its brackets is that number (found by path_fuzzer: a
      // 320-octet General-address-literal was accepted).
      if (close - open + 1 > kMaxDomain) {
        return Fail(AddressErrorKind::kDomainTooLong, open + kMaxDomain,
                    "address literal is longer than " + std::to_string(kMaxDomain) +
                        " octets (RFC 5321 §4.5.3.1.2)");
      }
    }
    if (close >= s_.size()) {
      return Fail(AddressErrorKind::kInvalidAddressLiteral, close,
                  "address literal has no closing \"]\" (RFC 5321 §4.1.3)");
    }
    const std::size_t begin = open + 1;
    if (begin == close) {
      return Fail(AddressErrorKind::kInvalidAddressLiteral, begin,
                  "empty address literal (RFC 5321 §4.1.3)");
    }
    if (colon == std::string_view::npos) {
      if (!IPv4(begin, close)) return false;
      *kind = DomainKind::kIPv4Literal;
    } else {
      // Standardized-tag = Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig.
      if (colon == begin) {
        return Fail(AddressErrorKind::kInvalidAddressLiteral, begin,
                    "address literal tag is empty (Standardized-tag, RFC 5321 §4.1.3)");
      }
      for (std::size_t i = begin; i < colon; ++i) {
        const unsigned char c = static_cast<unsigned char>(s_[i]);
        if (!IsLetDig(c) && c != '-') {
          return Fail(AddressErrorKind::kInvalidAddressLiteral, i,
                      "byte " + base::DescribeOctet(c) +
                          " is not allowed in an address literal tag (Ldh-str, RFC 5321 §4.1.3)");
        }
      }
      if (s_[colon - 1] == '-') {
        return Fail(AddressErrorKind::kInvalidAddressLiteral, colon - 1,
                    "address literal tag cannot end with \"-\" (Ldh-str, RFC 5321 §4.1.3)");
      }
      if (EqualsIgnoreCase(s_.substr(begin, colon - begin), "IPv6")) {
        if (!IPv6(colon + 1, close)) return false;
        *kind = DomainKind::kIPv6Literal;
      } else {
        if (colon + 1 == close) {
          return Fail(AddressErrorKind::kInvalidAddressLiteral, close,
                      "General-address-literal needs content after the tag "
                      "(1*dcontent, RFC 5321 §4.1.3)");
        }
        *kind = DomainKind::kGeneralLiteral;
      }
    }
    pos_ = close + 1;
    return true;
  }

  // Domain / address-literal at pos_.
  bool Host(bool allow_literal, DomainKind* kind) {
    if (!at_end() && peek() == '[') {
      if (!allow_literal) {
        return Fail(AddressErrorKind::kInvalidDomain, pos_,
                    "an address literal is not allowed here, only a Domain "
                    "(RFC 5321 §4.1.2)");
      }
      return AddressLiteral(kind);
    }
    *kind = DomainKind::kName;
    return Domain();
  }

  // Mailbox = Local-part "@" ( Domain / address-literal ).
  bool MailboxAt(Mailbox* mailbox) {
    if (!LocalPart(&mailbox->local_part)) return false;
    if (at_end() || peek() != '@') {
      return Fail(AddressErrorKind::kExpectedAt, pos_,
                  "expected \"@\" after the local part (RFC 5321 §4.1.2)");
    }
    ++pos_;
    const std::size_t domain = pos_;
    if (!Host(true, &mailbox->domain_kind)) return false;
    mailbox->domain.assign(s_.substr(domain, pos_ - domain));
    return true;
  }

  // True if s_ at pos_ starts with "Postmaster" (any case) followed by
  // `terminator` (or end/SP when terminator is 0).
  bool AtBarePostmaster(char terminator) const {
    constexpr std::string_view kPostmaster = "postmaster";
    if (s_.size() - pos_ < kPostmaster.size()) return false;
    if (!EqualsIgnoreCase(s_.substr(pos_, kPostmaster.size()), kPostmaster)) {
      return false;
    }
    const std::size_t after = pos_ + kPostmaster.size();
    if (terminator != 0) return after < s_.size() && s_[after] == terminator;
    return after == s_.size() || s_[after] == ' ';
  }

  PathResult Path(PathRole role) {
    PathResult result;
    MailPath& path = result.path;
    if (s_.empty()) {
      Fail(AddressErrorKind::kEmpty, 0, "expected a path (RFC 5321 §4.1.2)");
      result.error = std::move(error_);
      return result;
    }
    if (peek() != '<') {
      if (!options_.allow_missing_angle_brackets) {
        Fail(AddressErrorKind::kExpectedOpenAngle, 0,
             "a path must start with \"<\" (RFC 5321 §4.1.2)");
      } else if (role == PathRole::kForward && AtBarePostmaster(0)) {
        pos_ += 10;
        path.mailbox.local_part.assign(s_.substr(0, pos_));
      } else if (MailboxAt(&path.mailbox) && !at_end() && peek() != ' ') {
        Fail(AddressErrorKind::kTrailingCharacters, pos_,
             "unexpected byte " + base::DescribeOctet(peek()) + " after a path without brackets");
      }
      // The limit counts the brackets the path should have had.
      if (!failed() && pos_ + 2 > kMaxPath) {
        Fail(AddressErrorKind::kPathTooLong, kMaxPath - 2,
             "path is " + std::to_string(pos_ + 2) + " octets, more than " +
                 std::to_string(kMaxPath) + " (RFC 5321 §4.5.3.1.3)");
      }
    } else {
      ++pos_;
      if (!at_end() && peek() == '>') {
        if (role == PathRole::kReverse) {
          path.is_null = true;
          ++pos_;
        } else {
          Fail(AddressErrorKind::kNullPathNotAllowed, 0,
               "\"<>\" is only a reverse-path, not a forward-path (RFC 5321 §4.1.1.3)");
        }
      } else {
        if (!at_end() && peek() == '@') {
          // A-d-l = At-domain *( "," At-domain ) ":" (§4.1.2).
          for (;;) {
            if (at_end() || peek() != '@') {
              Fail(AddressErrorKind::kInvalidSourceRoute, pos_,
                   "expected \"@\" starting an At-domain (RFC 5321 §4.1.2)");
              break;
            }
            ++pos_;
            const std::size_t domain = pos_;
            if (!Domain()) break;
            path.source_route.emplace_back(s_.substr(domain, pos_ - domain));
            if (!at_end() && peek() == ',') {
              ++pos_;
              continue;
            }
            if (!at_end() && peek() == ':') {
              ++pos_;
              break;
            }
            Fail(AddressErrorKind::kInvalidSourceRoute, pos_,
                 "expected \",\" or \":\" after an At-domain (RFC 5321 §4.1.2)");
            break;
          }
        }
        if (!failed()) {
          if (role == PathRole::kForward && path.source_route.empty() &&
              AtBarePostmaster('>')) {
            path.mailbox.local_part.assign(s_.substr(pos_, 10));
            pos_ += 10;
          } else {
            MailboxAt(&path.mailbox);
          }
        }
        if (!failed()) {
          if (at_end() || peek() != '>') {
            Fail(AddressErrorKind::kExpectedCloseAngle, pos_,
                 "expected \">\" ending the path (RFC 5321 §4.1.2)");
          } else {
            ++pos_;
          }
        }
      }
      if (!failed() && pos_ > kMaxPath) {
        Fail(AddressErrorKind::kPathTooLong, kMaxPath,
             "path is " + std::to_string(pos_) + " octets, more than " +
                 std::to_string(kMaxPath) + " (RFC 5321 §4.5.3.1.3)");
      }
    }
    if (failed()) {
      result.error = std::move(error_);
      result.path = MailPath();
      return result;
    }
    result.consumed = pos_;
    return result;
  }

 private:
  std::string_view s_;
  const AddressParseOptions& options_;
  std::size_t pos_ = 0;
  AddressError error_;
};

}  // namespace

std::string_view AddressErrorKindName(AddressErrorKind kind) {
  switch (kind) {
    case AddressErrorKind::kOk: return "Ok";
    case AddressErrorKind::kEmpty: return "Empty";
    case AddressErrorKind::kExpectedOpenAngle: return "ExpectedOpenAngle";
    case AddressErrorKind::kExpectedCloseAngle: return "ExpectedCloseAngle";
    case AddressErrorKind::kNullPathNotAllowed: return "NullPathNotAllowed";
    case AddressErrorKind::kInvalidSourceRoute: return "InvalidSourceRoute";
    case AddressErrorKind::kInvalidLocalPart: return "InvalidLocalPart";
    case AddressErrorKind::kUnterminatedQuotedString: return "UnterminatedQuotedString";
    case AddressErrorKind::kInvalidQuotedPair: return "InvalidQuotedPair";
    case AddressErrorKind::kLocalPartTooLong: return "LocalPartTooLong";
    case AddressErrorKind::kExpectedAt: return "ExpectedAt";
    case AddressErrorKind::kInvalidDomain: return "InvalidDomain";
    case AddressErrorKind::kLabelTooLong: return "LabelTooLong";
    case AddressErrorKind::kDomainTooLong: return "DomainTooLong";
    case AddressErrorKind::kInvalidAddressLiteral: return "InvalidAddressLiteral";
    case AddressErrorKind::kInvalidIPv4Literal: return "InvalidIPv4Literal";
    case AddressErrorKind::kInvalidIPv6Literal: return "InvalidIPv6Literal";
    case AddressErrorKind::kPathTooLong: return "PathTooLong";
    case AddressErrorKind::kInvalidUtf8: return "InvalidUtf8";
    case AddressErrorKind::kUtf8NotAllowed: return "Utf8NotAllowed";
    case AddressErrorKind::kTrailingCharacters: return "TrailingCharacters";
  }
  return "Unknown";
}

PathResult ParsePathPrefix(std::string_view input, PathRole role,
                           const AddressParseOptions& options) {
  Parser parser(input, options);
  return parser.Path(role);
}

PathResult ParsePath(std::string_view input, PathRole role,
                     const AddressParseOptions& options) {
  PathResult result = ParsePathPrefix(input, role, options);
  if (result.ok() && result.consumed != input.size()) {
    const std::size_t at = result.consumed;
    result = PathResult();
    result.error.kind = AddressErrorKind::kTrailingCharacters;
    result.error.offset = at;
    result.error.message = "TrailingCharacters at offset " + std::to_string(at) +
                           ": input continues after the path";
  }
  return result;
}

MailboxResult ParseMailbox(std::string_view input, const AddressParseOptions& options) {
  MailboxResult result;
  Parser parser(input, options);
  if (input.empty()) {
    parser.Fail(AddressErrorKind::kEmpty, 0, "expected a mailbox (RFC 5321 §4.1.2)");
  } else if (parser.MailboxAt(&result.mailbox) && !parser.at_end()) {
    parser.Fail(AddressErrorKind::kTrailingCharacters, parser.pos(),
                "input continues after the mailbox");
  }
  if (parser.failed()) {
    result.error = std::move(parser.error());
    result.mailbox = Mailbox();
  }
  return result;
}

HostResult ParseHost(std::string_view input, bool allow_literal,
                     const AddressParseOptions& options) {
  HostResult result;
  Parser parser(input, options);
  if (input.empty()) {
    parser.Fail(AddressErrorKind::kEmpty, 0, "expected a domain (RFC 5321 §4.1.2)");
  } else if (parser.Host(allow_literal, &result.kind) && !parser.at_end()) {
    parser.Fail(AddressErrorKind::kTrailingCharacters, parser.pos(),
                "unexpected byte " + base::DescribeOctet(parser.peek()) + " after the domain");
  }
  if (parser.failed()) {
    result.error = std::move(parser.error());
    result.kind = DomainKind::kName;
  }
  return result;
}

bool IsDotString(std::string_view local_part) {
  if (local_part.empty()) return false;
  bool after_dot = true;  // at the start of an Atom
  for (unsigned char c : local_part) {
    if (c == '.') {
      if (after_dot) return false;
      after_dot = true;
    } else if (IsAtext(c) || c >= 0x80) {
      after_dot = false;
    } else {
      return false;
    }
  }
  return !after_dot;
}

void AppendLocalPart(std::string_view local_part, std::string* out) {
  if (IsDotString(local_part)) {
    out->append(local_part);
    return;
  }
  out->push_back('"');
  for (char c : local_part) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendMailbox(const Mailbox& mailbox, std::string* out) {
  AppendLocalPart(mailbox.local_part, out);
  out->push_back('@');
  out->append(mailbox.domain);
}

void AppendPath(const MailPath& path, std::string* out) {
  out->push_back('<');
  if (!path.is_null) {
    for (std::size_t i = 0; i < path.source_route.size(); ++i) {
      out->push_back(i == 0 ? '@' : ',');
      if (i != 0) out->push_back('@');
      out->append(path.source_route[i]);
    }
    if (!path.source_route.empty()) out->push_back(':');
    if (path.is_postmaster()) {
      out->append(path.mailbox.local_part);
    } else {
      AppendMailbox(path.mailbox, out);
    }
  }
  out->push_back('>');
}

std::string FormatLocalPart(std::string_view local_part) {
  std::string out;
  AppendLocalPart(local_part, &out);
  return out;
}

std::string FormatMailbox(const Mailbox& mailbox) {
  std::string out;
  AppendMailbox(mailbox, &out);
  return out;
}

std::string FormatPath(const MailPath& path) {
  std::string out;
  AppendPath(path, &out);
  return out;
}

}  // namespace mxkit::smtp
