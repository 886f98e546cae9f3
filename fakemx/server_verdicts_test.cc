// fakemx's Server with a VerdictEngine, in process: every accepted message
// judged before its 250 (capture, sidecar, optional Authentication-Results
// in the stored copy), session verdicts for sessions that never delivered,
// and the counters /metrics serves. Driven by a blocking socket and a
// sans-IO TLS client (//testing:blocking_client).

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "auth/dkim/signer.h"
#include "dns/authoritative.h"
#include "dns/authoritative_resolver.h"
#include "fakemx/behaviour.h"
#include "fakemx/capture.h"
#include "fakemx/maildir.h"
#include "fakemx/server.h"
#include "fakemx/testing/running_server.h"
#include "fakemx/verdict.h"
#include "fakemx/verdict_authentication_results.h"
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
using Client = ::mxkit::testing::BlockingClient;

using testing_helpers::kReplyTimeout;

auth::dkim::SigningKey Key() {
  absl::StatusOr<auth::dkim::SigningKey> key =
      auth::dkim::SigningKey::Ed25519FromSeed(std::string(32, '\x05'));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

dns::ResourceRecord Txt(std::string name, std::string text) {
  return {std::move(name), dns::RrType::kTxt, 300, dns::TxtData{{std::move(text)}}};
}

// sender.test: SPF for 127.0.0.1 (where the test connects from), a DKIM
// key, p=reject.
std::shared_ptr<VerdictEngine> Engine(bool add_authentication_results) {
  dns::ServedZone zone;
  zone.apex = "sender.test";
  zone.records = {Txt("sender.test", "v=spf1 ip4:127.0.0.1 -all"),
                  Txt("sel._domainkey.sender.test", Key().KeyRecordText()),
                  Txt("_dmarc.sender.test", "v=DMARC1; p=reject")};
  absl::StatusOr<dns::AuthoritativeResponder> responder =
      dns::AuthoritativeResponder::Create({zone});
  EXPECT_TRUE(responder.ok()) << responder.status();
  auto psl = auth::dmarc::PublicSuffixList::Load();
  EXPECT_TRUE(psl.ok()) << psl.status();
  VerdictOptions options;
  options.authserv_id = "mx.test";
  options.add_authentication_results = add_authentication_results;
  absl::StatusOr<std::shared_ptr<VerdictEngine>> engine = VerdictEngine::Create(
      std::make_shared<dns::AuthoritativeResolver>(*std::move(responder)), *psl, options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return *engine;
}

struct Setup {
  bool verdicts = true;
  bool add_authentication_results = false;
  bool maildir = true;
  std::chrono::seconds idle_timeout{30};
};

ServerOptions Options(const Setup& setup) {
  ServerOptions options;
  options.endpoint = {asio::ip::make_address("127.0.0.1"), 0};
  options.session.hostname = "mx.test";
  options.storage_threads = 0;
  options.idle_timeout = setup.idle_timeout;
  options.tls_context = testing_helpers::GoodServerContext();
  options.tls_certificate = "good";
  if (setup.verdicts) options.verdicts = Engine(setup.add_authentication_results);
  return options;
}

class RunningServer : public testing_helpers::RunningServer {
 public:
  explicit RunningServer(const Setup& setup)
      : testing_helpers::RunningServer(
            Options(setup),
            setup.maildir ? std::optional<std::string>("server_verdicts_test") : std::nullopt) {}

  // Files in `sub` ("envelopes", "new"), contents.
  std::vector<std::string> Files(const std::string& sub) const {
    if (dir().empty()) return {};
    return testing_helpers::FileContents(dir() + "/" + sub);
  }
};

const std::string kMessage =
    "From: a@sender.test\r\nTo: b@mx.test\r\nSubject: t\r\n\r\nhello\r\n";

std::string Signed() {
  auth::dkim::SignerOptions options;
  options.domain = "sender.test";
  options.selector = "sel";
  absl::StatusOr<std::string> field = auth::dkim::SignMessage(kMessage, Key(), options);
  EXPECT_TRUE(field.ok()) << field.status();
  return *field + kMessage;
}

std::optional<tls::EngineError> Handshake(Client& c) { return testing_helpers::HandshakeWithMxTest(c); }

void Send(Client& c, const std::string& mail_from, const std::string& message) {
  testing_helpers::SendMessage(c, mail_from, message);
}

// Takes the greeting and says EHLO; a fatal failure if the client did not
// connect (callers wrap it in ASSERT_NO_FATAL_FAILURE).
void Greet(Client& c) {
  ASSERT_TRUE(c.connected());
  c.ReadReply();
  c.Command("EHLO client.test\r\n");
}

TEST(ServerVerdicts, SignedPlaintextMessageIsJudgedBeforeIts250) {
  RunningServer server({});
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.ReadReply().substr(0, 4), "220 ");
  c.Command("EHLO client.test\r\n");
  Send(c, "a@sender.test", Signed());
  c.Command("QUIT\r\n");
  server.Stop();

  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  const MessageVerdict& v = *sessions[0]->messages[0].verdict;
  EXPECT_TRUE(v.evaluated);
  EXPECT_EQ(v.client_ip, "127.0.0.1");
  EXPECT_EQ(v.spf_mail_from.result, "pass") << v.spf_mail_from.reason;
  ASSERT_EQ(v.dkim.size(), 1u);
  EXPECT_EQ(v.dkim[0].result, "pass") << v.dkim[0].reason;
  EXPECT_EQ(v.dmarc.result, "pass") << v.dmarc.reason;
  EXPECT_FALSE(v.summary.encrypted);
  EXPECT_TRUE(v.summary.authenticated);
  EXPECT_EQ(sessions[0]->messages[0].delivery.verdict, nullptr) << "kept once";
  // Stored bytes are what was sent unless asked otherwise.
  EXPECT_EQ(sessions[0]->messages[0].raw.view(), Signed());
  const std::vector<std::string> stored = server.Files("new");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0], Signed());
  // The sidecar carries the same verdict.
  const std::vector<std::string> sidecars = server.Files("envelopes");
  ASSERT_EQ(sidecars.size(), 1u);
  EXPECT_NE(sidecars[0].find(R"("verdict":{"evaluated":true,"client_ip":"127.0.0.1")"),
            std::string::npos)
      << sidecars[0];
  EXPECT_NE(sidecars[0].find(
                R"("summary":{"lock":"red_lock","sender":"authenticated","dmarc":"none"}}})"),
            std::string::npos)
      << sidecars[0];
  // The session: STARTTLS offered, not used.
  EXPECT_FALSE(sessions[0]->verdict.encrypted);
  EXPECT_EQ(sessions[0]->verdict.tls_outcome, "client did not use starttls");
  EXPECT_EQ(sessions[0]->verdict.messages, 1u);
  // Counters.
  const ServerStats stats = server.stats();
  EXPECT_EQ(stats.messages_stored, 1u);
  EXPECT_EQ(stats.replies_by_code.at(250), 4u);  // EHLO, MAIL, RCPT, end of data
  EXPECT_EQ(stats.replies_by_code.at(220), 1u);
  EXPECT_EQ(stats.replies_by_code.at(354), 1u);
  EXPECT_EQ(stats.replies_by_code.at(221), 1u);
  EXPECT_EQ(stats.verdicts.at({"dkim", "pass"}), 1u);
  EXPECT_EQ(stats.verdicts.at({"sender", "authenticated"}), 1u);
  EXPECT_EQ(stats.verdicts.at({"lock", "red_lock"}), 1u);
}

