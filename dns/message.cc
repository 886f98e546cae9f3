#include "dns/message.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"

namespace mxkit::dns {
namespace {

using base::Av;

WireError Error(WireErrorKind kind, size_t offset, std::string message) {
  return WireError{kind, offset, std::move(message)};
}

// ---------------------------------------------------------------- parsing

class Reader {
 public:
  explicit Reader(std::string_view wire) : wire_(wire) {}

  size_t size() const { return wire_.size(); }

  // Each returns an error when fewer than the needed bytes remain before `limit`.
  std::optional<WireError> U8(size_t& pos, size_t limit, uint8_t& out, std::string_view what) const {
    if (pos + 1 > limit) return Truncated(pos, 1, limit, what);
    out = static_cast<uint8_t>(wire_[pos]);
    pos += 1;
    return std::nullopt;
  }
  std::optional<WireError> U16(size_t& pos, size_t limit, uint16_t& out,
                               std::string_view what) const {
    if (pos + 2 > limit) return Truncated(pos, 2, limit, what);
    out = static_cast<uint16_t>(Byte(pos) << 8 | Byte(pos + 1));
    pos += 2;
    return std::nullopt;
  }
  std::optional<WireError> U32(size_t& pos, size_t limit, uint32_t& out,
                               std::string_view what) const {
    if (pos + 4 > limit) return Truncated(pos, 4, limit, what);
    out = static_cast<uint32_t>(Byte(pos)) << 24 | static_cast<uint32_t>(Byte(pos + 1)) << 16 |
          static_cast<uint32_t>(Byte(pos + 2)) << 8 | static_cast<uint32_t>(Byte(pos + 3));
    pos += 4;
    return std::nullopt;
  }
  std::optional<WireError> Bytes(size_t& pos, size_t limit, size_t n, std::string& out,
                                 std::string_view what) const {
    if (pos + n > limit) return Truncated(pos, n, limit, what);
    out.assign(wire_.data() + pos, n);
    pos += n;
    return std::nullopt;
  }

  // Reads a possibly compressed name starting at `pos`. Labels read before
  // the first pointer must end by `limit` (the RDATA end inside a record);
  // `pos` ends up just after the name as it sits at `pos`.
  std::optional<WireError> Name(size_t& pos, size_t limit, std::string& out) const {
    out.clear();
    size_t cursor = pos;
    size_t segment_start = pos;  // where reading began or the last pointer led
    size_t bound = limit;
    size_t wire_length = 0;
    size_t pointers = 0;
    bool jumped = false;
    while (true) {
      if (cursor >= bound) return Truncated(cursor, 1, bound, "a name's label length");
      uint8_t length = Byte(cursor);
      switch (length & 0xc0) {
        case 0xc0: {
          if (cursor + 2 > bound) return Truncated(cursor, 2, bound, "a compression pointer");
          size_t target = static_cast<size_t>(length & 0x3f) << 8 | Byte(cursor + 1);
          // RFC 1035 §4.1.4 says a pointer refers to a "prior occurrence";
          // requiring it to land before the segment it is in makes every
          // hop go strictly backwards, so no loop can exist.
          if (target >= segment_start) {
            return Error(WireErrorKind::kBadPointer, cursor,
                         absl::StrCat("compression pointer to ", target,
                                      " does not point before the name part at ", segment_start));
          }
          if (target < kDnsHeaderSize) {
            return Error(WireErrorKind::kBadPointer, cursor,
                         absl::StrCat("compression pointer to ", target, " points into the header"));
          }
          if (++pointers > kMaxCompressionPointers) {
            return Error(WireErrorKind::kTooManyPointers, cursor,
                         absl::StrCat("name uses more than ", kMaxCompressionPointers,
                                      " compression pointers"));
          }
          if (!jumped) pos = cursor + 2;
          jumped = true;
          cursor = target;
          segment_start = target;
          bound = wire_.size();
          continue;
        }
        case 0x40:
        case 0x80:
          return Error(WireErrorKind::kBadLabelType, cursor,
                       absl::StrCat("label type 0x", absl::Hex(length & 0xc0),
                                    " is not a length or a pointer (RFC 6891 §5)"));
        default:
          break;
      }
      wire_length += 1 + length;
      if (wire_length > kMaxNameWireLength) {
        return Error(WireErrorKind::kNameTooLong, cursor,
                     absl::StrCat("name is longer than ", kMaxNameWireLength,
                                  " octets (RFC 1035 §2.3.4)"));
      }
      if (length == 0) {
        if (!jumped) pos = cursor + 1;
        return std::nullopt;
      }
      if (cursor + 1 + length > bound) {
        return Truncated(cursor + 1, length, bound, "a label");
      }
      if (!out.empty()) out.push_back('.');
      AppendLabel(wire_.substr(cursor + 1, length), out);
      cursor += 1 + length;
    }
  }

