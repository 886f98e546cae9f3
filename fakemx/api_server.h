// fakemx's HTTP API server on Boost.Beast: fakemx's own JSON endpoints
// (fakemx/api.h, docs/api.md), the Mailpit-compatible subset
// (fakemx/mailpit_api.h), long-polls that wait for a message or session,
// and the /api/events websocket. Runs on the servers' io_context: handlers
// only read and edit the CaptureStore, never block, and a slow or stalled
// HTTP client never delays the SMTP side (each connection has its own
// bounded buffers and timeouts).

#ifndef MXKIT_FAKEMX_API_SERVER_H_
#define MXKIT_FAKEMX_API_SERVER_H_

#include <chrono>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/statusor.h"
#include "fakemx/api_backend.h"

namespace mxkit::fakemx {

// fakemx's default API address: Mailpit's web/API port, so Mailpit clients
// configured with their default find us.
inline constexpr uint16_t kDefaultApiPort = 8025;

struct ApiServerOptions {
  boost::asio::ip::tcp::endpoint endpoint{boost::asio::ip::make_address("127.0.0.1"),
                                          kDefaultApiPort};
  // The longest wait a long-poll may ask for (?timeout=), and its default.
  std::chrono::milliseconds max_wait{std::chrono::minutes(5)};
  std::chrono::milliseconds default_wait{std::chrono::seconds(30)};
  // A connection idle this long (no request begun) is closed; an /api/events
  // websocket, when it answers no ping sent after half of it.
  std::chrono::seconds idle_timeout{60};
  size_t max_body_bytes = 1 << 20;     // a request body beyond this is 413
  // Beyond this many open connections (/api/events websockets included), new
  // ones are closed at once.
  size_t max_connections = 1024;
  bool verbose = false;                // one stderr line per request
};

class ApiServer {
 public:
  // Binds and listens (port 0 = any free one). `backend` must outlive the
  // server. Errors name the endpoint.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Listen(boost::asio::io_context& io,
                                                          ApiBackend& backend,
                                                          ApiServerOptions options = {});
  virtual ~ApiServer() = default;

  virtual boost::asio::ip::tcp::endpoint endpoint() const = 0;
  // Stops accepting and closes every connection (long-polls get nothing).
  virtual void Stop() = 0;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_API_SERVER_H_
