// The probe driver: what a sending MTA does before it sends, on Boost.Asio.
// It looks up the target's MX records through a dns::Resolver (RFC 5321
// §5.1: preference order; no MX means the domain itself is the implicit MX;
// a null MX, RFC 7505, means the domain takes no mail), each MX host's
// addresses, connects to them in order with a timeout, and runs a
// HopSession on every MX that answers. A HOST[:PORT] target that is an IP
// literal or carries a port skips the MX lookup.
//
// Everything a probe finds is a value in ProbeReport; only what stops it
// from probing at all (no such name, no host reachable, every wait timed
// out) is a ProbeFailure there.

#ifndef MXKIT_PROBE_PROBE_H_
#define MXKIT_PROBE_PROBE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dns/resolver.h"
#include "policy/dane.h"
#include "policy/mta_sts_fetcher.h"
#include "policy/tls_policy.h"
#include "probe/hop_session.h"
#include "tls/engine.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mxkit::probe {

// MX hosts probed at most: a domain listing more is cut here, and the
// report says so. Postfix tries at most 5 addresses per delivery
// (smtp_mx_address_limit); a probe looks further, but not without bound.
inline constexpr size_t kMaxMxHosts = 16;
// Addresses tried per MX host (A then AAAA, in the order served).
inline constexpr size_t kMaxAddressesPerHost = 8;
// A session's overall bound, in multiples of ProbeOptions::timeout when
// ProbeOptions::session_deadline is unset. The per-wait timeout alone lets a
// server that sends a byte just before each wait expires hold the probe for
// as long as it likes; RFC 5321 §4.5.3.2 bounds each wait, and Postfix
// bounds a whole delivery too (smtp_*_timeout per wait and, for a trickling
// peer, smtp_per_request_deadline). Five waits cover greeting, EHLO,
// STARTTLS, handshake and EHLO again.
inline constexpr int kSessionDeadlineTimeouts = 5;

// What the command line names: a domain (MX lookup) or one host.
struct ProbeTarget {
  std::string name;  // domain or host name (no trailing dot), or the IP literal
  bool is_ip = false;
  std::optional<uint16_t> port;  // given with the target ("mx.example:2525")
  // MX lookup unless the target is an IP literal or carries a port.
  bool mx_lookup() const { return !is_ip && !port; }
};

// "example.com", "mx.example.com:2525", "192.0.2.1", "192.0.2.1:25",
// "2001:db8::1", "[2001:db8::1]:25". InvalidArgument says what is wrong
// (an empty name, a bad port, a label over 63 octets, a character no host
// name has).
absl::StatusOr<ProbeTarget> ParseProbeTarget(std::string_view text);

struct ProbeOptions {
  uint16_t port = 25;  // when the target carries none (RFC 5321 §4.5.4.2)
  // Bounds each wait: the connect, and each read or write of the session.
  std::chrono::milliseconds timeout{30000};
  // Bounds one hop's whole session, from the connect to the close, however
  // the server paces its bytes; unset: kSessionDeadlineTimeouts x timeout.
  std::optional<std::chrono::milliseconds> session_deadline;
  std::string helo_domain = "localhost";
  // kRecord: the chain is verified under the roots and the result recorded.
  std::shared_ptr<const tls::ClientContext> tls_context;
  // The same roots as PEM, for the verdicts of verify and MTA-STS
  // (policy::VerifyChainToRoots) and for the MTA-STS policy host.
  std::string trusted_roots_pem;
  // Evaluate the sender policies (MTA-STS discovery and fetch, TLSA lookups,
  // verdicts). Off, the probe reports what it saw on the wire only.
  bool evaluate_policies = true;
  // Where the MTA-STS policy host is reached (RFC 8461 §3.3 says 443; tests
  // point it at fakemx's policy host).
  uint16_t mta_sts_port = 443;
  std::chrono::milliseconds mta_sts_timeout = policy::kDefaultStsFetchTimeout;
};

// The TLSA lookup for one MX: _25._tcp.MX (RFC 7672 §2.2), whatever
// ProbeOptions::port says; _PORT._tcp.HOST for a HOST:PORT target.
struct TlsaReport {
  std::string name;  // "_25._tcp.mx.example.test"
  policy::TlsaLookup lookup = policy::TlsaLookup::kNoRecords;
  bool authenticated = false;  // the TLSA answer's AD bit
  // Why DANE does not apply although the TLSA answer itself is
  // authenticated, or lookup failed: RFC 7672 §2.2.1-2.2.2 also need the MX
  // answer (when an MX was looked up) and the host's A/AAAA answers to be
  // DNSSEC-secure. Empty when the whole chain is secure. With a reason,
  // `lookup` is kUnauthenticated (or kNoRecords), never kAuthenticated or
  // kFailed: an insecure chain makes the TLSA records irrelevant.
  std::string insecure_reason;
  std::vector<policy::TlsaRecord> records;
  std::string detail;  // the lookup's outcome; records that did not parse
};

