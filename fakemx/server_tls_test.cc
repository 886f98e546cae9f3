// fakemx's Server with TLS, in process: the server runs on its own thread
// on ephemeral loopback ports, and each test drives it with a blocking
// socket and a sans-IO tls::Engine as the client (//testing:blocking_client),
// so what is asserted is exactly the bytes a client receives (the 220, an
// alert record, EOF). Every read is bounded by poll(), so a server that
// hangs fails the test.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "fakemx/behaviour.h"
#include "fakemx/capture.h"
#include "fakemx/maildir.h"
#include "fakemx/server.h"
#include "fakemx/testing/running_server.h"
#include "gtest/gtest.h"
#include "testing/blocking_client.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"
#include "tls/receiver_profile.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
namespace testing_helpers = ::mxkit::fakemx::testing;
using std::chrono::milliseconds;
using tls::StartTlsBehaviour;

using testing_helpers::Greet;
using testing_helpers::kReplyTimeout;
constexpr std::string_view kEhlo = "EHLO client.test\r\n";
constexpr std::string_view kStartTls = "STARTTLS\r\n";
constexpr std::string_view k220 = "220 2.0.0 Ready to start TLS\r\n";

struct Setup {
  StartTlsBehaviour starttls = StartTlsBehaviour::kOffer;
  std::chrono::seconds idle_timeout{30};
  bool verbose = false;
  std::chrono::seconds shutdown_grace{60};
};

ServerOptions Options(const Setup& setup) {
  ServerOptions options;
  options.endpoint = {asio::ip::make_address("127.0.0.1"), 0};
  options.smtps_endpoint = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  options.session.hostname = "mx.test";
  options.idle_timeout = setup.idle_timeout;
  options.storage_threads = 0;
  options.verbose = setup.verbose;
  options.shutdown_grace = setup.shutdown_grace;
  options.tls_context = testing_helpers::GoodServerContext();
  options.tls_certificate = "good";
  options.behaviour = ReceiverBehaviourFactory(setup.starttls);
  return options;
}

// A Server on 127.0.0.1:0 (SMTP with STARTTLS) and 127.0.0.1:0 (implicit
// TLS), serving the "good" certificate for mx.test, storing to a Maildir.
class RunningServer : public testing_helpers::RunningServer {
 public:
  explicit RunningServer(const Setup& setup)
      : testing_helpers::RunningServer(Options(setup), "server_tls_test") {}

  // The sidecars written so far.
  std::vector<std::string> Sidecars() const {
    return testing_helpers::FileContents(dir() + "/envelopes");
  }
};

using Client = ::mxkit::testing::BlockingClient;

// A client handshake verifying mx.test against the test root; nullopt on
// success.
std::optional<tls::EngineError> Handshake(Client& c, tls::VersionRange versions = {}) {
  return testing_helpers::HandshakeWithMxTest(c, versions);
}

void SendMessage(Client& c) { testing_helpers::SendMessage(c); }

TEST(ServerTls, StarttlsDeliversAndTheSidecarRecordsTheSession) {
  RunningServer server({.verbose = true});
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  EXPECT_NE(Greet(c).find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(c.Command(kStartTls), k220);
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_FALSE(error.has_value()) << error->ToString();
  // RFC 3207 §4.2: EHLO again, and STARTTLS is no longer offered.
  const std::string ehlo = c.Command(kEhlo);
  EXPECT_EQ(ehlo.substr(0, 4), "250-");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  SendMessage(c);
  EXPECT_EQ(c.Command("QUIT\r\n").substr(0, 4), "221 ");
  server.Stop();
  const std::vector<std::string> sidecars = server.Sidecars();
  ASSERT_EQ(sidecars.size(), 1u);
  const std::string want = std::string(R"("tls":{"used":true,"implicit":false,"version":")") +
                           std::string(tls::VersionName(c.engine()->info().version)) +
                           R"(","cipher":")" + c.engine()->info().cipher + R"(","group":")" +
                           c.engine()->info().group +
                           R"(","sni":"mx.test","certificate":"good","plaintext_discarded_bytes":0})";
  EXPECT_NE(sidecars[0].find(want), std::string::npos) << sidecars[0] << "\nwant " << want;
  EXPECT_NE(sidecars[0].find(R"("version":"TLSv1.3")"), std::string::npos);
  EXPECT_EQ(server.stats().tls_established, 1u);
  EXPECT_EQ(server.stats().tls_failed, 0u);
  // The capture has the same TLS facts, for the session and its message.
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  const CapturedSession& session = *sessions[0];
  EXPECT_TRUE(session.tls.used);
  EXPECT_FALSE(session.tls.implicit);
  EXPECT_EQ(session.tls.version, "TLSv1.3");
  EXPECT_EQ(session.tls.cipher, c.engine()->info().cipher);
  EXPECT_EQ(session.tls.sni, "mx.test");
  EXPECT_EQ(session.tls.certificate, "good");
  EXPECT_TRUE(session.tls_error.empty());
  ASSERT_EQ(session.messages.size(), 1u);
  EXPECT_TRUE(session.messages[0].delivery.tls.used);
  EXPECT_FALSE(session.messages[0].maildir_name.empty());
  EXPECT_EQ(session.end_reason, "quit");
}

