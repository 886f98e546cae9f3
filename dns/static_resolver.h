// An in-memory Resolver: records added one by one or loaded from an RFC 1035
// master file, and failures injected per name. SPF, DKIM, DMARC and fakemx
// tests run against it so they never touch the network.

#ifndef MXKIT_DNS_STATIC_RESOLVER_H_
#define MXKIT_DNS_STATIC_RESOLVER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "dns/resolver.h"
#include "dns/zone.h"  // Fault

namespace mxkit::dns {

class StaticResolver : public Resolver {
 public:
  // Longest CNAME chain followed before a lookup fails; real resolvers bound
  // this too (BIND's max chain is 16).
  static constexpr size_t kMaxCnameChain = 16;

  StaticResolver();

  // Adds one record. `record.name` is absolute; a trailing dot is allowed and
  // dropped. Names compare case-insensitively (RFC 4343). Duplicates are kept.
  // Every ancestor of the name, up to the root, then exists too: as an empty
  // non-terminal when it has no records of its own (RFC 8020 §2).
  void Add(ResourceRecord record);

  // Makes every query for `name` (any type) fail with `fault`. A fault on a
  // name reached through a CNAME fails the lookup the same way.
  void AddFault(std::string_view name, Fault fault);

  // The same for queries of one `type` only; other types are answered from
  // the records. A fault for every type takes precedence.
  void AddFault(std::string_view name, RrType type, Fault fault);

  // Parses an RFC 1035 §5 master-file subset (see dns/zone.h) and adds its
  // records and $TIMEOUT/$SERVFAIL faults. On error nothing is added and the
  // status message reads "filename:line:column: what is wrong" (ParseZone).
  absl::Status LoadZone(std::string_view text, std::string_view filename = "<zone>");

  // Completes inline. kAnswer with the records of `type` in the order they
  // were added (after following CNAMEs, which are listed in cname_chain);
  // kNxDomain when neither the name nor any name below it has a record;
  // kNoData when it has records of other types only, or none of its own but
  // some below it (an empty non-terminal: RFC 8020 §2, RFC 4592 §2.2.2, as a
  // real server answers); kTemporaryFailure for an injected fault;
  // kPermanentFailure for a CNAME loop, a chain longer than kMaxCnameChain,
  // or a malformed name.
  void Lookup(std::string_view name, RrType type, Callback done) override;

  // The same result as Lookup, returned without going through a Callback.
  LookupResult LookupSync(std::string_view name, RrType type) override;

  // Always answers inline: the same result as LookupSync, into `out`.
  bool LookupInline(std::string_view name, RrType type, LookupResult& out) override;

  // Number of records added so far (for tests and diagnostics).
  size_t size() const { return record_count_; }

 private:
  struct Node {
    // Empty for an empty non-terminal: a name that exists only because a
    // name below it has records.
    std::vector<ResourceRecord> records;
  };
  struct Faults {
    std::optional<Fault> every_type;
    absl::flat_hash_map<RrType, Fault> by_type;
  };

  LookupResult Resolve(std::string_view name, RrType type) const;

  // Every name with records and every ancestor of one, keyed by the
  // lower-cased name without the trailing dot; looked up with a lower-cased
  // view (no allocation for names of legal length).
  absl::flat_hash_map<std::string, Node> names_;
  absl::flat_hash_map<std::string, Faults> faults_;
  size_t record_count_ = 0;
};

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_STATIC_RESOLVER_H_