 private:
  uint8_t Byte(size_t pos) const { return static_cast<uint8_t>(wire_[pos]); }

  static WireError Truncated(size_t pos, size_t need, size_t limit, std::string_view what) {
    size_t have = limit > pos ? limit - pos : 0;
    return Error(WireErrorKind::kTruncated, pos,
                 absl::StrCat(Av(what), " needs ", need, " bytes, ", have, " remain"));
  }

  // Presentation form of one label (RFC 1035 §5.1 escapes).
  static void AppendLabel(std::string_view label, std::string& out) {
    for (char ch : label) {
      auto c = static_cast<unsigned char>(ch);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(ch);
      } else if (c < 0x21 || c > 0x7e) {
        out.push_back('\\');
        out.push_back(static_cast<char>('0' + c / 100));
        out.push_back(static_cast<char>('0' + c / 10 % 10));
        out.push_back(static_cast<char>('0' + c % 10));
      } else {
        out.push_back(ch);
      }
    }
  }

  std::string_view wire_;
};

std::optional<WireError> ParseRdata(const Reader& r, size_t start, size_t end, uint16_t type,
                                    WireRData& out) {
  size_t pos = start;
  auto exact = [&](size_t want, std::string_view type_name) -> std::optional<WireError> {
    if (end - start != want) {
      return Error(WireErrorKind::kBadRdataLength, start,
                   absl::StrCat(Av(type_name), " RDATA is ", end - start, " bytes, not ", want));
    }
    return std::nullopt;
  };
  switch (static_cast<RrType>(type)) {
    case RrType::kA: {
      if (auto e = exact(4, "A")) return e;
      AData a;
      for (uint8_t& b : a.address) r.U8(pos, end, b, "A");
      out = a;
      break;
    }
    case RrType::kAaaa: {
      if (auto e = exact(16, "AAAA")) return e;
      AaaaData a;
      for (uint8_t& b : a.address) r.U8(pos, end, b, "AAAA");
      out = a;
      break;
    }
    case RrType::kNs:
    case RrType::kCname:
    case RrType::kPtr: {
      NameData n;
      if (auto e = r.Name(pos, end, n.name)) return e;
      out = std::move(n);
      break;
    }
    case RrType::kMx: {
      MxData mx;
      if (auto e = r.U16(pos, end, mx.preference, "MX preference")) return e;
      if (auto e = r.Name(pos, end, mx.exchange)) return e;
      out = std::move(mx);
      break;
    }
    case RrType::kTxt: {
      // RFC 1035 §3.3.14: one or more <character-string>s.
      if (start == end) return Error(WireErrorKind::kBadRdata, start, "TXT RDATA is empty");
      TxtData txt;
      while (pos < end) {
        uint8_t length = 0;
        r.U8(pos, end, length, "TXT string length");
        std::string s;
        if (auto e = r.Bytes(pos, end, length, s, "a TXT string")) {
          e->kind = WireErrorKind::kBadRdataLength;
          return e;
        }
        txt.strings.push_back(std::move(s));
      }
      out = std::move(txt);
      break;
    }
    case RrType::kSoa: {
      SoaData soa;
      if (auto e = r.Name(pos, end, soa.mname)) return e;
      if (auto e = r.Name(pos, end, soa.rname)) return e;
      for (uint32_t* field : {&soa.serial, &soa.refresh, &soa.retry, &soa.expire, &soa.minimum}) {
        if (auto e = r.U32(pos, end, *field, "SOA timer")) {
          e->kind = WireErrorKind::kBadRdataLength;
          return e;
        }
      }
      out = std::move(soa);
      break;
    }
    case RrType::kTlsa: {
      // RFC 6698 §2.1: three octets, then the association data.
      TlsaData tlsa;
      if (end - start < 3) {
        return Error(WireErrorKind::kBadRdataLength, start,
                     absl::StrCat("TLSA RDATA is ", end - start, " bytes, at least 3 needed"));
      }
      r.U8(pos, end, tlsa.usage, "TLSA");
      r.U8(pos, end, tlsa.selector, "TLSA");
      r.U8(pos, end, tlsa.matching_type, "TLSA");
      r.Bytes(pos, end, end - pos, tlsa.association_data, "TLSA");
      out = std::move(tlsa);
      break;
    }
    default: {
      RawData raw;
      r.Bytes(pos, end, end - pos, raw.bytes, "RDATA");
      out = std::move(raw);
      break;
    }
  }
  if (pos != end) {
    return Error(WireErrorKind::kBadRdataLength, pos,
                 absl::StrCat(RrTypeName(static_cast<RrType>(type)), " RDATA ends at ", pos,
                              " but RDLENGTH says ", end));
  }
  return std::nullopt;
}

bool IsDecodedType(uint16_t type) {
  switch (static_cast<RrType>(type)) {
    case RrType::kA:
    case RrType::kNs:
    case RrType::kCname:
    case RrType::kSoa:
    case RrType::kPtr:
    case RrType::kMx:
    case RrType::kTxt:
    case RrType::kAaaa:
    case RrType::kTlsa:
      return true;
  }
  return false;
}

std::optional<WireError> ParseRecord(const Reader& r, size_t& pos, WireRecord& rr) {
  size_t limit = r.size();
  if (auto e = r.Name(pos, limit, rr.name)) return e;
  if (auto e = r.U16(pos, limit, rr.type, "record TYPE")) return e;
  if (auto e = r.U16(pos, limit, rr.rclass, "record CLASS")) return e;
  if (auto e = r.U32(pos, limit, rr.ttl, "record TTL")) return e;
  uint16_t rdlength = 0;
  if (auto e = r.U16(pos, limit, rdlength, "RDLENGTH")) return e;
  if (pos + rdlength > limit) {
    return Error(WireErrorKind::kTruncated, pos,
                 absl::StrCat("RDLENGTH ", rdlength, " but ", limit - pos, " bytes remain"));
  }
  size_t end = pos + rdlength;
  if (rr.rclass == kClassIn && IsDecodedType(rr.type)) {
    if (auto e = ParseRdata(r, pos, end, rr.type, rr.data)) {
      // The RDATA already fits the message, so running out of bytes inside
      // it means RDLENGTH is too short for what the type needs.
      if (e->kind == WireErrorKind::kTruncated) e->kind = WireErrorKind::kBadRdataLength;
      return e;
    }
  } else {
    // RFC 3597 §5: RDATA of an unknown type or class is opaque.
    RawData raw;
    r.Bytes(pos, end, rdlength, raw.bytes, "RDATA");
    rr.data = std::move(raw);
  }
  pos = end;
  return std::nullopt;
}

// ---------------------------------------------------------------- building

class Writer {
 public:
  explicit Writer(bool compress) : compress_(compress) {}

