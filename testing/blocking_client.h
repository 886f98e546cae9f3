// A blocking TCP client for in-process server tests (fakemx's SMTP server,
// its MTA-STS policy host): a plain socket, optionally with TLS through a
// sans-IO tls::Engine, so a test asserts on exactly the bytes a client
// receives (a reply, an alert record, EOF, a reset). Every read is bounded
// by poll(), so a server that hangs fails the test instead of hanging it.

#ifndef MXKIT_TESTING_BLOCKING_CLIENT_H_
#define MXKIT_TESTING_BLOCKING_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tls/engine.h"

namespace mxkit::testing {

class BlockingClient {
 public:
  using milliseconds = std::chrono::milliseconds;
  // What a server on loopback answers within, however busy the machine.
  static constexpr milliseconds kDefaultTimeout{5000};

  // Connects to `ipv4_address`:`port` (a dotted quad); connected() says
  // whether that worked.
  BlockingClient(std::string_view ipv4_address, uint16_t port);
  // Connects to 127.0.0.1:`port`.
  explicit BlockingClient(uint16_t port) : BlockingClient("127.0.0.1", port) {}
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  bool connected() const { return connected_; }
  // The peer closed (or reset) the connection.
  bool eof() const { return eof_; }
  // The errno of a failed recv (ECONNRESET for a reset), else 0.
  int error() const { return error_; }
  // How many reads returned bytes (a trickling server needs many).
  int reads() const { return reads_; }

  // --- The socket itself, below any TLS ---
  // Caps the socket's receive buffer (SO_RCVBUF, which also stops Linux
  // growing it), so a client that reads late makes the server's writes
  // block after a few hundred KB rather than many MB.
  void LimitReceiveBuffer(int bytes);
  void SendRaw(std::string_view bytes);
  // What one read returns within `timeout`: "" on timeout, EOF or error.
  std::string ReadRawSome(milliseconds timeout);
  // Everything until EOF or `timeout`.
  std::string ReadRawUntilEof(milliseconds timeout);

  // --- TLS ---
  // A client handshake with `options` and `connection`, bounded by
  // `timeout`: nullopt once established, else the engine's error (or one
  // saying that no outcome came in time). Application bytes that arrived
  // with the handshake are kept in received().
  std::optional<tls::EngineError> Handshake(const tls::ClientContextOptions& options,
                                            const tls::ClientConnectionOptions& connection,
                                            milliseconds timeout = kDefaultTimeout);
  // After Handshake: the engine (negotiated version, cipher, state); else null.
  const tls::Engine* engine() const { return engine_ ? &*engine_ : nullptr; }
  // EOF, or a TLS connection that is closed or failed.
  bool closed() const;

  // --- Application bytes: plaintext, or through TLS after Handshake ---
  void Send(std::string_view bytes);
  // Application bytes received and not yet taken by ReadReply.
  const std::string& received() const { return received_; }
  // Reads (within `timeout`) until `done(received())` holds or the
  // connection is closed; returns received().
  const std::string& ReadUntil(const std::function<bool(std::string_view)>& done,
                               milliseconds timeout = kDefaultTimeout);
  // One whole SMTP reply (all its lines, RFC 5321 §4.2.1: up to the line
  // whose code is followed by a space), taken from received(); "" when none
  // came within `timeout` or before EOF. A TLS close_notify does not end
  // the wait: a test can then check eof() for the server's close.
  std::string ReadReply(milliseconds timeout = kDefaultTimeout);
  // Send(line), then ReadReply(timeout).
  std::string Command(std::string_view line, milliseconds timeout = kDefaultTimeout);

 private:
  // One read (within `timeout`) into received(), through the engine when
  // there is one; sends what the engine has to send.
  void Pump(milliseconds timeout);
  void Flush();
  std::optional<std::string> TakeReply();

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  int error_ = 0;
  int reads_ = 0;
  std::optional<tls::Engine> engine_;
  std::string received_;
};

}  // namespace mxkit::testing

#endif  // MXKIT_TESTING_BLOCKING_CLIENT_H_
