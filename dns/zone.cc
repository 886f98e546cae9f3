#include "dns/zone.h"

#include <arpa/inet.h>

#include <optional>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/ascii.h"
#include "absl/strings/str_join.h"
#include "base/absl_interop.h"

namespace mxkit::dns {
namespace {

// RFC 1035 §2.3.4: 255 octets on the wire is 253 characters of text.
constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxLabelLength = 63;  // RFC 1035 §2.3.4
// RFC 1035 §3.2.1: RDLENGTH is 16 bits.
constexpr size_t kMaxRdataLength = kMaxZoneRdataLength;

using base::Av;

// A field of an entry. Quoted strings are unescaped as they are read;
// unquoted ones keep their escapes, because what an escape means depends on
// where the field is used (RFC 1035 §5.1).
struct Token {
  std::string text;
  bool quoted = false;
  size_t line = 0;
  size_t column = 0;  // 1-based byte column of its first character
};

// One logical entry: a line, or several joined by parentheses.
struct Entry {
  size_t line = 0;
  bool owner_omitted = false;  // the entry began with a blank (RFC 1035 §5.1)
  std::vector<Token> tokens;
};

struct Failure {
  Failure(size_t line, std::string message, size_t column = 0)
      : line(line), column(column), message(std::move(message)) {}
  // At the start of `token`, or `offset` bytes into it (unquoted tokens never
  // span lines, so the column stays on the token's line).
  Failure(const Token& token, std::string message, size_t offset = 0)
      : line(token.line), column(token.column + offset), message(std::move(message)) {}

  size_t line;
  size_t column;  // 0: the entry or line as a whole
  std::string message;
};

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  // Reads the next entry. Returns false at the end of input; sets `failure`
  // and returns false on error.
  bool Next(Entry& entry, std::optional<Failure>& failure) {
    entry = Entry{};
    while (pos_ < text_.size()) {
      if (at_line_start_) {
        at_line_start_ = false;
        if (!CheckLineLength(failure)) return false;
        if (entry.tokens.empty() && paren_depth_ == 0) {
          entry.line = line_;
          entry.owner_omitted = text_[pos_] == ' ' || text_[pos_] == '\t';
        }
      }
      char c = text_[pos_];
      if (c == '\n') {
        ++pos_;
        ++line_;
        line_start_ = pos_;
        at_line_start_ = true;
        if (paren_depth_ == 0 && !entry.tokens.empty()) return true;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
        continue;
      }
      if (c == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
        continue;
      }
      if (c == '(') {
        if (paren_depth_ > 0) {
          failure = Failure{line_, "nested \"(\"", Column()};
          return false;
        }
        if (entry.tokens.empty()) {
          // "( ... )" before any field still starts the entry here.
          entry.line = line_;
        }
        paren_depth_ = 1;
        paren_line_ = line_;
        paren_column_ = Column();
        ++pos_;
        continue;
      }
      if (c == ')') {
        if (paren_depth_ == 0) {
          failure = Failure{line_, "\")\" without \"(\"", Column()};
          return false;
        }
        paren_depth_ = 0;
        ++pos_;
        continue;
      }
      Token token;
      token.line = line_;
      token.column = Column();
      if (c == '"') {
        if (!ReadQuoted(token, failure)) return false;
      } else {
        ReadPlain(token);
      }
      entry.tokens.push_back(std::move(token));
    }
    if (paren_depth_ > 0) {
      failure = Failure{paren_line_, "\"(\" is never closed", paren_column_};
      return false;
    }
    return !entry.tokens.empty();
  }

 private:
  size_t Column() const { return pos_ - line_start_ + 1; }

  bool CheckLineLength(std::optional<Failure>& failure) {
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    if (end - pos_ > kMaxZoneLineLength) {
      failure = Failure{line_, absl::StrCat("line is ", end - pos_,
                                            " bytes long, the limit is ", kMaxZoneLineLength)};
      return false;
    }
    return true;
  }

