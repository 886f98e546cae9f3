// The byte pipe under one fakemx connection: a TCP socket, plain or with TLS
// on top (upgraded after STARTTLS, RFC 3207, or from the first byte on an
// implicit-TLS listener, RFC 8314 §3.3). The driver (server.cc) reads,
// writes, cancels and closes through it and does not care which; only the
// STARTTLS faults of a receiver profile reach past it to the raw socket,
// through the same calls made before the handshake.
//
// Like the socket, a Transport allows one read and one write outstanding at
// a time; handlers run on the socket's executor.
//
// Before TLS a connection that has not sent anything holds no read buffer of
// its own: the driver waits for readability (AsyncWaitReadable) and then
// reads what is there at once (ReadAvailable) into a buffer the whole server
// shares, so an idle connection costs no buffer memory (issue 9: 10,000 idle
// connections within 32 KiB each). Once the client has sent something the
// driver reads into a small buffer of the connection's own (AsyncReadSome),
// which costs no system call to re-arm (fakemx/server.cc ReadActive). Under
// TLS the stream keeps its own record buffer (tls/asio_stream.h).

#ifndef MXKIT_FAKEMX_TRANSPORT_H_
#define MXKIT_FAKEMX_TRANSPORT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>

#include "tls/asio_stream.h"
#include "tls/engine.h"

namespace mxkit::fakemx {

class Transport {
 public:
  // Puts the socket into non-blocking mode for ReadAvailable.
  explicit Transport(boost::asio::ip::tcp::socket socket);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }

  // Up to `size` bytes into `data`: from the socket before TLS, decrypted
  // plaintext after. Handler: void(boost::system::error_code, size_t).
  template <typename Handler>
  void AsyncReadSome(char* data, size_t size, Handler&& done) {
    if (tls_) {
      tls_->AsyncReadSome(data, size, std::forward<Handler>(done));
    } else {
      socket_.async_read_some(boost::asio::buffer(data, size), std::forward<Handler>(done));
    }
  }

  // Before TLS: completes once the socket has bytes (or EOF, or an error)
  // to read; then ReadAvailable takes them. Cancel() ends it with
  // operation_aborted. Handler: void(boost::system::error_code).
  template <typename Handler>
  void AsyncWaitReadable(Handler&& done) {
    socket_.async_wait(boost::asio::ip::tcp::socket::wait_read, std::forward<Handler>(done));
  }
  // Before TLS: up to `size` bytes already received, without blocking. 0
  // with `ec` would_block when nothing is there (a spurious wakeup), eof
  // when the peer closed.
  size_t ReadAvailable(char* data, size_t size, boost::system::error_code& ec);

  // All of `bytes`; before TLS they must stay valid until the handler runs
  // (the TLS stream copies). Handler: void(boost::system::error_code).
  template <typename Handler>
  void AsyncWrite(std::string_view bytes, Handler&& done) {
    if (tls_) {
      tls_->AsyncWrite(bytes, std::forward<Handler>(done));
    } else {
      boost::asio::async_write(
          socket_, boost::asio::buffer(bytes.data(), bytes.size()),
          [done = std::forward<Handler>(done)](boost::system::error_code ec, size_t) mutable {
            done(ec);
          });
    }
  }

  // Runs a server-side TLS handshake over the socket; afterwards reads and
  // writes carry plaintext through the engine. The engine sees only bytes
  // the socket delivers after this call: what an earlier read returned (the
  // plaintext pipelined behind STARTTLS) never reaches it as ciphertext.
  // `done` gets nullopt on success or the engine's error. Call once.
  void AsyncServerHandshake(std::shared_ptr<const tls::ServerContext> context,
                            tls::AsioTlsStream::HandshakeHandler done);

  // The handshake finished and reads/writes go through TLS.
  bool tls_active() const { return tls_ != nullptr && handshake_done_; }
  // The TLS engine once a handshake has started (for HandshakeInfo and
  // errors); null before.
  const tls::Engine* engine() const { return tls_ ? &tls_->engine() : nullptr; }

  // Cancels the outstanding read/write/handshake; their handlers still run.
  void Cancel();
  // Sends close_notify when TLS is up (so a client's TLS library sees a clean
  // end, not a truncation), then shuts the socket down and closes it. A peer
  // that does not take the close_notify is cut off after `timeout` by the
  // caller calling Close().
  void AsyncClose(std::function<void()> done);
  // Closes the socket at once. Idempotent.
  void Close();
  // Aborts the connection: SO_LINGER {on, 0} and close, so the kernel sends
  // RST instead of FIN (a receiver whose connection is reset, not closed;
  // the client sees ECONNRESET). No close_notify, no shutdown(): either
  // would send a FIN first. Idempotent.
  void Reset();

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls::AsioTlsStream> tls_;
  bool handshake_done_ = false;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_TRANSPORT_H_
