#include "fakemx/scenario_flags.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

Receiver MakeReceiver(std::string name) {
  Receiver r;
  r.name = name;
  r.hostname = "mx." + name;
  r.listeners.push_back({"127.0.0.1", 2525, ListenerMode::kSmtp, {}});
  return r;
}

Scenario Make(size_t receivers) {
  Scenario s;
  s.name = "test";
  s.source = "<test>";
  const char* names[] = {"a.test", "b.test", "c.test"};
  for (size_t i = 0; i < receivers; ++i) s.receivers.push_back(MakeReceiver(names[i]));
  return s;
}

FakemxFlags Flags(std::vector<std::string_view> args) {
  absl::StatusOr<FakemxFlags> flags = ParseFlags(args);
  EXPECT_TRUE(flags.ok()) << flags.status();
  return flags.ok() ? *flags : FakemxFlags{};
}

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

TEST(ApplyFlagsToScenario, FlagsNotGivenLeaveTheScenarioAlone) {
  Scenario s = Make(1);
  Receiver& r = s.receivers[0];
  r.hostname = "mx.example.test";
  r.tls.profile.certificate = tls::CertVariant::kExpired;
  r.tls.profile.starttls = tls::StartTlsBehaviour::kRefuse454;
  r.tls.profile.versions = {tls::TlsVersion::kTls10, tls::TlsVersion::kTls10};
  r.limits.max_message_size = 65536;
  r.data_bare_line_endings = smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd;
  r.listeners[0].port = 40001;
  r.idle_timeout = std::chrono::seconds(9);
  const Scenario before = s;
  // Process-wide flags, each different from the scenario's values.
  ASSERT_TRUE(ApplyFlagsToScenario(
                  Flags({"--maildir=/tmp/m", "--verbose", "--tls-dir=/tmp/t", "--cert-seed=3",
                         "--session-timeout=5", "--capture-max-bytes=1"}),
                  s)
                  .ok());
  const Receiver& after = s.receivers[0];
  EXPECT_EQ(after.hostname, "mx.example.test");
  EXPECT_EQ(after.tls.profile.certificate, tls::CertVariant::kExpired);
  EXPECT_EQ(after.tls.profile.starttls, tls::StartTlsBehaviour::kRefuse454);
  EXPECT_EQ(after.tls.profile.versions, before.receivers[0].tls.profile.versions);
  EXPECT_EQ(after.limits, before.receivers[0].limits);
  EXPECT_EQ(after.data_bare_line_endings, smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd);
  ASSERT_EQ(after.listeners.size(), 1u);
  EXPECT_EQ(after.listeners[0].port, 40001);
  EXPECT_EQ(after.idle_timeout, std::chrono::seconds(9));
}

TEST(ApplyFlagsToScenario, EachPerReceiverFlagOverridesItsSetting) {
  Scenario s = Make(1);
  s.receivers[0].tls.enabled = false;  // a TLS flag turns it on
  ASSERT_TRUE(ApplyFlagsToScenario(
                  Flags({"--smtp=127.0.0.9:0", "--hostname=mx.other.test", "--cert=self-signed",
                         "--starttls=hide", "--tls-versions=1.2", "--tls-ciphers=ECDHE-RSA-AES128-SHA",
                         "--tls-groups=X25519", "--max-message-size=70000",
                         "--allow-space-before-path", "--allow-long-auth-line",
                         "--data-bare-line-endings=pass-through", "--data-nul=pass-through",
                         "--idle-timeout=7"}),
                  s)
                  .ok());
  const Receiver& r = s.receivers[0];
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].host, "127.0.0.9");
  EXPECT_EQ(r.listeners[0].port, 0);
  EXPECT_EQ(r.listeners[0].mode, ListenerMode::kSmtp);
  EXPECT_EQ(r.hostname, "mx.other.test");
  EXPECT_TRUE(r.tls.enabled);
  EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kSelfSigned);
  EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kHide);
  EXPECT_EQ(r.tls.profile.versions, (tls::VersionRange{tls::TlsVersion::kTls12,
                                                        tls::TlsVersion::kTls12}));
  EXPECT_EQ(r.tls.profile.cipher_list, "ECDHE-RSA-AES128-SHA");
  EXPECT_EQ(r.tls.profile.groups, "X25519");
  EXPECT_EQ(r.limits.max_message_size, 70000u);
  smtp::CommandLeniencies want;
  want.allow_space_before_path = true;
  want.allow_long_auth_line = true;
  EXPECT_EQ(r.leniencies, want);
  EXPECT_EQ(r.data_bare_line_endings, smtp::BareLineEndingPolicy::kPassThrough);
  EXPECT_EQ(r.data_nul, smtp::NulPolicy::kPassThrough);
  EXPECT_EQ(r.idle_timeout, std::chrono::seconds(7));
}

