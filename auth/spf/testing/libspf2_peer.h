// libspf2 1.2.10 (Debian's libspf2-dev, the library behind spfquery and
// postfix-policyd-spf-c) as a test peer: one SPF_server_t whose DNS is
// libspf2's own static zone layer (spf_dns_zone.h) filled from one scenario
// of the RFC 7208 suite, with the same driver conventions as SuiteResolver
// (rfc7208_suite.h). Test-only: linked into tests and benchmarks, never into
// a library. libspf2's headers stay out of this one.

#ifndef MXKIT_AUTH_SPF_TESTING_LIBSPF2_PEER_H_
#define MXKIT_AUTH_SPF_TESTING_LIBSPF2_PEER_H_

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "auth/spf/testing/rfc7208_suite.h"

struct SPF_server_struct;

namespace mxkit::auth::spf::testing {

struct Libspf2Answer {
  // "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror",
  // or "invalid" (libspf2's SPF_RESULT_INVALID, which it says it never
  // returns) as SPF_strresult spells them.
  std::string result;
  // SPF_response_get_explanation for "fail", else "".
  std::string explanation;
  // libspf2's reason and first error message, for humans.
  std::string detail;
};

// Which libspf2 DNS layers answer: its static zone alone (the differential
// test), or its caching layer (spf_dns_cache.h, what SPF_DNS_CACHE servers
// put in front of the resolver) in front of that zone, for the benchmark.
enum class Libspf2Dns { kZone, kZoneBehindCache };

class Libspf2Peer {
 public:
  // The suite's driver conventions for the peer: the receiver %{r} is
  // "unknown" (EvaluatorOptions' default) and the default explanation for a
  // fail without a usable exp= is "DEFAULT".
  static constexpr char kReceiver[] = "unknown";
  static constexpr char kDefaultExplanation[] = "DEFAULT";

  // Builds the server and its zone from ScenarioZone(scenario). Records the
  // zone layer cannot hold are left out and their owner names listed in
  // inexpressible_names() (see the .cc for which). Errors: a record libspf2
  // rejects (it names the record and libspf2's error code).
  static absl::StatusOr<std::unique_ptr<Libspf2Peer>> Create(const SuiteScenario& scenario,
                                                             Libspf2Dns dns = Libspf2Dns::kZone);

  ~Libspf2Peer();
  Libspf2Peer(const Libspf2Peer&) = delete;
  Libspf2Peer& operator=(const Libspf2Peer&) = delete;

  // The MAIL FROM check (SPF_request_query_mailfrom) for client `ip` (IPv4 or
  // IPv6 text), reverse-path `mail_from` and HELO name `helo`. For the null
  // reverse-path ("") libspf2 checks postmaster@<helo> in <helo> (it sets
  // env_from from the HELO name), the same question Evaluator::CheckMailFrom
  // asks (RFC 7208 §2.4). An unparsable `ip` gives result "invalid" with the
  // reason in detail. `with_detail` false leaves detail empty: the benchmark
  // times libspf2, not this wrapper's string building.
  Libspf2Answer Check(std::string_view ip, std::string_view mail_from, std::string_view helo,
                      bool with_detail = true) const;

  // Lower-case owner names with data the zone layer could not be given.
  const std::set<std::string>& inexpressible_names() const { return inexpressible_; }

 private:
  Libspf2Peer() = default;

  SPF_server_struct* server_ = nullptr;
  std::set<std::string> inexpressible_;
};

}  // namespace mxkit::auth::spf::testing

#endif  // MXKIT_AUTH_SPF_TESTING_LIBSPF2_PEER_H_
