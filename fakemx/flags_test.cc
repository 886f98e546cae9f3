#include "fakemx/flags.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

absl::StatusOr<FakemxFlags> Parse(std::vector<std::string_view> args) { return ParseFlags(args); }

TEST(ParseFlags, DefaultsFollowTheRfcAndTheBrief) {
  auto flags = Parse({});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->smtp_host, "127.0.0.1");
  EXPECT_EQ(flags->smtp_port, 2525);
  EXPECT_EQ(flags->hostname, "");
  EXPECT_EQ(flags->maildir, "");
  EXPECT_EQ(flags->idle_timeout_seconds, 300);
  EXPECT_EQ(flags->session_timeout_seconds, 3600);
  EXPECT_EQ(flags->shutdown_grace_seconds, 30);
  EXPECT_EQ(flags->max_message_size, smtp::kDefaultMaxMessageSize);
  EXPECT_EQ(flags->storage_threads, 16);
  EXPECT_FALSE(flags->verbose);
  // Strict unless asked: every leniency off, both DATA policies reject.
  EXPECT_EQ(flags->command_leniencies, smtp::CommandLeniencies{});
  EXPECT_FALSE(flags->command_leniencies.allow_space_before_path);
  EXPECT_EQ(flags->data_bare_line_endings, smtp::BareLineEndingPolicy::kReject);
  EXPECT_EQ(flags->data_nul, smtp::NulPolicy::kReject);
  EXPECT_FALSE(flags->help);
  EXPECT_FALSE(flags->version);
  // TLS: a well-run receiver (RFC 8996: no 1.0/1.1), STARTTLS offered, no
  // implicit-TLS listener unless asked.
  EXPECT_EQ(flags->cert, tls::CertVariant::kGood);
  EXPECT_EQ(flags->tls_versions, (tls::VersionRange{tls::TlsVersion::kTls12, tls::TlsVersion::kTls13}));
  EXPECT_EQ(flags->tls_ciphers, "");
  EXPECT_EQ(flags->tls_groups, "");
  EXPECT_EQ(flags->starttls, tls::StartTlsBehaviour::kOffer);
  EXPECT_FALSE(flags->smtps);
  EXPECT_EQ(flags->tls_dir, "");
  EXPECT_EQ(flags->cert_seed, 1u);
  // DNS on 127.0.0.1:5353; MTA-STS sites on the scenario's ports.
  EXPECT_TRUE(flags->dns);
  EXPECT_EQ(flags->dns_host, "127.0.0.1");
  EXPECT_EQ(flags->dns_port, 5353);
  EXPECT_FALSE(flags->mta_sts_port_given);
  // Scenarios: good unless named; capture bounded as capture.h says.
  EXPECT_EQ(flags->scenario, "");
  EXPECT_FALSE(flags->list_scenarios);
  EXPECT_EQ(flags->capture_max_sessions, CaptureLimits{}.max_sessions);
  EXPECT_EQ(flags->capture_max_bytes, CaptureLimits{}.max_bytes);
  EXPECT_TRUE(flags->given.empty());
}

TEST(ParseFlags, AcceptsTheScenarioAndCaptureFlags) {
  auto flags = Parse({"--scenario=greylist", "--capture-max-sessions", "0",
                      "--capture-max-bytes=1048576", "--list-scenarios"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->scenario, "greylist");
  EXPECT_EQ(flags->capture_max_sessions, 0u);
  EXPECT_EQ(flags->capture_max_bytes, 1048576u);
  EXPECT_TRUE(flags->list_scenarios);
  EXPECT_FALSE(flags->verbose);
  auto file = Parse({"--scenario", "/tmp/my scenario.yaml"});
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->scenario, "/tmp/my scenario.yaml");
}

