// Differential test against Debian's pyspf (python3-spf, run by /usr/bin/python3).
//
// Inputs: every scenario of the RFC 7208 suite (when $MXKIT_SHARED_DIR has it)
// and of auth/spf/testdata/differential.yml, each test as written plus
// generated variations: every domain of the zone that has TXT data, checked
// from every address in the zone, the test hosts, an outsider IPv4/IPv6 and an
// IPv4-mapped client, and each domain as a HELO identity with a null sender.
// Both implementations see the same zones with the suite's driver conventions
// (auth/spf/testing/rfc7208_suite.h, auth/spf/testing/pyspf_driver.py).
//
// Every case must agree on the result, and on the explanation when both say
// fail, unless the case is covered by kKnownDisagreements below, each with the
// RFC 7208 reasoning for our answer. An entry that no longer matches anything
// fails the test too, so the table cannot go stale.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "auth/spf/evaluator.h"
#include "auth/spf/testing/differential_cases.h"
#include "auth/spf/testing/rfc7208_suite.h"
#include "gtest/gtest.h"
#include "testing/conformance.h"

namespace mxkit::auth::spf {
namespace {

using testing::Suite;
using testing::SuiteResolver;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kDriver[] = "auth/spf/testing/pyspf_driver.py";
constexpr char kExtraZones[] = "auth/spf/testdata/differential.yml";
static_assert(std::string_view(kExtraZones) == testing::kDifferentialZones);

using Disagreement = testing::KnownDisagreement;
using Case = testing::DifferentialCase;

// Where pyspf 2.0.14 and we differ, and why our answer is the RFC's.
const Disagreement kKnownDisagreements[] = {
    {"Macro transformations", "foo-bar.d2.test", "*", "pass", "fail",
     "RFC 7208 §7.3: after splitting on the delimiters and reversing, the parts "
     "are \"rejoined using '.' and not the original splitting characters\". "
     "%{dr-} of foo-bar.d2.test is bar.d2.test.foo; pyspf rejoins with '-' "
     "(bar.d2.test-foo) for every letter but l and s."},
    {"Macro transformations", "d0.test", "*", "permerror", "fail",
     "RFC 7208 §7.3: transformer digits \"MUST be nonzero\", so %{d0} is a syntax "
     "error (permerror); pyspf slices with -0*2+1 and drops the first label."},
    {"Macro transformations", "s.test", "*", "fail:postmaster@s.test s.test postmaster postmaster%40s.test",
     "fail:@s.test s.test postmaster %40s.test",
     "RFC 7208 §4.3: \"If the <sender> has no local-part, substitute the string "
     "'postmaster' for the local-part\", so %{s} is postmaster@s.test; pyspf "
     "substitutes only in %{l}."},
    {"Macro transformations", "a123456789012345678901234567890123456789012345678901234567890.trunc.test",
     "*", "fail:Truncated from the left, label by label.", "fail:DEFAULT",
     "RFC 7208 §7.3: an expanded name over 253 characters loses \"successive "
     "domain labels ... until the total length does not exceed 253\"; pyspf "
     "drops one label only, leaving a 317-character name it cannot query."},
    {"Processing limits", "redir-unused.test", "*", "pass", "permerror",
     "RFC 7208 §4.6.4 limits the terms that cause DNS queries \"during SPF "
     "evaluation\"; a redirect= never reached (ip4 matched first) causes none. "
     "pyspf counts redirect= while reading modifiers. The suite's include-at-limit "
     "(pass) likewise requires counting at evaluation."},
    {"Processing limits", "mx-voids.test", "*", "neutral", "permerror",
     "RFC 7208 §4.6.4 counts void lookups per term (\"terms for which DNS "
     "queries return\" no answer); the mx term's own MX query answered, so it is "
     "not void. pyspf counts each MX host's empty A lookup as a further void."},
    {"Processing limits", "ptr-voids.test", "*", "neutral", "permerror",
     "As above for ptr: the PTR query answered. Counting the validation A "
     "lookups would let whoever controls the client's reverse zone turn a "
     "sender's policy into permerror (the suite's ptr-limit comment makes the "
     "same point for the PTR count)."},
    {"Record and identity forms", "at.test", "*", "fail", "none",
     "RFC 5321 §4.1.2: a local-part may be a quoted string containing '@', so "
     "the domain follows the last '@' (at.test); pyspf splits at the first and "
     "looks up \"b@at.test\"."},
    {"Record and identity forms", "dot.test.", "*", "fail", "none",
     "RFC 7208 §4.3 calls a domain malformed for \"zero-length label not at the "
     "end\": a trailing dot is an absolute name, dot.test. is dot.test. pyspf "
     "treats the empty last label as malformed and returns none."},
    {"Macro expansion rules", "e7.example.com", "*", "neutral", "permerror",
     "e7's two exists: terms use %{p}; for a client without validated PTR names "
     "%{p} is \"unknown\" (RFC 7208 §7.3) and both exists: lookups are void: two, "
     "at the limit. pyspf also counts the %{p} PTR lookup as a void lookup; it is "
     "no term's own query (§4.6.4 counts terms), and §7.3 makes a failed %{p} "
     "lookup yield \"unknown\", not an error."},
};

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char n = s[++i];
    if (n == 't') out.push_back('\t');
    else if (n == 'n') out.push_back('\n');
    else if (n == 'x' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(n);
    }
  }
  return out;
}