// --smtp replaces the first plain listener in its place (it is the one
// "listening on smtp" reports) and --smtps the first implicit-TLS one;
// either is added when there is none, other listeners are kept.
TEST(ApplyFlagsToScenario, SmtpAndSmtpsReplaceOrAddTheirListener) {
  struct Row {
    std::string what;
    std::vector<ListenerSpec> listeners;
    std::vector<std::string_view> args;
    std::vector<std::string> want;  // "HOST:PORT MODE"
  };
  const ListenerSpec plain{"127.0.0.2", 25, ListenerMode::kSmtp, {}};
  const ListenerSpec plain2{"127.0.0.2", 587, ListenerMode::kSmtp, {}};
  const ListenerSpec smtps{"127.0.0.2", 465, ListenerMode::kSmtps, {}};
  const std::vector<Row> rows = {
      {"smtp replaces the first plain", {smtps, plain, plain2}, {"--smtp=127.0.0.1:0"},
       {"127.0.0.2:465 smtps", "127.0.0.1:0 smtp", "127.0.0.2:587 smtp"}},
      {"smtp added first", {smtps}, {"--smtp=127.0.0.1:0"},
       {"127.0.0.1:0 smtp", "127.0.0.2:465 smtps"}},
      {"smtps replaces", {plain, smtps}, {"--smtps=[::1]:0"}, {"127.0.0.2:25 smtp", "::1:0 smtps"}},
      {"smtps added last", {plain, plain2}, {"--smtps=127.0.0.1:0"},
       {"127.0.0.2:25 smtp", "127.0.0.2:587 smtp", "127.0.0.1:0 smtps"}},
      {"both", {plain}, {"--smtps=127.0.0.1:0", "--smtp=127.0.0.1:0"},
       {"127.0.0.1:0 smtp", "127.0.0.1:0 smtps"}},
  };
  for (const Row& row : rows) {
    Scenario s = Make(1);
    s.receivers[0].listeners = row.listeners;
    s.receivers[0].tls.enabled = false;
    ASSERT_TRUE(ApplyFlagsToScenario(Flags(row.args), s).ok()) << row.what;
    std::vector<std::string> got;
    for (const ListenerSpec& l : s.receivers[0].listeners) {
      got.push_back(l.host + ":" + std::to_string(l.port) +
                    (l.mode == ListenerMode::kSmtp ? " smtp" : " smtps"));
    }
    EXPECT_EQ(got, row.want) << row.what;
    // An implicit-TLS listener needs TLS.
    bool want_tls = false;
    for (std::string_view a : row.args) want_tls |= a.substr(0, 8) == "--smtps=";
    EXPECT_EQ(s.receivers[0].tls.enabled, want_tls) << row.what;
  }
}

