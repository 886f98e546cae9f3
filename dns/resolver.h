// The resolver interface every DNS consumer in mxkit (SPF, DKIM, DMARC, MTA-STS,
// DANE, fakemx) is written against, so a test can swap the real network for a
// StaticResolver zone and inject faults per name.

#ifndef MXKIT_DNS_RESOLVER_H_
#define MXKIT_DNS_RESOLVER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mxkit::dns {

// RR TYPE values (RFC 1035 §3.2.2, RFC 3596, RFC 6698).
enum class RrType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kTlsa = 52,
};

// "A", "MX", ... for messages and zone files; "TYPE<n>" for others.
std::string RrTypeName(RrType type);

struct AData { std::array<uint8_t, 4> address; };
struct AaaaData { std::array<uint8_t, 16> address; };
// CNAME, NS and PTR: one domain name, absolute, without the trailing dot,
// in the case it was served in.
struct NameData { std::string name; };
struct MxData { uint16_t preference; std::string exchange; };
// TXT keeps its character-strings apart: SPF and DKIM concatenate them, but a
// zone or a test may need to see how a record was split (RFC 7208 §3.3).
struct TxtData { std::vector<std::string> strings; };
// TXT data for `text` as a publisher must write it: RFC 1035 §3.3 bounds a
// <character-string> at 255 bytes, so a longer text (a 2048-bit DKIM key, a
// long SPF record; RFC 7208 §3.3, RFC 6376 §3.6.2.2) becomes several strings
// of 255 bytes and a last shorter one. An empty text is one empty string.
TxtData SplitIntoCharacterStrings(std::string_view text);
struct SoaData {
  std::string mname, rname;
  uint32_t serial, refresh, retry, expire, minimum;
};
struct TlsaData {
  uint8_t usage, selector, matching_type;
  std::string association_data;  // raw bytes
};

using RData = std::variant<AData, AaaaData, NameData, MxData, TxtData, SoaData, TlsaData>;

struct ResourceRecord {
  std::string name;  // owner name, absolute, no trailing dot
  RrType type;
  uint32_t ttl = 0;
  RData data;
};

// How a lookup ended. SPF, DKIM and DMARC each treat these differently
// (e.g. SPF void lookups count kNxDomain and kNoData, RFC 7208 §4.6.4), so they
// are never folded together.
enum class LookupStatus {
  kAnswer,            // at least one record of the queried type
  kNxDomain,          // RCODE 3: the name does not exist
  kNoData,            // the name exists, no record of this type
  kTemporaryFailure,  // SERVFAIL, timeout, network error: try again later
  kPermanentFailure,  // malformed query/answer, REFUSED, name too long, ...
};

struct LookupResult {
  LookupStatus status = LookupStatus::kTemporaryFailure;
  // For kAnswer: the records of the queried type, after following any CNAME
  // chain (as a recursive resolver hands them to a stub).
  std::vector<ResourceRecord> records;
  // CNAMEs followed on the way, in order (empty when none).
  std::vector<ResourceRecord> cname_chain;
  // For failures: what went wrong, for humans ("timeout after 5s from 127.0.0.1:5353").
  std::string detail;
  // The AD bit of the answer (RFC 4035 §3.2.3): the resolver says it
  // validated the answer (or the denial) with DNSSEC. Only as trustworthy
  // as the resolver and the path to it (RFC 7672 §2.1.1 asks for a local,
  // validating one); DANE applies TLSA records only when it is set.
  // AresResolver asks for it by setting AD in the query (RFC 6840 §5.7);
  // StaticResolver never sets it (a zone file is not validated).
  bool authenticated = false;

  bool ok() const { return status == LookupStatus::kAnswer; }
};

class Resolver {
 public:
  using Callback = std::function<void(LookupResult)>;

  virtual ~Resolver() = default;

  // Starts a lookup of `name` (absolute; a trailing dot is allowed) for `type`.
  // `done` runs exactly once: inline for resolvers that need no I/O
  // (StaticResolver), or later from the resolver's executor.
  virtual void Lookup(std::string_view name, RrType type, Callback done) = 0;

  // Runs a lookup to completion and returns its result. The default works for
  // resolvers whose Lookup completes inline; resolvers that do I/O override it
  // to drive their own event loop.
  virtual LookupResult LookupSync(std::string_view name, RrType type);

  // For resolvers that answer from memory: fills `out` with the result
  // Lookup would hand its callback and returns true. Returns false, leaving
  // `out` alone, when the lookup needs I/O (the default); the caller then
  // uses Lookup. LookupAwaiter (dns/lookup_task.h) asks this first, so a
  // coroutine over an in-memory zone pays neither a Callback nor a copy of
  // the name per lookup (the SPF suite benchmark's profile).
  virtual bool LookupInline(std::string_view /*name*/, RrType /*type*/, LookupResult& /*out*/) {
    return false;
  }
};

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_RESOLVER_H_
