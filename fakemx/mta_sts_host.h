// The MTA-STS policy host (RFC 8461 §3.3): HTTPS on Boost.Beast, serving
// /.well-known/mta-sts.txt for mta-sts.<domain> as each scenario receiver
// asks, including the ways a real policy host goes wrong (a bad certificate,
// a 404, a redirect RFC 8461 §3.3 forbids following, an invalid policy, a
// slow answer). Transport and behaviour stay apart as in fakemx/server.h:
// the site says what to answer; the host only speaks HTTPS.
#ifndef MXKIT_FAKEMX_MTA_STS_HOST_H_
#define MXKIT_FAKEMX_MTA_STS_HOST_H_

#include <chrono>
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
  int status = 200;         // HTTP status of the answer
  std::string body;         // the policy text, possibly invalid on purpose
  std::string content_type = "text/plain";  // RFC 8461 §3.2 requires text/plain
  std::string location;     // Location header for a 3xx status
  std::chrono::milliseconds delay{0};  // before the response headers
  std::string chain_pem;    // certificate chain, leaf first, for mta-sts.<domain>
  std::string key_pem;
};

class MtaStsHost {
 public:
  // Binds every distinct (host, port) among `sites` (all or none). Sites
  // sharing an address are told apart by SNI and then the Host header, as a
  // shared web host does; an unknown Host gets 404. Errors name the site and
  // address (bind failures, a bad certificate or key).
  static absl::StatusOr<std::unique_ptr<MtaStsHost>> Listen(boost::asio::io_context& io,
                                                            std::vector<MtaStsSite> sites);
  virtual ~MtaStsHost() = default;
  // Where each site listens after binding, in `sites` order (port 0 resolved).
  virtual std::vector<boost::asio::ip::tcp::endpoint> endpoints() const = 0;
  // Stops accepting and closes open connections.
  virtual void Stop() = 0;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_MTA_STS_HOST_H_
