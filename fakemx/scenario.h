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
#include "dns/authoritative.h"
#include "dns/resolver.h"
#include "smtp/command.h"
#include "smtp/data.h"
#include "smtp/limits.h"
#include "smtp/server_session.h"
#include "tls/cert_factory.h"
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

// DNS and MTA-STS bounds. A TXT record's text is split into strings of at
// most 255 octets (RFC 1035 §3.3.14); 4096 octets is far more than any SPF,
// DMARC or DKIM record and still fits a DNS message over TCP.
inline constexpr size_t kMaxDnsTextBytes = 4096;
inline constexpr size_t kMaxMxRecords = 64;
inline constexpr size_t kMaxTlsaRecords = 64;
inline constexpr size_t kMaxDnsFaults = 1024;
inline constexpr size_t kMaxExtraZones = 256;
// A zone's text, as dns/zone.h master-file lines.
inline constexpr size_t kMaxZoneTextBytes = 256 * 1024;
// RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year).
inline constexpr uint64_t kMaxMtaStsMaxAge = 31557600;
// RFC 8461 §3.1: id is 1 to 32 letters and digits.
inline constexpr size_t kMaxMtaStsId = 32;
inline constexpr size_t kMaxMtaStsPatterns = 64;
// An invalid policy body is test garbage, not a document (RFC 8461 §3.3
// lets senders stop reading at 64 KiB).
inline constexpr size_t kMaxMtaStsBodyBytes = 64 * 1024;
// The default max_age: one week, as RFC 8461 §3.2's example suggests
// ("weeks or greater").
inline constexpr uint64_t kDefaultMtaStsMaxAge = 604800;
inline constexpr uint16_t kDefaultMtaStsPort = 443;  // RFC 8461 §3.3: HTTPS

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

// A TXT record fakemx generates for a receiver (SPF, DMARC, TLS-RPT):
//   spf: true                 # the generated record (the default)
//   spf: false                # no record at all
//   spf: "v=spf1 +all"        # this text instead (broken text is just text)
struct DnsTextSetting {
  bool publish = true;
  std::optional<std::string> text;  // the literal text; unset = generated
};

// One MX record. `host` is absolute without the trailing dot; "" is the
// root, a null MX (RFC 7505).
struct MxSpec {
  uint16_t preference = 10;
  std::string host;
};

enum class DkimAlgorithm { kEd25519, kRsa };
// "ed25519" (RFC 8463), "rsa" (RFC 8301, 2048 bits).
std::string_view DkimAlgorithmName(DkimAlgorithm algorithm);

//   dkim: false                                 # no key made, no record
//   dkim: {selector: s1, algorithm: rsa}
//   dkim: {text: "v=DKIM1; p="}                 # the key is still made and
//                                               # exported; this is published
struct DkimSpec {
  bool publish = true;
  std::string selector = "mxkit";
  DkimAlgorithm algorithm = DkimAlgorithm::kEd25519;
  std::optional<std::string> text;
};

// A TLSA record derived from the certificate the receiver serves (RFC 6698
// §2.1; RFC 7672 §3.1 allows usages 2 and 3 for SMTP):
// usage 3 (DANE-EE) matches the leaf, usage 2 (DANE-TA) the CA that issued
// it. `mismatch` publishes the complement of every octet of the data, which
// matches nothing.
struct TlsaSpec {
  uint8_t usage = 3;     // 2 or 3
  uint8_t selector = 1;  // 0 full certificate, 1 SubjectPublicKeyInfo
  uint8_t matching = 1;  // 0 exact, 1 SHA-256, 2 SHA-512
  bool mismatch = false;
};

// A fault on a name (relative to the receiver's domain, "@" for the
// domain itself, or absolute with a trailing dot) and optionally one type.
struct DnsFaultSpec {
  std::string name;  // absolute, no trailing dot
  std::optional<dns::RrType> type;
  dns::ServeFault fault = dns::ServeFault::kServfail;
  SourcePosition position;
};

