#include "fakemx/instance.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "dns/ares_resolver.h"
#include "dns/resolver.h"
#include "fakemx/verdict_authentication_results.h"
#include "gtest/gtest.h"
#include "testing/blocking_client.h"

namespace mxkit::fakemx {
namespace {

using std::chrono::milliseconds;
using testing::BlockingClient;

constexpr milliseconds kWait{5000};

// Sends one message through `port`; returns the reply to the end of data.
std::string SendMessage(uint16_t port, const std::string& rcpt, const std::string& subject) {
  BlockingClient c(port);
  if (!c.connected()) return "not connected";
  c.ReadReply();
  c.Command("EHLO client.test\r\n");
  c.Command("MAIL FROM:<alice@client.test>\r\n");
  c.Command("RCPT TO:<" + rcpt + ">\r\n");
  c.Command("DATA\r\n");
  std::string reply = c.Command("Subject: " + subject + "\r\n\r\nhello\r\n.\r\n");
  c.Command("QUIT\r\n");
  return reply;
}

uint16_t SmtpPort(const Instance& instance) {
  const auto at = instance.smtp_endpoint();
  return at ? at->port() : 0;
}

// A port free right now on 127.0.0.1.
uint16_t FreePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string OneReceiverYaml(const std::string& name, uint16_t port, const std::string& greeting) {
  return "name: " + name + "\nreceivers:\n  - name: " + name +
         ".test\n    listeners: [\"127.0.0.1:" + std::to_string(port) +
         "\"]\n    greeting: \"220 " + greeting + "\"\n";
}

std::unique_ptr<Instance> StartOrDie(InstanceOptions options) {
  absl::StatusOr<std::unique_ptr<Instance>> started = Instance::Start(std::move(options));
  EXPECT_TRUE(started.ok()) << started.status();
  return started.ok() ? *std::move(started) : nullptr;
}

TEST(Instance, StartsOnEphemeralPortsAndReturnsTheMessageWithItsSession) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  const uint16_t port = SmtpPort(*fakemx);
  ASSERT_NE(port, 0);
  EXPECT_NE(port, 2525);  // the catalogue's port, overridden
  ASSERT_TRUE(fakemx->dns_endpoint().has_value());
  EXPECT_NE(fakemx->dns_endpoint()->port(), 0);

  EXPECT_EQ(SendMessage(port, "bob@example.test", "first").substr(0, 3), "250");
  std::optional<ReceivedMessage> m = fakemx->WaitForMessage(ToRecipient("BOB@example.test"), kWait);
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->message.raw.view().find("Subject: first"), std::string_view::npos);
  EXPECT_EQ(m->message.delivery.reverse_path, "alice@client.test");
  EXPECT_EQ(m->session.receiver, "example.test");
  EXPECT_EQ(m->session.scenario, "good");
  EXPECT_FALSE(m->message.delivery.tls.used);
  // Judged by the scenario's verdict engine before the 250, in plaintext.
  EXPECT_TRUE(m->message.verdict->evaluated);
  EXPECT_FALSE(m->message.verdict->summary.encrypted);
  EXPECT_FALSE(AuthenticationResultsValue(*m->message.verdict).empty());
  EXPECT_TRUE(m->session.messages.empty());
  EXPECT_EQ(fakemx->Messages().size(), 1u);
}

TEST(Instance, WaitForMessageReturnsNulloptAtTheTimeout) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(fakemx->WaitForMessage(AnyMessage(), milliseconds(150)).has_value());
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, milliseconds(150));
  EXPECT_LT(waited, milliseconds(3000));
  // A message to someone else does not end a wait for bob.
  SendMessage(SmtpPort(*fakemx), "carol@example.test", "not bob");
  EXPECT_FALSE(fakemx->WaitForMessage(ToRecipient("bob@example.test"), milliseconds(100)));
}

TEST(Instance, WaitForMessageWakesAsTheMessageArrives) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  std::future<std::optional<ReceivedMessage>> waiting = std::async(std::launch::async, [&] {
    return fakemx->WaitForMessage(FromSender("alice@client.test"), milliseconds(20000));
  });
  // Give the wait a head start so it is registered, not found by the scan.
  std::this_thread::sleep_for(milliseconds(100));
  ASSERT_EQ(SendMessage(SmtpPort(*fakemx), "bob@example.test", "late").substr(0, 3), "250");
  const auto replied = std::chrono::steady_clock::now();
  std::optional<ReceivedMessage> m = waiting.get();
  const auto woke = std::chrono::steady_clock::now();
  ASSERT_TRUE(m.has_value());
  // Woken by the capture's observer, not by the 20 s timeout; the QUIT
  // exchange after the 250 is all that separates them.
  EXPECT_LT(woke - replied, milliseconds(2000));
}