TEST(ServerVerdicts, UnsignedMailFromElsewhereFailsDmarcWithoutAMaildir) {
  RunningServer server({.maildir = false});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  // SPF checks the MAIL FROM domain: one without a record gives none, so
  // DMARC for the From domain (p=reject) has nothing aligned that passed.
  Send(c, "bounce@elsewhere.test", kMessage);
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  const MessageVerdict& v = *sessions[0]->messages[0].verdict;
  EXPECT_TRUE(v.dkim.empty());
  EXPECT_EQ(v.dmarc.result, "fail");
  EXPECT_EQ(v.summary.dmarc, "reject");
  EXPECT_FALSE(v.summary.authenticated);
  EXPECT_EQ(server.stats().verdicts.at({"sender", "question_mark"}), 1u);
}

TEST(ServerVerdicts, AuthenticationResultsPrependedToCaptureAndMaildirWhenAsked) {
  RunningServer server({.add_authentication_results = true});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  Send(c, "a@sender.test", Signed());
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  const CapturedMessage& m = sessions[0]->messages[0];
  const std::string want =
      "Authentication-Results: " + AuthenticationResultsValue(*m.verdict) + "\r\n" + Signed();
  EXPECT_EQ(m.raw.view(), want);
  EXPECT_EQ(m.raw.view().rfind("Authentication-Results: mx.test;", 0), 0u);
  EXPECT_NE(AuthenticationResultsValue(*m.verdict).find("dkim=pass"), std::string::npos);
  const std::vector<std::string> stored = server.Files("new");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0], want);
}

