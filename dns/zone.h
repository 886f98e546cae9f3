// A parser for the subset of the RFC 1035 §5 master-file format that mxkit's
// test zones use, plus two fault directives for StaticResolver.
//
// Supported: $ORIGIN, $TTL, relative names, "@", an omitted owner (the
// previous one), optional TTL and class IN in either order, parentheses
// spanning lines, ";" comments, RFC 1035 §5.1 escapes (\X and \DDD) in quoted
// strings, unquoted words and names alike, several strings per TXT, and the
// types A AAAA MX TXT SPF (stored as TXT)
// PTR CNAME NS SOA TLSA. `$TIMEOUT name.` and `$SERVFAIL name.` make every
// query for that name fail, `$TIMEOUT name. TXT` only the queries for one
// type (see StaticResolver::AddFault).

#ifndef MXKIT_DNS_ZONE_H_
#define MXKIT_DNS_ZONE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dns/resolver.h"

namespace mxkit::dns {

// How a faulted name fails. Both map to LookupStatus::kTemporaryFailure, with
// detail "timeout" or "SERVFAIL" (RFC 7208 §5 treats both as temperror).
enum class Fault { kTimeout, kServfail };

// Bounds on what a zone file may hold; test zones are small, and the fuzzer
// must not be able to make us allocate without limit.
inline constexpr size_t kMaxZoneLineLength = 8192;
inline constexpr size_t kMaxZoneRecords = 100000;
// RFC 1035 §3.3: a <character-string> is one length octet and up to 255 bytes.
inline constexpr size_t kMaxCharacterStringLength = 255;
// RFC 1035 §3.4.1 bounds nothing, but TLSA association data is a hash or a
// key, and a DER certificate is rarely over a few KiB.
inline constexpr size_t kMaxZoneRdataLength = 65535;
// Default TTL when neither $TTL nor a record TTL is given (RFC 2308 §4 wants
// $TTL, but older zone files omit it).
inline constexpr uint32_t kDefaultZoneTtl = 3600;

struct ZoneFault {
  std::string name;  // absolute, no trailing dot
  Fault fault;
  std::optional<RrType> type;  // only this type; nullopt: every type
};

struct Zone {
  std::vector<ResourceRecord> records;  // in file order
  std::vector<ZoneFault> faults;        // in file order
};

// Where and why a zone failed to parse.
struct ZoneError {
  size_t line = 0;      // 1-based line the problem is on
  size_t column = 0;    // 1-based byte column it starts at; 0 for the whole entry
  std::string message;  // what is wrong, without the "file:line:column: " prefix
};

// Parses `text` as a zone. `origin` (absolute, trailing dot optional) is the
// initial $ORIGIN; empty means the root, so relative names need a $ORIGIN.
// Owner and target names come back absolute without the trailing dot, as
// dotted text holding the octets the escapes stand for ("a\032b" is "a b");
// an escaped dot inside a label is an error, since dotted text cannot hold
// it. Label (63) and name (255 on the wire) limits count those octets. On
// error the status is InvalidArgument with message "filename:line:column:
// what is wrong" ("filename:line: ..." when the whole entry is at fault);
// when `error` is non-null it also receives the line, column and message.
absl::StatusOr<Zone> ParseZone(std::string_view text, std::string_view filename = "<zone>",
                               std::string_view origin = "", ZoneError* error = nullptr);

// `name` (dotted text, as in ResourceRecord) in master-file form: absolute
// with a trailing dot, octets outside printable ASCII (space included) as
// \DDD and the characters the syntax gives a meaning to ("\"();\\@$") as
// \X, so ParseZone reads it back as the same name. The root is ".".
std::string FormatZoneName(std::string_view name);

// A zone file that ParseZone reads back to `zone`: its records, then its
// faults, every name absolute and every TTL explicit, RDATA that would pass
// kMaxZoneLineLength spread over lines in parentheses. InvalidArgument naming
// the record when one cannot be written that way: a type the format has no
// keyword for, a name with an empty or over-long label, a TXT string over
// 255 bytes, empty TLSA data.
absl::StatusOr<std::string> FormatZone(const Zone& zone);

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_ZONE_H_
