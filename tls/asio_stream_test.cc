// AsioTlsStream over real loopback TCP: a server stream on an accepted
// socket, a client stream on a connected one, and plaintext peers that are
// not TLS at all. Every test runs its io_context for a bounded time, so a
// hang fails the test instead of blocking it.

#include "tls/asio_stream.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "gtest/gtest.h"
#include "tls/testdata/certs.h"

namespace mxkit::tls {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

constexpr auto kTestTimeout = std::chrono::seconds(20);

Engine ServerEngine() {
  ServerContextOptions o;
  o.certificate_chain_pem = testdata::k_ecdsa_pem;
  o.private_key_pem = testdata::k_ecdsa_key;
  auto ctx = ServerContext::Create(o);
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  auto engine = Engine::NewServer(*ctx);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return std::move(*engine);
}

Engine ClientEngine() {
  ClientContextOptions o;
  o.trusted_roots_pem = testdata::k_ca_pem;
  auto ctx = ClientContext::Create(o);
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  auto engine = Engine::NewClient(*ctx, {"mx.test", "mx.test"});
  EXPECT_TRUE(engine.ok()) << engine.status();
  return std::move(*engine);
}

// A connected pair of loopback sockets.
struct Loopback {
  asio::io_context io;
  tcp::socket server{io};
  tcp::socket client{io};

  Loopback() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }

  // Runs until every handler has run or the timeout passes; false on timeout.
  bool Run() {
    io.run_for(kTestTimeout);
    return io.stopped();
  }
};

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 31 + i / 97) % 26);
  return s;
}

// Reads plaintext through `stream` in `chunk`-byte reads until EOF or error.
struct Reader {
  Reader(AsioTlsStream& stream, size_t chunk) : stream(stream), buffer(chunk, '\0') {}

  AsioTlsStream& stream;
  std::string buffer;
  std::string got;
  error_code end;
  std::function<void()> on_bytes;  // after each successful read

  void Start() {
    stream.AsyncReadSome(buffer.data(), buffer.size(), [this](error_code ec, size_t n) {
      if (ec) {
        end = ec;
        return;
      }
      got.append(buffer.data(), n);
      if (on_bytes) on_bytes();
      Start();
    });
  }
};

TEST(AsioTlsStream, HandshakesEchoesAndShutsDownOverLoopback) {
  Loopback net;
  AsioTlsStream server(net.server, ServerEngine());
  AsioTlsStream client(net.client, ClientEngine());
  const std::string message = "EHLO client.test\r\n" + Pattern(100000);

  std::optional<std::optional<EngineError>> server_hs, client_hs;
  // The server echoes what it reads. Its 7-byte reads make the stream keep
  // the rest of every decrypted record for the next read; the echo keeps
  // one write outstanding at a time, sending whatever piled up meanwhile.
  Reader server_reader(server, 7);
  size_t echoed = 0;
  bool server_writing = false;
  std::function<void()> echo = [&] {
    if (server_writing || echoed == server_reader.got.size()) return;
    server_writing = true;
    const std::string chunk = server_reader.got.substr(echoed);
    echoed = server_reader.got.size();
    server.AsyncWrite(chunk, [&](error_code ec) {
      EXPECT_FALSE(ec) << ec.message();
      server_writing = false;
      if (!ec) echo();
    });
  };
  server_reader.on_bytes = echo;

  Reader client_reader(client, 4096);
  client_reader.on_bytes = [&] {
    if (client_reader.got.size() == message.size()) {
      client.AsyncShutdown([](error_code ec) { EXPECT_FALSE(ec) << ec.message(); });
    }
  };

  server.AsyncHandshake([&](const std::optional<EngineError>& e) {
    server_hs = e;
    if (!e) server_reader.Start();
  });
  client.AsyncHandshake([&](const std::optional<EngineError>& e) {
    client_hs = e;
    if (e) return;
    client.AsyncWrite(message, [&](error_code ec) { EXPECT_FALSE(ec) << ec.message(); });
    client_reader.Start();
  });
  // The server's reader ends on the client's close_notify; then the server
  // closes its socket and the client's reader ends on EOF.
  asio::steady_timer poll(net.io);
  std::function<void()> watch = [&] {
    if (server_reader.end) {
      net.server.close();
      return;
    }
    poll.expires_after(std::chrono::milliseconds(5));
    poll.async_wait([&](error_code) { watch(); });
  };
  watch();

  ASSERT_TRUE(net.Run()) << "timed out";
  ASSERT_TRUE(server_hs.has_value());
  ASSERT_TRUE(client_hs.has_value());
  EXPECT_FALSE(server_hs->has_value()) << (*server_hs)->ToString();
  EXPECT_FALSE(client_hs->has_value()) << (*client_hs)->ToString();
  EXPECT_EQ(server.engine().info().sni, "mx.test");
  EXPECT_EQ(client.engine().info().version, TlsVersion::kTls13);
  EXPECT_EQ(server_reader.got, message);
  EXPECT_EQ(client_reader.got, message);
  EXPECT_EQ(server_reader.end, asio::error::eof);
  EXPECT_TRUE(server.engine().peer_sent_close_notify());
  EXPECT_EQ(client_reader.end, asio::error::eof);
}

