// SPF benchmarks: the whole RFC 7208 suite evaluated per iteration (the suite
// is loaded and every scenario's zone built once, outside the timed loop), by
// our evaluator and by libspf2 1.2.10 in-process over its own static zone DNS
// layer (auth/spf/testing/libspf2_peer.h), and the record parser and macro
// expander alone.
//
//   ./bazelw run --config=opt //auth/benchmarks:spf_benchmark -- --benchmark_repetitions=5
// reads $MXKIT_SHARED_DIR/conformance/spf/rfc7208-tests.yml (bazelw sets
// MXKIT_SHARED_DIR when ../shared exists). At exit it prints the ratio
// mxkit/libspf2 in suite checks per CPU second, medians over the repetitions
// of this run, for each pairing of our record cache (on, off) with libspf2's
// DNS cache layer (off, on). auth/benchmarks/spf_vs_pyspf.sh compares the
// suite figure with pyspf's.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/spf/evaluator.h"
#include "auth/spf/macro.h"
#include "auth/spf/record.h"
#include "auth/spf/testing/libspf2_peer.h"
#include "auth/spf/testing/rfc7208_suite.h"
#include "benchmark/benchmark.h"
#include "testing/cpu_clock.h"

namespace mxkit::auth::spf {
namespace {

struct Prepared {
  std::string error;
  testing::Suite suite;
  std::vector<std::unique_ptr<testing::SuiteResolver>> resolvers;
  std::vector<std::unique_ptr<Evaluator>> evaluators;  // one per scenario
  std::vector<std::unique_ptr<Evaluator>> uncached;    // record cache off
  std::vector<IpAddress> hosts;                        // one per test
  // libspf2 over its static zone (index 0) and behind its DNS cache (1).
  std::vector<std::unique_ptr<testing::Libspf2Peer>> libspf2[2];
};

// Suite checks per CPU second of each timed loop, by benchmark label, for the
// ratio printed at exit. CPU time, not wall time: the machine is shared.
// Loops under kMinRecordedCpuSeconds are Google Benchmark's probes for the
// iteration count, not measurements, and are left out.
constexpr double kMinRecordedCpuSeconds = 0.2;
std::map<std::string, std::vector<double>>& Rates() {
  static auto* rates = new std::map<std::string, std::vector<double>>;
  return *rates;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

// Runs at exit, after every benchmark of this process.
void PrintRatios() {
  const auto& rates = Rates();
  const char* ours[] = {"mxkit record_cache=1", "mxkit record_cache=0"};
  const char* theirs[] = {"libspf2 dns_cache=0", "libspf2 dns_cache=1"};
  for (const char* o : ours) {
    for (const char* t : theirs) {
      auto a = rates.find(o), b = rates.find(t);
      if (a == rates.end() || b == rates.end()) continue;
      double mo = Median(a->second), mt = Median(b->second);
      std::printf("ratio %s / %s: %.2fx (%.0f vs %.0f checks per CPU second, medians of %zu and %zu runs)\n", o,
                  t, mt > 0 ? mo / mt : 0, mo, mt, a->second.size(), b->second.size());
    }
  }
}

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
    for (int cached = 0; cached < 2; ++cached) {
      for (const auto& scenario : p->suite.scenarios) {
        auto peer = testing::Libspf2Peer::Create(
            scenario, cached ? testing::Libspf2Dns::kZoneBehindCache : testing::Libspf2Dns::kZone);
        if (!peer.ok()) {
          p->error = "libspf2 zone for " + scenario.description + ": " + std::string(peer.status().message());
          return p;
        }
        p->libspf2[cached].push_back(std::move(*peer));
      }
    }
    // The cache layer must not change libspf2's answers, or the two figures
    // would not measure the same work.
    for (const auto& t : p->suite.tests) {
      testing::Libspf2Answer a = p->libspf2[0][t.scenario]->Check(t.host, t.mailfrom, t.helo);
      testing::Libspf2Answer b = p->libspf2[1][t.scenario]->Check(t.host, t.mailfrom, t.helo);
      if (a.result != b.result || a.explanation != b.explanation) {
        p->error = "libspf2's DNS cache changes the answer to suite test " + t.name + ": " + a.result + " vs " +
                   b.result;
        return p;
      }
    }
    std::atexit(PrintRatios);
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
  double cpu = mxkit::testing::ProcessCpuSeconds();
  for (auto _ : state) {
    for (size_t i = 0; i < p.suite.tests.size(); ++i) {
      const auto& t = p.suite.tests[i];
      CheckResult r = evaluators[t.scenario]->CheckMailFrom(p.hosts[i], t.mailfrom, t.helo);
      benchmark::DoNotOptimize(r);
    }
  }
  cpu = mxkit::testing::ProcessCpuSeconds() - cpu;
  if (cpu >= kMinRecordedCpuSeconds) Rates()[state.range(0) ? "mxkit record_cache=1" : "mxkit record_cache=0"].push_back(
      static_cast<double>(state.iterations() * p.suite.tests.size()) / cpu);
  state.SetItemsProcessed(state.iterations() * p.suite.tests.size());
  state.counters["suites_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["checks_per_suite"] = static_cast<double>(p.suite.tests.size());
}
BENCHMARK(BM_Rfc7208Suite)->ArgName("record_cache")->Arg(1)->Arg(0);

// The same suite tests through libspf2 (SPF_request_query_mailfrom per test,
// a request and response allocated and freed each time, as a milter does).
// state.range(0): 0 for its static zone layer alone, 1 with its DNS cache
// layer in front (records of every scenario are already in memory either
// way; the cache saves the zone layer's linear scan and copies).
void BM_Rfc7208SuiteLibspf2(benchmark::State& state) {
  const Prepared& p = Get();
  if (!p.error.empty()) {
    state.SkipWithError(p.error.c_str());
    return;
  }
  const auto& peers = p.libspf2[state.range(0)];
  double cpu = mxkit::testing::ProcessCpuSeconds();
  for (auto _ : state) {
    for (const auto& t : p.suite.tests) {
      testing::Libspf2Answer r = peers[t.scenario]->Check(t.host, t.mailfrom, t.helo, /*with_detail=*/false);
      benchmark::DoNotOptimize(r);
    }
  }
  cpu = mxkit::testing::ProcessCpuSeconds() - cpu;
  if (cpu >= kMinRecordedCpuSeconds) Rates()[state.range(0) ? "libspf2 dns_cache=1" : "libspf2 dns_cache=0"].push_back(
      static_cast<double>(state.iterations() * p.suite.tests.size()) / cpu);
  state.SetItemsProcessed(state.iterations() * p.suite.tests.size());
  state.counters["suites_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["checks_per_suite"] = static_cast<double>(p.suite.tests.size());
}
BENCHMARK(BM_Rfc7208SuiteLibspf2)->ArgName("dns_cache")->Arg(0)->Arg(1);

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
