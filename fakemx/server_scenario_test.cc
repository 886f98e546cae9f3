// fakemx's Server driving scenario behaviours, in process: several
// receivers on their own loopback addresses, delayed and trickled replies,
// stalls, resets, a drop in the middle of DATA, and what the capture store
// records. The server runs on its own thread on ephemeral ports; each test
// drives it with blocking sockets (//testing:blocking_client), every read
// bounded by poll(), so a server that hangs fails the test instead of
// hanging it. The behaviours are written here by hand so each test names
// exactly the decision it exercises.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
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
using Clock = std::chrono::steady_clock;

using testing_helpers::Code;
using testing_helpers::kReplyTimeout;
using testing_helpers::SendMessage;

std::vector<std::string> FilesIn(const std::string& dir) { return testing_helpers::FileNames(dir); }

size_t ThreadCount() { return FilesIn("/proc/self/task").size(); }

// ---- A behaviour scripted by the test ----------------------------------------

struct Script {
  std::function<smtp::Decision(const smtp::CommandRequest&)> on_command;
  std::function<smtp::Decision(const smtp::HelloRequest&)> on_hello;
  std::function<smtp::Decision(const smtp::Recipient&)> on_rcpt;
  std::function<smtp::Decision(std::string_view)> on_message;
  milliseconds per_byte_delay{0};
  std::optional<uint64_t> drop_after_data_bytes;
  bool disconnect_resets = false;
  std::optional<std::chrono::seconds> idle_timeout;
};

class ScriptedBehaviour : public Behaviour {
 public:
  explicit ScriptedBehaviour(const Script& script) : script_(script) {}

  smtp::Decision OnCommand(const smtp::CommandRequest& request) override {
    if (!script_.on_command) return smtp::Decision::Accept();
    smtp::Decision d = script_.on_command(request);
    if (d.action != smtp::Decision::Action::kAccept) Note("script: " + std::string(request.verb));
    return d;
  }
  smtp::Decision OnHello(const smtp::HelloRequest& hello) override {
    return script_.on_hello ? script_.on_hello(hello) : smtp::Decision::Accept();
  }
  smtp::Decision OnRcptTo(const smtp::Envelope&, const smtp::Recipient& r) override {
    if (!script_.on_rcpt) return smtp::Decision::Accept();
    smtp::Decision d = script_.on_rcpt(r);
    if (d.action != smtp::Decision::Action::kAccept) Note("script: rcpt " + r.forward_path);
    return d;
  }
  smtp::Decision OnMessage(const smtp::Envelope&, std::string_view message) override {
    return script_.on_message ? script_.on_message(message) : smtp::Decision::Accept();
  }
  milliseconds per_byte_delay() const override { return script_.per_byte_delay; }
  std::optional<uint64_t> drop_after_data_bytes() const override {
    return script_.drop_after_data_bytes;
  }
  bool disconnect_resets() const override { return script_.disconnect_resets; }
  std::optional<std::chrono::seconds> idle_timeout() const override {
    return script_.idle_timeout;
  }

 private:
  Script script_;
};

BehaviourFactory Scripted(Script script) {
  return [script](const ConnectionInfo&) { return std::make_unique<ScriptedBehaviour>(script); };
}

std::shared_ptr<const tls::ServerContext> GoodTls() { return testing_helpers::GoodServerContext(); }

ReceiverOptions Receiver(std::string name, std::string address, Script script = {}) {
  ReceiverOptions r;
  r.name = name;
  r.listeners.push_back({{asio::ip::make_address(address), 0}, false});
  r.session.hostname = std::move(name);
  r.behaviour = Scripted(std::move(script));
  return r;
}

// ---- The server on its own thread ----------------------------------------------

struct Setup {
  std::vector<ReceiverOptions> receivers;
  bool maildir = false;
  size_t storage_threads = 0;
  std::chrono::seconds idle_timeout{30};
  std::chrono::seconds session_timeout{600};
  std::chrono::seconds shutdown_grace{60};
};

ServerOptions Options(Setup setup) {
  ServerOptions options;
  options.receivers = std::move(setup.receivers);
  options.idle_timeout = setup.idle_timeout;
  options.session_timeout = setup.session_timeout;
  options.shutdown_grace = setup.shutdown_grace;
  options.storage_threads = setup.storage_threads;
  options.scenario = "test-scenario";
  return options;
}

class RunningServer : public testing_helpers::RunningServer {
 public:
  explicit RunningServer(Setup setup)
      : testing_helpers::RunningServer(
            Options(setup),
            setup.maildir ? std::optional<std::string>("server_scenario_test") : std::nullopt) {}
};

// ---- A blocking client ------------------------------------------------------------

// //testing:blocking_client, connected to one of the server's listeners.
class Client : public ::mxkit::testing::BlockingClient {
 public:
  explicit Client(const asio::ip::tcp::endpoint& to)
      : BlockingClient(to.address().to_string(), to.port()) {}
};

// Greeting and EHLO, both expected to succeed.
void Greet(Client& c) { EXPECT_EQ(Code(testing_helpers::Greet(c)), "250-"); }

