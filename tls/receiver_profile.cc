#include "tls/receiver_profile.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"

namespace mxkit::tls {
namespace {

using base::Av;

struct NamedBehaviour {
  std::string_view name;
  StartTlsBehaviour behaviour;
};

// The order of the enum, which AllStartTlsBehaviours() promises.
constexpr NamedBehaviour kBehaviours[] = {
    {"offer", StartTlsBehaviour::kOffer},
    {"hide", StartTlsBehaviour::kHide},
    {"refuse-454", StartTlsBehaviour::kRefuse454},
    {"refuse-502", StartTlsBehaviour::kRefuse502},
    {"abort-after-220", StartTlsBehaviour::kAbortAfter220},
    {"alert-after-220", StartTlsBehaviour::kAlertAfter220},
    {"stall-handshake", StartTlsBehaviour::kStallHandshake},
    {"inject-after-220", StartTlsBehaviour::kInjectAfter220},
};

constexpr StartTlsBehaviour kAll[] = {
    StartTlsBehaviour::kOffer,          StartTlsBehaviour::kHide,
    StartTlsBehaviour::kRefuse454,      StartTlsBehaviour::kRefuse502,
    StartTlsBehaviour::kAbortAfter220,  StartTlsBehaviour::kAlertAfter220,
    StartTlsBehaviour::kStallHandshake, StartTlsBehaviour::kInjectAfter220,
};

// An error quotes at most this much of what the user wrote: enough to
// recognise a typo, never a screenful from a fuzzer or a stray file.
constexpr size_t kMaxQuotedInput = 64;

std::string Quote(std::string_view input) { return base::QuoteForMessage(input, kMaxQuotedInput); }

}  // namespace

absl::Span<const StartTlsBehaviour> AllStartTlsBehaviours() { return kAll; }

std::string_view StartTlsBehaviourName(StartTlsBehaviour behaviour) {
  for (const NamedBehaviour& b : kBehaviours) {
    if (b.behaviour == behaviour) return b.name;
  }
  return "unknown";
}

std::string StartTlsBehaviourNameList() {
  std::string names;
  for (const NamedBehaviour& b : kBehaviours) {
    if (!names.empty()) names += ", ";
    names += b.name;
  }
  return names;
}

absl::StatusOr<StartTlsBehaviour> ParseStartTlsBehaviour(std::string_view name) {
  for (const NamedBehaviour& b : kBehaviours) {
    if (b.name == name) return b.behaviour;
  }
  return absl::InvalidArgumentError(absl::StrCat("STARTTLS behaviour ", Quote(name),
                                                 " is not one of ", StartTlsBehaviourNameList()));
}

absl::StatusOr<std::shared_ptr<const ServerContext>> BuildServerContext(
    const ReceiverProfile& profile, const CertificateSet& certs) {
  absl::StatusOr<const ServedCertificate*> served = certs.Get(profile.certificate);
  if (!served.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "certificate: variant ", Av(CertVariantName(profile.certificate)),
        " was not generated in this certificate set: ", served.status().message()));
  }
  ServerContextOptions options;
  options.versions = profile.versions;
  options.cipher_list = profile.cipher_list;
  options.groups = profile.groups;
  options.certificate_chain_pem = (*served)->chain_pem;
  options.private_key_pem = (*served)->key_pem;
  absl::StatusOr<std::shared_ptr<const ServerContext>> context = ServerContext::Create(options);
  if (!context.ok()) {
    // ServerContext names its option ("cipher_list: ..."); the profile's
    // fields carry the same names, except the chain and key, which come
    // from `certificate`.
    std::string message = base::StatusText(context.status());
    if (absl::StartsWith(message, "certificate_chain_pem") ||
        absl::StartsWith(message, "private_key_pem")) {
      message = absl::StrCat("certificate ", Av(CertVariantName(profile.certificate)), ": ",
                             message);
    }
    return absl::Status(context.status().code(), message);
  }
  return context;
}

}  // namespace mxkit::tls