  std::string& out() { return out_; }

  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    out_.push_back(static_cast<char>(v >> 8));
    out_.push_back(static_cast<char>(v & 0xff));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v & 0xffff));
  }
  void PutU16At(size_t pos, uint16_t v) {
    out_[pos] = static_cast<char>(v >> 8);
    out_[pos + 1] = static_cast<char>(v & 0xff);
  }

  // Writes a name, compressing against earlier names when allowed.
  std::optional<WireError> Name(std::string_view text, bool may_compress) {
    std::vector<std::string> labels;
    if (auto e = SplitName(text, labels)) return e;
    // The wire form of each suffix is the compression key, so matching is
    // exact in case: a pointer to "Example.com" must not stand for "example.com".
    std::vector<std::string> suffixes(labels.size());
    for (size_t i = labels.size(); i-- > 0;) {
      std::string key;
      key.push_back(static_cast<char>(labels[i].size()));
      key += labels[i];
      if (i + 1 < labels.size()) key += suffixes[i + 1];
      suffixes[i] = std::move(key);
    }
    for (size_t i = 0; i < labels.size(); ++i) {
      if (compress_ && may_compress) {
        auto found = offsets_.find(suffixes[i]);
        if (found != offsets_.end()) {
          U16(static_cast<uint16_t>(0xc000 | found->second));
          return std::nullopt;
        }
      }
      if (out_.size() <= kMaxCompressionOffset && may_compress) {
        offsets_.emplace(suffixes[i], out_.size());
      }
      U8(static_cast<uint8_t>(labels[i].size()));
      out_ += labels[i];
    }
    U8(0);
    return std::nullopt;
  }

 private:
  // Presentation text to wire labels (RFC 1035 §5.1 escapes).
  std::optional<WireError> SplitName(std::string_view text, std::vector<std::string>& labels) {
    auto bad = [&](std::string why) {
      return Error(WireErrorKind::kBadName, out_.size(),
                   absl::StrCat("name \"", Av(text), "\" ", why));
    };
    if (text == "." || text.empty()) return std::nullopt;
    std::string label;
    size_t wire_length = 1;  // the root label
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '.') {
        if (label.empty()) return bad("has an empty label");
        wire_length += 1 + label.size();
        labels.push_back(std::move(label));
        label.clear();
        continue;
      }
      if (c == '\\') {
        if (i + 1 >= text.size()) return bad("ends in a lone \"\\\"");
        auto digit = [&](size_t k) {
          return k < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[k]));
        };
        if (digit(i + 1)) {
          if (!digit(i + 2) || !digit(i + 3)) return bad("has a \\DDD escape without three digits");
          int value = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
          if (value > 255) return bad("has a \\DDD escape over 255");
          label.push_back(static_cast<char>(value));
          i += 3;
        } else {
          label.push_back(text[++i]);
        }
      } else {
        label.push_back(c);
      }
      if (label.size() > kMaxLabelWireLength) {
        return bad(absl::StrCat("has a label over ", kMaxLabelWireLength, " octets"));
      }
    }
    // A single trailing dot marks the name absolute and adds no label.
    if (!label.empty()) {
      wire_length += 1 + label.size();
      labels.push_back(std::move(label));
    }
    if (wire_length > kMaxNameWireLength) {
      return bad(absl::StrCat("is ", wire_length, " octets on the wire, over ",
                              kMaxNameWireLength));
    }
    return std::nullopt;
  }

  bool compress_;
  std::string out_;
  absl::flat_hash_map<std::string, size_t> offsets_;
};

