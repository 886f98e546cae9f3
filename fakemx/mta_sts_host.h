// The MTA-STS policy host (RFC 8461 §3.3): HTTPS on Boost.Beast, serving
// /.well-known/mta-sts.txt for mta-sts.<domain> as each scenario receiver
// asks, including the ways a real policy host goes wrong (a bad certificate,
// a 404, a redirect RFC 8461 §3.3 forbids following, an invalid policy, a
// slow answer). Transport and behaviour stay apart as in fakemx/server.h:
// the site says what to answer; the host only speaks HTTPS.
#ifndef MXKIT_FAKEMX_MTA_STS_HOST_H_
#define MXKIT_FAKEMX_MTA_STS_HOST_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/statusor.h"

namespace mxkit::fakemx {

// What one policy domain serves. Built by BuildScenarioDns from the
// receiver's `mta_sts:` settings.
struct MtaStsSite {
  std::string domain;       // the policy domain, "example.test"; served as mta-sts.example.test
  std::string host;         // listen address (IPv4/IPv6 literal); the site's A/AAAA record
  uint16_t port = 443;      // RFC 8461 §3.3: HTTPS on the default port; 0 = any free port
                            // (sites with the same host and port 0 share one)
  int status = 200;         // HTTP status of the answer
  std::string body;         // the policy text, possibly invalid on purpose
  std::string content_type = "text/plain";  // RFC 8461 §3.2 requires text/plain
  std::string location;     // Location header for a 3xx status
  std::chrono::milliseconds delay{0};  // before the response headers
  std::string chain_pem;    // certificate chain, leaf first, for mta-sts.<domain>
  std::string key_pem;
};

// The host's limits. The defaults keep a slow or hostile client from holding
// a connection or memory for long; tests shorten them.
struct MtaStsHostOptions {
  // From accepting a connection (the TLS handshake included), or from the
  // first byte of a further request on a kept-alive one, until the request's
  // header has arrived; then the connection is closed without an answer.
  std::chrono::milliseconds header_timeout{10'000};
  // A kept-alive connection waiting for its next request (RFC 9112 §9.8: a
  // server may close an idle connection at any time).
  std::chrono::milliseconds idle_timeout{5'000};
  // Writing one response (after the site's delay), and the TLS close.
  std::chrono::milliseconds write_timeout{10'000};
  // Connections open at once over all addresses; one accepted beyond this is
  // closed at once, before the TLS handshake.
  size_t max_connections = 256;
};

class MtaStsHost {
 public:
  // Binds every distinct (host, port) among `sites` (all or none). Sites
  // sharing an address are told apart by SNI and then the Host header, as a
  // shared web host does; an unknown Host gets 404. Errors name the site and
  // address (bind failures, a bad certificate or key).
  static absl::StatusOr<std::unique_ptr<MtaStsHost>> Listen(boost::asio::io_context& io,
                                                            std::vector<MtaStsSite> sites);
  // The same with limits other than the defaults. Also refuses a site whose
  // status is outside 200-599, whose domain is no host name, or whose
  // header values (content_type, location) hold control characters.
  static absl::StatusOr<std::unique_ptr<MtaStsHost>> Listen(boost::asio::io_context& io,
                                                            std::vector<MtaStsSite> sites,
                                                            const MtaStsHostOptions& options);
  virtual ~MtaStsHost() = default;
  // Where each site listens after binding, in `sites` order (port 0 resolved).
  virtual std::vector<boost::asio::ip::tcp::endpoint> endpoints() const = 0;
  // Stops accepting and closes open connections (no TLS close_notify, no
  // response still delayed is sent), so the io_context runs out of work.
  // Idempotent; the destructor calls it.
  virtual void Stop() = 0;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_MTA_STS_HOST_H_
