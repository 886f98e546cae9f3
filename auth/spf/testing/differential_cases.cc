#include "auth/spf/testing/differential_cases.h"

#include <fnmatch.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "auth/spf/record.h"
#include "base/ascii.h"

namespace mxkit::auth::spf::testing {

std::vector<DifferentialCase> GenerateDifferentialCases(const Suite& suite) {
  std::vector<DifferentialCase> cases;
  std::vector<std::vector<const SuiteTest*>> tests(suite.scenarios.size());
  for (const auto& t : suite.tests) tests[t.scenario].push_back(&t);
  for (size_t s = 0; s < suite.scenarios.size(); ++s) {
    for (const auto* t : tests[s]) cases.push_back({s, t->host, t->mailfrom, t->helo});
    std::vector<std::string> domains, hosts;
    auto add = [](std::vector<std::string>& v, const std::string& x, size_t max) {
      if (v.size() < max && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
    };
    for (const auto* t : tests[s]) add(hosts, t->host, kMaxAddressesPerScenario);
    std::string first_v4;
    for (const auto& rr : suite.scenarios[s].records) {
      if (rr.type == dns::RrType::kTxt) add(domains, rr.name, kMaxDomainsPerScenario);
      IpAddress ip;
      if (const auto* a = std::get_if<dns::AData>(&rr.data)) {
        std::copy(a->address.begin(), a->address.end(), ip.bytes.begin());
        if (first_v4.empty()) first_v4 = ip.ToString();
        add(hosts, ip.ToString(), kMaxAddressesPerScenario);
      } else if (const auto* aaaa = std::get_if<dns::AaaaData>(&rr.data)) {
        ip.is_v6 = true;
        ip.bytes = aaaa->address;
        add(hosts, ip.ToString(), kMaxAddressesPerScenario);
      }
    }
    hosts.push_back("203.0.113.99");
    hosts.push_back("2001:db8:ffff::1");
    if (!first_v4.empty()) hosts.push_back("::ffff:" + first_v4);
    std::string helo = tests[s].empty() ? "mail.example.com" : tests[s][0]->helo;
    for (const std::string& d : domains) {
      for (const std::string& h : hosts) cases.push_back({s, h, "user@" + d, helo});
      cases.push_back({s, hosts.front(), "", d});
    }
  }
  return cases;
}

absl::StatusOr<Suite> LoadSuites(const std::vector<std::string>& paths) {
  Suite all;
  for (const std::string& path : paths) {
    absl::StatusOr<Suite> s = LoadSuite(path);
    if (!s.ok()) return absl::Status(s.status().code(), path + ": " + std::string(s.status().message()));
    size_t base = all.scenarios.size();
    for (auto& sc : s->scenarios) all.scenarios.push_back(std::move(sc));
    for (auto& t : s->tests) {
      t.scenario += base;
      all.tests.push_back(std::move(t));
    }
  }
  return all;
}

std::string CheckedDomain(const std::string& mailfrom, const std::string& helo) {
  return mailfrom.empty() ? helo : mailfrom.substr(mailfrom.rfind('@') + 1);
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (u < 0x20 || u > 0x7e)
      out += std::string("\\x") + base::UpperHexDigit(u >> 4) + base::UpperHexDigit(u);
    else out.push_back(c);
  }
  return out;
}

bool Matches(const KnownDisagreement& row, const std::string& scenario, const DifferentialCase& c) {
  return fnmatch(row.scenario, scenario.c_str(), 0) == 0 &&
         fnmatch(row.domain, CheckedDomain(c.mailfrom, c.helo).c_str(), 0) == 0 &&
         fnmatch(row.host, c.host.c_str(), 0) == 0;
}

}  // namespace mxkit::auth::spf::testing
