// A receiver's TLS profile: which versions, ciphers and groups it speaks,
// which certificate it presents, and how it handles STARTTLS, including the
// ways real receivers get it wrong. fakemx's flags (--tls-versions, --cert,
// --starttls) and, later, scenario files fill one in.

#ifndef MXKIT_TLS_RECEIVER_PROFILE_H_
#define MXKIT_TLS_RECEIVER_PROFILE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"
#include "tls/version.h"

namespace mxkit::tls {

// What the receiver does about STARTTLS (RFC 3207).
enum class StartTlsBehaviour {
  kOffer,           // advertise it, answer 220, handshake
  kHide,            // do not advertise it; STARTTLS gets 502 5.5.1 like any unknown command
  kRefuse454,       // advertise it, answer "454 4.7.0 TLS not available due to temporary reason"
  kRefuse502,       // advertise it, answer "502 5.5.1 Command not implemented"
  kAbortAfter220,   // answer 220, then close the connection before any handshake byte
  kAlertAfter220,   // answer 220, then send a fatal handshake_failure alert for the ClientHello
  kStallHandshake,  // answer 220, read the ClientHello, never answer it (until the idle timeout)
  kInjectAfter220,  // answer 220 followed at once, in the same write, by plaintext reply
                    // lines, to test a client for response injection (Poddebniak et al.,
                    // "Why TLS is better without STARTTLS", USENIX Security 2021 §5)
};

// Every behaviour, in the order above; names as in the flag: "offer",
// "hide", "refuse-454", "refuse-502", "abort-after-220", "alert-after-220",
// "stall-handshake", "inject-after-220".
absl::Span<const StartTlsBehaviour> AllStartTlsBehaviours();
std::string_view StartTlsBehaviourName(StartTlsBehaviour behaviour);
absl::StatusOr<StartTlsBehaviour> ParseStartTlsBehaviour(std::string_view name);
// Every name, in AllStartTlsBehaviours order, joined by ", ".
std::string StartTlsBehaviourNameList();

struct ReceiverProfile {
  VersionRange versions;
  std::string cipher_list;  // see ServerContextOptions
  std::string groups;
  CertVariant certificate = CertVariant::kGood;
  StartTlsBehaviour starttls = StartTlsBehaviour::kOffer;
};

// The server context for `profile`, presenting its certificate from `certs`
// (which must hold that variant). Errors name the profile field at fault.
absl::StatusOr<std::shared_ptr<const ServerContext>> BuildServerContext(
    const ReceiverProfile& profile, const CertificateSet& certs);

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_RECEIVER_PROFILE_H_
