// fakemx's command line: a handwritten parser (no absl/flags in Debian's
// abseil build) whose every error names the flag and says why it is wrong.

#ifndef MXKIT_FAKEMX_FLAGS_H_
#define MXKIT_FAKEMX_FLAGS_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "fakemx/capture.h"
#include "smtp/command.h"
#include "smtp/data.h"
#include "smtp/limits.h"
#include "tls/cert_factory.h"
#include "tls/receiver_profile.h"
#include "tls/version.h"

namespace mxkit::fakemx {

// RFC 5321 §4.5.3.2.7: "An SMTP server SHOULD have a timeout of at least 5
// minutes while it is awaiting the next command from the sender."
inline constexpr int64_t kDefaultIdleTimeoutSeconds = 5 * 60;
// RFC 5321 sets no bound on a whole session; an hour is far beyond any
// legitimate exchange (10 MiB at modem speed) and bounds a stuck peer.
inline constexpr int64_t kDefaultSessionTimeoutSeconds = 60 * 60;
// How long a SIGINT/SIGTERM waits for in-flight transactions to finish.
inline constexpr int64_t kDefaultShutdownGraceSeconds = 30;
// Threads that write and fsync messages into the Maildir. Disk flush
// latency, not CPU, is what they wait on; concurrent fdatasync()s from many
// threads share journal commits (ext4, xfs), so throughput grows with them.
// 0 stores on the network thread: fastest on tmpfs, where a store never
// waits, but one slow fsync then stalls every connection.
inline constexpr int64_t kDefaultStorageThreads = 16;
inline constexpr int64_t kMaxStorageThreads = 256;
// A day: a longer timer is almost certainly a typo (milliseconds?).
inline constexpr int64_t kMaxTimeoutSeconds = 24 * 60 * 60;
// --tls-ciphers and --tls-groups are handed to BoringSSL at start; a list
// longer than this is no list of names (BoringSSL's whole cipher table
// spelled out is about 1 KiB).
inline constexpr size_t kMaxTlsListFlag = 4096;
// --scenario names a catalogue entry or a file; PATH_MAX (Linux, 4096) bounds
// any path open() accepts.
inline constexpr size_t kMaxScenarioFlag = 4096;
// --dns's default: the port mDNS uses, free on a machine without Avahi, and
// one a test can point a stub resolver at without root (53 needs it).
inline constexpr uint16_t kDefaultDnsPort = 5353;
// --api's default: Mailpit's web/API port, so Mailpit clients left at their
// default find fakemx (fakemx/api_server.h kDefaultApiPort).
inline constexpr uint16_t kDefaultApiPortFlag = 8025;
// The scenario fakemx runs without --scenario.
inline constexpr std::string_view kDefaultScenario = "good";

struct FakemxFlags {
  // --smtp=HOST:PORT, HOST an IPv4 literal or a bracketed IPv6 literal.
  std::string smtp_host = "127.0.0.1";
  uint16_t smtp_port = 2525;
  std::string hostname;  // empty = the scenario's (its first receiver's)
  std::string maildir;   // empty = no Maildir: messages are captured in memory only
  int64_t idle_timeout_seconds = kDefaultIdleTimeoutSeconds;
  int64_t session_timeout_seconds = kDefaultSessionTimeoutSeconds;
  int64_t shutdown_grace_seconds = kDefaultShutdownGraceSeconds;
  uint64_t max_message_size = smtp::kDefaultMaxMessageSize;
  int64_t storage_threads = kDefaultStorageThreads;
  // --verbose: a line on stderr per connection and per reply sent.
  bool verbose = false;
  // Parser leniencies, each strict unless its flag is given (see FlagsUsage).
  smtp::CommandLeniencies command_leniencies;
  smtp::BareLineEndingPolicy data_bare_line_endings = smtp::BareLineEndingPolicy::kReject;
  smtp::NulPolicy data_nul = smtp::NulPolicy::kReject;

  // TLS: the default receiver's profile (tls/receiver_profile.h).
  tls::CertVariant cert = tls::CertVariant::kGood;                // --cert
  tls::VersionRange tls_versions;                                 // --tls-versions, 1.2-1.3
  std::string tls_ciphers;  // --tls-ciphers, BoringSSL syntax; "" = BoringSSL's default
  std::string tls_groups;   // --tls-groups, "X25519:P-256"; "" = BoringSSL's default
  tls::StartTlsBehaviour starttls = tls::StartTlsBehaviour::kOffer;  // --starttls
  // --smtps=HOST:PORT: the implicit-TLS listener (RFC 8314 §3.3); off unless given.
  bool smtps = false;
  std::string smtps_host;
  uint16_t smtps_port = 0;
  std::string tls_dir;      // --tls-dir; empty = a fresh temporary directory
  uint64_t cert_seed = 1;   // --cert-seed: same seed, same keys and certificates

  // --dns=HOST:PORT|off: where the scenario's DNS is served, UDP and TCP on
  // one port (fakemx/dns_listener.h); port 0 = any free one, printed.
  bool dns = true;
  std::string dns_host = "127.0.0.1";
  uint16_t dns_port = kDefaultDnsPort;
  // --mta-sts-port=N: the port every MTA-STS policy site listens on,
  // replacing the scenario's (443 by default); 0 = any free one, for tests.
  bool mta_sts_port_given = false;
  uint16_t mta_sts_port = 0;

