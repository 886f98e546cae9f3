// SPF benchmarks: the whole RFC 7208 suite evaluated per iteration (the suite
// is loaded and every scenario's zone built once, outside the timed loop), and
// the record parser and macro expander alone.
//
//   ./bazelw run --config=opt //auth/benchmarks:spf_benchmark
// reads $MXKIT_SHARED_DIR/conformance/spf/rfc7208-tests.yml (bazelw sets
// MXKIT_SHARED_DIR when ../shared exists). auth/benchmarks/spf_vs_pyspf.sh
// compares the suite figure with pyspf's.

#include <memory>
#include <string>
#include <vector>

#include "auth/spf/evaluator.h"
#include "auth/spf/macro.h"
#include "auth/spf/record.h"
#include "auth/spf/testing/rfc7208_suite.h"
#include "benchmark/benchmark.h"

namespace mxkit::auth::spf {
namespace {

struct Prepared {
  std::string error;
  testing::Suite suite;
  std::vector<std::unique_ptr<testing::SuiteResolver>> resolvers;
  std::vector<std::unique_ptr<Evaluator>> evaluators;  // one per scenario
  std::vector<std::unique_ptr<Evaluator>> uncached;    // record cache off
  std::vector<IpAddress> hosts;                        // one per test
};

const Prepared& Get() {
  static const Prepared* prepared = [] {
    auto* p = new Prepared;
    std::string path = testing::SuitePath();
    if (path.empty()) {
      p->error = "MXKIT_SHARED_DIR is not set; cannot find the RFC 7208 suite";
      return p;
    }
    absl::StatusOr<testing::Suite> suite = testing::LoadSuite(path);
    if (!suite.ok()) {
      p->error = std::string(suite.status().message());
      return p;
    }
    p->suite = std::move(*suite);
    EvaluatorOptions options;
    options.default_explanation = "DEFAULT";
    for (const auto& scenario : p->suite.scenarios) {
      p->resolvers.push_back(std::make_unique<testing::SuiteResolver>(scenario));
      p->evaluators.push_back(std::make_unique<Evaluator>(*p->resolvers.back(), options));
      EvaluatorOptions no_cache = options;
      no_cache.record_cache_size = 0;
      p->uncached.push_back(std::make_unique<Evaluator>(*p->resolvers.back(), no_cache));
    }
    for (const auto& t : p->suite.tests) p->hosts.push_back(*IpAddress::Parse(t.host));
    return p;
  }();
  return *prepared;
}

// state.range(0): 1 with the evaluator's default record cache, 0 without it
// (every record parsed on every check).
void BM_Rfc7208Suite(benchmark::State& state) {
  const Prepared& p = Get();
  const auto& evaluators = state.range(0) ? p.evaluators : p.uncached;
  if (!p.error.empty()) {
    state.SkipWithError(p.error.c_str());
    return;
  }
  for (auto _ : state) {
    for (size_t i = 0; i < p.suite.tests.size(); ++i) {
      const auto& t = p.suite.tests[i];
      CheckResult r = evaluators[t.scenario]->CheckMailFrom(p.hosts[i], t.mailfrom, t.helo);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * p.suite.tests.size());
  state.counters["suites_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["checks_per_suite"] = static_cast<double>(p.suite.tests.size());
}
BENCHMARK(BM_Rfc7208Suite)->ArgName("record_cache")->Arg(1)->Arg(0);

void BM_ParseRecord(benchmark::State& state) {
  const std::string record =
      "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/22 ip6:2001:db8::/32 a mx:mail.example.com/24 "
      "include:_spf.example.net include:spf.protection.example.org exists:%{ir}.%{l1r-}.rbl.%{d} "
      "-all exp=explain._spf.%{d}";
  for (auto _ : state) {
    ParseResult<Record> r = ParseRecord(record);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(state.iterations() * record.size());
}
BENCHMARK(BM_ParseRecord);

void BM_ExpandMacro(benchmark::State& state) {
  ParseResult<MacroString> macro =
      ParseMacroString("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", MacroContext::kDomainSpec);
  MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.local_part = "strong-bad";
  v.sender_domain = v.domain = "email.example.com";
  v.ip = v.client_ip = "192.0.2.3";
  v.ip_version = "in-addr";
  for (auto _ : state) {
    std::string out = ExpandMacroString(*macro, v, true);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ExpandMacro);

}  // namespace
}  // namespace mxkit::auth::spf
