#include "dns/authoritative.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/absl_interop.h"
#include "dns/message.h"

namespace mxkit::dns {
namespace {

using base::Av;

// RFC 1035 §4.1.1 header flag bits, in the two flag octets.
constexpr uint8_t kFlagQr = 0x80;
constexpr uint8_t kFlagAa = 0x04;
constexpr uint8_t kFlagTc = 0x02;
constexpr uint8_t kFlagRd = 0x01;
constexpr uint8_t kFlagRa = 0x80;
constexpr uint8_t kFlagAd = 0x20;  // RFC 4035 §3.2.3
constexpr uint8_t kFlagCd = 0x10;  // RFC 4035 §3.2.2

constexpr uint16_t kTypeOpt = 41;    // RFC 6891 §6.1.1
constexpr uint16_t kTypeIxfr = 251;  // RFC 1995
constexpr uint16_t kTypeAxfr = 252;  // RFC 5936
constexpr uint16_t kTypeMailb = 253; // RFC 1035 §3.2.3, obsolete
constexpr uint16_t kTypeMaila = 254;
constexpr uint16_t kTypeAny = 255;   // RFC 1035 §3.2.3, RFC 8482
constexpr uint16_t kClassAny = 255;  // RFC 1035 §3.2.5
// RFC 6891 §6.1.3: the DO bit in the OPT TTL, and BADVERS (16), whose upper
// eight bits go into the OPT TTL's extended-RCODE octet.
constexpr uint32_t kOptDoBit = 0x8000;
constexpr uint8_t kExtendedRcodeBadVers = 16 >> 4;
// RFC 1035 §4.1.4: a pointer is 0b11 and a 14-bit offset; the question name
// always starts right after the header.
constexpr uint16_t kPointerToQuestion = 0xc000 | kDnsHeaderSize;
// Made SOA values when a zone brings none: a negative TTL of five minutes
// (RFC 2308 §5 suggests 1-3 hours for real zones; a test wants it short).
constexpr uint32_t kMadeSoaTtl = 300;

// The presentation name without its trailing dot.
std::string_view Bare(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

// ASCII lower case over a wire name: length octets are at most 63, below
// 'A', so folding every byte folds exactly the label contents (RFC 4343 §3).
void FoldWire(std::string& wire) {
  for (char& c : wire) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// The wire form of a presentation name (uncompressed, with the root label),
// through the codec's own name writer.
absl::StatusOr<std::string> EncodeName(std::string_view name) {
  Message m;
  m.questions.push_back(Question{std::string(Bare(name)), 0, kClassIn});
  WireResult<std::string> built = BuildMessage(m, BuildOptions{false});
  if (!built.ok()) return absl::InvalidArgumentError(built.error().message);
  return built->substr(kDnsHeaderSize, built->size() - kDnsHeaderSize - 4);
}

// A record after its owner name: TYPE, CLASS, TTL, RDLENGTH, RDATA, with
// names in the RDATA uncompressed (so the bytes can be copied anywhere).
absl::StatusOr<std::string> EncodeRecordTail(const ResourceRecord& record) {
  Message m;
  WireRecord wire = ToWireRecord(record);
  wire.name.clear();  // the root: one zero octet
  m.answers.push_back(std::move(wire));
  WireResult<std::string> built = BuildMessage(m, BuildOptions{false});
  if (!built.ok()) return absl::InvalidArgumentError(built.error().message);
  return built->substr(kDnsHeaderSize + 1);
}

// The wire name without its first label; empty after the root.
absl::string_view Parent(absl::string_view wire) {
  if (wire.empty() || wire[0] == 0) return {};
  return wire.substr(1 + static_cast<uint8_t>(wire[0]));
}

void PutU16(std::string& out, size_t at, uint16_t v) {
  out[at] = static_cast<char>(v >> 8);
  out[at + 1] = static_cast<char>(v & 0xff);
}

void AppendU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void AppendU32(std::string& out, uint32_t v) {
  AppendU16(out, static_cast<uint16_t>(v >> 16));
  AppendU16(out, static_cast<uint16_t>(v & 0xffff));
}

uint16_t GetU16(std::string_view in, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(in[at]) << 8 | static_cast<uint8_t>(in[at + 1]));
}

}  // namespace

std::string_view ServeFaultName(ServeFault fault) {
  switch (fault) {
    case ServeFault::kNxDomain: return "nxdomain";
    case ServeFault::kNoData: return "nodata";
    case ServeFault::kServfail: return "servfail";
    case ServeFault::kRefused: return "refused";
    case ServeFault::kTimeout: return "timeout";
    case ServeFault::kTruncate: return "truncate";
  }
  return "unknown";
}

// Everything Respond needs, precomputed: names are keyed by their folded
// wire form, so a query name is looked up with the bytes it came in, and
// every record is kept as the wire bytes that follow its owner name.
struct AuthoritativeResponder::Index {
  struct RRset {
    uint16_t type = 0;
    std::vector<std::string> tails;
  };
  struct Node {
    int zone = -1;
    bool exists = false;  // records here or below (RFC 8020 §2)
    std::vector<RRset> rrsets;
    // The first CNAME here: its folded target (for the lookup) and its
    // target as served (an owner name when it cannot be compressed).
    const std::string* cname_tail = nullptr;
    std::string cname_target_key;
    std::string cname_target_wire;
    std::optional<ServeFault> every_type_fault;
    std::vector<std::pair<uint16_t, ServeFault>> type_faults;