WireError TooLarge(size_t offset, std::string message) {
  return Error(WireErrorKind::kTooLarge, offset, std::move(message));
}

std::optional<WireError> BuildRdata(Writer& w, const WireRecord& rr) {
  return std::visit(
      [&](const auto& d) -> std::optional<WireError> {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, AData> || std::is_same_v<T, AaaaData>) {
          for (uint8_t b : d.address) w.U8(b);
        } else if constexpr (std::is_same_v<T, NameData>) {
          return w.Name(d.name, true);
        } else if constexpr (std::is_same_v<T, MxData>) {
          w.U16(d.preference);
          return w.Name(d.exchange, true);
        } else if constexpr (std::is_same_v<T, TxtData>) {
          if (d.strings.empty()) {
            return Error(WireErrorKind::kBadRdata, w.out().size(),
                         "TXT record has no strings (RFC 1035 §3.3.14 needs one or more)");
          }
          for (const std::string& s : d.strings) {
            if (s.size() > kMaxCharacterStringWireLength) {
              return TooLarge(w.out().size(),
                              absl::StrCat("TXT string of ", s.size(), " bytes, the limit is ",
                                           kMaxCharacterStringWireLength, " (RFC 1035 §3.3)"));
            }
            w.U8(static_cast<uint8_t>(s.size()));
            w.out() += s;
          }
        } else if constexpr (std::is_same_v<T, SoaData>) {
          if (auto e = w.Name(d.mname, true)) return e;
          if (auto e = w.Name(d.rname, true)) return e;
          for (uint32_t v : {d.serial, d.refresh, d.retry, d.expire, d.minimum}) w.U32(v);
        } else if constexpr (std::is_same_v<T, TlsaData>) {
          w.U8(d.usage);
          w.U8(d.selector);
          w.U8(d.matching_type);
          w.out() += d.association_data;
        } else {
          static_assert(std::is_same_v<T, RawData>);
          w.out() += d.bytes;
        }
        return std::nullopt;
      },
      rr.data);
}

