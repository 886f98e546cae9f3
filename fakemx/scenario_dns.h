// The DNS world a scenario describes: for each receiver domain the records a
// sender looks up (MX, A, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, TLSA), made
// from the receiver's settings and its generated certificates, plus the
// scenario's own zone text and its faults; and the MTA-STS policy sites the
// HTTPS policy host serves. fakemx/main.cc hands `zones` to
// dns::AuthoritativeResponder (fakemx/dns_listener.h) and `policy_sites` to
// MtaStsHost (fakemx/mta_sts_host.h).
#ifndef MXKIT_FAKEMX_SCENARIO_DNS_H_
#define MXKIT_FAKEMX_SCENARIO_DNS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dns/authoritative.h"
#include "fakemx/mta_sts_host.h"
#include "fakemx/scenario.h"
#include "fakemx/tls_setup.h"

namespace mxkit::fakemx {

// A DKIM signing key made for a receiver domain, so the sender under test
// can sign as that domain and fakemx's DNS publishes the matching record.
struct DkimKey {
  std::string domain;        // "example.test"
  std::string selector;      // "mxkit"
  std::string algorithm;     // "ed25519" or "rsa"
  std::string private_pem;   // PKCS#8
  std::string key_file;      // where it was written: DIR/DOMAIN.SELECTOR.dkim.pem
};

struct ScenarioDns {
  std::vector<dns::ServedZone> zones;        // one per receiver domain, plus the
                                             // scenario's extra zones
  std::vector<MtaStsSite> policy_sites;      // one per receiver with mta_sts
  std::vector<DkimKey> dkim_keys;
};

// Builds the zones, policy sites and DKIM keys, deterministically from the
// scenario and --cert-seed (the same inputs give the same records and keys),
// and writes each DKIM key into `key_dir` (mode 0600). `tls` supplies the
// certificates TLSA records are derived from and the policy host's chain.
// A receiver's MX host name resolves to the address of its first smtp
// listener (DNS carries no port: a sender under test is pointed at the port
// separately, or the listener is on 25). Errors name the scenario, receiver
// and setting at fault.
absl::StatusOr<ScenarioDns> BuildScenarioDns(const Scenario& scenario, const ScenarioTls& tls,
                                             const std::string& key_dir);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_SCENARIO_DNS_H_