  bool ReadQuoted(Token& token, std::optional<Failure>& failure) {
    token.quoted = true;
    ++pos_;  // opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\n') break;
      if (c == '\\') {
        size_t column = Column();
        std::optional<std::string> why = Unescape(text_, pos_, token.text);
        if (why) {
          failure = Failure{line_, *why, column};
          return false;
        }
        continue;
      }
      token.text.push_back(c);
      ++pos_;
    }
    failure = Failure{token, "quoted string is not closed on its line"};
    return false;
  }

  void ReadPlain(Token& token) {
    size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
          c == ')' || c == '"') {
        break;
      }
      // A backslash protects the next byte (RFC 1035 §5.1), even a delimiter.
      if (c == '\\' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '\n') ++pos_;
      ++pos_;
    }
    token.text = std::string(text_.substr(start, pos_ - start));
  }

 public:
  // Decodes one escape at text[pos] ('\\') into `out`, advancing `pos`.
  // Returns why it is malformed, or nothing.
  static std::optional<std::string> Unescape(std::string_view text, size_t& pos,
                                             std::string& out) {
    ++pos;  // backslash
    if (pos >= text.size() || text[pos] == '\n') return "\"\\\" at the end of a line";
    if (absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
      // \DDD: exactly three decimal digits, a byte value (RFC 1035 §5.1).
      if (pos + 3 > text.size() || !absl::ascii_isdigit(static_cast<unsigned char>(text[pos + 1])) ||
          !absl::ascii_isdigit(static_cast<unsigned char>(text[pos + 2]))) {
        return "\"\\\" followed by a digit needs three digits (\\DDD)";
      }
      int value = (text[pos] - '0') * 100 + (text[pos + 1] - '0') * 10 + (text[pos + 2] - '0');
      if (value > 255) return absl::StrCat("\\", Av(text.substr(pos, 3)), " is not a byte value");
      out.push_back(static_cast<char>(value));
      pos += 3;
      return std::nullopt;
    }
    out.push_back(text[pos]);
    ++pos;
    return std::nullopt;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t line_start_ = 0;  // offset of the current line's first byte
  bool at_line_start_ = true;
  int paren_depth_ = 0;
  size_t paren_line_ = 0;
  size_t paren_column_ = 0;
};

// Parses a decimal number up to `max`.
std::optional<uint32_t> ParseNumber(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return static_cast<uint32_t>(value);
}

// A TTL or SOA interval: plain seconds, or BIND's units ("1h30m", "2d").
std::optional<uint32_t> ParseDuration(std::string_view text) {
  if (auto plain = ParseNumber(text, UINT32_MAX)) return plain;
  if (text.empty() || text.size() > 32) return std::nullopt;
  uint64_t total = 0;
  uint64_t current = 0;
  bool have_digits = false;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      current = current * 10 + static_cast<uint64_t>(c - '0');
      if (current > UINT32_MAX) return std::nullopt;
      have_digits = true;
      continue;
    }
    if (!have_digits) return std::nullopt;
    uint64_t unit = 0;
    switch (absl::ascii_tolower(static_cast<unsigned char>(c))) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 604800; break;
      default: return std::nullopt;
    }
    total += current * unit;
    if (total > UINT32_MAX) return std::nullopt;
    current = 0;
    have_digits = false;
  }
  if (have_digits) return std::nullopt;  // "1h30": a bare number after units
  return static_cast<uint32_t>(total);
}

class ZoneParser {
 public:
  ZoneParser(std::string_view text, std::string_view origin) : tokenizer_(text) {
    if (!origin.empty() && origin != ".") {
      origin_ = std::string(origin.back() == '.' ? origin.substr(0, origin.size() - 1) : origin);
    }
  }

  std::optional<Failure> Run(Zone& zone) {
    if (!origin_.empty()) {
      if (std::optional<std::string> why = CheckName(origin_)) return Failure{1, *why};
    }
    Entry entry;
    std::optional<Failure> failure;
    while (tokenizer_.Next(entry, failure)) {
      failure = Handle(entry, zone);
      if (failure) return failure;
    }
    return failure;
  }

