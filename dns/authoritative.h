// A sans-IO DNS responder: query bytes in, response bytes (or silence) out,
// answered from in-memory zones with faults injected per name and type. It
// is what fakemx's DNS server runs (fakemx/dns_listener.h is its Asio
// driver); fuzz/dns_responder_fuzzer.cc feeds it arbitrary datagrams.
//
// It plays the resolver a sending MTA is pointed at, so it answers as a
// recursive resolver answers a stub (RA set, CNAMEs inside its zones
// followed into the answer section), and for the zones it serves it is
// authoritative (AA set, SOA in the authority section of negative answers,
// RFC 2308 §3). Names outside every zone are REFUSED, as a server that is
// not open for recursion refuses them (RFC 8906 §3.1.5 lists it as a valid
// response).
#ifndef MXKIT_DNS_AUTHORITATIVE_H_
#define MXKIT_DNS_AUTHORITATIVE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dns/resolver.h"

namespace mxkit::dns {

// RFC 1035 §4.2.1: without EDNS0 a UDP message is at most 512 octets.
inline constexpr size_t kMaxPlainUdpPayload = 512;
// The EDNS0 payload size this responder advertises and the most it sends
// over UDP whatever the client offers: the DNS Flag Day 2020 value, which
// avoids IP fragmentation (RFC 9715 recommends the same order of size).
inline constexpr uint16_t kAdvertisedUdpPayload = 1232;

// How a name (or a name and type) is made to fail, on purpose.
enum class ServeFault {
  kNxDomain,  // RCODE 3 even though the name has records
  kNoData,    // NOERROR, empty answer, SOA in authority (RFC 2308 §2.2)
  kServfail,  // RCODE 2
  kRefused,   // RCODE 5
  kTimeout,   // no response at all, over UDP and TCP
  kTruncate,  // over UDP: TC set and no records, forcing TCP (RFC 7766 §5);
              // over TCP the real answer
};

// "nxdomain", "nodata", "servfail", "refused", "timeout", "truncate".
std::string_view ServeFaultName(ServeFault fault);

struct ServedFault {
  std::string name;               // absolute, no trailing dot
  std::optional<RrType> type;     // only this type; nullopt: every type
  ServeFault fault;
};

struct ServedZone {
  std::string apex;   // absolute, no trailing dot: "example.test"
  // Answers for names in this zone carry the AD bit when the query set AD or
  // DO (RFC 6840 §5.7, RFC 4035 §3.2.3): the zone plays a DNSSEC-signed one
  // validated by the resolver the sender trusts. No RRSIGs are sent.
  bool authenticated = false;
  // Records at or below the apex. A SOA at the apex is made when none is
  // given (for negative answers).
  std::vector<ResourceRecord> records;
  std::vector<ServedFault> faults;
};

enum class QueryTransport { kUdp, kTcp };

struct DnsResponse {
  // False: send nothing (a kTimeout fault, or input that is not a query at
  // all, such as a response or fewer than 12 octets).
  bool send = false;
  std::string wire;  // without the TCP length prefix
};

class AuthoritativeResponder {
 public:
  // Fails (InvalidArgument, naming the zone or record) when an apex is not a
  // valid name, two zones have the same apex, a record or fault lies outside
  // its zone, or a fault names a type twice.
  static absl::StatusOr<AuthoritativeResponder> Create(std::vector<ServedZone> zones);

  // Answers one query message. Never fails: a malformed query gets FORMERR
  // (when its header can be read), an opcode other than QUERY NOTIMP, a
  // class other than IN or ANY REFUSED, EDNS version > 0 BADVERS (RFC 6891
  // §6.1.3). The question is echoed in the case it was asked (RFC 4343 §4.1);
  // an OPT record is answered with one. A UDP answer larger than the
  // client's limit (512, or its EDNS0 size capped at kAdvertisedUdpPayload)
  // is sent with TC set and the records dropped.
  DnsResponse Respond(std::string_view query, QueryTransport transport) const;

  // The same answer written into `out` (cleared first, its capacity reused:
  // a server loop answers without allocating). Returns DnsResponse::send.
  bool Respond(std::string_view query, QueryTransport transport, std::string& out) const;

 private:
  struct Index;
  explicit AuthoritativeResponder(std::shared_ptr<const Index> index);
  std::shared_ptr<const Index> index_;
};

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_AUTHORITATIVE_H_
