// fakemx's Server with TLS, in process: the server runs on its own thread
// on ephemeral loopback ports, and each test drives it with a blocking
// socket and a sans-IO tls::Engine as the client, so what is asserted is
// exactly the bytes a client receives (the 220, an alert record, EOF).
// Every read is bounded by poll(), so a server that hangs fails the test.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "fakemx/behaviour.h"
#include "fakemx/capture.h"
#include "fakemx/maildir.h"
#include "fakemx/server.h"
#include "gtest/gtest.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"
#include "tls/receiver_profile.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using tls::StartTlsBehaviour;

constexpr milliseconds kReplyTimeout{5000};
constexpr std::string_view kEhlo = "EHLO client.test\r\n";
constexpr std::string_view kStartTls = "STARTTLS\r\n";
constexpr std::string_view k220 = "220 2.0.0 Ready to start TLS\r\n";

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/server_tls_test-XXXXXX";
  const char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

const tls::CertificateSet& Certs() {
  static const tls::CertificateSet* certs = [] {
    auto generated = tls::CertificateSet::Generate(
        tls::CertFactoryOptions{}, std::vector<tls::CertVariant>{tls::CertVariant::kGood});
    EXPECT_TRUE(generated.ok()) << generated.status();
    return new tls::CertificateSet(std::move(*generated));
  }();
  return *certs;
}

struct Setup {
  StartTlsBehaviour starttls = StartTlsBehaviour::kOffer;
  std::chrono::seconds idle_timeout{30};
  bool verbose = false;
  std::chrono::seconds shutdown_grace{60};
};

// A Server on 127.0.0.1:0 (SMTP with STARTTLS) and 127.0.0.1:0 (implicit
// TLS), serving the "good" certificate for mx.test.
class RunningServer {
 public:
  explicit RunningServer(const Setup& setup) : dir_(TempDir()) {
    auto maildir = Maildir::Open(dir_, {.hostname = "mx.test"});
    EXPECT_TRUE(maildir.ok()) << maildir.status();
    maildir_ = std::move(*maildir);
    ServerOptions options;
    options.endpoint = {asio::ip::make_address("127.0.0.1"), 0};
    options.smtps_endpoint = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    options.session.hostname = "mx.test";
    options.idle_timeout = setup.idle_timeout;
    options.storage_threads = 0;
    options.verbose = setup.verbose;
    options.shutdown_grace = setup.shutdown_grace;
    auto context = tls::BuildServerContext(tls::ReceiverProfile{}, Certs());
    EXPECT_TRUE(context.ok()) << context.status();
    options.tls_context = *context;
    options.tls_certificate = "good";
    options.behaviour = ReceiverBehaviourFactory(setup.starttls);
    options.capture = &capture_;
    server_ = std::make_unique<Server>(io_, options, maildir_.get());
    const absl::Status listening = server_->Listen();
    EXPECT_TRUE(listening.ok()) << listening;
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~RunningServer() { Stop(); }

  // Shuts the server down and joins its thread; stats() is safe after.
  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      server_->Shutdown([this] { io_.stop(); });
      server_->ForceClose();
    });
    thread_.join();
  }

  // A graceful shutdown only (no ForceClose): the grace period runs, and
  // the server thread ends once the last connection is gone.
  void BeginShutdown() {
    asio::post(io_, [this] { server_->Shutdown([this] { io_.stop(); }); });
  }

  uint16_t port() const { return server_->local_endpoint().port(); }
  uint16_t smtps_port() const { return server_->smtps_local_endpoint()->port(); }
  ServerStats stats() const { return server_->stats(); }
  // Safe to read after Stop().
  const CaptureStore& capture() const { return capture_; }

  // The sidecars written so far.
  std::vector<std::string> Sidecars() const {
    std::vector<std::string> out;
    const std::string envelopes = dir_ + "/envelopes";
    DIR* d = opendir(envelopes.c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(envelopes + "/" + e->d_name);
      std::stringstream content;
      content << f.rdbuf();
      out.push_back(content.str());
    }
    closedir(d);
    return out;
  }

 private:
  std::string dir_;
  std::unique_ptr<Maildir> maildir_;
  CaptureStore capture_;
  asio::io_context io_{1};
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

