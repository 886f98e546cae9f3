#include "fakemx/transport.h"

#include <string>
#include <utility>

#include <boost/asio/post.hpp>

#include "base/absl_interop.h"

namespace mxkit::fakemx {

Transport::Transport(boost::asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  // Asio's own async operations handle a non-blocking socket; ours is the
  // direct read_some after a readiness wait.
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
}

Transport::~Transport() = default;

size_t Transport::ReadAvailable(char* data, size_t size, boost::system::error_code& ec) {
  return socket_.read_some(boost::asio::buffer(data, size), ec);
}

void Transport::AsyncServerHandshake(std::shared_ptr<const tls::ServerContext> context,
                                     tls::AsioTlsStream::HandshakeHandler done) {
  absl::StatusOr<tls::Engine> engine = tls::Engine::NewServer(std::move(context));
  if (!engine.ok()) {
    // Only a BoringSSL allocation failure gets here; report it as the
    // handshake's error, on the executor like any other outcome.
    tls::EngineError error;
    error.kind = tls::EngineError::Kind::kUsage;
    error.reason = base::StatusText(engine.status());
    boost::asio::post(socket_.get_executor(),
                      [done = std::move(done), error] { done(error); });
    return;
  }
  tls_ = std::make_unique<tls::AsioTlsStream>(socket_, std::move(*engine));
  tls_->AsyncHandshake([this, done = std::move(done)](const std::optional<tls::EngineError>& e) {
    handshake_done_ = !e.has_value();
    done(e);
  });
}

void Transport::Cancel() {
  if (tls_ != nullptr && handshake_done_) {
    tls_->CancelRead();  // also between the stream's own socket reads
    return;
  }
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

void Transport::AsyncClose(std::function<void()> done) {
  // RFC 8446 §6.1: answer the peer's close_notify with ours, as well as
  // sending one first when we end the session.
  const tls::Engine* engine = tls_active() ? &tls_->engine() : nullptr;
  if (engine != nullptr && (engine->state() == tls::EngineState::kEstablished ||
                            (engine->state() == tls::EngineState::kClosed &&
                             engine->peer_sent_close_notify()))) {
    tls_->AsyncShutdown([this, done = std::move(done)](boost::system::error_code) {
      Close();
      if (done) done();
    });
    return;
  }
  Close();
  if (done) done();
}

void Transport::Reset() {
  if (!socket_.is_open()) return;
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

void Transport::Close() {
  boost::system::error_code ignored;
  if (!socket_.is_open()) return;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace mxkit::fakemx