TEST(Instance, WaitForSessionSeesASessionThatNeverDelivered) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  {
    BlockingClient c(SmtpPort(*fakemx));
    c.ReadReply();
    c.Command("EHLO client.test\r\n");
    EXPECT_EQ(c.Command("QUIT\r\n").substr(0, 3), "221");
  }
  std::optional<CapturedSession> s = fakemx->WaitForSession(
      [](const CapturedSession& s) { return s.end_reason == "quit"; }, kWait);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->messages.empty());
  EXPECT_FALSE(s->verdict.encrypted);
  EXPECT_EQ(fakemx->Sessions().size(), 1u);
}

TEST(Instance, BadScenarioAtStartIsAUsageErrorNamingLineAndColumn) {
  absl::StatusOr<std::unique_ptr<Instance>> started =
      Instance::Start(InstanceOptions::Embedded(ScenarioSource::Yaml(
          "name: broken\nreceivers:\n  - name: a.test\n    listeners: [\"nope\"]\n", "t.yaml")));
  ASSERT_FALSE(started.ok());
  EXPECT_TRUE(IsUsageError(started.status()));
  EXPECT_NE(started.status().message().find("t.yaml:4:"), absl::string_view::npos)
      << started.status();

  started = Instance::Start(InstanceOptions::Embedded(ScenarioSource::Named("no-such-scenario")));
  ASSERT_FALSE(started.ok());
  EXPECT_TRUE(IsUsageError(started.status()));
}

TEST(Instance, PortTakenIsAFailureToStartNotAUsageError) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = taken.local_endpoint().port();
  InstanceOptions options =
      InstanceOptions::Embedded(ScenarioSource::Yaml(OneReceiverYaml("taken", port, "hi")));
  options.ephemeral_ports = false;
  absl::StatusOr<std::unique_ptr<Instance>> started = Instance::Start(std::move(options));
  ASSERT_FALSE(started.ok());
  EXPECT_FALSE(IsUsageError(started.status()));
  EXPECT_NE(started.status().message().find("listen: "), absl::string_view::npos)
      << started.status();
}

TEST(Instance, RunsAScenarioBuiltInCpp) {
  Scenario scenario;
  scenario.name = "built";
  Receiver r;
  r.name = "built.test";
  r.hostname = "mx.built.test";
  ListenerSpec listener;
  listener.host = "127.0.0.1";
  r.listeners.push_back(listener);
  ScenarioReply greeting;
  greeting.code = 220;
  greeting.lines = {"built in C++"};
  r.greeting.reply = greeting;
  scenario.receivers.push_back(r);
  auto fakemx = StartOrDie(InstanceOptions::Embedded(ScenarioSource::Built(scenario)));
  ASSERT_NE(fakemx, nullptr);
  BlockingClient c(SmtpPort(*fakemx));
  EXPECT_EQ(c.ReadReply(), "220 mx.built.test built in C++\r\n");
  EXPECT_EQ(fakemx->current_scenario().name, "built");
  EXPECT_EQ(fakemx->current_scenario().source, "built");
}

TEST(Instance, BadScenarioSwitchChangesNothing) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  const uint16_t port = SmtpPort(*fakemx);
  absl::StatusOr<ApiScenario> switched =
      fakemx->SwitchScenario(ScenarioSource::Yaml("name: x\nreceivers:\n  - name: [\n", "api"));
  ASSERT_FALSE(switched.ok());
  EXPECT_EQ(switched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(switched.status().message().substr(0, 4), "api:") << switched.status();
  EXPECT_EQ(fakemx->current_scenario().generation, 0u);
  EXPECT_EQ(fakemx->current_scenario().name, "good");
  EXPECT_EQ(SmtpPort(*fakemx), port);
  EXPECT_EQ(SendMessage(port, "bob@example.test", "still good").substr(0, 3), "250");
}