// A blocking SMTP client that can switch to TLS through a sans-IO engine.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool eof() const { return eof_; }

  void SendRaw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  // What arrives within `timeout` (one read; "" on timeout or EOF).
  std::string ReadRawSome(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buf[16384];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return "";
    }
    return std::string(buf, static_cast<size_t>(n));
  }

  // Everything until EOF or `timeout`.
  std::string ReadRawUntilEof(milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string all;
    while (!eof_) {
      const auto left = std::chrono::duration_cast<milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      all += ReadRawSome(left);
    }
    return all;
  }

  // Plaintext, or through TLS once Handshake() succeeded.
  void Send(std::string_view bytes) {
    if (!engine_) {
      SendRaw(bytes);
      return;
    }
    ASSERT_TRUE(engine_->WritePlaintext(bytes).ok());
    SendRaw(engine_->TakeCiphertext());
  }

  // One whole reply (all its lines), or "" when none came in time.
  std::string ReadReply(milliseconds timeout = kReplyTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (std::optional<std::string> reply = TakeReply()) return *reply;
      const auto left = std::chrono::duration_cast<milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || eof_) return "";
      const std::string got = ReadRawSome(left);
      if (!engine_) {
        in_ += got;
      } else {
        if (!got.empty()) engine_->FeedCiphertext(got);
        if (eof_) engine_->FeedEof();
        in_ += engine_->TakePlaintext();
        if (engine_->has_ciphertext()) SendRaw(engine_->TakeCiphertext());
      }
    }
  }

  std::string Command(std::string_view line) {
    Send(line);
    return ReadReply();
  }

  // Runs a client handshake (verifying mx.test against the test root);
  // nullopt on success.
  std::optional<tls::EngineError> Handshake(tls::VersionRange versions = {}) {
    tls::ClientContextOptions options;
    options.versions = versions;
    options.trusted_roots_pem = Certs().root_pem();
    auto context = tls::ClientContext::Create(options);
    EXPECT_TRUE(context.ok()) << context.status();
    auto engine = tls::Engine::NewClient(*context, {.sni = "mx.test", .verify_hostname = "mx.test"});
    EXPECT_TRUE(engine.ok()) << engine.status();
    engine_.emplace(std::move(*engine));
    SendRaw(engine_->TakeCiphertext());
    const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
    while (engine_->state() == tls::EngineState::kHandshaking) {
      const auto left = std::chrono::duration_cast<milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const std::string got = ReadRawSome(left);
      if (!got.empty()) engine_->FeedCiphertext(got);
      if (eof_) engine_->FeedEof();
      if (engine_->has_ciphertext()) SendRaw(engine_->TakeCiphertext());
    }
    if (engine_->has_ciphertext()) SendRaw(engine_->TakeCiphertext());
    if (engine_->state() == tls::EngineState::kEstablished) {
      in_ += engine_->TakePlaintext();
      return std::nullopt;
    }
    if (engine_->error()) return engine_->error();
    tls::EngineError timeout;
    timeout.reason = "test: no handshake outcome in time";
    return timeout;
  }

  const tls::Engine* engine() const { return engine_ ? &*engine_ : nullptr; }

 private:
  std::optional<std::string> TakeReply() {
    size_t start = 0;
    while (true) {
      const size_t end = in_.find("\r\n", start);
      if (end == std::string::npos) return std::nullopt;
      if (end - start >= 4 && in_[start + 3] == ' ') {
        std::string reply = in_.substr(0, end + 2);
        in_.erase(0, end + 2);
        return reply;
      }
      start = end + 2;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::optional<tls::Engine> engine_;
  std::string in_;  // plaintext received and not yet taken as a reply
};

// Greeting, EHLO; returns the EHLO reply.
std::string Greet(Client& c) {
  EXPECT_EQ(c.ReadReply().substr(0, 4), "220 ");
  return c.Command(kEhlo);
}

void SendMessage(Client& c) {
  EXPECT_EQ(c.Command("MAIL FROM:<a@client.test>\r\n").substr(0, 4), "250 ");
  EXPECT_EQ(c.Command("RCPT TO:<b@mx.test>\r\n").substr(0, 4), "250 ");
  EXPECT_EQ(c.Command("DATA\r\n").substr(0, 4), "354 ");
  EXPECT_EQ(c.Command("Subject: t\r\n\r\nhello\r\n.\r\n").substr(0, 4), "250 ");
}

TEST(ServerTls, StarttlsDeliversAndTheSidecarRecordsTheSession) {
  RunningServer server({.verbose = true});
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  EXPECT_NE(Greet(c).find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_EQ(c.Command(kStartTls), k220);
  const std::optional<tls::EngineError> error = c.Handshake();
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
  const std::optional<tls::EngineError> error = c.Handshake();
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
  const std::optional<tls::EngineError> error = c.Handshake();
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
  const std::optional<tls::EngineError> error = c.Handshake();
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
  const std::optional<tls::EngineError> error = c.Handshake();
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
  const std::optional<tls::EngineError> error = c.Handshake();
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
      c.Handshake({tls::TlsVersion::kTls10, tls::TlsVersion::kTls11});
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
  ASSERT_FALSE(c.Handshake().has_value());
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