    const RRset* Find(uint16_t type) const {
      for (const RRset& set : rrsets) {
        if (set.type == type) return &set;
      }
      return nullptr;
    }
    std::optional<ServeFault> FaultFor(uint16_t type) const {
      if (every_type_fault) return every_type_fault;
      for (const auto& [t, fault] : type_faults) {
        if (t == type) return fault;
      }
      return std::nullopt;
    }
  };
  struct Zone {
    bool authenticated = false;
    std::string apex_wire;  // as served, for the SOA's owner name
    std::string soa_tail;   // TTL already min(SOA TTL, MINIMUM), RFC 2308 §3
  };

  std::vector<Zone> zones;
  absl::flat_hash_map<std::string, int> zone_by_apex;  // folded wire apex
  absl::flat_hash_map<std::string, Node> nodes;        // folded wire name

  // The deepest zone `key` (a folded wire name) is at or below, or -1.
  int ZoneOf(absl::string_view key) const {
    for (absl::string_view name = key; !name.empty(); name = Parent(name)) {
      auto found = zone_by_apex.find(name);
      if (found != zone_by_apex.end()) return found->second;
    }
    return -1;
  }
};

AuthoritativeResponder::AuthoritativeResponder(std::shared_ptr<const Index> index)
    : index_(std::move(index)) {}

absl::StatusOr<AuthoritativeResponder> AuthoritativeResponder::Create(
    std::vector<ServedZone> zones) {
  auto index = std::make_shared<Index>();
  std::vector<std::string> apex_keys;
  for (const ServedZone& zone : zones) {
    absl::StatusOr<std::string> apex = EncodeName(zone.apex);
    if (!apex.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("zone \"", Av(zone.apex), "\": ", apex.status().message()));
    }
    std::string key = *apex;
    FoldWire(key);
    int number = static_cast<int>(index->zones.size());
    if (!index->zone_by_apex.emplace(key, number).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("zone \"", Av(zone.apex), "\" is served twice"));
    }
    Index::Zone z;
    z.authenticated = zone.authenticated;
    z.apex_wire = *std::move(apex);
    index->zones.push_back(std::move(z));
    apex_keys.push_back(std::move(key));
  }