TEST(Instance, SwitchBindsNewListenersAndOpenConnectionsKeepTheOldBehaviour) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  const uint16_t old_port = SmtpPort(*fakemx);
  BlockingClient before(old_port);
  ASSERT_NE(before.ReadReply(), "");
  EXPECT_NE(before.Command("EHLO client.test\r\n").find("STARTTLS"), std::string::npos);

  absl::StatusOr<ApiScenario> switched =
      fakemx->SwitchScenario(ScenarioSource::Named("no-starttls"));
  ASSERT_TRUE(switched.ok()) << switched.status();
  EXPECT_EQ(switched->name, "no-starttls");
  EXPECT_EQ(switched->generation, 1u);
  EXPECT_EQ(switched->source, "catalogue");
  EXPECT_FALSE(switched->yaml.empty());
  const uint16_t new_port = SmtpPort(*fakemx);
  ASSERT_NE(new_port, 0);
  EXPECT_NE(new_port, old_port);

  // The open connection: still the good receiver, STARTTLS offered.
  EXPECT_NE(before.Command("EHLO again.test\r\n").find("STARTTLS"), std::string::npos);
  // A new one: the new scenario.
  BlockingClient after(new_port);
  ASSERT_NE(after.ReadReply(), "");
  const std::string ehlo = after.Command("EHLO client.test\r\n");
  EXPECT_EQ(ehlo.substr(0, 3), "250");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  // The old port no longer accepts.
  BlockingClient refused(old_port);
  EXPECT_FALSE(refused.connected() && refused.ReadReply(milliseconds(500)) != "");
}

TEST(Instance, SwitchReusesTheSameFixedPort) {
  const uint16_t port = FreePort();
  InstanceOptions options =
      InstanceOptions::Embedded(ScenarioSource::Yaml(OneReceiverYaml("first", port, "one")));
  options.ephemeral_ports = false;
  auto fakemx = StartOrDie(std::move(options));
  ASSERT_NE(fakemx, nullptr);
  ASSERT_EQ(SmtpPort(*fakemx), port);
  {
    BlockingClient c(port);
    EXPECT_EQ(c.ReadReply(), "220 mx.first.test one\r\n");
  }
  absl::StatusOr<ApiScenario> switched =
      fakemx->SwitchScenario(ScenarioSource::Yaml(OneReceiverYaml("second", port, "two")));
  ASSERT_TRUE(switched.ok()) << switched.status();
  EXPECT_EQ(SmtpPort(*fakemx), port);
  BlockingClient c(port);
  EXPECT_EQ(c.ReadReply(), "220 mx.second.test two\r\n");
}

TEST(Instance, FailedBindOnSwitchKeepsTheOldScenarioRunning) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t busy = taken.local_endpoint().port();
  // Ephemeral ports would move the listener to port 0: this instance keeps
  // the ports its scenarios give.
  InstanceOptions fixed = InstanceOptions::Embedded();
  fixed.ephemeral_ports = false;
  fixed.scenario = ScenarioSource::Yaml(OneReceiverYaml("first", FreePort(), "one"));
  auto keeper = StartOrDie(std::move(fixed));
  ASSERT_NE(keeper, nullptr);
  const uint16_t port = SmtpPort(*keeper);
  absl::StatusOr<ApiScenario> switched =
      keeper->SwitchScenario(ScenarioSource::Yaml(OneReceiverYaml("second", busy, "two")));
  ASSERT_FALSE(switched.ok());
  EXPECT_NE(switched.status().message().find("listen: "), absl::string_view::npos)
      << switched.status();
  EXPECT_EQ(keeper->current_scenario().name, "first");
  EXPECT_EQ(keeper->current_scenario().generation, 0u);
  EXPECT_EQ(SmtpPort(*keeper), port);
  BlockingClient c(port);
  EXPECT_EQ(c.ReadReply(), "220 mx.first.test one\r\n");
}

TEST(Instance, DnsAnswersFromTheNewScenarioAfterASwitch) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded(
      ScenarioSource::Yaml(OneReceiverYaml("alpha", 0, "alpha"))));
  ASSERT_NE(fakemx, nullptr);
  const auto at = fakemx->dns_endpoint();
  ASSERT_TRUE(at.has_value());
  boost::asio::io_context io;
  dns::AresOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(at->port())};
  options.timeout = milliseconds(2000);
  auto resolver = dns::AresResolver::Create(io, options);
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  EXPECT_EQ((*resolver)->LookupSync("alpha.test", dns::RrType::kMx).status,
            dns::LookupStatus::kAnswer);
  EXPECT_NE((*resolver)->LookupSync("beta.test", dns::RrType::kMx).status,
            dns::LookupStatus::kAnswer);

  ASSERT_TRUE(fakemx->SwitchScenario(ScenarioSource::Yaml(OneReceiverYaml("beta", 0, "beta"))).ok());
  EXPECT_EQ(fakemx->dns_endpoint(), at);  // the same DNS server
  EXPECT_EQ((*resolver)->LookupSync("beta.test", dns::RrType::kMx).status,
            dns::LookupStatus::kAnswer);
  EXPECT_NE((*resolver)->LookupSync("alpha.test", dns::RrType::kMx).status,
            dns::LookupStatus::kAnswer);
}

