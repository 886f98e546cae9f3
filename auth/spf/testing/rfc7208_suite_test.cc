#include "auth/spf/testing/rfc7208_suite.h"

#include <set>
#include <string>
#include <vector>

#include "dns/zone.h"
#include "gtest/gtest.h"

namespace mxkit::auth::spf::testing {
namespace {

// The suite's driver conventions, as the zone files of the CLI run and
// SuiteResolver both get them from ScenarioZone.
constexpr char kScenario[] = R"yaml(
description: conventions
tests:
  t:
    host: 192.0.2.1
    mailfrom: a@both.example
    result: pass
zonedata:
  both.example:
    - TXT: v=spf1 -all
    - SPF: v=spf1 +all
  spfonly.example:
    - SPF: v=spf1 -all
  spfnotxt.example:
    - SPF: v=spf1 -all
    - TXT: NONE
  spftimeout.example:
    - TXT: v=spf1 -all
    - TIMEOUT
  txttimeout.example:
    - SPF: v=spf1 -all
    - TXT: NONE
    - TIMEOUT
  alltimeout.example:
    - TIMEOUT
)yaml";

std::set<std::string> TypesOf(const dns::Zone& zone, const std::string& name) {
  std::set<std::string> out;
  for (const dns::ResourceRecord& r : zone.records) {
    if (r.name == name) out.insert(dns::RrTypeName(r.type));
  }
  return out;
}

std::set<std::string> TimeoutsOf(const dns::Zone& zone, const std::string& name) {
  std::set<std::string> out;
  for (const dns::ZoneFault& f : zone.faults) {
    if (f.name == name) out.insert(f.type ? dns::RrTypeName(*f.type) : "*");
  }
  return out;
}

TEST(ScenarioZone, AppliesTheSuiteDriverConventions) {
  absl::StatusOr<Suite> suite = ParseSuite(kScenario);
  ASSERT_TRUE(suite.ok()) << suite.status();
  ASSERT_EQ(suite->scenarios.size(), 1u);
  dns::Zone zone = ScenarioZone(suite->scenarios[0]);

  // Explicit TXT wins over SPF-as-TXT; SPF alone is also served as TXT;
  // "TXT: NONE" suppresses that.
  EXPECT_EQ(TypesOf(zone, "both.example"), (std::set<std::string>{"TXT", "TYPE99"}));
  EXPECT_EQ(TypesOf(zone, "spfonly.example"), (std::set<std::string>{"TXT", "TYPE99"}));
  EXPECT_EQ(TypesOf(zone, "spfnotxt.example"), (std::set<std::string>{"TYPE99"}));

  const std::set<std::string> all_but_txt = {"A", "AAAA", "MX", "PTR", "CNAME", "NS", "SOA", "TLSA"};
  std::set<std::string> all = all_but_txt;
  all.insert("TXT");
  // TIMEOUT after records covers only the types without records.
  EXPECT_EQ(TimeoutsOf(zone, "spftimeout.example"), all_but_txt);
  EXPECT_EQ(TimeoutsOf(zone, "txttimeout.example"), all);
  EXPECT_EQ(TimeoutsOf(zone, "alltimeout.example"), (std::set<std::string>{"*"}));
  EXPECT_TRUE(TimeoutsOf(zone, "both.example").empty());

  SuiteResolver resolver(suite->scenarios[0]);
  EXPECT_EQ(resolver.LookupSync("spftimeout.example", dns::RrType::kTxt).status,
            dns::LookupStatus::kAnswer);
  EXPECT_EQ(resolver.LookupSync("spftimeout.example", dns::RrType::kA).status,
            dns::LookupStatus::kTemporaryFailure);
  EXPECT_EQ(resolver.LookupSync("txttimeout.example", dns::RrType::kTxt).status,
            dns::LookupStatus::kTemporaryFailure);
  EXPECT_EQ(resolver.LookupSync("spfnotxt.example", dns::RrType::kTxt).status,
            dns::LookupStatus::kNoData);
}

}  // namespace
}  // namespace mxkit::auth::spf::testing