  // The node of a name inside `zone_number`, made (with every ancestor inside
  // the zone existing, RFC 8020 §2) when `exists` is set.
  auto node_in_zone = [&](std::string_view name, size_t zone_number, std::string_view what,
                          bool exists) -> absl::StatusOr<Index::Node*> {
    absl::StatusOr<std::string> wire = EncodeName(name);
    if (!wire.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(Av(what), " \"", Av(name), "\" in zone \"",
                                                     Av(zones[zone_number].apex),
                                                     "\": ", wire.status().message()));
    }
    std::string key = *std::move(wire);
    FoldWire(key);
    const std::string& apex = apex_keys[zone_number];
    bool inside = false;
    for (absl::string_view n = key; !n.empty(); n = Parent(n)) {
      if (n == apex) inside = true;
    }
    if (!inside) {
      return absl::InvalidArgumentError(absl::StrCat(Av(what), " \"", Av(name),
                                                     "\" lies outside its zone \"",
                                                     Av(zones[zone_number].apex), "\""));
    }
    // Ancestors first: inserting into the map moves its nodes.
    if (exists && key != apex) {
      for (absl::string_view n = Parent(key); !n.empty(); n = Parent(n)) {
        Index::Node& ancestor = index->nodes[std::string(n)];
        if (ancestor.exists) break;
        ancestor.exists = true;
        ancestor.zone = index->ZoneOf(n);
        if (n == apex) break;
      }
    }
    Index::Node& node = index->nodes[key];
    node.zone = index->ZoneOf(key);
    if (exists) node.exists = true;
    return &node;
  };

  for (size_t number = 0; number < zones.size(); ++number) {
    ServedZone& zone = zones[number];
    const SoaData* soa = nullptr;
    uint32_t soa_ttl = 0;
    for (const ResourceRecord& record : zone.records) {
      if (record.type == RrType::kSoa && soa == nullptr &&
          NamesEqual(record.name, zone.apex)) {
        soa = &std::get<SoaData>(record.data);
        soa_ttl = record.ttl;
      }
    }
    if (soa == nullptr) {
      std::string apex(Bare(zone.apex));
      std::string dot = apex.empty() ? "" : ".";
      zone.records.push_back(ResourceRecord{
          apex, RrType::kSoa, kMadeSoaTtl,
          SoaData{"ns" + dot + apex, "hostmaster" + dot + apex, 1, 3600, 600, 86400,
                  kMadeSoaTtl}});
      soa = &std::get<SoaData>(zone.records.back().data);
      soa_ttl = kMadeSoaTtl;
    }
    ResourceRecord negative{std::string(Bare(zone.apex)), RrType::kSoa,
                            std::min(soa_ttl, soa->minimum), *soa};
    absl::StatusOr<std::string> soa_tail = EncodeRecordTail(negative);
    if (!soa_tail.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("SOA of zone \"", Av(zone.apex),
                                                     "\": ", soa_tail.status().message()));
    }
    index->zones[number].soa_tail = *std::move(soa_tail);

    for (const ResourceRecord& record : zone.records) {
      absl::StatusOr<Index::Node*> node =
          node_in_zone(record.name, number, RrTypeName(record.type) + " record", true);
      if (!node.ok()) return node.status();
      absl::StatusOr<std::string> tail = EncodeRecordTail(record);
      if (!tail.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(RrTypeName(record.type), " record \"",
                                                       Av(record.name), "\": ",
                                                       tail.status().message()));
      }
      uint16_t type = static_cast<uint16_t>(record.type);
      std::vector<Index::RRset>& sets = (*node)->rrsets;
      auto set = std::find_if(sets.begin(), sets.end(),
                              [&](const Index::RRset& s) { return s.type == type; });
      if (set == sets.end()) {
        sets.push_back(Index::RRset{type, {}});
        set = sets.end() - 1;
      }
      set->tails.push_back(*std::move(tail));
      if (record.type == RrType::kCname && (*node)->cname_target_wire.empty()) {
        absl::StatusOr<std::string> target = EncodeName(std::get<NameData>(record.data).name);
        if (!target.ok()) return target.status();  // EncodeRecordTail accepted it already
        (*node)->cname_target_wire = *target;
        (*node)->cname_target_key = *std::move(target);
        FoldWire((*node)->cname_target_key);
      }
    }

    for (const ServedFault& fault : zone.faults) {
      absl::StatusOr<Index::Node*> node = node_in_zone(fault.name, number, "fault", false);
      if (!node.ok()) return node.status();
      Index::Node& n = **node;
      if (!fault.type) {
        if (n.every_type_fault) {
          return absl::InvalidArgumentError(absl::StrCat(
              "fault \"", Av(fault.name), "\" is given twice for every type"));
        }
        n.every_type_fault = fault.fault;
        continue;
      }
      uint16_t type = static_cast<uint16_t>(*fault.type);
      for (const auto& [t, f] : n.type_faults) {
        if (t == type) {
          return absl::InvalidArgumentError(absl::StrCat("fault \"", Av(fault.name),
                                                         "\" is given twice for type ",
                                                         RrTypeName(*fault.type)));
        }
      }
      n.type_faults.emplace_back(type, fault.fault);
    }
  }
  // Pointers into the rrsets only now that no vector grows any more.
  for (auto& [key, node] : index->nodes) {
    if (const Index::RRset* cname = node.Find(static_cast<uint16_t>(RrType::kCname))) {
      node.cname_tail = &cname->tails.front();
    }
  }
  return AuthoritativeResponder(std::move(index));
}

