// Runs a tls::Engine over a connected Boost.Asio TCP socket: the adapter
// between the sans-IO engine and a real connection, for fakemx (server side,
// after STARTTLS or on an implicit-TLS listener) and for our own client.
//
// Like the socket it wraps, an AsioTlsStream allows one read and one write
// outstanding at a time; handlers run on the socket's executor, never inside
// the call that started the operation. It does not own the socket: the caller
// keeps it alive and closes it. Like asio::ssl::stream, the stream must
// outlive its outstanding operations (close the socket and let the handlers
// run with operation_aborted before destroying it).

#ifndef MXKIT_TLS_ASIO_STREAM_H_
#define MXKIT_TLS_ASIO_STREAM_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "tls/engine.h"

namespace mxkit::tls {

class AsioTlsStream {
 public:
  // Handshake outcome: nullopt on success. A socket error (reset, EOF)
  // becomes an EngineError of kind kTruncated whose reason is the socket's
  // message.
  using HandshakeHandler = std::function<void(const std::optional<EngineError>&)>;
  using ReadHandler = std::function<void(boost::system::error_code, size_t)>;
  using WriteHandler = std::function<void(boost::system::error_code)>;

  AsioTlsStream(boost::asio::ip::tcp::socket& socket, Engine engine);
  ~AsioTlsStream();
  AsioTlsStream(const AsioTlsStream&) = delete;
  AsioTlsStream& operator=(const AsioTlsStream&) = delete;

  // Reads and writes until the engine is established or failed. On failure
  // the engine's own alert has been sent (best effort) before `done` runs.
  void AsyncHandshake(HandshakeHandler done);
  // Up to `size` plaintext bytes into `data`. After the peer's close_notify
  // or a TCP EOF: boost::asio::error::eof. A TLS error after the handshake:
  // boost::asio::error::connection_aborted, with the cause in engine().error().
  void AsyncReadSome(char* data, size_t size, ReadHandler done);
  // Encrypts and writes all of `plaintext` (copied).
  void AsyncWrite(std::string_view plaintext, WriteHandler done);
  // Sends close_notify and returns without waiting for the peer's.
  void AsyncShutdown(WriteHandler done);
  // Ends the outstanding AsyncReadSome with operation_aborted, like
  // socket.cancel() does for a socket read, also when the stream is between
  // two socket reads of its own (a record that held no plaintext yet), where
  // cancelling the socket alone would not reach it. No-op without a read.
  void CancelRead();

  const Engine& engine() const { return engine_; }

 private:
  // Socket writes are serialised through one queue: the engine produces
  // ciphertext on the read path too (alerts, TLS 1.3 post-handshake
  // messages), which must not interleave with a caller's AsyncWrite.
  struct State;
  void Flush(WriteHandler done);
  void StartSocketWrite();
  void HandshakeStep();
  void ReadCiphertext();
  boost::asio::ip::tcp::socket& socket_;
  Engine engine_;
  std::string pending_plaintext_;  // decrypted but not yet handed to a reader
  std::string read_buffer_;
  std::string write_buffer_;  // ciphertext queued behind the write in flight
  std::unique_ptr<State> state_;
};

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_ASIO_STREAM_H_