// A scenario's settings yield only to flags given explicitly, so the parser
// records each one by name, whichever form it was given in, and only those.
TEST(ParseFlags, RecordsEveryFlagGivenByName) {
  auto flags = Parse({"--smtp=127.0.0.1:0", "--hostname", "mx.test", "--verbose",
                      "--allow-long-auth-line", "--cert=good", "--capture-max-bytes=10"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  const std::set<std::string, std::less<>> want = {"--smtp", "--hostname", "--verbose",
                                                   "--allow-long-auth-line", "--cert",
                                                   "--capture-max-bytes"};
  EXPECT_EQ(flags->given, want);
  EXPECT_TRUE(flags->Given("--cert"));  // given, though equal to the default
  EXPECT_FALSE(flags->Given("--starttls"));
  EXPECT_FALSE(flags->Given("--maildir"));
}

TEST(GivenPerReceiverFlags, ListsOnlyFlagsThatSetOneReceiverInTheirOrder) {
  struct Row {
    std::vector<std::string_view> args;
    std::vector<std::string_view> want;
  };
  const Row rows[] = {
      {{}, {}},
      // Process-wide flags are fine with any number of receivers.
      {{"--maildir=/tmp/m", "--verbose", "--tls-dir=/tmp/t", "--cert-seed=2",
        "--idle-timeout=5", "--session-timeout=6", "--shutdown-grace=7", "--storage-threads=0",
        "--capture-max-sessions=1", "--capture-max-bytes=1", "--scenario=good"},
       {}},
      {{"--data-nul=reject", "--smtp=127.0.0.1:0", "--verbose", "--hostname=mx.test"},
       {"--smtp", "--hostname", "--data-nul"}},
      {{"--smtps=127.0.0.1:0", "--cert=expired", "--starttls=hide", "--tls-versions=1.2",
        "--tls-ciphers=ECDHE-RSA-AES128-SHA", "--tls-groups=X25519",
        "--max-message-size=65536", "--allow-space-before-path",
        "--allow-missing-angle-brackets", "--allow-helo-address-literal",
        "--allow-long-auth-line", "--data-bare-line-endings=reject"},
       {"--smtps", "--cert", "--starttls", "--tls-versions", "--tls-ciphers", "--tls-groups",
        "--max-message-size", "--allow-space-before-path", "--allow-missing-angle-brackets",
        "--allow-helo-address-literal", "--allow-long-auth-line",
        "--data-bare-line-endings"}},
  };
  for (const Row& row : rows) {
    auto flags = Parse(row.args);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(GivenPerReceiverFlags(*flags), row.want);
  }
  // Every per-receiver flag is a flag the parser knows.
  for (std::string_view name : PerReceiverFlags()) {
    const std::string usage = FlagsUsage();
    EXPECT_NE(usage.find(std::string(name)), std::string::npos) << name;
  }
}

TEST(ParseFlags, AcceptsEveryTlsFlag) {
  auto flags = Parse({"--cert=expired", "--tls-versions", "1.0-1.1",
                      "--tls-ciphers=ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA",
                      "--tls-groups=X25519:P-256", "--starttls=stall-handshake",
                      "--smtps=[::1]:465", "--tls-dir", "/tmp/t", "--cert-seed=18446744073709551615"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->cert, tls::CertVariant::kExpired);
  EXPECT_EQ(flags->tls_versions, (tls::VersionRange{tls::TlsVersion::kTls10, tls::TlsVersion::kTls11}));
  EXPECT_EQ(flags->tls_ciphers, "ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA");
  EXPECT_EQ(flags->tls_groups, "X25519:P-256");
  EXPECT_EQ(flags->starttls, tls::StartTlsBehaviour::kStallHandshake);
  EXPECT_TRUE(flags->smtps);
  EXPECT_EQ(flags->smtps_host, "::1");
  EXPECT_EQ(flags->smtps_port, 465);
  // --smtps does not touch --smtp.
  EXPECT_EQ(flags->smtp_host, "127.0.0.1");
  EXPECT_EQ(flags->smtp_port, 2525);
  EXPECT_EQ(flags->tls_dir, "/tmp/t");
  EXPECT_EQ(flags->cert_seed, 18446744073709551615u);
}

// Every certificate variant and STARTTLS behaviour of tls/ is reachable
// from the command line, under the name FlagValue gives it.
TEST(ParseFlags, EveryCertVariantAndStartTlsBehaviourHasAValue) {
  for (tls::CertVariant v : tls::AllCertVariants()) {
    const std::string arg = "--cert=" + std::string(FlagValue(v));
    auto flags = Parse({arg});
    ASSERT_TRUE(flags.ok()) << arg << ": " << flags.status();
    EXPECT_EQ(flags->cert, v) << arg;
  }
  EXPECT_EQ(tls::AllCertVariants().size(), 13u);
  for (tls::StartTlsBehaviour b : tls::AllStartTlsBehaviours()) {
    const std::string arg = "--starttls=" + std::string(FlagValue(b));
    auto flags = Parse({arg});
    ASSERT_TRUE(flags.ok()) << arg << ": " << flags.status();
    EXPECT_EQ(flags->starttls, b) << arg;
  }
  EXPECT_EQ(tls::AllStartTlsBehaviours().size(), 8u);
  for (std::string_view range : {"1.0", "1.0-1.3", "1.2-1.3", "1.3"}) {
    auto flags = Parse({"--tls-versions=" + std::string(range)});
    ASSERT_TRUE(flags.ok()) << range << ": " << flags.status();
    EXPECT_EQ(FlagValue(flags->tls_versions), range);
  }
}

TEST(ParseFlags, AcceptsEveryFlagInBothForms) {
  auto flags = Parse({"--smtp=[::1]:0", "--hostname", "mx.test", "--maildir=/tmp/m",
                      "--idle-timeout=5", "--session-timeout", "60", "--shutdown-grace=2",
                      "--max-message-size=20971520", "--storage-threads=3"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->smtp_host, "::1");
  EXPECT_EQ(flags->smtp_port, 0);
  EXPECT_EQ(flags->hostname, "mx.test");
  EXPECT_EQ(flags->maildir, "/tmp/m");
  EXPECT_EQ(flags->idle_timeout_seconds, 5);
  EXPECT_EQ(flags->session_timeout_seconds, 60);
  EXPECT_EQ(flags->shutdown_grace_seconds, 2);
  EXPECT_EQ(flags->max_message_size, 20971520u);
  EXPECT_EQ(flags->storage_threads, 3);
}

TEST(ParseFlags, AcceptsTheDnsAndMtaStsFlags) {
  struct Row {
    std::vector<std::string_view> args;
    bool dns;
    std::string host;
    uint16_t port;
    bool sts_given;
    uint16_t sts_port;
  };
  const Row rows[] = {
      {{"--dns=127.0.0.1:0"}, true, "127.0.0.1", 0, false, 0},
      {{"--dns", "[::1]:53"}, true, "::1", 53, false, 0},
      {{"--dns=off"}, false, "127.0.0.1", 5353, false, 0},
      {{"--mta-sts-port=0"}, true, "127.0.0.1", 5353, true, 0},
      {{"--dns=127.0.0.2:5300", "--mta-sts-port", "8443"}, true, "127.0.0.2", 5300, true, 8443},
  };
  for (const Row& row : rows) {
    auto flags = Parse(row.args);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(flags->dns, row.dns) << row.args[0];
    EXPECT_EQ(flags->dns_host, row.host) << row.args[0];
    EXPECT_EQ(flags->dns_port, row.port) << row.args[0];
    EXPECT_EQ(flags->mta_sts_port_given, row.sts_given) << row.args[0];
    EXPECT_EQ(flags->mta_sts_port, row.sts_port) << row.args[0];
  }
  // Neither sets one receiver: they apply to any scenario.
  EXPECT_TRUE(GivenPerReceiverFlags(*Parse({"--dns=off", "--mta-sts-port=0"})).empty());
}

TEST(ParseFlags, AcceptsTheApiFlag) {
  struct Row {
    std::vector<std::string_view> args;
    bool api;
    std::string host;
    uint16_t port;
  };
  const Row rows[] = {
      {{}, true, "127.0.0.1", 8025},
      {{"--api=127.0.0.1:0"}, true, "127.0.0.1", 0},
      {{"--api", "[::1]:8026"}, true, "::1", 8026},
      {{"--api=off"}, false, "127.0.0.1", 8025},
  };
  for (const Row& row : rows) {
    auto flags = Parse(row.args);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(flags->api, row.api);
    EXPECT_EQ(flags->api_host, row.host);
    EXPECT_EQ(flags->api_port, row.port);
  }
  // It concerns the whole process, not one receiver.
  EXPECT_TRUE(GivenPerReceiverFlags(*Parse({"--api=off"})).empty());
}

TEST(ParseFlags, RefusesABadApiAddress) {
  for (std::string_view arg : {"--api=localhost:8025", "--api=127.0.0.1", "--api=127.0.0.1:65536",
                               "--api=", "--api=Off"}) {
    auto flags = Parse({arg});
    ASSERT_FALSE(flags.ok()) << arg;
    EXPECT_NE(std::string(flags.status().message()).find("--api"), std::string::npos)
        << flags.status();
  }
}

TEST(ParseFlags, EachSwitchSetsItsLeniencyAndNothingElse) {
  struct Row {
    std::string_view flag;
    bool smtp::CommandLeniencies::*leniency;
  };
  const Row rows[] = {
      {"--allow-space-before-path", &smtp::CommandLeniencies::allow_space_before_path},
      {"--allow-missing-angle-brackets", &smtp::CommandLeniencies::allow_missing_angle_brackets},
      {"--allow-helo-address-literal", &smtp::CommandLeniencies::allow_helo_address_literal},
      {"--allow-long-auth-line", &smtp::CommandLeniencies::allow_long_auth_line},
  };
  for (const Row& row : rows) {
    auto flags = Parse({row.flag});
    ASSERT_TRUE(flags.ok()) << flags.status();
    smtp::CommandLeniencies want;
    want.*row.leniency = true;
    EXPECT_EQ(flags->command_leniencies, want) << row.flag;
    EXPECT_FALSE(flags->verbose);
  }
  auto verbose = Parse({"--verbose", "--smtp", "127.0.0.1:0"});
  ASSERT_TRUE(verbose.ok()) << verbose.status();
  EXPECT_TRUE(verbose->verbose);
  EXPECT_EQ(verbose->command_leniencies, smtp::CommandLeniencies{});
}

TEST(ParseFlags, EveryDataPolicyOfSmtpDataHasAValue) {
  using P = smtp::BareLineEndingPolicy;
  const std::pair<std::string_view, P> bare[] = {
      {"reject", P::kReject},
      {"pass-through", P::kPassThrough},
      {"accept-bare-lf-as-line-end", P::kAcceptBareLfAsLineEnd},
      {"accept-bare-cr-as-line-end", P::kAcceptBareCrAsLineEnd},
      {"accept-bare-cr-or-lf-as-line-end", P::kAcceptBareCrOrLfAsLineEnd},
  };
  for (const auto& [value, policy] : bare) {
    const std::string arg = "--data-bare-line-endings=" + std::string(value);
    auto flags = Parse({arg});
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(flags->data_bare_line_endings, policy) << value;
    EXPECT_EQ(FlagValue(policy), value);
  }
  const std::pair<std::string_view, smtp::NulPolicy> nul[] = {
      {"reject", smtp::NulPolicy::kReject},
      {"pass-through", smtp::NulPolicy::kPassThrough},
  };
  for (const auto& [value, policy] : nul) {
    auto flags = Parse({"--data-nul", value});
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(flags->data_nul, policy) << value;
    EXPECT_EQ(FlagValue(policy), value);
  }
}

// A value that looks like a flag is only taken when attached with "=".
TEST(ParseFlags, AValueStartingWithDashesNeedsTheEqualsForm) {
  auto odd = Parse({"--maildir=--odd", "--hostname", "-h.test"});
  ASSERT_TRUE(odd.ok()) << odd.status();
  EXPECT_EQ(odd->maildir, "--odd");
  EXPECT_EQ(odd->hostname, "-h.test");
}

TEST(ParseFlags, VersionWins) {
  auto flags = Parse({"--version", "--bogus"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->version);
  EXPECT_FALSE(flags->help);
}

TEST(ParseFlags, HelpWarnsThatSmugglingPoliciesAreVulnerable) {
  const std::string usage = FlagsUsage();
  EXPECT_NE(usage.find("VULNERABLE"), std::string::npos);
  for (std::string_view flag :
       {"--allow-space-before-path", "--allow-missing-angle-brackets",
        "--allow-helo-address-literal", "--allow-long-auth-line", "--data-bare-line-endings",
        "--data-nul", "--verbose", "--version", "accept-bare-cr-or-lf-as-line-end", "--cert",
        "--tls-versions", "--tls-ciphers", "--tls-groups", "--starttls", "--smtps", "--tls-dir",
        "--cert-seed", "missing-intermediate", "inject-after-220", "mx.test", "--scenario",
        "--list-scenarios", "--capture-max-sessions", "--capture-max-bytes",
        "docs/scenarios.md", "NAME.chain.pem", "--dns=HOST:PORT|off", "127.0.0.1:5353",
        "--mta-sts-port"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

// --help is read in a terminal: no line wider than 80 columns (characters,
// not octets: "§" is two).
TEST(ParseFlags, HelpFitsEightyColumns) {
  const std::string usage = FlagsUsage();
  size_t start = 0;
  while (start < usage.size()) {
    size_t end = usage.find('\n', start);
    if (end == std::string::npos) end = usage.size();
    size_t columns = 0;
    for (size_t i = start; i < end; ++i) {
      if ((static_cast<unsigned char>(usage[i]) & 0xC0) != 0x80) ++columns;
    }
    EXPECT_LE(columns, 80u) << usage.substr(start, end - start);
    start = end + 1;
  }
}

TEST(ParseFlags, HelpWins) {
  auto flags = Parse({"--idle-timeout=5", "--help", "--bogus"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->help);
  EXPECT_NE(FlagsUsage().find("--max-message-size"), std::string::npos);
}

TEST(ParseFlags, AScenarioLongerThanAnyPathIsRefusedQuotingItsStart) {
  const std::string longest = "--scenario=" + std::string(kMaxScenarioFlag, 'a');
  EXPECT_TRUE(Parse({longest}).ok());
  auto flags = Parse({longest + "a"});
  ASSERT_FALSE(flags.ok());
  EXPECT_EQ(std::string(flags.status().message()),
            "--scenario=" + std::string(32, 'a') + "...: longer than 4096 characters");
}

TEST(ParseFlags, ErrorsNameTheFlagAndSayWhy) {
  struct Row {
    std::vector<std::string_view> args;
    std::string want;  // the whole message
  };
  const Row rows[] = {
      {{"--smpt=1.2.3.4:25"}, "unknown flag --smpt (see --help)"},
      {{"stray"}, "unexpected argument 'stray': fakemx takes only --flags (see --help)"},
      {{"--"}, "unexpected argument '--': fakemx takes only --flags (see --help)"},
      {{"--smtp"}, "--smtp needs a value: --smtp=VALUE"},
      {{"--smtp=127.0.0.1"},
       "--smtp=127.0.0.1: expected HOST:PORT, e.g. 127.0.0.1:2525 (port 0 = any free port)"},
      {{"--smtp=localhost:25"},
       "--smtp=localhost:25: 'localhost' is not an IPv4 address (names are not resolved)"},
      {{"--smtp=::1:25"}, "--smtp=::1:25: an IPv6 address needs brackets, e.g. [::1]:2525"},
      {{"--smtp=[::1:25"}, "--smtp=[::1:25: '[' without a closing ']'"},
      {{"--smtp=[::1]25"}, "--smtp=[::1]25: expected HOST:PORT, e.g. [::1]:2525"},
      {{"--smtp=[1.2.3.4]:25"}, "--smtp=[1.2.3.4]:25: '1.2.3.4' is not an IPv6 address"},
      {{"--smtp=127.0.0.1:65536"},
       "--smtp=127.0.0.1:65536: port '65536' is not a number from 0 to 65535"},
      {{"--smtp=127.0.0.1:"}, "--smtp=127.0.0.1:: port '' is not a number from 0 to 65535"},
      {{"--smtp=127.0.0.1:-1"}, "--smtp=127.0.0.1:-1: port '-1' is not a number from 0 to 65535"},
      {{"--idle-timeout=abc"}, "--idle-timeout=abc: not a whole number of seconds"},
      {{"--idle-timeout=1.5"}, "--idle-timeout=1.5: not a whole number of seconds"},
      {{"--session-timeout=0"}, "--session-timeout=0: must be at least 1 second"},
      {{"--shutdown-grace=86401"},
       "--shutdown-grace=86401: more than a day (86400 seconds); is that a typo?"},
      {{"--max-message-size=1000"},
       "--max-message-size=1000: below 65536; RFC 5321 §4.5.3.1.7 requires accepting at least "
       "64K octets"},
      {{"--max-message-size=10M"}, "--max-message-size=10M: not a whole number of bytes"},
      {{"--storage-threads=-1"},
       "--storage-threads=-1: not a number of threads from 0 to 256"},
      {{"--storage-threads=257"},
       "--storage-threads=257: not a number of threads from 0 to 256"},
      {{"--hostname="}, "--hostname=: must not be empty (omit the flag for the default)"},
      {{"--hostname=a b"}, "--hostname=a b: contains a space, control or non-ASCII character"},
      {{"--maildir="}, "--maildir=: must not be empty (omit it to capture in memory only)"},
      {{"--scenario="}, "--scenario=: must not be empty (omit it for the default, good)"},
      {{"--scenario"}, "--scenario needs a value: --scenario=VALUE"},
      {{"--scenario", "--list-scenarios"},
       "--scenario needs a value, but the next argument --list-scenarios is a flag; write "
       "--scenario=VALUE to give a value that starts with --"},
      {{"--scenario=good", "--scenario=tarpit"},
       "--scenario given more than once; give each flag once"},
      {{"--list-scenarios=yes"},
       "--list-scenarios=yes: --list-scenarios is a switch and takes no value"},
      {{"--capture-max-sessions=-1"},
       "--capture-max-sessions=-1: not a whole number of sessions"},
      {{"--capture-max-sessions=1e6"},
       "--capture-max-sessions=1e6: not a whole number of sessions"},
      {{"--capture-max-bytes=256M"}, "--capture-max-bytes=256M: not a whole number of bytes"},
      {{"--capture-max-bytes=18446744073709551616"},
       "--capture-max-bytes=18446744073709551616: not a whole number of bytes"},
      {{"--idle-timeout=5", "--idle-timeout=6"},
       "--idle-timeout given more than once; give each flag once"},
      // fakemx --maildir --smtp=... once created a directory named "--smtp=...".
      {{"--maildir", "--smtp=127.0.0.1:0"},
       "--maildir needs a value, but the next argument --smtp=127.0.0.1:0 is a flag; write "
       "--maildir=VALUE to give a value that starts with --"},
      {{"--hostname", "--"},
       "--hostname needs a value, but the next argument -- is a flag; write --hostname=VALUE "
       "to give a value that starts with --"},
      {{"--verbose=1"}, "--verbose=1: --verbose is a switch and takes no value"},
      {{"--allow-space-before-path="},
       "--allow-space-before-path=: --allow-space-before-path is a switch and takes no value"},
      {{"--verbose", "--verbose"}, "--verbose given more than once; give each flag once"},
      {{"--data-bare-line-endings=lf"},
       "--data-bare-line-endings=lf: not a policy; one of reject, pass-through, "
       "accept-bare-lf-as-line-end, accept-bare-cr-as-line-end, "
       "accept-bare-cr-or-lf-as-line-end"},
      {{"--data-nul=keep"}, "--data-nul=keep: not a policy; one of reject, pass-through"},
      {{"--data-nul"}, "--data-nul needs a value: --data-nul=VALUE"},
      {{"--cert=Good"},
       "--cert=Good: not a certificate variant; one of good, expired, not-yet-valid, "
       "wrong-host, self-signed, unknown-ca, missing-intermediate, rsa-1024, sha1-signature, "
       "ecdsa-p256, rsa-2048, wildcard, no-san"},
      {{"--cert="},
       "--cert=: not a certificate variant; one of good, expired, not-yet-valid, "
       "wrong-host, self-signed, unknown-ca, missing-intermediate, rsa-1024, sha1-signature, "
       "ecdsa-p256, rsa-2048, wildcard, no-san"},
      {{"--starttls=refuse"},
       "--starttls=refuse: not a STARTTLS behaviour; one of offer, hide, refuse-454, "
       "refuse-502, abort-after-220, alert-after-220, stall-handshake, inject-after-220"},
      {{"--tls-versions=1.4"},
       "--tls-versions=1.4: TLS version range \"1.4\": version \"1.4\" is not a TLS version "
       "(there are 1.0, 1.1, 1.2, 1.3)"},
      {{"--tls-versions=1.3-1.2"},
       "--tls-versions=1.3-1.2: TLS version range \"1.3-1.2\": minimum 1.3 is above maximum 1.2"},
      {{"--tls-ciphers="}, "--tls-ciphers=: must not be empty (omit the flag for the default)"},
      {{"--tls-ciphers=AES128 AES256"},
       "--tls-ciphers=AES128 AES256: contains a space, control or non-ASCII character"},
      {{"--tls-groups="}, "--tls-groups=: must not be empty (omit the flag for the default)"},
      {{"--tls-groups=X25519\n"},
       "--tls-groups=X25519\n: contains a space, control or non-ASCII character"},
      {{"--smtps=localhost:465"},
       "--smtps=localhost:465: 'localhost' is not an IPv4 address (names are not resolved)"},
      {{"--smtps=127.0.0.1"},
       "--smtps=127.0.0.1: expected HOST:PORT, e.g. 127.0.0.1:2525 (port 0 = any free port)"},
      {{"--dns=localhost:53"},
       "--dns=localhost:53: 'localhost' is not an IPv4 address (names are not resolved)"},
      {{"--dns=on"},
       "--dns=on: expected HOST:PORT, e.g. 127.0.0.1:2525 (port 0 = any free port)"},
      {{"--dns="}, "--dns=: expected HOST:PORT, e.g. 127.0.0.1:2525 (port 0 = any free port)"},
      {{"--mta-sts-port=65536"}, "--mta-sts-port=65536: not a port number from 0 to 65535"},
      {{"--mta-sts-port=-1"}, "--mta-sts-port=-1: not a port number from 0 to 65535"},
      {{"--dns=off", "--dns=off"}, "--dns given more than once; give each flag once"},
      {{"--tls-dir="}, "--tls-dir=: must not be empty (omit it for a temporary one)"},
      {{"--cert-seed=-1"},
       "--cert-seed=-1: not a whole number from 0 to 18446744073709551615"},
      {{"--cert-seed=18446744073709551616"},
       "--cert-seed=18446744073709551616: not a whole number from 0 to 18446744073709551615"},
      {{"--starttls=offer", "--starttls=hide"},
       "--starttls given more than once; give each flag once"},
  };
  for (const Row& row : rows) {
    auto flags = Parse(row.args);
    ASSERT_FALSE(flags.ok()) << row.want;
    EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(flags.status().message()), row.want);
  }
}

}  // namespace
}  // namespace mxkit::fakemx