// CVE-2011-0411: RSET pipelined behind STARTTLS in one write is neither
// answered before the handshake nor executed after it, and it is not fed
// to the TLS engine either (the handshake would fail on "RSET" as a record).
TEST(ServerTls, PlaintextPipelinedBehindStarttlsIsDiscardedAndCounted) {
  RunningServer server({});
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  Greet(c);
  c.SendRaw("STARTTLS\r\nRSET\r\n");
  EXPECT_EQ(c.ReadRawSome(kReplyTimeout), k220);
  EXPECT_EQ(c.ReadRawSome(milliseconds(300)), "") << "a reply to the injected RSET";
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_FALSE(error.has_value()) << error->ToString();
  // The first reply under TLS answers our EHLO, not the RSET.
  EXPECT_EQ(c.Command(kEhlo).substr(0, 19), "250-mx.test greets ");
  SendMessage(c);
  c.Command("QUIT\r\n");
  server.Stop();
  const std::vector<std::string> sidecars = server.Sidecars();
  ASSERT_EQ(sidecars.size(), 1u);
  EXPECT_NE(sidecars[0].find(R"("plaintext_discarded_bytes":6})"), std::string::npos)
      << sidecars[0];
  EXPECT_EQ(server.stats().plaintext_discarded_bytes, 6u);
}

TEST(ServerTls, ImplicitTlsListenerHandshakesFirstAndOffersNoStarttls) {
  RunningServer server({});
  Client c(server.smtps_port());
  ASSERT_TRUE(c.connected());
  // RFC 8314 §3.3: no plaintext greeting before the handshake.
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_FALSE(error.has_value()) << error->ToString();
  const std::string ehlo = Greet(c);
  EXPECT_EQ(ehlo.substr(0, 4), "250-");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_EQ(c.Command(kStartTls), "503 5.5.1 TLS already active\r\n");
  SendMessage(c);
  c.Command("QUIT\r\n");
  server.Stop();
  const std::vector<std::string> sidecars = server.Sidecars();
  ASSERT_EQ(sidecars.size(), 1u);
  EXPECT_NE(sidecars[0].find(R"("tls":{"used":true,"implicit":true,"version":"TLSv1.3")"),
            std::string::npos)
      << sidecars[0];
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_TRUE(sessions[0]->implicit_tls);
  EXPECT_TRUE(sessions[0]->tls.used);
  EXPECT_TRUE(sessions[0]->tls.implicit);
}

TEST(ServerTls, PlaintextMessageRecordsTlsAsUnused) {
  RunningServer server({.starttls = StartTlsBehaviour::kHide});
  Client c(server.port());
  Greet(c);
  SendMessage(c);
  c.Command("QUIT\r\n");
  server.Stop();
  const std::vector<std::string> sidecars = server.Sidecars();
  ASSERT_EQ(sidecars.size(), 1u);
  EXPECT_NE(sidecars[0].find(
                R"("tls":{"used":false,"implicit":false,"version":null,"cipher":null,)"
                R"("group":null,"sni":null,"certificate":null,"plaintext_discarded_bytes":0})"),
            std::string::npos)
      << sidecars[0];
}

// The faults that answer in SMTP: what EHLO advertises and what STARTTLS
// gets, after which the session goes on in plaintext.
TEST(ServerTls, RefusingBehavioursAnswerStarttlsInPlaintext) {
  struct Row {
    StartTlsBehaviour behaviour;
    bool advertised;
    std::string reply;
  };
  const Row rows[] = {
      // Not advertised, so not a command the session knows here: the
      // parser's own 502 (its text names the reason).
      {StartTlsBehaviour::kHide, false, "502 5.5.1 "},
      {StartTlsBehaviour::kRefuse454, true,
       "454 4.7.0 TLS not available due to temporary reason\r\n"},
      {StartTlsBehaviour::kRefuse502, true, "502 5.5.1 Command not implemented\r\n"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(tls::StartTlsBehaviourName(row.behaviour)));
    RunningServer server({.starttls = row.behaviour});
    Client c(server.port());
    const std::string ehlo = Greet(c);
    EXPECT_EQ(ehlo.find("STARTTLS") != std::string::npos, row.advertised) << ehlo;
    EXPECT_EQ(c.Command(kStartTls).substr(0, row.reply.size()), row.reply);
    SendMessage(c);
    EXPECT_EQ(c.Command("QUIT\r\n").substr(0, 4), "221 ");
  }
}