bool HasEntry(const CapturedSession& s, TranscriptEntry::Kind kind, std::string_view prefix) {
  for (const TranscriptEntry& e : s.transcript) {
    if (e.kind == kind && e.text.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::string Dump(const CapturedSession& s) {
  std::string out = "end_reason=" + s.end_reason + "\n";
  for (const TranscriptEntry& e : s.transcript) {
    out += std::to_string(e.offset_us) + " " + std::to_string(static_cast<int>(e.kind)) + " " +
           e.text + "\n";
  }
  return out;
}

// ---- Receivers and listeners ------------------------------------------------------

TEST(ServerScenario, TwoReceiversOnTwoLoopbackAddressesAnswerTheSameClientDifferently) {
  Script refusing;
  refusing.on_rcpt = [](const smtp::Recipient&) {
    return smtp::Decision::Reject(550, "5.1.1", "No such user here");
  };
  RunningServer server({.receivers = {Receiver("a.test", "127.0.0.2"),
                                      Receiver("b.test", "127.0.0.3", refusing)}});
  const std::vector<BoundListener> listeners = server.listeners();
  ASSERT_EQ(listeners.size(), 2u);
  EXPECT_EQ(listeners[0].receiver, "a.test");
  EXPECT_EQ(listeners[0].endpoint.address().to_string(), "127.0.0.2");
  EXPECT_EQ(listeners[1].receiver, "b.test");
  EXPECT_EQ(listeners[1].endpoint.address().to_string(), "127.0.0.3");
  EXPECT_NE(listeners[0].endpoint.port(), 0);

  const std::string rcpt = "RCPT TO:<someone@example.test>\r\n";
  Client a(server.endpoint(0));
  ASSERT_TRUE(a.connected());
  EXPECT_EQ(a.ReadReply().substr(0, 11), "220 a.test ");
  EXPECT_EQ(Code(a.Command("EHLO client.test\r\n")), "250-");
  EXPECT_EQ(Code(a.Command("MAIL FROM:<x@client.test>\r\n")), "250 ");
  EXPECT_EQ(Code(a.Command(rcpt)), "250 ");

  Client b(server.endpoint(1));
  ASSERT_TRUE(b.connected());
  EXPECT_EQ(b.ReadReply().substr(0, 11), "220 b.test ");
  EXPECT_EQ(Code(b.Command("EHLO client.test\r\n")), "250-");
  EXPECT_EQ(Code(b.Command("MAIL FROM:<x@client.test>\r\n")), "250 ");
  EXPECT_EQ(b.Command(rcpt), "550 5.1.1 No such user here\r\n");
  a.Command("QUIT\r\n");
  b.Command("QUIT\r\n");
  server.Stop();

  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0]->receiver, "a.test");
  EXPECT_EQ(sessions[0]->local_address, "127.0.0.2");
  EXPECT_EQ(sessions[1]->receiver, "b.test");
  EXPECT_EQ(sessions[1]->local_address, "127.0.0.3");
  EXPECT_EQ(sessions[1]->scenario, "test-scenario");
  EXPECT_TRUE(HasEntry(*sessions[1], TranscriptEntry::Kind::kNote,
                       "script: rcpt someone@example.test"))
      << Dump(*sessions[1]);
}

// A port nobody listens on right now (bound and released).
uint16_t FreePort(const char* address) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, address, &addr.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A behaviour has no handle on the session to Decide() later, so its own
// deferral is answered at once with a temporary failure, not left hanging;
// an accepting answer passes through as it was given.
TEST(ServerScenario, ABehavioursOwnDeferralIsAnswered451AndAcceptancePassesThrough) {
  Script deferring;
  deferring.on_rcpt = [](const smtp::Recipient& r) {
    if (r.forward_path == "later@example.test") return smtp::Decision::Defer();
    smtp::Decision d = smtp::Decision::Accept();
    d.text = "Recipient fine";
    return d;
  };
  RunningServer server({.receivers = {Receiver("a.test", "127.0.0.2", deferring)}});
  Client c(server.endpoint(0));
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.ReadReply().substr(0, 11), "220 a.test ");
  EXPECT_EQ(Code(c.Command("EHLO client.test\r\n")), "250-");
  EXPECT_EQ(Code(c.Command("MAIL FROM:<x@client.test>\r\n")), "250 ");
  EXPECT_EQ(c.Command("RCPT TO:<later@example.test>\r\n"),
            "451 4.3.0 Error: behaviour deferred a decision\r\n");
  const std::string accepted = c.Command("RCPT TO:<now@example.test>\r\n");
  EXPECT_EQ(Code(accepted), "250 ");
  EXPECT_NE(accepted.find("Recipient fine"), std::string::npos) << accepted;
  c.Command("QUIT\r\n");
}