TEST(ApplyFlagsToScenario, PerReceiverFlagsWithSeveralReceiversAreAnErrorThatSaysWhy) {
  Scenario s = Make(3);
  s.name = "three";
  const Scenario before = s;
  absl::Status status =
      ApplyFlagsToScenario(Flags({"--hostname=mx.test", "--verbose", "--smtp=127.0.0.1:0",
                                  "--idle-timeout=5"}),
                           s);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "--smtp, --hostname: scenario three has 3 receivers (a.test, b.test, c.test); these "
            "flags set one receiver, so they apply only to a scenario of one. Set them per "
            "receiver in the scenario file");
  // Nothing applied, not even the process-wide --idle-timeout.
  EXPECT_EQ(s.receivers[0].hostname, before.receivers[0].hostname);
  EXPECT_FALSE(s.receivers[0].idle_timeout.has_value());
  // Each per-receiver flag alone is refused.
  for (std::string_view flag : PerReceiverFlags()) {
    std::vector<std::string_view> args;
    std::string arg(flag);
    const bool is_switch = flag.substr(0, 8) == "--allow-";
    if (!is_switch) {
      const std::string value = flag == "--smtp" || flag == "--smtps" ? "127.0.0.1:0"
                                : flag == "--hostname"                ? "mx.test"
                                : flag == "--cert"                    ? "good"
                                : flag == "--starttls"                ? "offer"
                                : flag == "--tls-versions"            ? "1.2-1.3"
                                : flag == "--tls-ciphers"             ? "ECDHE-RSA-AES128-SHA"
                                : flag == "--tls-groups"              ? "X25519"
                                : flag == "--max-message-size"        ? "65536"
                                                                      : "reject";
      arg += "=" + value;
    }
    Scenario several = Make(2);
    absl::Status refused = ApplyFlagsToScenario(Flags({arg}), several);
    EXPECT_FALSE(refused.ok()) << arg;
    EXPECT_EQ(Message(refused).rfind(std::string(flag) + ": scenario test has 2 receivers", 0), 0u)
        << Message(refused);
  }
}

TEST(ApplyFlagsToScenario, ProcessWideFlagsApplyToEveryReceiver) {
  Scenario s = Make(3);
  s.receivers[1].idle_timeout = std::chrono::seconds(100);
  ASSERT_TRUE(ApplyFlagsToScenario(Flags({"--idle-timeout=5", "--maildir=/tmp/m", "--verbose",
                                          "--tls-dir=/tmp/t", "--cert-seed=2",
                                          "--session-timeout=9", "--shutdown-grace=1",
                                          "--storage-threads=0", "--capture-max-sessions=1",
                                          "--capture-max-bytes=1", "--scenario=x.yaml"}),
                                   s)
                  .ok());
  for (const Receiver& r : s.receivers) EXPECT_EQ(r.idle_timeout, std::chrono::seconds(5));
}

TEST(ScenarioWarnings, NameTheFlagOrTheReceiverOfEachSmugglingPolicy) {
  Scenario s = Make(2);
  s.name = "smuggle";
  s.receivers[1].data_bare_line_endings = smtp::BareLineEndingPolicy::kAcceptBareCrAsLineEnd;
  EXPECT_EQ(ScenarioWarnings(FakemxFlags{}, s),
            std::vector<std::string>{
                "receiver b.test (scenario smuggle, data bare line endings "
                "accept-bare-cr-as-line-end) makes this server vulnerable to SMTP smuggling, on "
                "purpose (CVE-2023-51764/51765/51766)"});
  Scenario one = Make(1);
  const FakemxFlags flags = Flags({"--data-bare-line-endings=accept-bare-lf-as-line-end"});
  ASSERT_TRUE(ApplyFlagsToScenario(flags, one).ok());
  EXPECT_EQ(ScenarioWarnings(flags, one),
            std::vector<std::string>{
                "--data-bare-line-endings=accept-bare-lf-as-line-end makes this server "
                "vulnerable to SMTP smuggling, on purpose (CVE-2023-51764/51765/51766)"});
  // Strict and pass-through are not vulnerable.
  Scenario safe = Make(2);
  safe.receivers[0].data_bare_line_endings = smtp::BareLineEndingPolicy::kPassThrough;
  EXPECT_TRUE(ScenarioWarnings(FakemxFlags{}, safe).empty());
}

}  // namespace
}  // namespace mxkit::fakemx
