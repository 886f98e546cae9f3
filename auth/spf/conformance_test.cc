// Runs the openspf RFC 7208 suite (203 tests) against the evaluator, one
// gtest case per suite test, checking the result (one or a list of acceptable
// ones) and the explanation where the suite gives one. The suite is read at
// test time from $MXKIT_SHARED_DIR/conformance/spf/rfc7208-tests.yml; when it
// is absent the cases are skipped with a message saying where it was looked
// for, never passed, and under MXKIT_REQUIRE_CONFORMANCE that is a failure.

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/spf/evaluator.h"
#include "auth/spf/testing/rfc7208_suite.h"
#include "dns/testing/deferred_resolver.h"
#include "gtest/gtest.h"
#include "testing/conformance.h"

namespace mxkit::auth::spf {
namespace {

using testing::Suite;
using testing::SuiteResolver;
using testing::SuiteTest;

// The suite's driver (pyspf's testspf.py) sets this default explanation; the
// expected "explanation: DEFAULT" rows mean "no usable exp=".
constexpr char kDefaultExplanation[] = "DEFAULT";
constexpr size_t kSuiteTestCount = 203;

struct Loaded {
  std::string path;
  std::string error;  // why it could not be loaded; empty when loaded
  Suite suite;
};

const Loaded& Get() {
  static const Loaded* loaded = [] {
    auto* l = new Loaded;
    l->path = testing::SuitePath();
    if (l->path.empty()) {
      l->error = "MXKIT_SHARED_DIR is not set";
      return l;
    }
    absl::StatusOr<Suite> suite = testing::LoadSuite(l->path);
    if (!suite.ok()) {
      l->error = std::string(suite.status().message());
      return l;
    }
    l->suite = std::move(*suite);
    return l;
  }();
  return *loaded;
}

std::vector<size_t> TestIndexes() {
  std::vector<size_t> out;
  for (size_t i = 0; i < Get().suite.tests.size(); ++i) out.push_back(i);
  return out;
}

// One resolver per scenario, built on first use.
SuiteResolver& ResolverFor(size_t scenario) {
  static auto* resolvers = new std::map<size_t, std::unique_ptr<SuiteResolver>>;
  auto& slot = (*resolvers)[scenario];
  if (!slot) slot = std::make_unique<SuiteResolver>(Get().suite.scenarios[scenario]);
  return *slot;
}

TEST(Rfc7208Suite, IsPresentAndComplete) {
  const Loaded& l = Get();
  if (l.path.empty() || (!l.error.empty() && l.error.rfind("cannot open", 0) == 0)) {
    MXKIT_SKIP_OR_FAIL("RFC 7208 suite not found: looked for " +
                       (l.path.empty() ? std::string("$MXKIT_SHARED_DIR/conformance/spf/rfc7208-tests.yml")
                                       : l.path) +
                       " (" + (l.error.empty() ? std::string("missing") : l.error) +
                       "); run through ./bazelw with ../shared beside the checkout, or set "
                       "MXKIT_SHARED_DIR to the directory holding conformance/spf");
  }
  ASSERT_TRUE(l.error.empty()) << l.path << ": " << l.error;
  EXPECT_EQ(l.suite.tests.size(), kSuiteTestCount);
}

class Rfc7208 : public ::testing::TestWithParam<size_t> {};

TEST_P(Rfc7208, ResultAndExplanationMatch) {
  const SuiteTest& t = Get().suite.tests[GetParam()];
  std::optional<IpAddress> ip = IpAddress::Parse(t.host);
  ASSERT_TRUE(ip.has_value()) << "suite host " << t.host;
  EvaluatorOptions options;
  options.default_explanation = kDefaultExplanation;
  Evaluator evaluator(ResolverFor(t.scenario), options);
  CheckResult r = evaluator.CheckMailFrom(*ip, t.mailfrom, t.helo);
  std::string got(ResultName(r.result));
  SCOPED_TRACE("spec " + t.spec + ": " + t.description + "\nreason: " + r.reason);
  EXPECT_TRUE(std::find(t.results.begin(), t.results.end(), got) != t.results.end())
      << t.name << ": got " << got << ", want one of [" << [&] {
           std::string s;
           for (const auto& x : t.results) s += (s.empty() ? "" : ", ") + x;
           return s;
         }() << "]";
  if (t.explanation) {
    EXPECT_EQ(r.explanation, *t.explanation) << t.name;
  }
}

// The asynchronous path over a resolver that answers only when told, in
// shuffled orders: the same result, reason, explanation and counters as the
// synchronous wrapper, `done` never before the lookups are answered, and
// exactly once.
TEST_P(Rfc7208, AsyncOverDeferredLookupsMatchesSync) {
  const SuiteTest& t = Get().suite.tests[GetParam()];
  std::optional<IpAddress> ip = IpAddress::Parse(t.host);
  ASSERT_TRUE(ip.has_value()) << "suite host " << t.host;
  EvaluatorOptions options;
  options.default_explanation = kDefaultExplanation;
  const CheckResult want = Evaluator(ResolverFor(t.scenario), options).CheckMailFrom(*ip, t.mailfrom, t.helo);
  for (uint64_t seed : {0u, 1u, 2u, 3u}) {
    SCOPED_TRACE(t.name + " seed " + std::to_string(seed));
    dns::testing::DeferredResolver deferred(ResolverFor(t.scenario));
    Evaluator evaluator(deferred, options);
    int calls = 0;
    CheckResult got;
    evaluator.CheckMailFromAsync(*ip, t.mailfrom, t.helo, 0, [&](CheckResult r) {
      ++calls;
      got = std::move(r);
    });
    if (deferred.started() > 0) {
      EXPECT_EQ(calls, 0) << "done ran before any lookup was answered";
    }
    deferred.Drain(seed);
    EXPECT_EQ(deferred.pending(), 0u);
    ASSERT_EQ(calls, 1);
    EXPECT_EQ(got.result, want.result);
    EXPECT_EQ(got.reason, want.reason);
    EXPECT_EQ(got.explanation, want.explanation);
    EXPECT_EQ(got.mechanism, want.mechanism);
    EXPECT_EQ(got.domain, want.domain);
    EXPECT_EQ(got.dns_lookups, want.dns_lookups);
    EXPECT_EQ(got.void_lookups, want.void_lookups);
  }
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  std::string name = Get().suite.tests[info.param].name;
  for (char& c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Suite, Rfc7208, ::testing::ValuesIn(TestIndexes()), CaseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Rfc7208);

}  // namespace
}  // namespace mxkit::auth::spf