TEST(ServerScenario, ListenBindsEveryListenerOrNoneAndNamesTheFailingOne) {
  // Occupy 127.0.0.3:P so the second receiver cannot bind it.
  const int busy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.3", &addr.sin_addr);
  ASSERT_EQ(bind(busy, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(busy, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(busy, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t busy_port = ntohs(addr.sin_port);
  const uint16_t first_port = FreePort("127.0.0.2");

  ServerOptions options;
  options.receivers.push_back(Receiver("a.test", "127.0.0.2"));
  options.receivers[0].listeners[0].endpoint.port(first_port);
  options.receivers.push_back(Receiver("b.test", "127.0.0.3"));
  options.receivers[1].listeners[0].endpoint.port(busy_port);
  asio::io_context io;
  Server server(io, options, nullptr);
  const absl::Status status = server.Listen();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  const std::string message(status.message());
  EXPECT_NE(message.find("127.0.0.3:" + std::to_string(busy_port)), std::string::npos) << message;
  EXPECT_NE(message.find("b.test"), std::string::npos) << message;
  // None: the first receiver's port was released again.
  const int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in first{};
  first.sin_family = AF_INET;
  first.sin_port = htons(first_port);
  inet_pton(AF_INET, "127.0.0.2", &first.sin_addr);
  EXPECT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&first), sizeof first), 0) << errno;
  close(probe);
  close(busy);
}

TEST(ServerScenario, ImplicitTlsListenerWithoutTlsIsRefusedBeforeBinding) {
  ServerOptions options;
  options.receivers.push_back(Receiver("a.test", "127.0.0.2"));
  options.receivers[0].listeners[0].implicit_tls = true;
  asio::io_context io;
  Server server(io, options, nullptr);
  const absl::Status status = server.Listen();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("a.test"), std::string_view::npos) << status;
}

// The old single-receiver fields still make one receiver.
TEST(ServerScenario, SingleReceiverFieldsMakeOneReceiverNamedAfterTheHostname) {
  ServerOptions options;
  options.endpoint = {asio::ip::make_address("127.0.0.1"), 0};
  options.session.hostname = "single.test";
  asio::io_context io;
  Server server(io, options, nullptr);
  ASSERT_TRUE(server.Listen().ok());
  const std::vector<BoundListener> listeners = server.listeners();
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0].receiver, "single.test");
  EXPECT_FALSE(listeners[0].implicit_tls);
  EXPECT_EQ(listeners[0].endpoint, server.local_endpoint());
  EXPECT_NE(server.local_endpoint().port(), 0);
  EXPECT_FALSE(server.smtps_local_endpoint().has_value());
}

// ---- Tarpits, stalls, resets, drops ------------------------------------------------

TEST(ServerScenario, DelayedDecisionHoldsTheReplyAtLeastTheDelay) {
  Script script;
  script.on_hello = [](const smtp::HelloRequest&) {
    smtp::Decision d = smtp::Decision::Accept();
    d.delay = milliseconds(400);
    return d;
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  ASSERT_EQ(Code(c.ReadReply()), "220 ");
  const auto start = Clock::now();
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.ReadRawSome(milliseconds(250)), "") << "the reply came before its delay";
  EXPECT_EQ(Code(c.ReadReply()), "250-");
  EXPECT_GE(Clock::now() - start, milliseconds(400));
  // Not a client wait: the session goes on normally.
  SendMessage(c);
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
}

TEST(ServerScenario, DelayedReplyBetweenTransactionsIsCutShortByShutdownWith421) {
  Script script;
  script.on_command = [](const smtp::CommandRequest& r) {
    if (r.verb != "NOOP") return smtp::Decision::Accept();
    smtp::Decision d = smtp::Decision::Reply(250, "2.0.0", "slow ok");
    d.delay = std::chrono::hours(1);
    return d;
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  Greet(c);
  c.Send("NOOP\r\n");
  EXPECT_EQ(c.ReadRawSome(milliseconds(200)), "");
  const auto start = Clock::now();
  server.Stop();
  EXPECT_EQ(c.ReadReply().substr(0, 10), "421 4.3.2 ");
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->end_reason, "shutdown");
}

// A delay is not a client wait, so the idle timeout does not end it; the
// session time limit does, with 421 instead of the held reply.
TEST(ServerScenario, DelayOutlastingTheIdleTimeoutEndsOnlyAtTheSessionTimeout) {
  Script script;
  script.on_hello = [](const smtp::HelloRequest&) {
    smtp::Decision d = smtp::Decision::Accept();
    d.delay = std::chrono::hours(1);
    return d;
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                        .idle_timeout = std::chrono::seconds(1),
                        .session_timeout = std::chrono::seconds(2)});
  Client c(server.endpoint(0));
  const auto start = Clock::now();
  ASSERT_EQ(Code(c.ReadReply()), "220 ");
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.ReadReply(), "421 4.4.2 mx.test Error: session time limit exceeded\r\n");
  EXPECT_GE(Clock::now() - start, milliseconds(1900));
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_TRUE(c.eof());
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->end_reason, "session timeout");
}

TEST(ServerScenario, PerByteDelayWritesRepliesOneByteAtATime) {
  Script script;
  script.per_byte_delay = milliseconds(15);
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  const auto start = Clock::now();
  const std::string greeting = c.ReadReply();
  const auto took = Clock::now() - start;
  EXPECT_EQ(greeting, "220 mx.test ESMTP mxkit\r\n");
  // Bytes 15 ms apart arrive in many reads, and not faster than the gaps.
  EXPECT_GE(took, milliseconds(15) * static_cast<int>(greeting.size() - 1) * 9 / 10);
  EXPECT_GE(c.reads(), 5);
  const auto sessions_start = Clock::now();
  EXPECT_EQ(c.Command("NOOP\r\n").substr(0, 4), "250 ");
  EXPECT_GE(Clock::now() - sessions_start, milliseconds(15) * 10);
}