// MTA-STS for the target domain (RFC 8461 §3): TXT discovery, then the
// policy fetched from mta-sts.DOMAIN. A probe has no cache: a domain whose
// fetch fails has no policy now (kFailed), as for a first-time sender.
struct MtaStsReport {
  bool applicable = false;  // a domain target (not an IP or HOST:PORT)
  std::string txt_detail;   // the TXT lookup and discovery outcome
  std::string id;           // the TXT record's id
  std::string policy_host;  // "mta-sts.example.test"
  std::string policy_host_address;  // what the resolver gave for it
  std::optional<policy::StsFetchResult> fetch;
  policy::MtaStsObservation observation;
};

// One connect attempt to one address.
struct ConnectAttempt {
  std::string address;  // "127.0.0.1:2525", "[::1]:25"
  bool connected = false;
  bool timed_out = false;
  std::string error;  // "Connection refused", "timeout after 5000 ms"
  double ms = 0;
};

struct Timings {
  double connect_ms = 0;    // TCP connect
  double greeting_ms = -1;  // from connected to the banner; -1: none
  double tls_ms = -1;       // the handshake; -1: none
  double total_ms = 0;      // from the connect to the close
};

struct MxReport {
  std::string host;
  int preference = -1;        // -1: no MX record (implicit MX or a host target)
  bool implicit_mx = false;   // the domain itself, for want of MX records (RFC 5321 §5.1)
  // The MX answer carried the AD bit (RFC 7672 §2.2.1); for an implicit MX,
  // the answer denying MX records did. True when no MX was looked up (an IP
  // or HOST:PORT target).
  bool mx_authenticated = false;
  std::vector<std::string> addresses;
  // Every A and AAAA answer (records or no data) for this host carried the
  // AD bit (RFC 7672 §2.2.2); false when none was looked up.
  bool addresses_authenticated = false;
  std::string address_error;  // why no address was found ("NXDOMAIN", "SERVFAIL ...")
  std::vector<ConnectAttempt> attempts;
  std::optional<HopReport> hop;  // the session on the first address that connected
  std::string hop_address;
  Timings timings;
  // With evaluate_policies and a session: the TLSA lookup (not for an IP
  // target), the chain checked against the roots, and the verdict of every
  // sender policy (policy::AllSenderPolicies order).
  std::optional<TlsaReport> tlsa;
  std::optional<policy::ChainVerification> chain_verification;
  std::vector<policy::PolicyVerdict> verdicts;
};

enum class ProbeFailure {
  kNone,          // at least one MX answered: probed
  kNameNotFound,  // NXDOMAIN, or no MX and no address, or no MX host has an address
  kNullMx,        // "MX 0 ." (RFC 7505 §3): the domain accepts no mail
  kDnsFailure,    // the lookups failed (SERVFAIL, timeout, REFUSED)
  kUnreachable,   // every connect was refused or found no route
  kTimeout,       // no MX answered and at least one wait timed out
};

std::string_view ProbeFailureName(ProbeFailure failure);

struct ProbeReport {
  ProbeTarget target;
  uint16_t port = 25;
  std::string mx_lookup_detail;  // the MX lookup's outcome, for humans
  bool mx_truncated = false;     // more than kMaxMxHosts MX records
  std::vector<MxReport> mx;      // in preference order
  MtaStsReport mta_sts;
  ProbeFailure failure = ProbeFailure::kNone;
  std::string error;  // for a failure: what, where, why

  // The MX a sender would deliver to: the first, in preference order, whose
  // session reached EHLO/HELO acceptance; null when none did.
  const MxReport* delivery_mx() const;
  // red_lock of that hop: mail to this target would travel unencrypted.
  bool red_lock() const;
};

// Probes `target`: runs on `io` and calls `done` once, from `io`. The
// resolver must complete lookups on `io` or inline.
void StartProbe(boost::asio::io_context& io, dns::Resolver& resolver, ProbeTarget target,
                ProbeOptions options, std::function<void(ProbeReport)> done);

// The same, running `io` until the probe is done.
ProbeReport RunProbe(boost::asio::io_context& io, dns::Resolver& resolver, ProbeTarget target,
                     ProbeOptions options);

}  // namespace mxkit::probe

#endif  // MXKIT_PROBE_PROBE_H_