  // --api=HOST:PORT|off: fakemx's HTTP API (fakemx/api_server.h, docs/api.md);
  // port 0 = any free one, printed at start.
  bool api = true;
  std::string api_host = "127.0.0.1";
  uint16_t api_port = kDefaultApiPortFlag;

  // --scenario=NAME|FILE: a catalogue name, or a YAML file (a path: it
  // contains '/' or ends in .yaml/.yml); empty = kDefaultScenario.
  std::string scenario;
  // --list-scenarios: print the catalogue, one "NAME  summary" line each, and exit.
  bool list_scenarios = false;
  // --capture-max-sessions / --capture-max-bytes: the bounds of the
  // in-memory capture (fakemx/capture.h); beyond them the oldest sessions
  // are evicted. 0 sessions keeps none (only the counters).
  uint64_t capture_max_sessions = CaptureLimits{}.max_sessions;
  uint64_t capture_max_bytes = CaptureLimits{}.max_bytes;

  // Every flag given on the command line, by name ("--hostname",
  // "--verbose"), so a scenario's own settings yield only to flags given
  // explicitly, and a flag that cannot apply can be refused by name.
  std::set<std::string, std::less<>> given;
  bool Given(std::string_view name) const { return given.find(name) != given.end(); }

  bool help = false;
  bool version = false;
};

// Parses argv[1..] (without the program name). Accepts "--name=value" and
// "--name value"; in the second form a value starting with "--" is refused
// as a forgotten value (write "--name=--value" to mean it). Switches
// (--verbose, --allow-...) take no value. Errors (InvalidArgument) read like
// "--idle-timeout=abc: not a whole number of seconds". Each flag may appear
// once. "--help"/"-h" and "--version" set `help`/`version` and end parsing:
// whatever follows is not looked at.
absl::StatusOr<FakemxFlags> ParseFlags(const std::vector<std::string_view>& args);

// The value of --data-bare-line-endings / --data-nul that selects `policy`.
std::string_view FlagValue(smtp::BareLineEndingPolicy policy);
std::string_view FlagValue(smtp::NulPolicy policy);

// The value of --cert / --starttls / --tls-versions that selects `x`.
std::string_view FlagValue(tls::CertVariant variant);
std::string_view FlagValue(tls::StartTlsBehaviour behaviour);
std::string FlagValue(const tls::VersionRange& range);

// The flags that set one receiver's listeners or behaviour (--smtp,
// --hostname, the TLS, limit, leniency and DATA flags): with a scenario of
// one receiver they override its settings; with several they are an error,
// because no receiver is "the" one they would apply to. The others
// (--maildir, --verbose, --tls-dir, --cert-seed, the timeouts, the storage
// and capture flags) concern the whole process and apply to any scenario.
absl::Span<const std::string_view> PerReceiverFlags();

// The per-receiver flags in `flags.given`, in PerReceiverFlags order.
std::vector<std::string_view> GivenPerReceiverFlags(const FakemxFlags& flags);

// Name tables shared with scenario files (fakemx/scenario.h), so a policy
// or leniency is spelled the same on the command line and in YAML.
//
// "reject", "pass-through", "accept-bare-lf-as-line-end", ...: the values
// of --data-bare-line-endings. Errors say "not a policy; one of ...".
absl::StatusOr<smtp::BareLineEndingPolicy> ParseBareLineEndingPolicy(std::string_view name);
std::string BareLineEndingPolicyNameList();  // every name, joined by ", "
// "reject", "pass-through": the values of --data-nul.
absl::StatusOr<smtp::NulPolicy> ParseNulPolicy(std::string_view name);
std::string NulPolicyNameList();

// A leniency of smtp/command.h: the switch is "--" + name.
struct CommandLeniencyName {
  std::string_view name;  // "allow-space-before-path"
  bool smtp::CommandLeniencies::*member;
};
absl::Span<const CommandLeniencyName> CommandLeniencyNames();
std::string CommandLeniencyNameList();  // every name, joined by ", "

// "HOST:PORT" as --smtp takes it: an IPv4 literal or a bracketed IPv6
// literal ("[::1]:25"; host stored without brackets), port 0-65535. Names
// are not resolved. Errors (InvalidArgument) say what is wrong, without
// repeating the value.
absl::Status ParseHostPort(std::string_view value, std::string* host, uint16_t* port);

// Whether `value` can be our name in 220/250 replies: 1-255 octets of
// printable ASCII without spaces (RFC 5321 §4.5.3.1.2, §2.3.5). Errors say why.
absl::Status CheckHostnameValue(std::string_view value);

// Whether `value` can be a --tls-ciphers / --tls-groups list: 1 to
// kMaxTlsListFlag octets of printable ASCII without spaces. Names are
// checked by BoringSSL when the context is built. Errors say why.
absl::Status CheckTlsListValue(std::string_view value);

// The --help text.
std::string FlagsUsage();

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_FLAGS_H_