// The next command arrives while a reply is still being written, so its
// readiness event comes while no read is pending (the reactor is
// edge-triggered): the driver must still pick it up rather than wait for
// bytes that already came.
TEST(ServerScenario, ACommandArrivingWhileAReplyIsWrittenIsStillRead) {
  Script script;
  script.per_byte_delay = milliseconds(10);
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  ASSERT_EQ(Code(c.ReadReply()), "220 ");
  c.Send("NOOP\r\n");
  std::string got = c.ReadRawSome(kReplyTimeout);  // the first byte of the 250 is out
  EXPECT_FALSE(got.empty());
  c.Send("NOOP\r\n");
  const auto deadline = Clock::now() + kReplyTimeout;
  while (got.size() < 28 && Clock::now() < deadline && !c.eof()) got += c.ReadRawSome(milliseconds(500));
  EXPECT_EQ(got, "250 2.0.0 OK\r\n250 2.0.0 OK\r\n");
}

TEST(ServerScenario, StallSendsNothingThenClosesAtTheIdleTimeoutWithout421) {
  Script script;
  script.on_command = [](const smtp::CommandRequest& r) {
    return r.verb == "NOOP" ? smtp::Decision::Stall() : smtp::Decision::Accept();
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                        .idle_timeout = std::chrono::seconds(1)});
  Client c(server.endpoint(0));
  Greet(c);
  const auto start = Clock::now();
  c.Send("NOOP\r\n");
  // What the client sends meanwhile changes nothing and gets no reply.
  EXPECT_EQ(c.ReadRawSome(milliseconds(300)), "");
  c.Send("RSET\r\nQUIT\r\n");
  EXPECT_EQ(c.ReadRawUntilEof(milliseconds(4000)), "");
  EXPECT_TRUE(c.eof());
  EXPECT_GE(Clock::now() - start, milliseconds(900));
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->end_reason, "stalled") << Dump(*sessions[0]);
  EXPECT_FALSE(HasEntry(*sessions[0], TranscriptEntry::Kind::kReply, "421"));
}

