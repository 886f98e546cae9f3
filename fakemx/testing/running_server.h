// Test-only helpers for driving fakemx's Server in process: the server on its
// own thread on ephemeral loopback ports, the "good" test certificate for
// mx.test, and the SMTP steps a blocking client (//testing:blocking_client)
// repeats. Shared by fakemx's server_tls_test, server_scenario_test and
// server_verdicts_test, which each used to carry a copy.

#ifndef MXKIT_FAKEMX_TESTING_RUNNING_SERVER_H_
#define MXKIT_FAKEMX_TESTING_RUNNING_SERVER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "fakemx/capture.h"
#include "fakemx/maildir.h"
#include "fakemx/server.h"
#include "testing/blocking_client.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace mxkit::fakemx::testing {

// How long a test waits for one reply before it fails.
inline constexpr std::chrono::milliseconds kReplyTimeout{5000};

// A fresh directory under $TEST_TMPDIR (else /tmp) named `prefix`-XXXXXX.
std::string MakeTempDir(std::string_view prefix);

// The names of the files in `dir` (dot files left out); empty when it does
// not exist.
std::vector<std::string> FileNames(const std::string& dir);
// Their contents, in the same order.
std::vector<std::string> FileContents(const std::string& dir);

// The "good" certificate variant (tls/cert_factory.h), generated once.
const tls::CertificateSet& GoodCertificates();
// A receiver's server context serving it.
std::shared_ptr<const tls::ServerContext> GoodServerContext();

// A client handshake verifying mx.test against the test root; nullopt on
// success.
std::optional<tls::EngineError> HandshakeWithMxTest(::mxkit::testing::BlockingClient& c,
                                                    tls::VersionRange versions = {});

// The first four bytes of a reply ("250 ", "250-").
std::string Code(const std::string& reply);

// Reads the 220 greeting and sends EHLO; returns the EHLO reply.
std::string Greet(::mxkit::testing::BlockingClient& c);

// MAIL FROM:<mail_from>, RCPT TO:<b@mx.test>, DATA and `message` (without its
// ending dot), each expected to succeed.
void SendMessage(::mxkit::testing::BlockingClient& c,
                 std::string_view mail_from = "a@client.test",
                 std::string_view message = "Subject: t\r\n\r\nhello\r\n");

// A Server started on its own thread with `options`; the capture store is
// its own (options.capture is set to it). With `maildir_prefix`, messages
// are stored in a fresh Maildir in a temporary directory named after it.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options, std::optional<std::string> maildir_prefix = {});
  ~RunningServer();
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  // Shuts the server down (closing what is open) and joins its thread; the
  // capture and stats() are safe to read after.
  void Stop();
  // A graceful shutdown only (no ForceClose): the grace period runs, and
  // the server thread ends once the last connection is gone.
  void BeginShutdown();
  // Waits (up to `timeout`) for the server thread a shutdown ends.
  bool Drained(std::chrono::milliseconds timeout);

  // The first plain listener's port, and the implicit TLS one's.
  uint16_t port() const;
  uint16_t smtps_port() const;
  // The i-th listener's endpoint, in the order the server bound them.
  const boost::asio::ip::tcp::endpoint& endpoint(std::size_t i);
  std::vector<BoundListener> listeners() const;
  ServerStats stats() const;
  const CaptureStore& capture() const { return capture_; }
  // The Maildir's directory; "" without one.
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<Maildir> maildir_;
  CaptureStore capture_;
  boost::asio::io_context io_{1};
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::vector<boost::asio::ip::tcp::endpoint> listeners_;
};

}  // namespace mxkit::fakemx::testing

#endif  // MXKIT_FAKEMX_TESTING_RUNNING_SERVER_H_