TEST(ServerTls, AbortAfter220ClosesBeforeAnyHandshakeByte) {
  RunningServer server({.starttls = StartTlsBehaviour::kAbortAfter220});
  Client c(server.port());
  EXPECT_NE(Greet(c).find("250-STARTTLS\r\n"), std::string::npos);
  c.SendRaw(kStartTls);
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), k220);
  EXPECT_TRUE(c.eof());
}

TEST(ServerTls, AlertAfter220AnswersTheClientHelloWithAFatalAlert) {
  RunningServer server({.starttls = StartTlsBehaviour::kAlertAfter220});
  Client c(server.port());
  Greet(c);
  EXPECT_EQ(c.Command(kStartTls), k220);
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, tls::EngineError::Kind::kPeerAlert) << error->ToString();
  EXPECT_EQ(error->alert, 40) << error->ToString();  // handshake_failure
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_TRUE(c.eof());
}

TEST(ServerTls, AlertAfter220SendsExactlyTheAlertRecordThenCloses) {
  RunningServer server({.starttls = StartTlsBehaviour::kAlertAfter220});
  Client c(server.port());
  Greet(c);
  EXPECT_EQ(c.Command(kStartTls), k220);
  // A ClientHello record header announcing 10 bytes, sent in two pieces:
  // the alert waits for the whole record.
  c.SendRaw(std::string("\x16\x03\x01\x00\x0a", 5) + "12345");
  EXPECT_EQ(c.ReadRawSome(milliseconds(300)), "");
  c.SendRaw("67890");
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), std::string("\x15\x03\x01\x00\x02\x02\x28", 7));
  EXPECT_TRUE(c.eof());
}

TEST(ServerTls, StallHandshakeNeverAnswersAndClosesAtTheIdleTimeout) {
  RunningServer server({.starttls = StartTlsBehaviour::kStallHandshake,
                        .idle_timeout = std::chrono::seconds(1)});
  Client c(server.port());
  Greet(c);
  EXPECT_EQ(c.Command(kStartTls), k220);
  const auto start = std::chrono::steady_clock::now();
  const std::optional<tls::EngineError> error = Handshake(c);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(error.has_value());
  // EOF with no byte of a ServerHello, after (about) the idle timeout.
  EXPECT_EQ(error->kind, tls::EngineError::Kind::kTruncated) << error->ToString();
  EXPECT_TRUE(c.eof());
  EXPECT_GE(took, milliseconds(800));
  EXPECT_LT(took, milliseconds(4000));
}

TEST(ServerTls, InjectAfter220SendsExtraRepliesInTheSameWriteThenHandshakes) {
  RunningServer server({.starttls = StartTlsBehaviour::kInjectAfter220});
  Client c(server.port());
  Greet(c);
  c.SendRaw(kStartTls);
  const std::string want = std::string(k220) + std::string(kInjectedReplies);
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
  while (got.size() < want.size() && std::chrono::steady_clock::now() < deadline && !c.eof()) {
    got += c.ReadRawSome(milliseconds(500));
  }
  EXPECT_EQ(got, want);
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_FALSE(error.has_value()) << error->ToString();
  EXPECT_EQ(c.Command(kEhlo).substr(0, 19), "250-mx.test greets ");
}

TEST(ServerTls, FailedHandshakeClosesAndIsCounted) {
  RunningServer server({});
  Client c(server.port());
  Greet(c);
  EXPECT_EQ(c.Command(kStartTls), k220);
  // The default profile speaks TLS 1.2-1.3 only (RFC 8996).
  const std::optional<tls::EngineError> error =
      Handshake(c, {tls::TlsVersion::kTls10, tls::TlsVersion::kTls11});
  ASSERT_TRUE(error.has_value());
  c.ReadRawUntilEof(kReplyTimeout);
  EXPECT_TRUE(c.eof());
  server.Stop();
  EXPECT_EQ(server.stats().tls_failed, 1u);
  EXPECT_EQ(server.stats().tls_established, 0u);
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_FALSE(sessions[0]->tls.used);
  EXPECT_FALSE(sessions[0]->tls_error.empty());
  EXPECT_EQ(sessions[0]->end_reason, "tls failed");
}