 private:
  std::optional<Failure> Handle(const Entry& entry, Zone& zone) {
    const std::vector<Token>& t = entry.tokens;
    if (!entry.owner_omitted && !t[0].quoted && t[0].text[0] == '$') {
      return Directive(entry, zone);
    }
    size_t i = 0;
    std::string owner;
    if (entry.owner_omitted) {
      if (!previous_owner_) {
        return Failure{entry.line, "record has no owner name and there is no previous one"};
      }
      owner = *previous_owner_;
    } else {
      std::optional<Failure> failure = Name(t[0], owner);
      if (failure) return failure;
      i = 1;
    }
    previous_owner_ = owner;

    std::optional<uint32_t> ttl;
    bool have_class = false;
    // RFC 1035 §5.1: "[<TTL>] [<class>]" or "[<class>] [<TTL>]".
    for (int k = 0; k < 2 && i < t.size() && !t[i].quoted; ++k) {
      if (!ttl && absl::ascii_isdigit(static_cast<unsigned char>(t[i].text[0]))) {
        ttl = ParseDuration(t[i].text);
        if (!ttl) return Failure{t[i], absl::StrCat("TTL \"", t[i].text, "\" is not a number")};
        ++i;
      } else if (!have_class && absl::EqualsIgnoreCase(t[i].text, "IN")) {
        have_class = true;
        ++i;
      } else if (!have_class && IsOtherClass(t[i].text)) {
        return Failure{t[i], absl::StrCat("class ", t[i].text, " is not supported, only IN")};
      } else {
        break;
      }
    }
    if (i >= t.size()) return Failure{entry.line, "record has no type"};
    const Token& type_token = t[i++];
    if (type_token.quoted) {
      return Failure{type_token,
                     absl::StrCat("record type \"", type_token.text, "\" must not be quoted")};
    }
    std::string type_name = absl::AsciiStrToUpper(type_token.text);
    if (ttl) last_ttl_ = *ttl;
    uint32_t effective_ttl = ttl ? *ttl : default_ttl_ ? *default_ttl_ : last_ttl_;

    ResourceRecord record;
    record.name = owner;
    record.ttl = effective_ttl;
    std::vector<Token> rdata(t.begin() + static_cast<ptrdiff_t>(i), t.end());
    std::optional<Failure> failure =
        Rdata(type_name, type_token, rdata, entry.line, record);
    if (failure) return failure;
    if (zone.records.size() >= kMaxZoneRecords) {
      return Failure{entry.line, absl::StrCat("more than ", kMaxZoneRecords, " records")};
    }
    zone.records.push_back(std::move(record));
    return std::nullopt;
  }

  static bool IsOtherClass(std::string_view text) {
    for (std::string_view c : {"CH", "HS", "CS", "ANY", "NONE"}) {
      if (absl::EqualsIgnoreCase(Av(text), Av(c))) return true;
    }
    return false;
  }

  std::optional<Failure> Directive(const Entry& entry, Zone& zone) {
    const std::vector<Token>& t = entry.tokens;
    std::string directive = absl::AsciiStrToUpper(t[0].text);
    auto want_one = [&](std::string_view what) -> std::optional<Failure> {
      if (t.size() != 2) {
        return Failure{t[0], absl::StrCat(directive, " takes one ", Av(what), ", got ",
                                                t.size() - 1)};
      }
      return std::nullopt;
    };
    if (directive == "$ORIGIN") {
      if (auto f = want_one("name")) return f;
      std::string name;
      if (auto f = Name(t[1], name)) return f;
      origin_ = name;
      return std::nullopt;
    }
    if (directive == "$TTL") {
      if (auto f = want_one("TTL")) return f;
      std::optional<uint32_t> ttl = ParseDuration(t[1].text);
      if (!ttl || t[1].quoted) {
        return Failure{t[1], absl::StrCat("$TTL \"", t[1].text, "\" is not a number")};
      }
      default_ttl_ = *ttl;
      return std::nullopt;
    }
    if (directive == "$TIMEOUT" || directive == "$SERVFAIL") {
      if (t.size() != 2 && t.size() != 3) {
        return Failure{t[0], absl::StrCat(directive, " takes a name and optionally a type, got ",
                                                t.size() - 1, " fields")};
      }
      std::string name;
      if (auto f = Name(t[1], name)) return f;
      std::optional<RrType> type;
      if (t.size() == 3) {
        type = TypeFromName(t[2]);
        if (!type) {
          return Failure{t[2], absl::StrCat("unknown record type \"", t[2].text, "\"")};
        }
      }
      if (zone.faults.size() >= kMaxZoneRecords) {
        return Failure{entry.line, absl::StrCat("more than ", kMaxZoneRecords, " faults")};
      }
      zone.faults.push_back(
          ZoneFault{name, directive == "$TIMEOUT" ? Fault::kTimeout : Fault::kServfail, type});
      return std::nullopt;
    }
    if (directive == "$INCLUDE" || directive == "$GENERATE") {
      return Failure{t[0], absl::StrCat(directive, " is not supported")};
    }
    return Failure{t[0], absl::StrCat("unknown directive ", t[0].text)};
  }