DnsResponse AuthoritativeResponder::Respond(std::string_view query,
                                            QueryTransport transport) const {
  DnsResponse response;
  response.send = Respond(query, transport, response.wire);
  return response;
}

namespace {

// What Respond read from a query before answering it.
struct ParsedQuery {
  size_t question_end = 0;  // 0: no question could be read
  uint16_t qtype = 0, qclass = 0;
  bool has_opt = false;
  uint16_t opt_udp_size = 0;
  uint32_t opt_ttl = 0;
};

// Reads the question and skips the records after it (checking each length),
// finding the OPT record. Returns false for a malformed query.
bool ParseQuery(std::string_view q, ParsedQuery& out) {
  uint16_t qdcount = GetU16(q, 4);
  size_t counts = size_t{GetU16(q, 6)} + GetU16(q, 8) + GetU16(q, 10);
  size_t additional_start = size_t{GetU16(q, 6)} + GetU16(q, 8);
  if (qdcount != 1) return false;
  size_t pos = kDnsHeaderSize;
  size_t name_length = 0;
  while (true) {
    if (pos >= q.size()) return false;
    uint8_t length = static_cast<uint8_t>(q[pos]);
    // A question name can hold no pointer: only the header lies before it
    // (RFC 1035 §4.1.4), and label types 01/10 are retired (RFC 6891 §5).
    if (length & 0xc0) return false;
    name_length += 1 + length;
    if (name_length > kMaxNameWireLength) return false;
    pos += 1 + length;
    if (length == 0) break;
  }
  if (pos + 4 > q.size()) return false;
  out.qtype = GetU16(q, pos);
  out.qclass = GetU16(q, pos + 2);
  pos += 4;
  out.question_end = pos;
  for (size_t i = 0; i < counts; ++i) {
    size_t name_start = pos;
    while (true) {
      if (pos >= q.size()) return false;
      uint8_t length = static_cast<uint8_t>(q[pos]);
      if ((length & 0xc0) == 0xc0) {
        pos += 2;
        break;
      }
      if (length & 0xc0) return false;
      pos += 1 + length;
      if (length == 0) break;
    }
    if (pos + 10 > q.size()) return false;
    uint16_t type = GetU16(q, pos);
    uint16_t rdlength = GetU16(q, pos + 8);
    if (type == kTypeOpt) {
      // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
      if (i < additional_start || out.has_opt || pos != name_start + 1 || q[name_start] != 0) {
        return false;
      }
      out.has_opt = true;
      out.opt_udp_size = GetU16(q, pos + 2);
      out.opt_ttl = static_cast<uint32_t>(GetU16(q, pos + 4)) << 16 | GetU16(q, pos + 6);
    }
    pos += 10 + size_t{rdlength};
    if (pos > q.size()) return false;
  }
  return pos == q.size();
}

}  // namespace