// What fakemx's DNS server publishes for a receiver's domain
// (fakemx/scenario_dns.h makes the records). Absent, a complete and passing
// world: MX, A/AAAA, SPF, DKIM, DMARC, TLS-RPT; no TLSA, not authenticated.
struct ReceiverDns {
  // Unset = one MX 10 pointing at the receiver's hostname; empty = no MX
  // (`mx: false`: senders fall back to the domain's A record, RFC 5321 §5.1).
  std::optional<std::vector<MxSpec>> mx;
  // The receiver hostname's A/AAAA record: unset = the first smtp
  // listener's address; "" = none (`address: false`); else this literal.
  std::optional<std::string> address;
  DnsTextSetting spf;
  DkimSpec dkim;
  DnsTextSetting dmarc;
  DnsTextSetting tls_rpt;
  std::vector<TlsaSpec> tlsa;
  bool authenticated = false;  // answers carry the AD bit (dns::ServedZone)
  std::vector<DnsFaultSpec> faults;
};

enum class MtaStsMode { kEnforce, kTesting, kNone };
// "enforce", "testing", "none" (RFC 8461 §5).
std::string_view MtaStsModeName(MtaStsMode mode);

// The receiver's MTA-STS policy (RFC 8461) and how its policy host behaves.
//   mta_sts: {mode: enforce}
//   mta_sts: {mode: enforce, mx: ["*.elsewhere.test"]}       # does not match the MX
//   mta_sts: {status: 404} / {redirect: "https://..."} / {certificate: expired}
struct MtaStsSpec {
  MtaStsMode mode = MtaStsMode::kEnforce;
  std::optional<std::vector<std::string>> mx;  // unset = the receiver's MX hosts
  uint64_t max_age = kDefaultMtaStsMaxAge;     // seconds, as the policy writes it
  std::optional<std::string> id;               // unset = derived from the policy text
  std::optional<std::string> body;             // served instead of the generated policy
  int status = 200;
  std::string location;  // with a 3xx status (`redirect:`)
  std::string content_type = "text/plain";
  std::chrono::milliseconds delay{0};
  tls::CertVariant certificate = tls::CertVariant::kGood;
  std::optional<std::string> host;  // unset = the first listener's host
  uint16_t port = kDefaultMtaStsPort;
  DnsTextSetting txt;  // the _mta-sts record
};

// What fakemx concludes about each message this receiver accepts
// (fakemx/verdict.h, docs/verdicts.md).
//   verdicts: {client_ip: 192.0.2.1, add_authentication_results: true}
//   verdicts: {enabled: false}
struct VerdictSpec {
  bool enabled = true;
  // The address SPF checks instead of the connecting one (tests connect
  // from 127.0.0.1); unset = the connecting address.
  std::optional<std::string> client_ip;
  // RFC 8601 §2.5 authserv-id; unset = the receiver's hostname.
  std::optional<std::string> authserv_id;
  // Prepend the Authentication-Results field to the stored copy (capture
  // and Maildir); off, the stored bytes are exactly what was sent.
  bool add_authentication_results = false;
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
  ReceiverDns dns;
  std::optional<MtaStsSpec> mta_sts;
  VerdictSpec verdicts;
};

// A zone of the scenario's own, as dns/zone.h master-file text. A zone whose
// apex is a receiver's domain adds its records to that receiver's zone.
//   zones: [{apex: other.test, authenticated: true, text: "@ 300 IN A 192.0.2.1"}]
struct ExtraZone {
  std::string apex;  // absolute, no trailing dot, lower case
  std::optional<bool> authenticated;
  std::vector<dns::ResourceRecord> records;  // parsed at load time
  std::vector<dns::ServedFault> faults;      // its $TIMEOUT and $SERVFAIL lines
  SourcePosition position;
};

struct Scenario {
  std::string name;         // `name:`, or the catalogue name, or the file's stem
  std::string description;  // one line
  std::string source;       // the file name given to the parser, "<catalogue>" for built-ins
  std::vector<Receiver> receivers;
  std::vector<ExtraZone> zones;
};

// OK when `name` is a DNS name as a scenario writes one (a receiver's
// domain, an MX host, a DKIM selector, a fault name): labels of 1 to 63
// octets (RFC 1035 §2.3.4) of letters, digits, '-', '_' (RFC 8552
// underscored names such as _dmarc) and '*' (a wildcard owner), at most 253
// octets written with dots, no trailing dot. Otherwise InvalidArgument
// saying why, naming it `what` ("the host").
absl::Status CheckDnsName(std::string_view name, std::string_view what);

// Whether `name` is `apex` or a name below it (dotted text, ASCII
// case-insensitive as DNS compares names, RFC 4343); the empty apex (the
// root) holds every name.
bool NameAtOrBelow(std::string_view name, std::string_view apex);

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