  // The type a zone keyword names; SPF is TXT (RFC 7208 §3.1).
  static std::optional<RrType> TypeFromName(const Token& token) {
    if (token.quoted) return std::nullopt;
    std::string upper = absl::AsciiStrToUpper(token.text);
    static constexpr std::pair<std::string_view, RrType> kTypes[] = {
        {"A", RrType::kA},       {"AAAA", RrType::kAaaa}, {"MX", RrType::kMx},
        {"TXT", RrType::kTxt},   {"SPF", RrType::kTxt},   {"PTR", RrType::kPtr},
        {"CNAME", RrType::kCname}, {"NS", RrType::kNs},   {"SOA", RrType::kSoa},
        {"TLSA", RrType::kTlsa},
    };
    for (const auto& [keyword, type] : kTypes) {
      if (upper == keyword) return type;
    }
    return std::nullopt;
  }

  // Why `name` (absolute, no trailing dot) is not a valid domain name, if it
  // is not. Lengths count octets after unescaping (RFC 1035 §2.3.4).
  static std::optional<std::string> CheckName(std::string_view name) {
    if (name.size() > kMaxNameLength) {
      return absl::StrCat("name is ", name.size(), " octets long, the limit is ",
                          kMaxNameLength, " (RFC 1035 §2.3.4)");
    }
    if (name.empty()) return std::nullopt;  // the root
    size_t start = 0;
    while (true) {
      size_t dot = name.find('.', start);
      size_t end = dot == std::string_view::npos ? name.size() : dot;
      if (end == start) return absl::StrCat("name \"", Shown(name), "\" has an empty label");
      if (end - start > kMaxLabelLength) {
        return absl::StrCat("name \"", Shown(name), "\" has a label of ", end - start,
                            " octets, the limit is ", kMaxLabelLength, " (RFC 1035 §2.3.4)");
      }
      if (dot == std::string_view::npos) return std::nullopt;
      start = dot + 1;
    }
  }

  // `name` as a message quotes it: escaped, without the trailing dot.
  static std::string Shown(std::string_view name) {
    std::string out = FormatZoneName(name);
    if (out.size() > 1) out.pop_back();
    return out;
  }

