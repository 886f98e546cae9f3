#include "fakemx/behaviour.h"

namespace mxkit::fakemx {

smtp::Decision ReceiverBehaviour::OnStartTls() {
  switch (starttls_) {
    case tls::StartTlsBehaviour::kRefuse454:
      // RFC 3207 §4: the reply for a server that cannot start TLS now.
      return smtp::Decision::Reject(454, "4.7.0", "TLS not available due to temporary reason");
    case tls::StartTlsBehaviour::kRefuse502:
      // Advertised, then "not implemented": a real misconfiguration (a
      // front end that lists what the back end does not do).
      return smtp::Decision::Reject(502, "5.5.1", "Command not implemented");
    default:
      return smtp::Decision::Accept();
  }
}

bool ReceiverBehaviour::advertises_starttls() const {
  return starttls_ != tls::StartTlsBehaviour::kHide;
}

std::string_view ReceiverBehaviour::injected_after_starttls_220() const {
  return starttls_ == tls::StartTlsBehaviour::kInjectAfter220 ? kInjectedReplies
                                                               : std::string_view();
}

BehaviourFactory ReceiverBehaviourFactory(tls::StartTlsBehaviour starttls) {
  return [starttls](const ConnectionInfo&) { return std::make_unique<ReceiverBehaviour>(starttls); };
}

}  // namespace mxkit::fakemx