// Which RDATA alternative a (class, type) pair is parsed into; a record
// built with another one would not parse back the same.
bool RdataMatchesType(const WireRecord& rr) {
  if (rr.rclass != kClassIn || !IsDecodedType(rr.type)) {
    return std::holds_alternative<RawData>(rr.data);
  }
  switch (static_cast<RrType>(rr.type)) {
    case RrType::kA: return std::holds_alternative<AData>(rr.data);
    case RrType::kAaaa: return std::holds_alternative<AaaaData>(rr.data);
    case RrType::kNs:
    case RrType::kCname:
    case RrType::kPtr: return std::holds_alternative<NameData>(rr.data);
    case RrType::kMx: return std::holds_alternative<MxData>(rr.data);
    case RrType::kTxt: return std::holds_alternative<TxtData>(rr.data);
    case RrType::kSoa: return std::holds_alternative<SoaData>(rr.data);
    case RrType::kTlsa: return std::holds_alternative<TlsaData>(rr.data);
  }
  return false;
}

std::optional<WireError> BuildRecord(Writer& w, const WireRecord& rr) {
  if (!RdataMatchesType(rr)) {
    return Error(WireErrorKind::kBadRdata, w.out().size(),
                 absl::StrCat("RDATA of ", rr.name, " does not fit its TYPE ", rr.type,
                              " and CLASS ", rr.rclass));
  }
  if (auto e = w.Name(rr.name, true)) return e;
  w.U16(rr.type);
  w.U16(rr.rclass);
  w.U32(rr.ttl);
  size_t length_at = w.out().size();
  w.U16(0);
  if (auto e = BuildRdata(w, rr)) return e;
  size_t rdlength = w.out().size() - length_at - 2;
  if (rdlength > kMaxRdataWireLength) {
    return TooLarge(length_at, absl::StrCat("RDATA of ", rdlength, " bytes, the limit is ",
                                            kMaxRdataWireLength, " (RFC 1035 §3.2.1)"));
  }
  w.PutU16At(length_at, static_cast<uint16_t>(rdlength));
  return std::nullopt;
}

}  // namespace

std::string_view WireErrorKindName(WireErrorKind kind) {
  switch (kind) {
    case WireErrorKind::kTruncated: return "truncated";
    case WireErrorKind::kBadLabelType: return "bad label type";
    case WireErrorKind::kNameTooLong: return "name too long";
    case WireErrorKind::kBadPointer: return "bad compression pointer";
    case WireErrorKind::kTooManyPointers: return "too many compression pointers";
    case WireErrorKind::kBadRdataLength: return "bad RDLENGTH";
    case WireErrorKind::kBadRdata: return "bad RDATA";
    case WireErrorKind::kTrailingData: return "trailing data";
    case WireErrorKind::kBadName: return "bad name";
    case WireErrorKind::kTooLarge: return "too large";
  }
  return "unknown";
}

WireResult<Message> ParseMessage(std::string_view wire) {
  if (wire.size() > kMaxDnsMessageSize) {
    return Error(WireErrorKind::kTruncated, kMaxDnsMessageSize,
                 absl::StrCat("message of ", wire.size(), " bytes, the limit is ",
                              kMaxDnsMessageSize, " (RFC 1035 §4.2.2)"));
  }
  Reader r(wire);
  Message m;
  size_t pos = 0;
  size_t limit = wire.size();
  uint16_t flags = 0;
  uint16_t counts[4] = {};
  if (auto e = r.U16(pos, limit, m.header.id, "header ID")) return *e;
  if (auto e = r.U16(pos, limit, flags, "header flags")) return *e;
  for (uint16_t& count : counts) {
    if (auto e = r.U16(pos, limit, count, "header count")) return *e;
  }
  // RFC 1035 §4.1.1 flag layout.
  m.header.qr = flags & 0x8000;
  m.header.opcode = static_cast<uint8_t>(flags >> 11 & 0xf);
  m.header.aa = flags & 0x0400;
  m.header.tc = flags & 0x0200;
  m.header.rd = flags & 0x0100;
  m.header.ra = flags & 0x0080;
  m.header.z = static_cast<uint8_t>(flags >> 4 & 0x7);
  m.header.rcode = static_cast<uint8_t>(flags & 0xf);

  // Counts come from the wire, so nothing is reserved from them; each entry
  // consumes at least 5 bytes, so a lying count runs out of input quickly.
  for (uint16_t i = 0; i < counts[0]; ++i) {
    Question q;
    if (auto e = r.Name(pos, limit, q.name)) return *e;
    if (auto e = r.U16(pos, limit, q.type, "question TYPE")) return *e;
    if (auto e = r.U16(pos, limit, q.qclass, "question CLASS")) return *e;
    m.questions.push_back(std::move(q));
  }
  std::vector<WireRecord>* sections[] = {&m.answers, &m.authorities, &m.additionals};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s + 1]; ++i) {
      WireRecord rr;
      if (auto e = ParseRecord(r, pos, rr)) return *e;
      sections[s]->push_back(std::move(rr));
    }
  }
  if (pos != wire.size()) {
    return Error(WireErrorKind::kTrailingData, pos,
                 absl::StrCat(wire.size() - pos, " bytes after the last record"));
  }
  return m;
}