  // Resolves a name field against $ORIGIN (RFC 1035 §5.1: "@" is the origin,
  // a name without a final dot is relative to it). RFC 1035 §5.1 escapes
  // hold in names as anywhere else: "\X" is the character X, "\DDD" the
  // octet DDD, so a label may hold any octet but the dot.
  std::optional<Failure> Name(const Token& token, std::string& out) const {
    const std::string& text = token.text;
    if (token.quoted) {
      return Failure{token, absl::StrCat("name \"", text, "\" must not be quoted")};
    }
    if (text == "@") {
      out = origin_;
      if (std::optional<std::string> why = CheckName(out)) return Failure{token, *why};
      return std::nullopt;
    }
    std::string name;
    bool absolute = false;
    for (size_t pos = 0; pos < text.size();) {
      char c = text[pos];
      if (c == '\\') {
        size_t at = pos;
        if (auto why = Tokenizer::Unescape(text, pos, name)) return Failure{token, *why, at};
        if (name.back() == '.') {
          // Our names are dotted text (resolver.h): an octet 0x2E inside a
          // label would read back as two labels, so refuse it.
          return Failure{token,
                         absl::StrCat("name \"", text, "\" has an escaped dot inside a label, "
                                      "which mxkit's dotted names cannot hold"),
                         at};
        }
        continue;
      }
      if (c == '.' && pos + 1 == text.size()) {
        absolute = true;
        break;
      }
      auto byte = static_cast<unsigned char>(c);
      if (byte < 0x21 || byte > 0x7e) {
        // Raw non-ASCII in a name is most often a UTF-8 U-label typed by
        // hand; the zone wants its A-labels (RFC 5890 §2.3.2.1), and any
        // other octet can be written as \DDD (RFC 1035 §5.1).
        return Failure{token,
                       absl::StrCat("name \"", text, "\" has the raw byte 0x",
                                    absl::Hex(byte, absl::kZeroPad2),
                                    "; write it as \\DDD, or an internationalized name as its "
                                    "A-labels"),
                       pos};
      }
      name.push_back(c);
      ++pos;
    }
    if (absolute || origin_.empty()) {
      out = std::move(name);
    } else {
      out = absl::StrCat(name, ".", origin_);
    }
    if (std::optional<std::string> why = CheckName(out)) return Failure{token, *why};
    return std::nullopt;
  }

  std::optional<Failure> Count(std::string_view type, const std::vector<Token>& rdata,
                               size_t want, std::string_view fields, size_t line) const {
    if (rdata.size() != want) {
      return Failure{line, absl::StrCat(Av(type), " record needs ", Av(fields), " (", want,
                                        " field", want == 1 ? "" : "s", "), got ", rdata.size())};
    }
    return std::nullopt;
  }

  static std::optional<Failure> Number(std::string_view what, const Token& token, uint32_t max,
                                       uint32_t& out) {
    std::optional<uint32_t> value = token.quoted ? std::nullopt : ParseNumber(token.text, max);
    if (!value) {
      bool numeric = !token.quoted && !token.text.empty() &&
                     absl::c_all_of(token.text, [](char c) {
                       return absl::ascii_isdigit(static_cast<unsigned char>(c));
                     });
      return Failure{token,
                     absl::StrCat(Av(what), " \"", token.text, "\" ",
                                  numeric ? absl::StrCat("is larger than ", max)
                                          : std::string("is not a number"))};
    }
    out = *value;
    return std::nullopt;
  }

