// A fakemx scenario: one or more receivers (fake MX hosts, each named after
// the recipient domain it plays), each saying exactly how it misbehaves, read
// from YAML (docs/scenarios.md documents every field) or taken from the
// built-in catalogue (`fakemx --list-scenarios`).
//
// This file is the data model and its parser only: no sockets, no TLS
// objects, no clocks. fakemx/scenario_behaviour.h turns a Receiver into the
// per-connection Behaviour; the server binds its listeners.
//
// Parsing is strict: an unknown key, a wrong type, a value out of range or a
// contradiction (an implicit-TLS listener with TLS off, a greylist delay of
// zero) is an error naming "file:line:column" and what is wrong, returned
// before anything listens. A typo must never silently do nothing.

#ifndef MXKIT_FAKEMX_SCENARIO_H_
#define MXKIT_FAKEMX_SCENARIO_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "smtp/command.h"
#include "smtp/data.h"
#include "smtp/limits.h"
#include "smtp/server_session.h"
#include "tls/receiver_profile.h"

namespace mxkit::fakemx {

// Bounds that keep a scenario file from asking for absurd resources; each
// is far above any sensible test.
inline constexpr size_t kMaxScenarioFileBytes = 1u << 20;
inline constexpr size_t kMaxReceivers = 256;
inline constexpr size_t kMaxListenersPerReceiver = 16;
inline constexpr size_t kMaxRulesPerReceiver = 1024;
inline constexpr size_t kMaxReplyLines = 100;
// A delay longer than a day is a typo (milliseconds written as seconds?).
inline constexpr std::chrono::milliseconds kMaxScenarioDelay = std::chrono::hours(24);
// YAML nodes the parser visits, an alias counted at every use: yaml-cpp
// shares an aliased node instead of copying it, so a "billion laughs" file
// is small in memory but exponential to walk. A scenario written by hand
// has hundreds; 256 receivers with 16 rules each, a few tens of thousands.
inline constexpr size_t kMaxScenarioNodes = 100000;
// A raw reply is test garbage, not a message.
inline constexpr size_t kMaxRawReplyBytes = 64 * 1024;
inline constexpr size_t kMaxEhloKeywords = 64;
inline constexpr size_t kMaxCredentials = 1024;
inline constexpr size_t kMaxChaosReplies = 64;
inline constexpr size_t kMaxGreylistEntries = 10000000;
// Names of scenarios and rules, descriptions, user names and passwords.
inline constexpr size_t kMaxScenarioName = 64;
inline constexpr size_t kMaxScenarioDescription = 200;
inline constexpr size_t kMaxCredentialBytes = 255;
// limits: a receiver may allow more than the RFC 5321 floors (§4.5.3.1),
// never less, and not absurdly more.
inline constexpr size_t kMaxScenarioRecipients = 100000;
inline constexpr size_t kMaxScenarioCommandLine = 64 * 1024;
inline constexpr size_t kMaxScenarioTextLine = 1024 * 1024;
inline constexpr uint64_t kMaxScenarioMessageSize = uint64_t{1} << 32;

// Where a value came from, for errors and for naming rules in captures.
struct SourcePosition {
  int line = 0;    // 1-based; 0 = built in, no position
  int column = 0;  // 1-based
};

// A reply a scenario sends in place of the session's own.
//   reply: "550 5.1.1 No such user"      # CODE [ENHANCED] [TEXT]
//   reply: {code: 550, enhanced: 5.1.1, text: "No such user"}
//   reply: {code: 250, lines: [first, second]}
//   reply: {raw: "garbage\x00\xff\r\n"}  # one octet per character, U+0000-U+00FF
struct ScenarioReply {
  int code = 0;             // 200-599; 0 only with raw
  std::string enhanced;     // "5.1.1"; must match the code's class; empty = the session's
  std::vector<std::string> lines;  // `text` is lines of one; empty = the session's text
  std::string raw;          // sent verbatim instead, when set
};

// What a matched rule does.
enum class RuleAction {
  kReply,       // send `reply` instead of the session's answer (no other effect)
  kReject,      // refuse the step with `reply` (4xx/5xx): MAIL starts no transaction, ...
  kAccept,      // let the session accept; `reply` text (if any) replaces its text
  kUnknown,     // answer as an unknown command: a hidden verb
  kNoReply,     // never answer (the receiver hangs until the idle timeout)
  kDisconnect,  // send `reply` (default 421 4.3.2) and close
  kDrop,        // close without a reply
  kReset,       // reset the TCP connection (RST)
};
// "reply", "reject", "accept", "unknown", "no-reply", "disconnect", "drop", "reset".
std::string_view RuleActionName(RuleAction action);

// The stage a rule applies at. Command stages are the verb; `connect` is
// the greeting; `message` is the end of the message data (before its final
// reply); `any` is every command.
//   rules:
//     - {at: RCPT, match: "*@unknown.test", action: reject, reply: {code: 550, ...}}
//     - {at: RCPT, after_recipients: 2, action: reject, reply: {code: 452, ...}}
//     - {at: message, size_over: 100000, action: reject, reply: {code: 552, ...}}
//     - {at: NOOP, tls: false, action: no-reply}
struct Rule {
  std::string name;  // `name:` or "rules[N]" (N from 0); shown in captures
  SourcePosition position;
  // Match (all given conditions must hold).
  std::string at;                   // upper-cased verb, or "connect", "message", "any"
  std::optional<std::string> match; // glob (* and ?), ASCII case-insensitive, on the MAIL/RCPT
                                    // address (without <>), on the argument of other verbs
  std::optional<bool> tls;          // only before (false) or after (true) TLS
  std::optional<size_t> after_recipients;  // RCPT: at least this many already accepted
  std::optional<uint64_t> size_over;       // MAIL SIZE= or message: more octets than this
  std::optional<uint64_t> nth;      // only the Nth time this rule matches in a connection (1-based)
  // Effect. Without `action:` a rule needs a reply and is kReply.
  RuleAction action = RuleAction::kReply;
  std::optional<ScenarioReply> reply;
  std::chrono::milliseconds delay{0};  // before the reply (or the close)
};

// The greeting.
//   greeting: {code: 554, text: "No SMTP service here", delay: 2s}
struct GreetingSpec {
  std::optional<ScenarioReply> reply;  // unset = "220 <hostname> ESMTP mxkit"
  std::chrono::milliseconds delay{0};
  bool drop = false;        // close before any greeting (disconnect before greeting)
  bool reset = false;       // RST before any greeting
};

// EHLO/HELO.
//   ehlo: {esmtp: false}                               # EHLO answered 500, HELO only
//   ehlo: {before_tls: [PIPELINING, SIZE, STARTTLS], after_tls: [PIPELINING, AUTH, 8BITMIME]}
struct EhloSpec {
  bool esmtp = true;  // false: EHLO is answered as an unknown command (RFC 821 server)
  // Keywords offered; known ones (PIPELINING SIZE 8BITMIME SMTPUTF8 STARTTLS
  // CHUNKING BINARYMIME DSN ENHANCEDSTATUSCODES AUTH) switch the session's
  // extension on, any other word is advertised as given and not
  // implemented. Unset = the session's defaults (and STARTTLS/AUTH as the
  // starttls and auth sections say).
  std::optional<std::vector<std::string>> before_tls;
  std::optional<std::vector<std::string>> after_tls;
};

enum class ListenerMode { kSmtp, kSmtps };

//   listeners: ["127.0.0.2:25", {address: "127.0.0.2:465", mode: smtps}]
struct ListenerSpec {
  std::string host;   // an IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;  // 0 = any free port (printed at start)
  ListenerMode mode = ListenerMode::kSmtp;
  SourcePosition position;
};

// STARTTLS and TLS.
//   starttls: {behaviour: offer, certificate: expired, versions: "1.0-1.0",
//              ciphers: "...", groups: "X25519", reply: {...}, switch: false}
struct TlsSpec {
  bool enabled = true;     // false: no TLS at all (STARTTLS not offered, no smtps)
  tls::ReceiverProfile profile;  // behaviour (starttls), certificate, versions, ciphers, groups
  // Replaces "220 2.0.0 Ready to start TLS" (the handshake still follows
  // unless `switch_to_tls` is false).
  std::optional<ScenarioReply> reply;
  // false: answer STARTTLS (with `reply` or 220) and stay in plaintext, so
  // the client's ClientHello reaches the SMTP parser.
  bool switch_to_tls = true;
};

struct Credential {
  std::string user;
  std::string password;
};

//   auth: {mechanisms: [PLAIN, LOGIN, CRAM-MD5], required: true,
//          credentials: [{user: alice, password: secret}], tls_only: true}
struct AuthSpec {
  std::vector<std::string> mechanisms;  // upper-cased; PLAIN, LOGIN, CRAM-MD5
  std::vector<Credential> credentials;
  bool required = false;  // MAIL before AUTH gets 530 5.7.0 (RFC 4954 §6)
  bool tls_only = false;  // AUTH offered only after TLS (RFC 4954 §4 advice)
};

// Greylisting: the first attempt of a (client address, sender, recipient)
// triplet is refused at RCPT with 451; a retry before `delay` is refused
// again; one after it is accepted (and the triplet stays accepted).
//   greylist: {delay: 60s, reply: {code: 451, enhanced: 4.7.1, text: "..."}}
struct GreylistSpec {
  std::chrono::milliseconds delay{std::chrono::seconds(60)};
  ScenarioReply reply;  // default 451 4.7.1 Greylisted, try again later
  size_t max_entries = 100000;  // oldest triplet forgotten beyond this
};

// Tarpitting: every reply waits `per_reply`; with `per_byte`, replies are
// also written one byte at a time, that long apart.
struct TarpitSpec {
  std::chrono::milliseconds per_reply{0};
  std::chrono::milliseconds per_byte{0};
};

// Dropping the line at set points.
//   disconnect: {after_data: true}              # message read, no reply, closed
//   disconnect: {mid_data_after_bytes: 512, reset: true}
struct DisconnectSpec {
  bool after_data = false;                  // after the end of data, before the reply
  std::optional<uint64_t> mid_data_after_bytes;  // after this many DATA or BDAT content octets
  bool reset = false;                       // these disconnects send RST instead of FIN
};

// Seeded random faults, replayable: at each listed stage, with probability
// p, one of `replies` (default 421/451/550 style) instead of the normal
// answer. The generator is seeded from `seed` and the connection's ordinal
// on its receiver, so the same seed and the same traffic give the same
// replies in every run.
//   chaos: {seed: 42, stages: {MAIL: 0.1, RCPT: 0.2, message: 0.05}}
struct ChaosSpec {
  uint64_t seed = 0;
  std::vector<std::pair<std::string, double>> stages;  // stage as in Rule::at, probability 0..1
  std::vector<ScenarioReply> replies;  // empty = 421 4.3.2, 451 4.3.0, 452 4.5.3, 550 5.7.1, 554 5.3.0
};

struct Receiver {
  std::string name;      // the domain it plays, "example.test"
  std::string hostname;  // name in the greeting and EHLO; default "mx." + name
  SourcePosition position;
  std::vector<ListenerSpec> listeners;
  GreetingSpec greeting;
  EhloSpec ehlo;
  TlsSpec tls;
  AuthSpec auth;
  std::vector<Rule> rules;  // first match wins, in file order
  std::optional<GreylistSpec> greylist;
  TarpitSpec tarpit;
  DisconnectSpec disconnect;
  std::optional<ChaosSpec> chaos;
  // smtp/ leniencies by name (leniencies: [allow-space-before-path, ...]),
  // the DATA policies by the names of fakemx's flags
  // (data_bare_line_endings: accept-bare-lf-as-line-end, ...; data_nul:
  // pass-through) and limits.
  smtp::CommandLeniencies leniencies;
  smtp::BareLineEndingPolicy data_bare_line_endings = smtp::BareLineEndingPolicy::kReject;
  smtp::NulPolicy data_nul = smtp::NulPolicy::kReject;
  smtp::SessionLimits limits;
  std::optional<std::chrono::seconds> idle_timeout;  // unset = the server's
  int max_protocol_errors = smtp::kDefaultMaxProtocolErrors;
};

struct Scenario {
  std::string name;         // `name:`, or the catalogue name, or the file's stem
  std::string description;  // one line
  std::string source;       // the file name given to the parser, "<catalogue>" for built-ins
  std::vector<Receiver> receivers;
};

// Parses scenario YAML. `source` names the text in errors ("good.yaml",
// "--scenario=/tmp/x.yaml"). Errors are InvalidArgument "SOURCE:LINE:COLUMN:
// what is wrong" (a YAML syntax error included). Never throws.
absl::StatusOr<Scenario> ParseScenario(std::string_view yaml, std::string_view source);

// Reads and parses a file (at most kMaxScenarioFileBytes).
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);

// The built-in catalogue, in `fakemx --list-scenarios` order. Each entry is
// YAML in the same format a user writes (docs/scenarios.md shows them), so
// the catalogue is also the parser's first test.
struct CatalogueEntry {
  std::string_view name;     // "good", "greylist", ...
  std::string_view summary;  // one line for --list-scenarios
  std::string_view yaml;
};
absl::Span<const CatalogueEntry> ScenarioCatalogue();

// A catalogue entry parsed; NotFound listing the names when unknown.
absl::StatusOr<Scenario> CatalogueScenario(std::string_view name);

// A name (catalogue) or a path (contains '/' or ends in .yaml/.yml).
absl::StatusOr<Scenario> ResolveScenario(std::string_view name_or_path);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_SCENARIO_H_