// A cancel that comes right after AsyncReadSome, before the stream has
// started its socket read (the read is posted), still ends that read; the
// next read then gets what the peer sends.
TEST(AsioTlsStream, CancelReadEndsAReadTheSocketHasNotSeenYet) {
  Loopback net;
  AsioTlsStream server(net.server, ServerEngine());
  AsioTlsStream client(net.client, ClientEngine());
  std::string buffer(64, '\0');
  std::optional<error_code> first;
  std::string second;
  server.AsyncHandshake([&](const std::optional<EngineError>& e) {
    ASSERT_FALSE(e.has_value()) << e->ToString();
    server.AsyncReadSome(buffer.data(), buffer.size(), [&](error_code ec, size_t) {
      first = ec;
      client.AsyncWrite("NOOP\r\n", [](error_code ec) { EXPECT_FALSE(ec) << ec.message(); });
      server.AsyncReadSome(buffer.data(), buffer.size(), [&](error_code ec, size_t n) {
        EXPECT_FALSE(ec) << ec.message();
        second.assign(buffer.data(), n);
        net.server.close();
        net.client.close();
      });
    });
    server.CancelRead();
  });
  client.AsyncHandshake([&](const std::optional<EngineError>& e) {
    ASSERT_FALSE(e.has_value()) << e->ToString();
  });
  ASSERT_TRUE(net.Run()) << "timed out: the cancelled read never ended";
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, asio::error::operation_aborted);
  EXPECT_EQ(second, "NOOP\r\n");
}

TEST(AsioTlsStream, PlaintextPeerGetsAnAlertAndTheServerAHandshakeError) {
  Loopback net;
  AsioTlsStream server(net.server, ServerEngine());
  std::optional<std::optional<EngineError>> result;
  server.AsyncHandshake([&](const std::optional<EngineError>& e) {
    result = e;
    net.server.shutdown(tcp::socket::shutdown_send);
  });
  asio::write(net.client, asio::buffer(std::string("EHLO x\r\n")));
  std::string reply(64, '\0');
  size_t reply_size = 0;
  error_code reply_end;
  std::function<void()> read_reply = [&] {
    net.client.async_read_some(asio::buffer(reply.data() + reply_size, reply.size() - reply_size),
                               [&](error_code ec, size_t n) {
                                 reply_size += n;
                                 if (ec) {
                                   reply_end = ec;
                                   return;
                                 }
                                 read_reply();
                               });
  };
  read_reply();

  ASSERT_TRUE(net.Run()) << "timed out";
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->kind, EngineError::Kind::kProtocol);
  EXPECT_EQ((*result)->reason, "WRONG_VERSION_NUMBER");
  EXPECT_EQ(server.engine().state(), EngineState::kFailed);
  // BoringSSL answers a record it cannot parse with a plaintext alert
  // record (content type 21) before `done` ran, then the socket closed.
  ASSERT_GE(reply_size, 1u);
  EXPECT_EQ(reply[0], '\x15');
  EXPECT_EQ(reply_end, asio::error::eof);
}

TEST(AsioTlsStream, PeerClosingMidHandshakeIsTruncatedNotAHang) {
  Loopback net;
  AsioTlsStream client(net.client, ClientEngine());
  std::optional<std::optional<EngineError>> result;
  client.AsyncHandshake([&](const std::optional<EngineError>& e) { result = e; });
  // The "server" reads the ClientHello and hangs up.
  std::string hello(4096, '\0');
  net.server.async_read_some(asio::buffer(hello), [&](error_code ec, size_t) {
    EXPECT_FALSE(ec);
    net.server.close();
  });

  ASSERT_TRUE(net.Run()) << "timed out";
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  EXPECT_EQ((*result)->kind, EngineError::Kind::kTruncated);
  EXPECT_FALSE((*result)->reason.empty());
  EXPECT_EQ(client.engine().state(), EngineState::kFailed);
}

TEST(AsioTlsStream, WriteBeforeHandshakeFailsWithoutTouchingTheSocket) {
  Loopback net;
  AsioTlsStream client(net.client, ClientEngine());
  std::optional<error_code> result;
  client.AsyncWrite("MAIL FROM:<>\r\n", [&](error_code ec) { result = ec; });
  net.io.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, asio::error::not_connected);
  EXPECT_EQ(net.server.available(), 0u);
}

}  // namespace
}  // namespace mxkit::tls