// OpenSSL's TLS 1.3 client refuses a certificate with a plaintext alert
// record (its writes switch to the handshake keys only after the server's
// Finished); TLS 1.2 clients send the same before their ChangeCipherSpec.
// The session records the client's refusal, not the record BoringSSL could
// not decrypt, and is not encrypted.
TEST(ServerTls, ClientRefusingTheCertificateIsRecordedWithItsAlert) {
  for (const tls::TlsVersion version : {tls::TlsVersion::kTls13, tls::TlsVersion::kTls12}) {
    SCOPED_TRACE(std::string(tls::VersionName(version)));
    RunningServer server({});
    Client c(server.port());
    Greet(c);
    EXPECT_EQ(c.Command(kStartTls), k220);
    tls::ClientContextOptions options;
    options.versions = {version, version};
    options.verify = tls::ClientVerify::kNone;
    auto context = tls::ClientContext::Create(options);
    ASSERT_TRUE(context.ok()) << context.status();
    auto client = tls::Engine::NewClient(*context, {"mx.test", ""});
    ASSERT_TRUE(client.ok()) << client.status();
    c.SendRaw(client->TakeCiphertext());
    EXPECT_NE(c.ReadRawSome(kReplyTimeout), "") << "no server flight";
    // Fatal (2) unknown_ca (48), as `openssl s_client -verify_return_error` sends it.
    c.SendRaw(std::string("\x15\x03\x03\x00\x02\x02\x30", 7));
    c.ReadRawUntilEof(kReplyTimeout);
    EXPECT_TRUE(c.eof());
    server.Stop();
    EXPECT_EQ(server.stats().tls_failed, 1u);
    const auto sessions = server.capture().Sessions();
    ASSERT_EQ(sessions.size(), 1u);
    const std::string want = "client refused the certificate: alert unknown_ca (48)";
    EXPECT_EQ(sessions[0]->tls_error, want);
    EXPECT_FALSE(sessions[0]->tls.used);
    EXPECT_FALSE(sessions[0]->verdict.encrypted);
    EXPECT_EQ(sessions[0]->verdict.tls_outcome, "handshake failed: " + want);
    EXPECT_EQ(sessions[0]->end_reason, "tls failed");
  }
}

// A handshake that completed protects nothing until the client sends
// under it: one that then leaves is no encrypted session.
TEST(ServerTls, HandshakeWithoutAByteUnderTlsIsNotEncrypted) {
  RunningServer server({});
  {
    Client c(server.port());
    Greet(c);
    EXPECT_EQ(c.Command(kStartTls), k220);
    const std::optional<tls::EngineError> error = Handshake(c);
    ASSERT_FALSE(error.has_value()) << error->ToString();
  }  // closes the socket
  {
    Client c(server.port());
    Greet(c);
    EXPECT_EQ(c.Command(kStartTls), k220);
    ASSERT_FALSE(Handshake(c).has_value());
    EXPECT_EQ(c.Command("QUIT\r\n").substr(0, 4), "221 ");
  }
  server.Stop();
  EXPECT_EQ(server.stats().tls_established, 2u);
  auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 2u);
  if (sessions[0]->end_reason == "quit") std::swap(sessions[0], sessions[1]);
  EXPECT_FALSE(sessions[0]->verdict.encrypted);
  EXPECT_EQ(sessions[0]->verdict.tls_outcome, "client sent nothing under tls");
  EXPECT_EQ(sessions[1]->end_reason, "quit");
  EXPECT_TRUE(sessions[1]->verdict.encrypted);
  EXPECT_EQ(sessions[1]->verdict.tls_outcome, "");
}

TEST(ServerTls, SilentClientAfter220IsClosedAtTheIdleTimeout) {
  RunningServer server({.idle_timeout = std::chrono::seconds(1)});
  Client c(server.port());
  Greet(c);
  EXPECT_EQ(c.Command(kStartTls), k220);
  // No 421: after the 220 there is no plaintext channel to send it in.
  EXPECT_EQ(c.ReadRawUntilEof(milliseconds(4000)), "");
  EXPECT_TRUE(c.eof());
  server.Stop();
  EXPECT_EQ(server.stats().tls_failed, 1u);
}

// A graceful shutdown alone (the grace period a minute long) ends a TLS
// session between transactions at once, with its 421 under TLS.
TEST(ServerTls, ShutdownEndsATlsSessionWith421UnderTls) {
  RunningServer server({.shutdown_grace = std::chrono::seconds(60)});
  Client c(server.port());
  Greet(c);
  EXPECT_EQ(c.Command(kStartTls), k220);
  ASSERT_FALSE(Handshake(c).has_value());
  EXPECT_EQ(c.Command(kEhlo).substr(0, 4), "250-");
  const auto start = std::chrono::steady_clock::now();
  server.BeginShutdown();
  EXPECT_EQ(c.ReadReply().substr(0, 10), "421 4.3.2 ");
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
  c.ReadReply(milliseconds(1000));
  EXPECT_TRUE(c.eof());
  // close_notify came before the EOF.
  EXPECT_TRUE(c.engine()->peer_sent_close_notify());
}

}  // namespace
}  // namespace mxkit::fakemx
