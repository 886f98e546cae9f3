#include "fakemx/scenario_flags.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "absl/strings/str_join.h"
#include "base/absl_interop.h"

namespace mxkit::fakemx {
namespace {

// Replaces the first listener of `mode`, keeping its place, or adds one:
// a plain listener first (it is what "listening on smtp" reports), an
// implicit-TLS one last.
void SetListener(Receiver& receiver, ListenerMode mode, const std::string& host, uint16_t port) {
  ListenerSpec spec;
  spec.host = host;
  spec.port = port;
  spec.mode = mode;
  auto it = std::find_if(receiver.listeners.begin(), receiver.listeners.end(),
                         [mode](const ListenerSpec& l) { return l.mode == mode; });
  if (it != receiver.listeners.end()) {
    *it = spec;
  } else if (mode == ListenerMode::kSmtp) {
    receiver.listeners.insert(receiver.listeners.begin(), spec);
  } else {
    receiver.listeners.push_back(spec);
  }
}

bool VulnerableToSmuggling(smtp::BareLineEndingPolicy policy) {
  return policy != smtp::BareLineEndingPolicy::kReject &&
         policy != smtp::BareLineEndingPolicy::kPassThrough;
}

}  // namespace

absl::Status ApplyFlagsToScenario(const FakemxFlags& flags, Scenario& scenario) {
  const std::vector<std::string_view> per_receiver = GivenPerReceiverFlags(flags);
  if (!per_receiver.empty() && scenario.receivers.size() != 1) {
    std::vector<std::string_view> names;
    for (const Receiver& r : scenario.receivers) names.push_back(r.name);
    return absl::InvalidArgumentError(
        absl::StrJoin(per_receiver, ", ", base::AppendStdView) + ": scenario " + scenario.name + " has " +
        std::to_string(scenario.receivers.size()) + " receivers (" + absl::StrJoin(names, ", ", base::AppendStdView) +
        "); these flags set one receiver, so they apply only to a scenario of one. Set them "
        "per receiver in the scenario file");
  }
  if (flags.Given("--idle-timeout")) {
    for (Receiver& r : scenario.receivers) {
      r.idle_timeout = std::chrono::seconds(flags.idle_timeout_seconds);
    }
  }
  if (per_receiver.empty()) return absl::OkStatus();

  Receiver& r = scenario.receivers.front();
  if (flags.Given("--smtp")) {
    SetListener(r, ListenerMode::kSmtp, flags.smtp_host, flags.smtp_port);
  }
  if (flags.Given("--smtps")) {
    SetListener(r, ListenerMode::kSmtps, flags.smtps_host, flags.smtps_port);
    r.tls.enabled = true;
  }
  if (flags.Given("--hostname")) r.hostname = flags.hostname;
  if (flags.Given("--max-message-size")) r.limits.max_message_size = flags.max_message_size;
  if (flags.Given("--data-bare-line-endings")) {
    r.data_bare_line_endings = flags.data_bare_line_endings;
  }
  if (flags.Given("--data-nul")) r.data_nul = flags.data_nul;
  for (const CommandLeniencyName& leniency : CommandLeniencyNames()) {
    if (flags.Given("--" + std::string(leniency.name))) r.leniencies.*(leniency.member) = true;
  }
  tls::ReceiverProfile& profile = r.tls.profile;
  struct TlsFlag {
    std::string_view name;
    void (*apply)(const FakemxFlags&, tls::ReceiverProfile&);
  };
  static constexpr TlsFlag kTlsFlags[] = {
      {"--cert", [](const FakemxFlags& f, tls::ReceiverProfile& p) { p.certificate = f.cert; }},
      {"--starttls",
       [](const FakemxFlags& f, tls::ReceiverProfile& p) { p.starttls = f.starttls; }},
      {"--tls-versions",
       [](const FakemxFlags& f, tls::ReceiverProfile& p) { p.versions = f.tls_versions; }},
      {"--tls-ciphers",
       [](const FakemxFlags& f, tls::ReceiverProfile& p) { p.cipher_list = f.tls_ciphers; }},
      {"--tls-groups",
       [](const FakemxFlags& f, tls::ReceiverProfile& p) { p.groups = f.tls_groups; }},
  };
  for (const TlsFlag& t : kTlsFlags) {
    if (!flags.Given(t.name)) continue;
    t.apply(flags, profile);
    r.tls.enabled = true;
  }
  return absl::OkStatus();
}

std::vector<std::string> ScenarioWarnings(const FakemxFlags& flags, const Scenario& scenario) {
  std::vector<std::string> warnings;
  for (const Receiver& r : scenario.receivers) {
    if (!VulnerableToSmuggling(r.data_bare_line_endings)) continue;
    const std::string policy(FlagValue(r.data_bare_line_endings));
    // The flag applies to the only receiver; the wording of a flag given is
    // the one fakemx has always printed (tests look for it).
    const std::string what = flags.Given("--data-bare-line-endings")
                                 ? "--data-bare-line-endings=" + policy
                                 : "receiver " + r.name + " (scenario " + scenario.name +
                                       ", data bare line endings " + policy + ")";
    warnings.push_back(what +
                       " makes this server vulnerable to SMTP smuggling, on purpose "
                       "(CVE-2023-51764/51765/51766)");
  }
  return warnings;
}

}  // namespace mxkit::fakemx