TEST(ServerScenario, StalledConnectionIsClosedAtShutdownWithoutAReply) {
  Script script;
  script.on_command = [](const smtp::CommandRequest& r) {
    return r.verb == "NOOP" ? smtp::Decision::Stall() : smtp::Decision::Accept();
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  Greet(c);
  c.Send("NOOP\r\n");
  EXPECT_EQ(c.ReadRawSome(milliseconds(200)), "");
  const auto start = Clock::now();
  server.Stop();
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_TRUE(c.eof());
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
}

// A client that pipelines a great many commands (RFC 2920) and reads
// nothing for a while fills our send buffer, and our writes then complete
// in parts: every reply must still arrive, once and in order.
TEST(ServerScenario, PipelinedCommandsGetEveryReplyWhenTheClientReadsLate) {
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1")}});
  Client c(server.endpoint(0));
  c.LimitReceiveBuffer(16 * 1024);
  Greet(c);
  constexpr int kCommands = 100000;
  std::string commands;
  // EHLO's reply is several times its command: megabytes of replies that
  // the client's small receive buffer and our send buffer cannot hold, so
  // some writes take only part of a reply batch.
  for (int i = 0; i < kCommands; ++i) commands += (i % 2 == 0) ? "EHLO client.test\r\n" : "NOOP\r\n";
  commands += "QUIT\r\n";
  std::thread sender([&] { c.SendRaw(commands); });
  std::this_thread::sleep_for(milliseconds(1500));
  const std::string replies = c.ReadRawUntilEof(milliseconds(30000));
  sender.join();
  EXPECT_TRUE(c.eof());
  size_t lines = 0;
  size_t out_of_order = 0;
  size_t at = 0;
  while (at < replies.size()) {
    const size_t end = replies.find("\r\n", at);
    ASSERT_NE(end, std::string::npos) << "a reply cut short at byte " << at;
    if (replies.compare(at, 4, "250-") != 0) {  // a reply's last line
      ++lines;
      if (lines <= static_cast<size_t>(kCommands)) {
        EXPECT_EQ(replies.compare(at, 4, "250 "), 0) << "reply " << lines;
        // Each EHLO's reply ends with its own last keyword, each NOOP's
        // with "OK": a reply lost or sent twice shifts the pattern.
        if ((lines % 2 == 1) != (replies.compare(end - 2, 2, "OK") != 0)) {
          ++out_of_order;
        }
      } else {
        EXPECT_EQ(replies.compare(at, 4, "221 "), 0);
      }
    }
    at = end + 2;
  }
  EXPECT_EQ(lines, static_cast<size_t>(kCommands) + 1);
  EXPECT_EQ(out_of_order, 0u);
  server.Stop();
}

TEST(ServerScenario, ResetDecisionResetsTheConnection) {
  Script script;
  script.on_command = [](const smtp::CommandRequest& r) {
    return r.verb == "RSET" ? smtp::Decision::Reset() : smtp::Decision::Accept();
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  Greet(c);
  c.Send("RSET\r\n");
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_EQ(c.error(), ECONNRESET);
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->end_reason.substr(0, 10), "rule reset") << Dump(*sessions[0]);
}

TEST(ServerScenario, DropAfterDataBytesEndsTheConnectionMidMessage) {
  struct Row {
    const char* name;
    bool resets;
    bool pipelined;  // the content rides behind "DATA" in the same write
    int want_errno;
  };
  const Row rows[] = {
      {"close", false, false, 0},
      {"reset", true, false, ECONNRESET},
      {"close, content pipelined behind DATA", false, true, 0},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Script script;
    script.drop_after_data_bytes = 10;
    script.disconnect_resets = row.resets;
    RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
    Client c(server.endpoint(0));
    Greet(c);
    EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
    EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
    const std::string content = "Subject: a long one\r\n\r\n" + std::string(200, 'x') + "\r\n.\r\n";
    if (row.pipelined) {
      c.Send("DATA\r\n" + content);
      EXPECT_EQ(Code(c.ReadReply()), "354 ");
    } else {
      EXPECT_EQ(Code(c.Command("DATA\r\n")), "354 ");
      c.Send(content);
    }
    // No reply to the message: the connection just ends.
    EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
    EXPECT_TRUE(c.eof());
    EXPECT_EQ(c.error(), row.want_errno);
    server.Stop();
    EXPECT_EQ(server.stats().messages_stored, 0u);
    const auto sessions = server.capture().Sessions();
    ASSERT_EQ(sessions.size(), 1u);
    EXPECT_TRUE(sessions[0]->messages.empty());
    EXPECT_EQ(sessions[0]->end_reason,
              std::string(row.resets ? "rule reset" : "rule drop") + " after 10 DATA bytes");
  }
}

TEST(ServerScenario, DropAfterDataBytesLetsAShorterMessageThrough) {
  Script script;
  script.drop_after_data_bytes = 1000;
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  Greet(c);
  SendMessage(c);
  // The count starts again with the next message.
  SendMessage(c);
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
  server.Stop();
  EXPECT_EQ(server.stats().messages_stored, 2u);
}

// BDAT content counts like DATA content, over all the chunks of a message,
// and only the chunks' bytes count: the BDAT line pipelined behind a chunk
// is the next command, not content.
TEST(ServerScenario, DropAfterDataBytesCountsTheBdatChunksOfAMessage) {
  struct Row {
    const char* name;
    std::vector<std::string> writes;  // each answered by one reply, but the last
    int chunk_replies;                // to the last write, before the end
    bool dropped;
  };
  const Row rows[] = {
      {"one chunk over the limit", {"BDAT 100 LAST\r\n" + std::string(100, 'x')}, 0, true},
      {"two chunks together over it", {"BDAT 6\r\nabcdef", "BDAT 6 LAST\r\nghijkl"}, 0, true},
      {"two chunks pipelined, together over it",
       {"BDAT 6\r\nabcdefBDAT 6 LAST\r\nghijkl"}, 1, true},
      {"two chunks pipelined, together under it",
       {"BDAT 6\r\nabcdefBDAT 3 LAST\r\nghi"}, 1, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Script script;
    script.drop_after_data_bytes = 10;
    ReceiverOptions receiver = Receiver("mx.test", "127.0.0.1", script);
    receiver.session.extensions.chunking = true;
    RunningServer server({.receivers = {receiver}});
    Client c(server.endpoint(0));
    Greet(c);
    EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
    EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
    for (size_t i = 0; i + 1 < row.writes.size(); ++i) {
      EXPECT_EQ(Code(c.Command(row.writes[i])), "250 ");
    }
    c.Send(row.writes.back());
    for (int i = 0; i < row.chunk_replies; ++i) {
      EXPECT_EQ(c.ReadReply(), "250 2.0.0 Chunk received, 6 octets so far\r\n");
    }
    if (row.dropped) {
      EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
      EXPECT_TRUE(c.eof());
    } else {
      EXPECT_EQ(Code(c.ReadReply()), "250 ");  // the message
      // The count starts again with the next message.
      EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
      EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
      EXPECT_EQ(Code(c.Command("BDAT 9 LAST\r\n123456789")), "250 ");
      EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
    }
    server.Stop();
    EXPECT_EQ(server.stats().messages_stored, row.dropped ? 0u : 2u);
    const auto sessions = server.capture().Sessions();
    ASSERT_EQ(sessions.size(), 1u);
    if (row.dropped) {
      EXPECT_EQ(sessions[0]->end_reason, "rule drop after 10 DATA bytes");
    }
  }
}

TEST(ServerScenario, BehaviourIdleTimeoutOverridesTheServers) {
  Script script;
  script.idle_timeout = std::chrono::seconds(1);
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                        .idle_timeout = std::chrono::seconds(60)});
  Client c(server.endpoint(0));
  ASSERT_EQ(Code(c.ReadReply()), "220 ");
  const auto start = Clock::now();
  EXPECT_EQ(c.ReadReply(milliseconds(4000)).substr(0, 10), "421 4.4.2 ");
  EXPECT_GE(Clock::now() - start, milliseconds(900));
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0]->end_reason, "idle timeout");
}

