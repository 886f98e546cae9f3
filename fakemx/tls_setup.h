// fakemx's TLS at start: the certificate names, the test PKI for the
// certificate variants a scenario's receivers present, the PEM files a
// client under test is given (--tls-dir), and each receiver's server
// context, built before any listener is bound so a bad cipher list fails at
// start, naming the flag or the receiver, rather than at the first handshake.

#ifndef MXKIT_FAKEMX_TLS_SETUP_H_
#define MXKIT_FAKEMX_TLS_SETUP_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fakemx/flags.h"
#include "fakemx/scenario.h"
#include "tls/engine.h"
#include "tls/receiver_profile.h"

namespace mxkit::fakemx {

// The name used when the server's hostname cannot be a certificate's
// dNSName: ".test" is reserved for testing (RFC 2606 §2), so a client never
// resolves it to a real host.
inline constexpr std::string_view kFallbackCertificateHostname = "mx.test";

// The name the certificate is issued for: `hostname` in lower case when it
// is a domain (RFC 5321 §2.3.5 syntax) of at least two labels whose last
// label is not all digits (so never an IPv4 address); otherwise
// kFallbackCertificateHostname. A single-label machine name ("buildbox",
// "localhost") is no name a verifying client can be told to expect.
std::string CertificateHostname(std::string_view hostname);

// The file names in the TLS directory. One test root serves every
// receiver (the CAs depend on --cert-seed alone), so a client under test
// trusts one ca.pem whatever receiver it reaches.
inline constexpr std::string_view kCaFile = "ca.pem";        // the test root, to trust
inline constexpr std::string_view kChainFile = "chain.pem";  // what the first receiver serves,
                                                             // leaf first
inline constexpr std::string_view kKeyFile = "key.pem";      // its leaf's key, mode 0600
// Per receiver NAME (every receiver with TLS, the first included):
// NAME + kReceiverChainSuffix and NAME + kReceiverKeySuffix.
inline constexpr std::string_view kReceiverChainSuffix = ".chain.pem";
inline constexpr std::string_view kReceiverKeySuffix = ".key.pem";

// One receiver's TLS, in scenario order.
struct ReceiverTls {
  std::string receiver;  // its name
  // Null when the receiver has TLS off (no STARTTLS, no smtps listener).
  std::shared_ptr<const tls::ServerContext> context;
  std::string certificate_variant;   // "good"; empty when TLS is off
  std::string certificate_hostname;  // what the leaf is for ("mx.example.test")
  std::string chain_file;            // full paths; empty when TLS is off
  std::string key_file;
};

struct ScenarioTls {
  std::string dir;
  // --cert-seed, which the certificates were made from: BuildScenarioDns
  // (fakemx/scenario_dns.h) derives TLSA data, the MTA-STS host's chain and
  // DKIM keys from it, under the same test root.
  uint64_t cert_seed = 1;
  std::vector<ReceiverTls> receivers;  // one per scenario receiver, in order
};

// Creates `dir` (mode 0700) unless it is a directory already.
absl::Status MakeOutputDirectory(const std::string& dir);

// Writes `bytes` to dir/name with `mode`, through a temporary name and a
// rename, so a client reading the file while fakemx starts again never sees
// half a key; the mode is set before any byte is written.
absl::Status WriteOutputFile(const std::string& dir, std::string_view name, std::string_view bytes,
                             mode_t mode);

// Generates, from --cert-seed, every certificate the scenario's receivers
// present, each issued for its receiver's CertificateHostname (one
// CertificateSet per distinct name, holding every variant asked for under
// it); builds each receiver's server context from its TLS profile; then
// writes ca.pem, chain.pem and key.pem (the first receiver's, when it has
// TLS) and NAME.chain.pem, NAME.key.pem per receiver with TLS into `dir`
// (created, mode 0700, when missing; existing files are replaced). Nothing
// is written unless every receiver's TLS could be built.
// Errors name what is at fault: the flag, for a setting a flag gave
// (flags.given: "--tls-ciphers=FOO: cipher_list: ..."), else the scenario
// and receiver ("scenario x.yaml, receiver a.test: cipher_list: ..."), or
// the file.
absl::StatusOr<ScenarioTls> SetUpScenarioTls(const Scenario& scenario, const FakemxFlags& flags,
                                             const std::string& dir);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_TLS_SETUP_H_