TEST(Instance, ApiSwitchTakesCatalogueNamesAndYamlButNeverPaths) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  std::promise<absl::StatusOr<ApiScenario>> result;
  fakemx->RunOnIoThread([&] {
    fakemx->SwitchScenario("/etc/passwd", [&](absl::StatusOr<ApiScenario> r) {
      result.set_value(std::move(r));
    });
  });
  absl::StatusOr<ApiScenario> r = result.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("catalogue"), absl::string_view::npos) << r.status();
  EXPECT_EQ(fakemx->current_scenario().generation, 0u);

  std::promise<absl::StatusOr<ApiScenario>> by_name;
  fakemx->RunOnIoThread([&] {
    fakemx->SwitchScenario("greylist", [&](absl::StatusOr<ApiScenario> r) {
      by_name.set_value(std::move(r));
    });
  });
  r = by_name.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name, "greylist");
  EXPECT_EQ(r->generation, 1u);

  std::promise<absl::StatusOr<ApiScenario>> by_yaml;
  fakemx->RunOnIoThread([&] {
    fakemx->SwitchScenario(OneReceiverYaml("posted", 0, "posted"),
                           [&](absl::StatusOr<ApiScenario> r) { by_yaml.set_value(std::move(r)); });
  });
  r = by_yaml.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name, "posted");
  EXPECT_EQ(r->source, "api");
  EXPECT_EQ(r->generation, 2u);
  bool has_dns = false;
  for (const ApiListener& l : r->listeners) has_dns = has_dns || l.kind == "dns-udp";
  EXPECT_TRUE(has_dns);
}

double Sample(const std::vector<MetricFamily>& metrics, const std::string& name,
              const std::string& labels) {
  for (const MetricFamily& f : metrics) {
    if (f.name != name) continue;
    for (const auto& [l, v] : f.samples) {
      if (l == labels) return v;
    }
  }
  return -1;
}

TEST(Instance, MetricsCountAcrossScenarioSwitches) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  SendMessage(SmtpPort(*fakemx), "bob@example.test", "one");
  ASSERT_TRUE(fakemx->WaitForMessage(AnyMessage(), kWait));
  ASSERT_TRUE(fakemx->SwitchScenario(ScenarioSource::Named("no-starttls")).ok());
  SendMessage(SmtpPort(*fakemx), "bob@example.test", "two");
  ASSERT_TRUE(fakemx->WaitForMessage(
      [](const CapturedSession& s, const CapturedMessage&) { return s.scenario == "no-starttls"; },
      kWait));
  std::vector<MetricFamily> metrics;
  fakemx->RunOnIoThread([&] { metrics = fakemx->Metrics(); });
  EXPECT_EQ(Sample(metrics, "fakemx_messages_total", ""), 2);
  EXPECT_EQ(Sample(metrics, "fakemx_connections_total", ""), 2);
  EXPECT_EQ(Sample(metrics, "fakemx_capture_messages", ""), 2);
  EXPECT_EQ(Sample(metrics, "fakemx_verdicts_total", "lock=\"red_lock\""), 2);
  EXPECT_EQ(Sample(metrics, "fakemx_scenario_generation", ""), 1);
  EXPECT_GE(Sample(metrics, "fakemx_replies_total", "code=\"250\""), 2);
  EXPECT_GE(Sample(metrics, "fakemx_dns_queries_total", "transport=\"udp\""), 0);
}

TEST(Instance, StopIsGracefulAndIdempotent) {
  auto fakemx = StartOrDie(InstanceOptions::Embedded());
  ASSERT_NE(fakemx, nullptr);
  const std::string tls_dir = fakemx->tls_dir();
  const uint16_t port = SmtpPort(*fakemx);
  BlockingClient open(port);
  ASSERT_NE(open.ReadReply(), "");
  std::future<std::optional<ReceivedMessage>> waiting = std::async(std::launch::async, [&] {
    return fakemx->WaitForMessage(AnyMessage(), milliseconds(30000));
  });
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  fakemx->Stop();
  fakemx->Stop();
  // The open connection between transactions got its 421 at once; the
  // waiter learnt that nothing more will come.
  EXPECT_EQ(open.ReadReply().substr(0, 3), "421");
  EXPECT_FALSE(waiting.get().has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
  fakemx.reset();
  EXPECT_FALSE(std::filesystem::exists(tls_dir));
}

}  // namespace
}  // namespace mxkit::fakemx