TEST(ServerVerdicts, StarttlsMakesMessageAndSessionEncrypted) {
  RunningServer server({});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  EXPECT_EQ(c.Command("STARTTLS\r\n").substr(0, 4), "220 ");
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_FALSE(error.has_value()) << error->ToString();
  c.Command("EHLO client.test\r\n");
  Send(c, "a@sender.test", Signed());
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  EXPECT_TRUE(sessions[0]->messages[0].verdict->summary.encrypted);
  EXPECT_TRUE(sessions[0]->verdict.encrypted);
  EXPECT_EQ(sessions[0]->verdict.tls_outcome, "");
  EXPECT_EQ(server.stats().tls_established, 1u);
  EXPECT_EQ(server.stats().verdicts.at({"lock", "encrypted"}), 1u);
}

TEST(ServerVerdicts, FailedHandshakeKeepsASessionVerdictWithoutMessages) {
  RunningServer server({});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  EXPECT_EQ(c.Command("STARTTLS\r\n").substr(0, 4), "220 ");
  // Not a TLS record: the server's handshake fails at once.
  c.SendRaw("GET / HTTP/1.0\r\n\r\n");
  c.ReadRawUntilEof(kReplyTimeout);
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_TRUE(sessions[0]->messages.empty());
  EXPECT_FALSE(sessions[0]->verdict.encrypted);
  EXPECT_EQ(sessions[0]->verdict.tls_outcome.rfind("handshake failed: ", 0), 0u)
      << sessions[0]->verdict.tls_outcome;
  EXPECT_EQ(server.stats().tls_failed, 1u);
  EXPECT_EQ(server.stats().tls_timed_out, 0u);
}

TEST(ServerVerdicts, HandshakeTimeoutIsCountedAndSaidApart) {
  RunningServer server({.idle_timeout = std::chrono::seconds(1)});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  EXPECT_EQ(c.Command("STARTTLS\r\n").substr(0, 4), "220 ");
  // No ClientHello: the handshake waits for the idle timeout.
  c.ReadRawUntilEof(kReplyTimeout);
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->verdict.tls_outcome, "handshake timed out");
  EXPECT_EQ(server.stats().tls_failed, 1u);
  EXPECT_EQ(server.stats().tls_timed_out, 1u);
  EXPECT_EQ(server.stats().tls_established, 0u);
}

TEST(ServerVerdicts, WithoutAnEngineOnlyTheLockIsSetAndTheSidecarIsAsBefore) {
  RunningServer server({.verdicts = false});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  Send(c, "a@sender.test", Signed());
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  const MessageVerdict& v = *sessions[0]->messages[0].verdict;
  EXPECT_FALSE(v.evaluated);
  EXPECT_FALSE(v.summary.encrypted);
  EXPECT_EQ(sessions[0]->messages[0].raw.view(), Signed());
  const std::vector<std::string> sidecars = server.Files("envelopes");
  ASSERT_EQ(sidecars.size(), 1u);
  EXPECT_EQ(sidecars[0].find("\"verdict\""), std::string::npos) << sidecars[0];
  EXPECT_EQ(server.stats().verdicts.at({"lock", "red_lock"}), 1u);
  EXPECT_EQ(server.stats().verdicts.count({"sender", "question_mark"}), 0u);
}