  std::optional<Failure> Rdata(const std::string& type, const Token& type_token,
                               const std::vector<Token>& rdata, size_t line,
                               ResourceRecord& record) const {
    if (type == "A") {
      if (auto f = Count(type, rdata, 1, "an address", line)) return f;
      AData a;
      if (rdata[0].quoted || inet_pton(AF_INET, rdata[0].text.c_str(), a.address.data()) != 1) {
        return Failure{rdata[0],
                       absl::StrCat("A address \"", rdata[0].text, "\" is not a dotted quad")};
      }
      record.type = RrType::kA;
      record.data = a;
      return std::nullopt;
    }
    if (type == "AAAA") {
      if (auto f = Count(type, rdata, 1, "an address", line)) return f;
      AaaaData a;
      if (rdata[0].quoted || inet_pton(AF_INET6, rdata[0].text.c_str(), a.address.data()) != 1) {
        return Failure{rdata[0], absl::StrCat("AAAA address \"", rdata[0].text,
                                                   "\" is not an IPv6 address")};
      }
      record.type = RrType::kAaaa;
      record.data = a;
      return std::nullopt;
    }
    if (type == "MX") {
      if (auto f = Count(type, rdata, 2, "a preference and an exchange", line)) return f;
      uint32_t preference = 0;
      if (auto f = Number("MX preference", rdata[0], 65535, preference)) return f;
      MxData mx;
      mx.preference = static_cast<uint16_t>(preference);
      if (auto f = Name(rdata[1], mx.exchange)) return f;
      record.type = RrType::kMx;
      record.data = std::move(mx);
      return std::nullopt;
    }
    if (type == "TXT" || type == "SPF") {
      // RFC 7208 §3.1 retired the SPF type; SPF policies live in TXT, so a
      // zone's SPF records are served as TXT.
      if (rdata.empty()) {
        return Failure{line, absl::StrCat(type, " record needs at least one string")};
      }
      TxtData txt;
      size_t wire_size = 0;
      for (const Token& token : rdata) {
        std::string value;
        if (token.quoted) {
          value = token.text;
        } else {
          for (size_t pos = 0; pos < token.text.size();) {
            if (token.text[pos] == '\\') {
              size_t at = pos;
              if (auto why = Tokenizer::Unescape(token.text, pos, value)) {
                return Failure{token, *why, at};
              }
            } else {
              value.push_back(token.text[pos++]);
            }
          }
        }
        if (value.size() > kMaxCharacterStringLength) {
          return Failure{token,
                         absl::StrCat(type, " string is ", value.size(),
                                      " bytes long, the limit is ", kMaxCharacterStringLength,
                                      " (RFC 1035 §3.3); split it into several strings")};
        }
        wire_size += 1 + value.size();
        if (wire_size > kMaxRdataLength) {
          return Failure{token, absl::StrCat(type, " record is over ", kMaxRdataLength,
                                                  " bytes (RFC 1035 §3.2.1 RDLENGTH)")};
        }
        txt.strings.push_back(std::move(value));
      }
      record.type = RrType::kTxt;
      record.data = std::move(txt);
      return std::nullopt;
    }
    if (type == "PTR" || type == "CNAME" || type == "NS") {
      if (auto f = Count(type, rdata, 1, "a name", line)) return f;
      NameData name;
      if (auto f = Name(rdata[0], name.name)) return f;
      record.type = type == "PTR" ? RrType::kPtr : type == "CNAME" ? RrType::kCname : RrType::kNs;
      record.data = std::move(name);
      return std::nullopt;
    }
    if (type == "SOA") {
      if (auto f = Count(type, rdata, 7,
                         "mname rname serial refresh retry expire minimum", line)) {
        return f;
      }
      SoaData soa;
      if (auto f = Name(rdata[0], soa.mname)) return f;
      if (auto f = Name(rdata[1], soa.rname)) return f;
      if (auto f = Number("SOA serial", rdata[2], UINT32_MAX, soa.serial)) return f;
      uint32_t* intervals[] = {&soa.refresh, &soa.retry, &soa.expire, &soa.minimum};
      const char* names[] = {"SOA refresh", "SOA retry", "SOA expire", "SOA minimum"};
      for (size_t k = 0; k < 4; ++k) {
        const Token& token = rdata[3 + k];
        std::optional<uint32_t> value = token.quoted ? std::nullopt : ParseDuration(token.text);
        if (!value) {
          return Failure{token,
                         absl::StrCat(names[k], " \"", token.text, "\" is not a number")};
        }
        *intervals[k] = *value;
      }
      record.type = RrType::kSoa;
      record.data = std::move(soa);
      return std::nullopt;
    }
    if (type == "TLSA") {
      // RFC 6698 §2.2: usage selector matching-type, then the association
      // data in hex, which may be split by white space.
      if (rdata.size() < 4) {
        return Failure{line, absl::StrCat("TLSA record needs usage, selector, matching type "
                                          "and hex data (4 or more fields), got ",
                                          rdata.size())};
      }
      TlsaData tlsa;
      uint32_t value = 0;
      if (auto f = Number("TLSA usage", rdata[0], 255, value)) return f;
      tlsa.usage = static_cast<uint8_t>(value);
      if (auto f = Number("TLSA selector", rdata[1], 255, value)) return f;
      tlsa.selector = static_cast<uint8_t>(value);
      if (auto f = Number("TLSA matching type", rdata[2], 255, value)) return f;
      tlsa.matching_type = static_cast<uint8_t>(value);
      std::string hex;
      for (size_t k = 3; k < rdata.size(); ++k) {
        if (rdata[k].quoted) {
          return Failure{rdata[k], "TLSA data must be hex, not a quoted string"};
        }
        hex += rdata[k].text;
        if (hex.size() > 2 * kMaxRdataLength) {
          return Failure{rdata[k], absl::StrCat("TLSA data is over ", kMaxRdataLength,
                                                     " bytes (RFC 1035 §3.2.1 RDLENGTH)")};
        }
      }
      if (hex.size() % 2 != 0) {
        return Failure{rdata.back(), "TLSA data has an odd number of hex digits"};
      }
      for (size_t k = 0; k < hex.size(); k += 2) {
        int hi = base::HexDigitValue(hex[k]);
        int lo = base::HexDigitValue(hex[k + 1]);
        if (hi < 0 || lo < 0) {
          return Failure{rdata.back(),
                         absl::StrCat("TLSA data has a non-hex character at position ",
                                      hi < 0 ? k : k + 1)};
        }
        tlsa.association_data.push_back(static_cast<char>(hi * 16 + lo));
      }
      record.type = RrType::kTlsa;
      record.data = std::move(tlsa);
      return std::nullopt;
    }
    return Failure{type_token,
                   absl::StrCat("unknown record type \"", type_token.text, "\"")};
  }

