// The openspf RFC 7208 test suite (shared/conformance/spf/rfc7208-tests.yml)
// as data: its scenarios, zones and tests, and a Resolver serving a scenario's
// zone with the suite's driver conventions (README beside the YAML file):
//   - an SPF record is also served as TXT unless the name has explicit TXT;
//   - "TXT: NONE" means the name has no TXT record;
//   - TIMEOUT makes queries for the name time out. pyspf's reference driver
//     applies it only to query types with no records listed before it, and the
//     suite depends on that (spftimeout: TXT present, TIMEOUT after it, result
//     fail), so a name with TIMEOUT and records times out for the other types.
// Test-only: the conformance test, the pyspf differential test, the suite
// run through the mxkit CLI (tools/mxkit/rfc7208_cli_test.cc) and the
// benchmark share it.

#ifndef MXKIT_AUTH_SPF_TESTING_RFC7208_SUITE_H_
#define MXKIT_AUTH_SPF_TESTING_RFC7208_SUITE_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dns/resolver.h"
#include "dns/static_resolver.h"
#include "dns/zone.h"

namespace mxkit::auth::spf::testing {

// RR type 99 (RFC 4408's SPF type, obsoleted by RFC 7208 §3.1). Served so a
// name that only has SPF records exists (NODATA for TXT, not NXDOMAIN).
inline constexpr dns::RrType kSpfType = static_cast<dns::RrType>(99);

struct SuiteTest {
  std::string name;         // the YAML key, e.g. "toolonglabel"
  std::string description;  // may be empty
  std::string spec;
  std::string helo, host, mailfrom;
  std::vector<std::string> results;        // acceptable results, preferred first
  std::optional<std::string> explanation;  // expected exp= text
  size_t scenario = 0;                     // index into Suite::scenarios
};

struct SuiteScenario {
  std::string description;
  std::vector<dns::ResourceRecord> records;
  // Lower-cased names with TIMEOUT.
  std::set<std::string> timeout_names;
};

struct Suite {
  std::vector<SuiteScenario> scenarios;
  std::vector<SuiteTest> tests;
};

// Where the suite is looked for: $MXKIT_SHARED_DIR/conformance/spf/rfc7208-tests.yml,
// or "" when MXKIT_SHARED_DIR is unset.
std::string SuitePath();

// Parses the suite's YAML text (a stream of documents; scalars are taken as
// Latin-1 bytes, per the suite README). Errors name the document and key.
absl::StatusOr<Suite> ParseSuite(std::string_view yaml_text);

// Reads and parses the file at `path`.
absl::StatusOr<Suite> LoadSuite(const std::string& path);

// One scenario's zone with the driver conventions applied (file comment):
// its records, SPF ones as kSpfType and as TXT, and a $TIMEOUT fault for
// every TIMEOUT name: for every type when the name has no records, else one
// per type in kTimeoutTypes that it has no records of.
dns::Zone ScenarioZone(const SuiteScenario& scenario);

// The types a partial TIMEOUT covers: every type a zone file can name.
inline constexpr dns::RrType kTimeoutTypes[] = {
    dns::RrType::kA,   dns::RrType::kAaaa, dns::RrType::kMx,  dns::RrType::kTxt,
    dns::RrType::kPtr, dns::RrType::kCname, dns::RrType::kNs, dns::RrType::kSoa,
    dns::RrType::kTlsa,
};

// Serves ScenarioZone(scenario). Both entry points forward to the
// StaticResolver's own: LookupSync must too, or the base class's version
// would route every synchronous lookup through Lookup and a std::function
// callback, a cost no caller of a StaticResolver pays (and libspf2's zone
// layer, which the benchmark compares with, does not either).
class SuiteResolver : public dns::Resolver {
 public:
  explicit SuiteResolver(const SuiteScenario& scenario);
  void Lookup(std::string_view name, dns::RrType type, Callback done) override;
  dns::LookupResult LookupSync(std::string_view name, dns::RrType type) override;

 private:
  dns::StaticResolver zone_;
};

}  // namespace mxkit::auth::spf::testing

#endif  // MXKIT_AUTH_SPF_TESTING_RFC7208_SUITE_H_