// A connection's messages with equal verdicts share one (capture.h,
// CapturedMessage::verdict); a message judged differently gets its own, and
// sharing never hands a message its neighbour's verdict.
TEST(ServerVerdicts, EqualVerdictsOnAConnectionAreSharedOthersAreNot) {
  RunningServer server({.maildir = false});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  Send(c, "bounce@elsewhere.test", kMessage);
  Send(c, "bounce@elsewhere.test", kMessage);
  Send(c, "a@sender.test", kMessage);  // SPF pass: another verdict
  Send(c, "bounce@elsewhere.test", kMessage);
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  const std::deque<CapturedMessage>& m = sessions[0]->messages;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].verdict.get(), m[1].verdict.get());
  EXPECT_NE(m[1].verdict.get(), m[2].verdict.get());
  EXPECT_NE(m[2].verdict.get(), m[3].verdict.get());
  EXPECT_EQ(m[1].verdict->spf_mail_from.result, "temperror") << m[1].verdict->spf_mail_from.reason;
  EXPECT_EQ(m[1].verdict->spf_mail_from.identity, "bounce@elsewhere.test");
  EXPECT_EQ(m[2].verdict->spf_mail_from.result, "pass") << m[2].verdict->spf_mail_from.reason;
  EXPECT_EQ(m[2].verdict->spf_mail_from.identity, "a@sender.test");
  EXPECT_EQ(*m[3].verdict, *m[0].verdict);
  EXPECT_EQ(server.stats().verdicts.at({"sender", "question_mark"}), 3u);
  EXPECT_EQ(server.stats().verdicts.at({"sender", "authenticated"}), 1u);
}

// Without an engine the lock still follows TLS, message by message.
TEST(ServerVerdicts, WithoutAnEngineAMessageOverStarttlsIsEncrypted) {
  RunningServer server({.verdicts = false, .maildir = false});
  Client c(server.port());
  ASSERT_NO_FATAL_FAILURE(Greet(c));
  Send(c, "a@sender.test", kMessage);
  EXPECT_EQ(c.Command("STARTTLS\r\n").substr(0, 4), "220 ");
  const std::optional<tls::EngineError> error = Handshake(c);
  ASSERT_FALSE(error.has_value()) << error->ToString();
  c.Command("EHLO client.test\r\n");
  Send(c, "a@sender.test", kMessage);
  Send(c, "a@sender.test", kMessage);
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  const std::deque<CapturedMessage>& m = sessions[0]->messages;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_FALSE(m[0].verdict->evaluated);
  EXPECT_FALSE(m[0].verdict->summary.encrypted);
  EXPECT_FALSE(m[1].verdict->evaluated);
  EXPECT_TRUE(m[1].verdict->summary.encrypted);
  EXPECT_EQ(m[1].verdict.get(), m[2].verdict.get());
  EXPECT_EQ(server.stats().verdicts.at({"lock", "red_lock"}), 1u);
  EXPECT_EQ(server.stats().verdicts.at({"lock", "encrypted"}), 2u);
}

TEST(ServerVerdicts, PlainSessionWithoutStarttlsCommandSaysSo) {
  RunningServer server({});
  Client c(server.port());
  ASSERT_TRUE(c.connected());
  c.ReadReply();
  c.Command("HELO client.test\r\n");
  c.Command("QUIT\r\n");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->verdict.tls_outcome, "client did not use starttls");
  EXPECT_EQ(sessions[0]->verdict.messages, 0u);
}

}  // namespace
}  // namespace mxkit::fakemx