  Tokenizer tokenizer_;
  std::string origin_;  // absolute, no trailing dot; empty is the root
  std::optional<std::string> previous_owner_;
  std::optional<uint32_t> default_ttl_;  // $TTL
  uint32_t last_ttl_ = kDefaultZoneTtl;  // RFC 1035 §5.1: the last explicit TTL
};

}  // namespace

absl::StatusOr<Zone> ParseZone(std::string_view text, std::string_view filename,
                               std::string_view origin, ZoneError* error) {
  Zone zone;
  ZoneParser parser(text, origin);
  std::optional<Failure> failure = parser.Run(zone);
  if (failure) {
    if (error != nullptr) {
      error->line = failure->line;
      error->column = failure->column;
      error->message = failure->message;
    }
    std::string where = absl::StrCat(Av(filename), ":", failure->line);
    if (failure->column > 0) absl::StrAppend(&where, ":", failure->column);
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", failure->message));
  }
  return zone;
}

std::string FormatZoneName(std::string_view name) {
  if (name.empty()) return ".";
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7e) {
      absl::StrAppend(&out, "\\", absl::Dec(byte, absl::kZeroPad3));
      continue;
    }
    // What the master-file syntax gives a meaning to (RFC 1035 §5.1): field
    // and entry delimiters, the escape itself, "@" (the origin) and "$" (a
    // directive, when it starts an owner).
    if (c == '"' || c == '(' || c == ')' || c == ';' || c == '\\' || c == '@' || c == '$') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('.');
  return out;
}

namespace {

std::string FormatCharacterString(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) {
      absl::StrAppend(&out, "\\", absl::Dec(byte, absl::kZeroPad3));
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string FormatAddress(int family, const void* address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, address, text, sizeof(text));
  return text;
}

// Why `name` cannot be written so that it reads back the same, if it cannot.
std::optional<std::string> Unwritable(std::string_view name) {
  if (name.size() > kMaxNameLength) {
    return absl::StrCat("is ", name.size(), " octets long, the limit is ", kMaxNameLength);
  }
  if (name.empty()) return std::nullopt;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    size_t end = dot == std::string_view::npos ? name.size() : dot;
    if (end == start) return std::string("has an empty label");
    if (end - start > kMaxLabelLength) {
      return absl::StrCat("has a label of ", end - start, " octets, the limit is ",
                          kMaxLabelLength);
    }
    if (dot == std::string_view::npos) return std::nullopt;
    start = dot + 1;
  }
}

}  // namespace