bool PyspfAvailable() {
  std::string cmd = std::string(kPython) + " -c 'import spf, yaml' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

TEST(PyspfDifferential, AgreesOrDisagreesOnlyAsDocumented) {
  if (!PyspfAvailable()) {
    MXKIT_SKIP_OR_FAIL(std::string(kPython) +
                       " cannot import spf and yaml: install python3-spf and python3-yaml "
                       "(tools/debian-packages.txt) to run the pyspf differential test");
  }
  std::vector<std::string> files;
  std::string suite_path = testing::SuitePath();
  if (!suite_path.empty() && std::ifstream(suite_path).good()) {
    files.push_back(suite_path);
  } else {
    ::mxkit::testing::NoteMissingOrFail(
        "RFC 7208 suite not found (" +
        (suite_path.empty() ? std::string("MXKIT_SHARED_DIR unset") : suite_path) +
        "); comparing on " + kExtraZones +
        " only. Run through ./bazelw with ../shared beside the checkout, or set "
        "MXKIT_SHARED_DIR to the directory holding conformance/spf");
  }
  files.push_back(kExtraZones);

  absl::StatusOr<Suite> merged = testing::LoadSuites(files);
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  Suite all = std::move(*merged);
  std::vector<Case> cases = testing::GenerateDifferentialCases(all);
  ASSERT_GT(cases.size(), all.tests.size());

  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = tmp ? tmp : "/tmp";
  std::string cases_path = dir + "/spf_differential_cases.tsv";
  std::string out_path = dir + "/spf_differential_pyspf.tsv";
  {
    std::ofstream out(cases_path, std::ios::binary);
    for (const Case& c : cases) {
      out << c.scenario << '\t' << testing::Escape(c.host) << '\t' << testing::Escape(c.mailfrom) << '\t'
          << testing::Escape(c.helo) << '\n';
    }
  }
  std::string cmd = std::string(kPython) + " " + kDriver + " " + cases_path;
  for (const std::string& f : files) cmd += " '" + f + "'";
  cmd += " > " + out_path;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out_path, std::ios::binary);
  std::vector<std::pair<std::string, std::string>> theirs;
  for (std::string line; std::getline(in, line);) {
    size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    theirs.push_back({line.substr(0, tab), Unescape(line.substr(tab + 1))});
  }
  ASSERT_EQ(theirs.size(), cases.size());

  // Our results; the listed tests of differential.yml are also checked
  // against their RFC results.
  std::map<size_t, std::unique_ptr<SuiteResolver>> resolvers;
  std::vector<int> used(std::size(kKnownDisagreements), 0);
  size_t agreed = 0, documented = 0;
  std::vector<std::string> unexplained;
  EvaluatorOptions options;
  options.default_explanation = "DEFAULT";
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    auto& resolver = resolvers[c.scenario];
    if (!resolver) resolver = std::make_unique<SuiteResolver>(all.scenarios[c.scenario]);
    Evaluator evaluator(*resolver, options);
    std::optional<IpAddress> ip = IpAddress::Parse(c.host);
    ASSERT_TRUE(ip.has_value()) << c.host;
    CheckResult r = evaluator.CheckMailFrom(*ip, c.mailfrom, c.helo);
    std::string ours(ResultName(r.result));
    const auto& [pyres, pyexp] = theirs[i];
    bool same = ours == pyres && (ours != "fail" || r.explanation == pyexp);
    if (same) {
      ++agreed;
      continue;
    }
    std::string ours_full = ours == "fail" && pyres == "fail" ? "fail:" + r.explanation : ours;
    std::string theirs_full = ours == "fail" && pyres == "fail" ? "fail:" + pyexp : pyres;
    const std::string& scenario = all.scenarios[c.scenario].description;
    bool explained = false;
    for (size_t k = 0; k < std::size(kKnownDisagreements); ++k) {
      const Disagreement& d = kKnownDisagreements[k];
      if (testing::Matches(d, scenario, c) && ours_full == d.ours && theirs_full == d.peer) {
        ++used[k];
        explained = true;
        break;
      }
    }
    if (explained) {
      ++documented;
      continue;
    }
    unexplained.push_back("[" + scenario + "] host=" + c.host + " mailfrom=\"" + c.mailfrom +
                          "\" helo=\"" + c.helo + "\": ours " + ours_full + " (" + r.reason +
                          "), pyspf " + theirs_full);
  }
  std::printf("pyspf differential: %zu cases, %zu agree, %zu documented disagreements, %zu unexplained\n",
              cases.size(), agreed, documented, unexplained.size());
  std::string report;
  for (size_t k = 0; k < unexplained.size() && k < 40; ++k) report += unexplained[k] + "\n";
  EXPECT_TRUE(unexplained.empty()) << unexplained.size() << " unexplained disagreements:\n" << report;
  // An entry is stale only if its scenario ran: without the suite, its
  // scenarios' entries have nothing to match.
  std::set<std::string> loaded;
  for (const auto& sc : all.scenarios) loaded.insert(sc.description);
  for (size_t k = 0; k < std::size(kKnownDisagreements); ++k) {
    if (loaded.count(kKnownDisagreements[k].scenario) == 0) continue;
    EXPECT_GT(used[k], 0) << "stale known disagreement: " << kKnownDisagreements[k].scenario << " "
                          << kKnownDisagreements[k].domain;
  }
}

// The scenarios of differential.yml carry RFC 7208 results of their own.
TEST(DifferentialZones, MatchRfc7208Results) {
  absl::StatusOr<Suite> suite = testing::LoadSuite(kExtraZones);
  ASSERT_TRUE(suite.ok()) << suite.status().message();
  ASSERT_FALSE(suite->tests.empty());
  EvaluatorOptions options;
  options.default_explanation = "DEFAULT";
  for (const auto& t : suite->tests) {
    SuiteResolver resolver(suite->scenarios[t.scenario]);
    Evaluator evaluator(resolver, options);
    CheckResult r = evaluator.CheckMailFrom(*IpAddress::Parse(t.host), t.mailfrom, t.helo);
    EXPECT_EQ(std::string(ResultName(r.result)), t.results.front()) << t.name << ": " << r.reason;
    if (t.explanation) {
      EXPECT_EQ(r.explanation, *t.explanation) << t.name;
    }
  }
}

}  // namespace
}  // namespace mxkit::auth::spf