// ---- Capture -------------------------------------------------------------------------

TEST(ServerScenario, CaptureRecordsARejectedRecipientSession) {
  Script script;
  script.on_rcpt = [](const smtp::Recipient& r) {
    return r.forward_path.rfind("unknown", 0) == 0
               ? smtp::Decision::Reject(550, "5.1.1", "No such user here")
               : smtp::Decision::Accept();
  };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)}});
  Client c(server.endpoint(0));
  Greet(c);
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
  EXPECT_EQ(c.Command("RCPT TO:<unknown@mx.test>\r\n"), "550 5.1.1 No such user here\r\n");
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
  server.Stop();

  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  const CapturedSession& s = *sessions[0];
  EXPECT_EQ(s.receiver, "mx.test");
  EXPECT_EQ(s.client_address, "127.0.0.1");
  EXPECT_NE(s.client_port, 0);
  EXPECT_EQ(s.local_address, "127.0.0.1");
  EXPECT_EQ(s.local_port, server.endpoint(0).port());
  EXPECT_FALSE(s.implicit_tls);
  EXPECT_TRUE(s.ended_at_us.has_value());
  EXPECT_EQ(s.end_reason, "quit");
  EXPECT_TRUE(s.messages.empty());
  // Every command, every reply exactly as sent, in order, with offsets.
  std::vector<std::pair<TranscriptEntry::Kind, std::string>> want = {
      {TranscriptEntry::Kind::kReply, "220 mx.test ESMTP mxkit\r\n"},
      {TranscriptEntry::Kind::kCommand, "EHLO client.test"},
      {TranscriptEntry::Kind::kReply, "250-mx.test"},
      {TranscriptEntry::Kind::kCommand, "MAIL FROM:<a@client.test>"},
      {TranscriptEntry::Kind::kReply, "250 "},
      {TranscriptEntry::Kind::kCommand, "RCPT TO:<unknown@mx.test>"},
      {TranscriptEntry::Kind::kNote, "script: rcpt unknown@mx.test"},
      {TranscriptEntry::Kind::kReply, "550 5.1.1 No such user here\r\n"},
      {TranscriptEntry::Kind::kCommand, "QUIT"},
      {TranscriptEntry::Kind::kReply, "221 "},
  };
  ASSERT_EQ(s.transcript.size(), want.size()) << Dump(s);
  int64_t last = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(s.transcript[i].kind, want[i].first) << Dump(s);
    EXPECT_EQ(s.transcript[i].text.substr(0, want[i].second.size()), want[i].second) << Dump(s);
    EXPECT_GE(s.transcript[i].offset_us, last);
    last = s.transcript[i].offset_us;
  }
}

TEST(ServerScenario, CaptureRecordsAFailedHandshake) {
  ReceiverOptions receiver = Receiver("mx.test", "127.0.0.1");
  receiver.tls_context = GoodTls();
  receiver.tls_certificate = "good";
  RunningServer server({.receivers = {receiver}});
  Client c(server.endpoint(0));
  Greet(c);
  EXPECT_EQ(c.Command("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  // Not a ClientHello at all: the server's engine fails on the record.
  c.Send(std::string("\x16\x03\x01\x00\x05hello", 10));
  c.ReadRawUntilEof(kReplyTimeout);
  EXPECT_TRUE(c.eof());
  server.Stop();
  EXPECT_EQ(server.stats().tls_failed, 1u);
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  const CapturedSession& s = *sessions[0];
  EXPECT_FALSE(s.tls.used);
  EXPECT_FALSE(s.tls_error.empty());
  EXPECT_EQ(s.end_reason, "tls failed") << Dump(s);
  EXPECT_TRUE(HasEntry(s, TranscriptEntry::Kind::kCommand, "STARTTLS"));
  EXPECT_TRUE(HasEntry(s, TranscriptEntry::Kind::kNote, "tls failed: "));
}

TEST(ServerScenario, CaptureRecordsEachStoredMessageExactlyOnceWithItsMaildirName) {
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1")},
                        .maildir = true,
                        .storage_threads = 2});
  Client c(server.endpoint(0));
  Greet(c);
  SendMessage(c);
  SendMessage(c);
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
  server.Stop();
  EXPECT_EQ(server.stats().messages_stored, 2u);
  EXPECT_EQ(server.capture().stats().messages_total, 2u);
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  const CapturedSession& s = *sessions[0];
  ASSERT_EQ(s.messages.size(), 2u);
  std::vector<std::string> stored = FilesIn(server.dir() + "/new");
  ASSERT_EQ(stored.size(), 2u);
  for (const CapturedMessage& m : s.messages) {
    EXPECT_EQ(m.raw, "Subject: t\r\n\r\nhello\r\n");
    EXPECT_EQ(m.delivery.reverse_path, "a@client.test");
    ASSERT_EQ(m.delivery.recipients.size(), 1u);
    EXPECT_EQ(m.delivery.recipients[0].address, "b@mx.test");
    EXPECT_EQ(m.delivery.helo, "client.test");
    EXPECT_EQ(m.delivery.server_hostname, "mx.test");
    EXPECT_NE(std::find(stored.begin(), stored.end(), m.maildir_name), stored.end())
        << m.maildir_name;
  }
  EXPECT_NE(s.messages[0].maildir_name, s.messages[1].maildir_name);
}

