// The command line applied to a scenario (fakemx/scenario.h) before it is
// served: the flags that set one receiver (PerReceiverFlags, fakemx/flags.h)
// override a one-receiver scenario's settings when given explicitly, so a
// test can run any catalogue entry on a free port or with another
// certificate; with several receivers they are refused, since no receiver
// is "the" one they would apply to.

#ifndef MXKIT_FAKEMX_SCENARIO_FLAGS_H_
#define MXKIT_FAKEMX_SCENARIO_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fakemx/flags.h"
#include "fakemx/scenario.h"

namespace mxkit::fakemx {

// Applies the flags given explicitly (flags.given) to `scenario`:
//   --smtp replaces the receiver's first plain listener (added when it has
//   none); --smtps replaces its first implicit-TLS listener (added when it
//   has none); --hostname, --max-message-size, --data-bare-line-endings and
//   --data-nul replace its settings; a leniency switch turns that leniency
//   on; --cert, --starttls and --tls-* set its TLS profile and turn TLS on
//   (a flag about TLS on a receiver without TLS would otherwise do nothing);
//   --idle-timeout sets every receiver's idle timeout, whatever the number
//   of receivers (it is one of the process-wide timeouts).
// Flags not given leave the scenario's values alone, even where their
// defaults differ. InvalidArgument when per-receiver flags are given and
// the scenario has other than one receiver, naming the flags and the
// receivers; the scenario is then unchanged.
absl::Status ApplyFlagsToScenario(const FakemxFlags& flags, Scenario& scenario);

// Start-up warnings about the scenario as it will be served, one line each
// without the "fakemx: warning: " prefix: each receiver whose DATA policy
// makes it vulnerable to SMTP smuggling on purpose. When the policy came
// from --data-bare-line-endings the line names the flag, as fakemx always
// has; when it came from the scenario, it names the receiver.
std::vector<std::string> ScenarioWarnings(const FakemxFlags& flags, const Scenario& scenario);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_SCENARIO_FLAGS_H_
