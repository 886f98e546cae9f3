// Fetches an MTA-STS policy (RFC 8461 §3.3): GET
// https://mta-sts.<domain>/.well-known/mta-sts.txt with Boost.Beast's HTTP/1.1
// parser over a tls::Engine client (BoringSSL), the certificate verified for
// mta-sts.<domain> against the given roots, no redirects followed, only a 200
// with media type text/plain, the body bounded, the whole fetch under one
// timeout. The caller resolves the host (so tests can point it at fakemx's
// DNS and the policy host at any port) and passes the address to connect to;
// the name is used for SNI, the Host header and the certificate check.
//
// Every outcome maps to an RFC 8460 result type: sts-policy-fetch-error (no
// connection, timeout, non-200 including 3xx, wrong media type, body too
// large, HTTP syntax), sts-webpki-invalid (the policy host's certificate
// fails PKIX or the name check), sts-policy-invalid (the body does not parse
// per RFC 8461 §3.2).

#ifndef MXKIT_POLICY_MTA_STS_FETCHER_H_
#define MXKIT_POLICY_MTA_STS_FETCHER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "policy/mta_sts.h"
#include "policy/tls_report_types.h"

namespace mxkit::policy {

// RFC 8461 §3.3 "/.well-known/mta-sts.txt" under the policy host
// "mta-sts." + domain.
inline constexpr char kStsPolicyPath[] = "/.well-known/mta-sts.txt";
inline constexpr char kStsPolicyHostPrefix[] = "mta-sts.";
// Response header block bound (Beast's default is 8 KiB; a policy host has no
// reason to send more).
inline constexpr size_t kMaxStsResponseHeaderSize = 8 * 1024;
// RFC 8461 §3.3 leaves the fetch timeout to the sender; we default to 10 s
// for the whole fetch (connect, handshake, request and response).
inline constexpr std::chrono::milliseconds kDefaultStsFetchTimeout{10000};

struct StsFetchRequest {
  // The policy domain, "example.test": the fetch goes to mta-sts.example.test
  // (SNI, Host header, and the name the certificate must carry).
  std::string policy_domain;
  // Where to connect: an IPv4 or IPv6 literal the caller resolved
  // mta-sts.<domain> to, and the port (443 in the real world).
  std::string connect_address;
  uint16_t connect_port = 443;
  // Roots the policy host's chain must lead to (concatenated PEM). Empty
  // trusts nothing, so every fetch is sts-webpki-invalid.
  std::string trusted_roots_pem;
  std::chrono::milliseconds timeout = kDefaultStsFetchTimeout;
  size_t max_body_size = kMaxStsPolicySize;
};

struct StsFetchResult {
  // Set when the fetch or the policy failed: kStsPolicyFetchError,
  // kStsWebpkiInvalid or kStsPolicyInvalid. nullopt on success.
  std::optional<TlsResultType> failure;
  // On success: the parsed policy.
  std::optional<StsPolicy> policy;
  // What happened, for humans: "HTTP 302 (redirects are not followed, RFC
  // 8461 §3.3)", "timeout after 10000 ms while reading the response",
  // "certificate verification failed: certificate has expired (X.509 error
  // 10)", "line 2, column 7: mode: ...". On success: "HTTP 200, N octets".
  std::string detail;
  int http_status = 0;         // 0 when no response arrived
  std::string content_type;    // as served
  std::string body;            // as served (bounded by max_body_size)
  // The policy host's leaf certificate (DER), when a handshake got that far.
  std::string peer_certificate_der;

  bool ok() const { return !failure.has_value(); }
};

// Starts a fetch on `io`; `done` runs exactly once on `io`'s executor, never
// inside this call. The fetch owns its socket and timer and closes both
// before `done` runs. A request with an invalid domain or address fails with
// sts-policy-fetch-error and says why (no connection is attempted).
void AsyncFetchStsPolicy(boost::asio::io_context& io, StsFetchRequest request,
                         std::function<void(StsFetchResult)> done);

// The synchronous convenience: runs its own io_context until the fetch ends.
StsFetchResult FetchStsPolicy(StsFetchRequest request);

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_MTA_STS_FETCHER_H_
