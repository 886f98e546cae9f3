// The scenario's `verdicts:` key (docs/scenarios.md#verdicts).
#include <string>

#include "base/absl_interop.h"
#include "fakemx/scenario.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

TEST(ScenarioVerdicts, AbsentMeansOnWithTheDefaults) {
  absl::StatusOr<Scenario> s = ParseScenario("receivers: [{name: example.test}]\n", "t.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const VerdictSpec& v = s->receivers[0].verdicts;
  EXPECT_TRUE(v.enabled);
  EXPECT_FALSE(v.client_ip.has_value());
  EXPECT_FALSE(v.authserv_id.has_value());
  EXPECT_FALSE(v.add_authentication_results);
}

TEST(ScenarioVerdicts, EveryFieldLandsPerReceiver) {
  absl::StatusOr<Scenario> s = ParseScenario(
      "receivers:\n"
      "  - name: a.test\n"
      "    listeners: [\"127.0.0.1:0\"]\n"
      "    verdicts:\n"
      "      client_ip: 192.0.2.1\n"
      "      authserv_id: judge.a.test\n"
      "      add_authentication_results: true\n"
      "  - name: b.test\n"
      "    listeners: [\"127.0.0.1:0\"]\n"
      "    verdicts: {enabled: false, client_ip: \"2001:db8::25\"}\n",
      "t.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const VerdictSpec& a = s->receivers[0].verdicts;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.client_ip, "192.0.2.1");
  EXPECT_EQ(a.authserv_id, "judge.a.test");
  EXPECT_TRUE(a.add_authentication_results);
  const VerdictSpec& b = s->receivers[1].verdicts;
  EXPECT_FALSE(b.enabled);
  EXPECT_EQ(b.client_ip, "2001:db8::25");
  EXPECT_FALSE(b.authserv_id.has_value());
  EXPECT_FALSE(b.add_authentication_results);
}

struct ErrorRow {
  std::string yaml_verdicts;  // the value of `verdicts:`
  std::string where;          // "LINE:COLUMN"
  std::string says;
};

TEST(ScenarioVerdicts, ErrorsNameTheLineColumnAndWhatIsWrong) {
  const ErrorRow rows[] = {
      {"{enabeld: true}", "2:16",
       "unknown key \"enabeld\" in receivers[0].verdicts; expected one of: enabled, client_ip, "
       "authserv_id, add_authentication_results"},
      {"{client_ip: 300.1.2.3}", "2:27",
       "receivers[0].verdicts.client_ip: \"300.1.2.3\" is not an IPv4 or IPv6 address"},
      {"{client_ip: mx.example.test}", "2:27", "is not an IPv4 or IPv6 address"},
      {"{authserv_id: \"bad id\"}", "2:29",
       "receivers[0].verdicts.authserv_id: \"bad id\": a host name has only"},
      {"{authserv_id: \"a;b\"}", "2:29", "a host name has only"},
      {"{enabled: maybe}", "2:25", "receivers[0].verdicts.enabled"},
      {"{add_authentication_results: [1]}", "2:44",
       "receivers[0].verdicts.add_authentication_results"},
      {"true", "2:15", "receivers[0].verdicts: expected the verdict settings"},
      {"{enabled: true, enabled: false}", "2:31", "duplicate key \"enabled\""},
  };
  for (const ErrorRow& row : rows) {
    const std::string yaml = "receivers:\n  - verdicts: " + row.yaml_verdicts +
                             "\n    name: example.test\n";
    absl::StatusOr<Scenario> s = ParseScenario(yaml, "t.yaml");
    ASSERT_FALSE(s.ok()) << row.yaml_verdicts;
    const std::string message = base::StatusText(s.status());
    EXPECT_EQ(message.rfind("t.yaml:" + row.where + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(row.says), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace mxkit::fakemx