WireResult<std::string> BuildMessage(const Message& m, BuildOptions options) {
  Writer w(options.compress);
  const std::vector<WireRecord>* sections[] = {&m.answers, &m.authorities, &m.additionals};
  size_t counts[] = {m.questions.size(), m.answers.size(), m.authorities.size(),
                     m.additionals.size()};
  for (size_t count : counts) {
    if (count > 0xffff) {
      return TooLarge(4, absl::StrCat("section of ", count, " entries, the limit is 65535"));
    }
  }
  const Header& h = m.header;
  w.U16(h.id);
  w.U16(static_cast<uint16_t>((h.qr ? 0x8000 : 0) | (h.opcode & 0xf) << 11 | (h.aa ? 0x0400 : 0) |
                              (h.tc ? 0x0200 : 0) | (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) |
                              (h.z & 0x7) << 4 | (h.rcode & 0xf)));
  for (size_t count : counts) w.U16(static_cast<uint16_t>(count));
  for (const Question& q : m.questions) {
    if (auto e = w.Name(q.name, true)) return *e;
    w.U16(q.type);
    w.U16(q.qclass);
  }
  for (const std::vector<WireRecord>* section : sections) {
    for (const WireRecord& rr : *section) {
      if (auto e = BuildRecord(w, rr)) return *e;
      if (w.out().size() > kMaxDnsMessageSize) break;
    }
  }
  if (w.out().size() > kMaxDnsMessageSize) {
    return TooLarge(kMaxDnsMessageSize, absl::StrCat("message is over ", kMaxDnsMessageSize,
                                                     " bytes (RFC 1035 §4.2.2)"));
  }
  return std::move(w.out());
}

Message MakeQuery(uint16_t id, std::string_view name, uint16_t type) {
  Message m;
  m.header.id = id;
  m.header.rd = true;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  m.questions.push_back(Question{std::string(name), type, kClassIn});
  return m;
}

std::optional<ResourceRecord> ToResourceRecord(const WireRecord& record) {
  if (record.rclass != kClassIn || !IsDecodedType(record.type)) return std::nullopt;
  ResourceRecord rr;
  rr.name = record.name;
  rr.type = static_cast<RrType>(record.type);
  rr.ttl = record.ttl;
  bool converted = std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<T, RawData>) {
          return false;
        } else {
          rr.data = d;
          return true;
        }
      },
      record.data);
  if (!converted) return std::nullopt;
  return rr;
}

WireRecord ToWireRecord(const ResourceRecord& record) {
  WireRecord rr;
  rr.name = record.name;
  rr.type = static_cast<uint16_t>(record.type);
  rr.rclass = kClassIn;
  rr.ttl = record.ttl;
  std::visit([&](const auto& d) { rr.data = d; }, record.data);
  return rr;
}

bool RDataEquals(const WireRData& a, const WireRData& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, AData> || std::is_same_v<T, AaaaData>) {
          return x.address == y.address;
        } else if constexpr (std::is_same_v<T, NameData>) {
          return x.name == y.name;
        } else if constexpr (std::is_same_v<T, MxData>) {
          return x.preference == y.preference && x.exchange == y.exchange;
        } else if constexpr (std::is_same_v<T, TxtData>) {
          return x.strings == y.strings;
        } else if constexpr (std::is_same_v<T, SoaData>) {
          return x.mname == y.mname && x.rname == y.rname && x.serial == y.serial &&
                 x.refresh == y.refresh && x.retry == y.retry && x.expire == y.expire &&
                 x.minimum == y.minimum;
        } else if constexpr (std::is_same_v<T, TlsaData>) {
          return x.usage == y.usage && x.selector == y.selector &&
                 x.matching_type == y.matching_type && x.association_data == y.association_data;
        } else {
          return x == y;
        }
      },
      a);
}

