// The cases the differential tests (differential_test.cc against pyspf,
// libspf2_diff_test.cc against libspf2) run through both implementations,
// and the shape of their tables of known disagreements. One home, so both
// peers answer exactly the same questions.

#ifndef MXKIT_AUTH_SPF_TESTING_DIFFERENTIAL_CASES_H_
#define MXKIT_AUTH_SPF_TESTING_DIFFERENTIAL_CASES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/spf/testing/rfc7208_suite.h"

namespace mxkit::auth::spf::testing {

// Bounds the generated cases per scenario so a peer run stays in seconds.
inline constexpr size_t kMaxDomainsPerScenario = 40;
inline constexpr size_t kMaxAddressesPerScenario = 24;

// Zones of our own beside the suite, in the suite's format
// (auth/spf/testdata/differential.yml, a data dependency of the tests).
inline constexpr char kDifferentialZones[] = "auth/spf/testdata/differential.yml";

struct DifferentialCase {
  size_t scenario;  // index into the Suite the cases were generated from
  std::string host, mailfrom, helo;
};

// Every test of `suite` as written, then per scenario: every domain with TXT
// data checked from every address in the zone, the tests' hosts, an outsider
// IPv4 and IPv6 and an IPv4-mapped client; and each such domain as a HELO
// identity with a null sender.
std::vector<DifferentialCase> GenerateDifferentialCases(const Suite& suite);

// The suite files at `paths` as one Suite, scenarios and tests in file order
// (test scenario indexes shifted to match). Errors name the file.
absl::StatusOr<Suite> LoadSuites(const std::vector<std::string>& paths);

// The domain check_host() starts from: after the last '@' of MAIL FROM, or the
// HELO name for a null reverse-path.
std::string CheckedDomain(const std::string& mailfrom, const std::string& helo);

// `s` with backslash escapes (\\, \t, \n, \xHH for other bytes outside
// printable ASCII): the pyspf driver's case format, and how reports print
// suite data with control bytes in it.
std::string Escape(const std::string& s);

// One row of a known-disagreement table. scenario, domain and host are
// fnmatch(3) patterns ("*" for any; plain text matches itself).
struct KnownDisagreement {
  const char* scenario;  // scenario description
  const char* domain;    // CheckedDomain() of the case
  const char* host;      // the client address as the case writes it
  const char* ours;      // our result ("fail:<explanation>" compares explanations)
  const char* peer;      // the peer's, the same way
  const char* why;       // the RFC 7208 section that decides it, and who is right
};

// True when `row` names this case (its results are compared by the caller).
bool Matches(const KnownDisagreement& row, const std::string& scenario, const DifferentialCase& c);

}  // namespace mxkit::auth::spf::testing

#endif  // MXKIT_AUTH_SPF_TESTING_DIFFERENTIAL_CASES_H_