bool AuthoritativeResponder::Respond(std::string_view query, QueryTransport transport,
                                     std::string& out) const {
  out.clear();
  // Not a query at all: too short for a header, or a response (answering
  // responses is how reflection loops start).
  if (query.size() < kDnsHeaderSize) return false;
  if (static_cast<uint8_t>(query[2]) & kFlagQr) return false;

  const uint8_t flags1 = static_cast<uint8_t>(query[2]);
  const uint8_t flags2 = static_cast<uint8_t>(query[3]);
  const uint8_t opcode = (flags1 >> 3) & 0xf;
  ParsedQuery parsed;
  const bool well_formed = ParseQuery(query, parsed);

  // Header: id, opcode, RD and CD echoed (RFC 1035 §4.1.1, RFC 4035 §3.2.2);
  // RA set because this server stands in for the sender's recursive resolver.
  out.append(query.data(), 2);
  out.push_back(static_cast<char>(kFlagQr | (flags1 & (0x78 | kFlagRd))));
  out.push_back(static_cast<char>(kFlagRa | (flags2 & kFlagCd)));
  out.append(8, '\0');
  auto set_rcode = [&](uint8_t rcode) {
    out[3] = static_cast<char>((out[3] & 0xf0) | (rcode & 0xf));
  };
  auto echo_question = [&] {
    out.append(query.data() + kDnsHeaderSize, parsed.question_end - kDnsHeaderSize);
    PutU16(out, 4, 1);
  };
  if (!well_formed) {
    set_rcode(static_cast<uint8_t>(Rcode::kFormErr));
    // The question is echoed when it could be read and was the only one.
    if (parsed.question_end != 0) echo_question();
    return true;
  }
  echo_question();
  const size_t question_end = out.size();

  const bool dnssec_ok = parsed.has_opt && (parsed.opt_ttl & kOptDoBit);
  auto append_opt = [&](uint8_t extended_rcode) {
    if (!parsed.has_opt) return;
    out.push_back('\0');  // the root
    AppendU16(out, kTypeOpt);
    AppendU16(out, kAdvertisedUdpPayload);
    AppendU32(out, static_cast<uint32_t>(extended_rcode) << 24 | (dnssec_ok ? kOptDoBit : 0));
    AppendU16(out, 0);
    PutU16(out, 10, 1);
  };
  // RFC 6891 §6.1.3: a version this server does not speak gets BADVERS and
  // the version it does speak (0).
  if (parsed.has_opt && ((parsed.opt_ttl >> 16) & 0xff) > 0) {
    append_opt(kExtendedRcodeBadVers);
    return true;
  }
  auto finish = [&](Rcode rcode) {
    set_rcode(static_cast<uint8_t>(rcode));
    append_opt(0);
    return true;
  };
  if (opcode != 0) return finish(Rcode::kNotImp);
  if (parsed.qclass != kClassIn && parsed.qclass != kClassAny) return finish(Rcode::kRefused);
  const uint16_t qtype = parsed.qtype;
  // RFC 6891 §6.1.1: OPT is a pseudo-record, never a question.
  if (qtype == kTypeOpt) return finish(Rcode::kFormErr);
  // Zone transfers are not offered; MAILA/MAILB are obsolete (RFC 1035 §3.2.3).
  if (qtype == kTypeAxfr || qtype == kTypeIxfr) return finish(Rcode::kRefused);
  if (qtype == kTypeMaila || qtype == kTypeMailb) return finish(Rcode::kNotImp);

  // The folded question name, for the index.
  char key_buffer[kMaxNameWireLength];
  const size_t key_length = question_end - 4 - kDnsHeaderSize;
  std::memcpy(key_buffer, query.data() + kDnsHeaderSize, key_length);
  for (size_t i = 0; i < key_length; ++i) {
    char& c = key_buffer[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  absl::string_view key(key_buffer, key_length);

  const Index& index = *index_;
  const bool wants_ad = dnssec_ok || (flags2 & kFlagAd);
  bool all_authenticated = true;
  size_t answers = 0;
  // How the owner name of the records being written is written: a pointer
  // to the question (so the query's case is echoed, as BIND does for 0x20
  // resolvers), or to the previous CNAME's RDATA, or in full.
  uint16_t owner_pointer = kPointerToQuestion;
  std::string_view owner_wire;
  auto append_rrset = [&](const Index::RRset& set) {
    for (const std::string& tail : set.tails) {
      if (owner_pointer != 0) {
        AppendU16(out, owner_pointer);
      } else {
        out.append(owner_wire);
      }
      out.append(tail);
      ++answers;
    }
  };

  int zone = -1;
  std::optional<Rcode> negative;  // NXDOMAIN or NODATA (kNoError) with SOA
  Rcode rcode = Rcode::kNoError;
  bool truncate = false;
  for (size_t hop = 0;; ++hop) {
    auto found = index.nodes.find(key);
    const Index::Node* node = found == index.nodes.end() ? nullptr : &found->second;
    int here = node != nullptr ? node->zone : index.ZoneOf(key);
    if (here < 0) {
      // Outside every zone: refused, or (after a CNAME) left to the client
      // to chase, as an authoritative server leaves it.
      if (hop == 0) rcode = Rcode::kRefused;
      break;
    }
    zone = here;
    all_authenticated = all_authenticated && index.zones[zone].authenticated;
    if (node != nullptr) {
      if (std::optional<ServeFault> fault = node->FaultFor(qtype)) {
        switch (*fault) {
          case ServeFault::kTimeout:
            out.clear();
            return false;
          case ServeFault::kServfail:
            rcode = Rcode::kServFail;
            break;
          case ServeFault::kRefused:
            rcode = Rcode::kRefused;
            break;
          case ServeFault::kNxDomain:
            negative = Rcode::kNxDomain;
            break;
          case ServeFault::kNoData:
            negative = Rcode::kNoError;
            break;
          case ServeFault::kTruncate:
            truncate = transport == QueryTransport::kUdp;
            break;
        }
        if (truncate || *fault != ServeFault::kTruncate) break;
      }
    }
    if (node == nullptr || !node->exists) {
      negative = Rcode::kNxDomain;
      break;
    }
    // RFC 8482 §4.2 allows either answer to ANY; this server gives every
    // record at the name (what a test that asks ANY wants to see).
    if (qtype == kTypeAny) {
      for (const Index::RRset& set : node->rrsets) append_rrset(set);
      // An empty non-terminal has no RRset to give: that is NODATA, with
      // the SOA (RFC 2308 §2.2), as for any other type.
      if (node->rrsets.empty()) negative = Rcode::kNoError;
      break;
    }
    if (const Index::RRset* set = node->Find(qtype)) {
      append_rrset(*set);
      break;
    }
    if (node->cname_tail == nullptr || hop >= kMaxAnswerCnameChain) {
      if (node->cname_tail == nullptr) negative = Rcode::kNoError;
      break;
    }
    // RFC 1034 §3.6.2 / §4.3.2: the CNAME goes into the answer and the
    // search restarts at its target.
    const size_t rdata = out.size() + (owner_pointer != 0 ? 2 : owner_wire.size()) + 10;
    if (owner_pointer != 0) {
      AppendU16(out, owner_pointer);
    } else {
      out.append(owner_wire);
    }
    out.append(*node->cname_tail);
    ++answers;
    owner_pointer = rdata <= kMaxCompressionOffset ? static_cast<uint16_t>(0xc000 | rdata) : 0;
    owner_wire = node->cname_target_wire;
    key = node->cname_target_key;
  }

  // AA for answers from the zone data; a SERVFAIL or REFUSED speaks for no
  // zone (BIND sets AA on neither).
  if (zone >= 0 && rcode == Rcode::kNoError) {
    out[2] = static_cast<char>(out[2] | kFlagAa);
  }
  if (wants_ad && zone >= 0 && all_authenticated && rcode == Rcode::kNoError) {
    out[3] = static_cast<char>(out[3] | kFlagAd);
  }
  if (truncate) {
    out.resize(question_end);
    out[2] = static_cast<char>(out[2] | kFlagTc);
    return finish(Rcode::kNoError);
  }
  if (rcode != Rcode::kNoError) {
    // SERVFAIL and REFUSED carry no records, not even the chain so far.
    out.resize(question_end);
    out[3] = static_cast<char>(out[3] & ~kFlagAd);
    return finish(rcode);
  }
  PutU16(out, 6, static_cast<uint16_t>(std::min<size_t>(answers, 0xffff)));
  if (negative) {
    // RFC 2308 §3: the zone's SOA in the authority section, TTL already the
    // minimum of its TTL and MINIMUM.
    const Index::Zone& z = index.zones[zone];
    out.append(z.apex_wire);
    out.append(z.soa_tail);
    PutU16(out, 8, 1);
    rcode = *negative;
  }
  set_rcode(static_cast<uint8_t>(rcode));
  append_opt(0);

  // RFC 1035 §4.2.1 / RFC 6891 §6.2.5: a UDP answer fits the client's
  // buffer (at least 512, at most what this server advertises) or is cut to
  // header, question and OPT with TC set, so the client retries over TCP
  // (RFC 7766 §5).
  size_t limit = kMaxDnsMessageSize;
  if (transport == QueryTransport::kUdp) {
    limit = kMaxPlainUdpPayload;
    if (parsed.has_opt) {
      limit = std::clamp<size_t>(parsed.opt_udp_size, kMaxPlainUdpPayload, kAdvertisedUdpPayload);
    }
  }
  if (out.size() > limit || answers > 0xffff) {
    out.resize(question_end);
    PutU16(out, 6, 0);
    PutU16(out, 8, 0);
    PutU16(out, 10, 0);
    out[2] = static_cast<char>(out[2] | kFlagTc);
    append_opt(0);
  }
  return true;
}

}  // namespace mxkit::dns
