// fakemx's TLS at start: the certificate name, the test PKI for the
// --cert variant, the PEM files a client under test is given (--tls-dir),
// and the server context of the --tls-* flags, built before any listener is
// bound so a bad --tls-ciphers fails at start, naming the flag, rather than
// at the first handshake.

#ifndef MXKIT_FAKEMX_TLS_SETUP_H_
#define MXKIT_FAKEMX_TLS_SETUP_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "fakemx/flags.h"
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

// The receiver profile the flags describe.
tls::ReceiverProfile ProfileFromFlags(const FakemxFlags& flags);

struct TlsSetup {
  std::shared_ptr<const tls::ServerContext> context;
  std::string certificate_variant;  // "good"
  std::string certificate_hostname;  // what the leaf is for ("mx.test")
  std::string dir;                  // where the PEM files are
};

// The file names in the TLS directory.
inline constexpr std::string_view kCaFile = "ca.pem";        // the test root, to trust
inline constexpr std::string_view kChainFile = "chain.pem";  // what fakemx serves, leaf first
inline constexpr std::string_view kKeyFile = "key.pem";      // the leaf's key, mode 0600

// Generates the --cert variant for `certificate_hostname` from --cert-seed,
// builds the server context from the --tls-* flags, and writes ca.pem,
// chain.pem and key.pem into `dir` (created, mode 0700, when missing;
// existing files are replaced). Errors name the flag at fault
// ("--tls-ciphers=FOO: ...") or the file.
absl::StatusOr<TlsSetup> SetUpTls(const FakemxFlags& flags, std::string_view certificate_hostname,
                                  const std::string& dir);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_TLS_SETUP_H_