absl::StatusOr<std::string> FormatZone(const Zone& zone) {
  std::string out;
  std::optional<std::string> bad_name;
  auto name = [&](std::string_view n) {
    if (!bad_name) {
      if (auto why = Unwritable(n)) bad_name = absl::StrCat("name \"", Av(n), "\" ", *why);
    }
    return FormatZoneName(n);
  };
  for (size_t i = 0; i < zone.records.size(); ++i) {
    const ResourceRecord& r = zone.records[i];
    auto refuse = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("record ", i + 1, " (", Av(r.name), " ",
                                                     RrTypeName(r.type), "): ", Av(why)));
    };
    // RDATA fields; written on the record's line, or one per line inside
    // parentheses when that line would pass kMaxZoneLineLength (a TXT of many
    // strings, long TLSA data).
    std::vector<std::string> fields;
    std::string rdata;
    if (const auto* a = std::get_if<AData>(&r.data); a && r.type == RrType::kA) {
      rdata = FormatAddress(AF_INET, a->address.data());
    } else if (const auto* aaaa = std::get_if<AaaaData>(&r.data); aaaa && r.type == RrType::kAaaa) {
      rdata = FormatAddress(AF_INET6, aaaa->address.data());
    } else if (const auto* mx = std::get_if<MxData>(&r.data); mx && r.type == RrType::kMx) {
      rdata = absl::StrCat(mx->preference, " ", name(mx->exchange));
    } else if (const auto* txt = std::get_if<TxtData>(&r.data); txt && r.type == RrType::kTxt) {
      if (txt->strings.empty()) return refuse("TXT needs at least one string");
      size_t wire_size = 0;
      for (const std::string& string : txt->strings) {
        if (string.size() > kMaxCharacterStringLength) {
          return refuse(absl::StrCat("a string of ", string.size(), " bytes, the limit is ",
                                     kMaxCharacterStringLength, " (RFC 1035 §3.3)"));
        }
        wire_size += 1 + string.size();
        fields.push_back(FormatCharacterString(string));
      }
      if (wire_size > kMaxRdataLength) return refuse("RDATA over 65535 bytes");
    } else if (const auto* target = std::get_if<NameData>(&r.data);
               target && (r.type == RrType::kCname || r.type == RrType::kPtr ||
                          r.type == RrType::kNs)) {
      rdata = name(target->name);
    } else if (const auto* soa = std::get_if<SoaData>(&r.data); soa && r.type == RrType::kSoa) {
      rdata = absl::StrCat(name(soa->mname), " ", name(soa->rname), " ", soa->serial, " ",
                           soa->refresh, " ", soa->retry, " ", soa->expire, " ", soa->minimum);
    } else if (const auto* tlsa = std::get_if<TlsaData>(&r.data); tlsa && r.type == RrType::kTlsa) {
      if (tlsa->association_data.empty()) return refuse("TLSA needs association data");
      if (tlsa->association_data.size() > kMaxRdataLength) return refuse("RDATA over 65535 bytes");
      fields.push_back(absl::StrCat(tlsa->usage, " ", tlsa->selector, " ", tlsa->matching_type));
      std::string hex = absl::BytesToHexString(Av(tlsa->association_data));
      constexpr size_t kHexPerField = 64;
      for (size_t k = 0; k < hex.size(); k += kHexPerField) {
        fields.push_back(hex.substr(k, kHexPerField));
      }
    } else {
      return refuse("the zone format has no way to write this type with this data");
    }
    std::string owner = name(r.name);
    if (bad_name) return refuse(*bad_name);
    std::string line = absl::StrCat(owner, " ", r.ttl, " IN ", RrTypeName(r.type), " ");
    if (!fields.empty()) rdata = absl::StrJoin(fields, " ");
    if (fields.empty() || line.size() + rdata.size() <= kMaxZoneLineLength) {
      absl::StrAppend(&out, line, rdata, "\n");
    } else {
      absl::StrAppend(&out, line, "(\n");
      for (const std::string& field : fields) absl::StrAppend(&out, "  ", field, "\n");
      absl::StrAppend(&out, ")\n");
    }
  }
  for (const ZoneFault& f : zone.faults) {
    std::string faulted = name(f.name);
    if (bad_name) return absl::InvalidArgumentError(absl::StrCat("fault: ", *bad_name));
    absl::StrAppend(&out, f.fault == Fault::kTimeout ? "$TIMEOUT " : "$SERVFAIL ", faulted);
    if (f.type) {
      std::string type = RrTypeName(*f.type);
      if (type.rfind("TYPE", 0) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("fault on ", Av(f.name), ": the zone format has no type ", type));
      }
      absl::StrAppend(&out, " ", type);
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace mxkit::dns
