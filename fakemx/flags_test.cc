#include "fakemx/flags.h"

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
  EXPECT_FALSE(flags->help);
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

TEST(ParseFlags, HelpWins) {
  auto flags = Parse({"--idle-timeout=5", "--help", "--bogus"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->help);
  EXPECT_NE(FlagsUsage().find("--max-message-size"), std::string::npos);
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
      {{"--maildir="}, "--maildir=: must not be empty (omit it for a temporary one)"},
      {{"--idle-timeout=5", "--idle-timeout=6"},
       "--idle-timeout given more than once; give each flag once"},
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