TEST(ServerScenario, WithoutAMaildirMessagesAreCapturedAndAnswered250WithoutStorageThreads) {
  const size_t threads_before = ThreadCount();
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1")},
                        .maildir = false,
                        .storage_threads = 4});
  // Only the io_context thread of the test was added.
  EXPECT_EQ(ThreadCount(), threads_before + 1);
  Client c(server.endpoint(0));
  Greet(c);
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("DATA\r\n")), "354 ");
  EXPECT_EQ(c.Command("Subject: t\r\n\r\nhello\r\n.\r\n"), "250 2.0.0 OK: message accepted\r\n");
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
  server.Stop();
  EXPECT_EQ(server.stats().messages_stored, 1u);
  EXPECT_EQ(server.stats().storage_failures, 0u);
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  EXPECT_EQ(sessions[0]->messages[0].raw, "Subject: t\r\n\r\nhello\r\n");
  EXPECT_EQ(sessions[0]->messages[0].maildir_name, "");
}

// A message larger than the shared read buffer many times over: reads that
// fill the buffer are followed by more at once, and the message arrives
// whole, byte for byte.
TEST(ServerScenario, AMessageManyReadBuffersLongArrivesWhole) {
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1")}});
  Client c(server.endpoint(0));
  Greet(c);
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("DATA\r\n")), "354 ");
  std::string body = "Subject: big\r\n\r\n";
  for (int i = 0; body.size() < 3 * kReadBufferSize * 5; ++i) {
    body += "line " + std::to_string(i) + " " + std::string(60, 'a' + i % 26) + "\r\n";
  }
  std::thread sender([&] { c.Send(body + ".\r\n"); });
  EXPECT_EQ(Code(c.ReadReply()), "250 ");
  sender.join();
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
  server.Stop();
  const auto sessions = server.capture().Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  ASSERT_EQ(sessions[0]->messages.size(), 1u);
  EXPECT_TRUE(sessions[0]->messages[0].raw == body) << sessions[0]->messages[0].raw.size();
}

// ---- A tarpit on the stored message, and shutdown's grace --------------------

smtp::Decision AcceptAfter(milliseconds delay) {
  smtp::Decision d = smtp::Decision::Accept();
  d.delay = delay;
  return d;
}

void SendEnvelopeAndContent(Client& c) {
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("DATA\r\n")), "354 ");
  c.Send("Subject: t\r\n\r\nhello\r\n.\r\n");
}

// The delay of a tarpitted message reply runs before the message is
// stored: a ForceClose (or session timeout) that cuts it short answers 421
// for a message that is not in new/, so the client's retry cannot make a
// duplicate and every 250 is a message on disk.
TEST(ServerScenario, ATarpittedMessageCutShortIsAnswered421AndNotStored) {
  for (const size_t threads : {size_t{0}, size_t{2}}) {
    SCOPED_TRACE("storage_threads=" + std::to_string(threads));
    Script script;
    script.on_message = [](std::string_view) { return AcceptAfter(milliseconds(1000)); };
    RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                          .maildir = true,
                          .storage_threads = threads});
    Client c(server.endpoint(0));
    Greet(c);
    SendEnvelopeAndContent(c);
    EXPECT_EQ(c.ReadRawSome(milliseconds(300)), "") << "the reply came before its delay";
    server.Stop();  // Shutdown + ForceClose: the grace is over at once
    EXPECT_EQ(c.ReadReply().substr(0, 10), "421 4.3.2 ");
    EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
    EXPECT_TRUE(c.eof());
    EXPECT_EQ(FilesIn(server.dir() + "/new").size(), 0u);
    EXPECT_EQ(server.stats().messages_stored, 0u);
  }
}

TEST(ServerScenario, ATarpittedMessageIsStoredOnlyOnceItsDelayIsOver) {
  Script script;
  script.on_message = [](std::string_view) { return AcceptAfter(milliseconds(800)); };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                        .maildir = true,
                        .storage_threads = 2});
  Client c(server.endpoint(0));
  Greet(c);
  const auto start = Clock::now();
  SendEnvelopeAndContent(c);
  EXPECT_EQ(c.ReadRawSome(milliseconds(300)), "");
  EXPECT_EQ(FilesIn(server.dir() + "/new").size(), 0u) << "stored before its delay was over";
  const std::string reply = c.ReadReply();
  EXPECT_EQ(Code(reply), "250 ");
  EXPECT_NE(reply.find("queued as"), std::string::npos) << reply;
  EXPECT_GE(Clock::now() - start, milliseconds(800));
  EXPECT_EQ(FilesIn(server.dir() + "/new").size(), 1u);
  EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
}