bool operator==(const WireRecord& a, const WireRecord& b) {
  return a.name == b.name && a.type == b.type && a.rclass == b.rclass && a.ttl == b.ttl &&
         RDataEquals(a.data, b.data);
}

bool NamesEqual(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return absl::EqualsIgnoreCase(Av(a), Av(b));
}

}  // namespace mxkit::dns

namespace mxkit::dns {

LookupResult InterpretAnswer(std::string_view name, RrType type, std::string_view wire) {
  LookupResult result;
  auto fail = [&](LookupStatus status, std::string detail) {
    result.status = status;
    result.records.clear();
    result.detail = std::move(detail);
    return result;
  };
  WireResult<Message> parsed = ParseMessage(wire);
  if (!parsed.ok()) {
    return fail(LookupStatus::kPermanentFailure,
                absl::StrCat("malformed answer: ", parsed.error().message, " at offset ",
                             parsed.error().offset));
  }
  const Message& m = *parsed;
  if (!m.header.qr) return fail(LookupStatus::kPermanentFailure, "answer is not a response");
  // RFC 5452 §9.1: an answer is only for the question it repeats.
  if (m.questions.size() != 1 || !NamesEqual(m.questions[0].name, name) ||
      m.questions[0].type != static_cast<uint16_t>(type) || m.questions[0].qclass != kClassIn) {
    return fail(LookupStatus::kPermanentFailure, "answer is for another question");
  }
  if (m.header.tc) {
    return fail(LookupStatus::kTemporaryFailure, "answer truncated (TC) and not retried over TCP");
  }
  result.authenticated = (m.header.z & kZAuthenticData) != 0;
  // Records along the chain, also for NXDOMAIN, where the chain tells which
  // name did not exist (RFC 6604 §3).
  std::string current(name);
  if (!current.empty() && current.back() == '.') current.pop_back();
  for (size_t hops = 0;; ++hops) {
    for (const WireRecord& rr : m.answers) {
      if (rr.type == static_cast<uint16_t>(type) && rr.rclass == kClassIn &&
          NamesEqual(rr.name, current)) {
        if (std::optional<ResourceRecord> r = ToResourceRecord(rr)) {
          result.records.push_back(std::move(*r));
        }
      }
    }
    if (!result.records.empty() || type == RrType::kCname) break;
    const WireRecord* cname = nullptr;
    for (const WireRecord& rr : m.answers) {
      if (rr.type == static_cast<uint16_t>(RrType::kCname) && rr.rclass == kClassIn &&
          NamesEqual(rr.name, current)) {
        cname = &rr;
        break;
      }
    }
    if (cname == nullptr) break;
    if (hops >= kMaxAnswerCnameChain) {
      return fail(LookupStatus::kPermanentFailure,
                  absl::StrCat("CNAME chain longer than ", kMaxAnswerCnameChain));
    }
    const std::string& target = std::get<NameData>(cname->data).name;
    for (const ResourceRecord& seen : result.cname_chain) {
      if (NamesEqual(seen.name, target)) {
        return fail(LookupStatus::kPermanentFailure, absl::StrCat("CNAME loop at ", target));
      }
    }
    if (NamesEqual(target, name)) {
      return fail(LookupStatus::kPermanentFailure, absl::StrCat("CNAME loop at ", target));
    }
    result.cname_chain.push_back(*ToResourceRecord(*cname));
    current = target;
  }
  switch (static_cast<Rcode>(m.header.rcode)) {
    case Rcode::kNoError:
      if (!result.records.empty()) {
        result.status = LookupStatus::kAnswer;
        return result;
      }
      result.status = LookupStatus::kNoData;
      return result;
    case Rcode::kNxDomain:
      result.records.clear();
      result.status = LookupStatus::kNxDomain;
      return result;
    case Rcode::kServFail:
      return fail(LookupStatus::kTemporaryFailure, "SERVFAIL");
    case Rcode::kRefused:
      return fail(LookupStatus::kPermanentFailure, "REFUSED");
    case Rcode::kFormErr:
      return fail(LookupStatus::kPermanentFailure, "FORMERR");
    case Rcode::kNotImp:
      return fail(LookupStatus::kPermanentFailure, "NOTIMP");
  }
  return fail(LookupStatus::kPermanentFailure, absl::StrCat("RCODE ", m.header.rcode));
}

}  // namespace mxkit::dns