// With a Maildir the behaviour's accepting reply is kept (a scenario's own
// 250 text or raw bytes); the Maildir name fills in only a reply without
// words of its own.
TEST(ServerScenario, AStoredMessageKeepsTheBehavioursOwnReply) {
  struct Row {
    const char* name;
    smtp::Decision verdict;
    std::string want;  // a part of the reply
  };
  smtp::Decision raw = smtp::Decision::Accept();
  raw.raw = "250 raw words\r\n";
  const Row rows[] = {
      {"text", smtp::Decision::Accept("custom words"), "250 2.0.0 custom words\r\n"},
      {"raw", raw, "250 raw words\r\n"},
      {"none", smtp::Decision::Accept(), "Ok: queued as "},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Script script;
    script.on_message = [verdict = row.verdict](std::string_view) { return verdict; };
    RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                          .maildir = true});
    Client c(server.endpoint(0));
    Greet(c);
    SendEnvelopeAndContent(c);
    const std::string reply = c.ReadReply();
    EXPECT_NE(reply.find(row.want), std::string::npos) << reply;
    EXPECT_EQ(Code(c.Command("QUIT\r\n")), "221 ");
    server.Stop();
    EXPECT_EQ(FilesIn(server.dir() + "/new").size(), 1u);
    EXPECT_EQ(server.stats().messages_stored, 1u);
  }
}

// Shutdown alone, with a long grace: a connection between transactions gets
// 421 at once; one inside a transaction finishes it (its 250 included) and
// then gets 421; the server is drained long before the grace is over.
TEST(ServerScenario, ShutdownEndsAnIdleConnectionAtOnceAndLetsATransactionFinish) {
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1")},
                        .maildir = true,
                        .storage_threads = 2,
                        .shutdown_grace = std::chrono::seconds(60)});
  Client idle(server.endpoint(0));
  Greet(idle);
  Client busy(server.endpoint(0));
  Greet(busy);
  EXPECT_EQ(Code(busy.Command("MAIL FROM:<a@client.test>\r\n")), "250 ");
  EXPECT_EQ(Code(busy.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
  const auto start = Clock::now();
  server.BeginShutdown();
  EXPECT_EQ(idle.ReadReply().substr(0, 10), "421 4.3.2 ");
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
  EXPECT_EQ(idle.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_TRUE(idle.eof());
  // The transaction goes on as if nothing happened.
  EXPECT_EQ(busy.ReadRawSome(milliseconds(300)), "");
  EXPECT_EQ(Code(busy.Command("DATA\r\n")), "354 ");
  EXPECT_EQ(Code(busy.Command("Subject: t\r\n\r\nhello\r\n.\r\n")), "250 ");
  EXPECT_EQ(busy.ReadReply().substr(0, 10), "421 4.3.2 ");
  EXPECT_EQ(busy.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_TRUE(busy.eof());
  EXPECT_TRUE(server.Drained(milliseconds(5000))) << "still running after the last connection";
  EXPECT_EQ(FilesIn(server.dir() + "/new").size(), 1u);
  EXPECT_EQ(server.stats().messages_stored, 1u);
}

// A delayed (tarpitted) message reply inside the grace period is waited
// for: the client gets its 250, the message is in new/, then the 421.
TEST(ServerScenario, ShutdownLetsADelayedMessageReplyFinishWithinTheGrace) {
  Script script;
  script.on_message = [](std::string_view) { return AcceptAfter(milliseconds(1000)); };
  RunningServer server({.receivers = {Receiver("mx.test", "127.0.0.1", script)},
                        .maildir = true,
                        .storage_threads = 2,
                        .shutdown_grace = std::chrono::seconds(60)});
  Client c(server.endpoint(0));
  Greet(c);
  const auto start = Clock::now();
  SendEnvelopeAndContent(c);
  EXPECT_EQ(c.ReadRawSome(milliseconds(300)), "");
  server.BeginShutdown();
  EXPECT_EQ(Code(c.ReadReply()), "250 ");
  EXPECT_GE(Clock::now() - start, milliseconds(1000));
  EXPECT_EQ(c.ReadReply().substr(0, 10), "421 4.3.2 ");
  EXPECT_EQ(c.ReadRawUntilEof(kReplyTimeout), "");
  EXPECT_TRUE(c.eof());
  EXPECT_TRUE(server.Drained(milliseconds(5000)));
  EXPECT_EQ(FilesIn(server.dir() + "/new").size(), 1u);
  EXPECT_EQ(server.stats().messages_stored, 1u);
}

// Destroying the server closes its acceptors; their handlers run later,
// when the io_context does, and must not touch the server that is gone
// (ASan reports a heap-use-after-free here if they do).
TEST(ServerScenario, AcceptHandlersRunningAfterTheServerIsGoneTouchNothing) {
  asio::io_context io{1};
  {
    ServerOptions options;
    options.receivers = {Receiver("mx.test", "127.0.0.1"), Receiver("mx2.test", "127.0.0.2")};
    Server server(io, std::move(options), nullptr);
    ASSERT_TRUE(server.Listen().ok());
    server.Start();
  }
  io.run_for(milliseconds(200));
  EXPECT_TRUE(io.stopped()) << "a handler of the destroyed server is still pending";
}

}  // namespace
}  // namespace mxkit::fakemx
