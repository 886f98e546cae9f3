// Certificate factory: the time to make the whole test PKI (root,
// intermediate, unknown root and all 13 leaves), which fakemx pays once at
// start; the target is under 1 s. Beside it the set without the two RSA
// leaves, and each RSA leaf alone, to show where the time goes.
//
// The RSA leaves dominate: their primes are searched for in a DRBG stream,
// so the cost depends on how far the seed's stream is from a prime. The
// "varying seed" runs average over seeds; the fixed-seed runs are what
// fakemx's default --cert-seed costs.


#include <algorithm>
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "testing/cpu_clock.h"
#include "tls/cert_factory.h"

namespace mxkit::tls {
namespace {

std::vector<CertVariant> EcdsaVariants() {
  std::vector<CertVariant> out;
  for (const CertVariant v : AllCertVariants()) {
    if (v != CertVariant::kRsa1024 && v != CertVariant::kRsa2048) out.push_back(v);
  }
  return out;
}

// Besides the mean, the slowest iteration's thread CPU time (max_cpu_ms):
// with varying seeds that is the seed whose RSA primes lay furthest into
// its DRBG stream, the number the 1 s target is about. CPU rather than wall
// time, so other load on the machine does not inflate it.
double ThreadCpuMs() { return mxkit::testing::ThreadCpuSeconds() * 1e3; }

void Run(benchmark::State& state, absl::Span<const CertVariant> variants, bool vary_seed) {
  CertFactoryOptions options;
  uint64_t seed = 1;
  double max_cpu_ms = 0;
  for (auto _ : state) {
    options.seed = vary_seed ? seed++ : 1;
    const double start = ThreadCpuMs();
    absl::StatusOr<CertificateSet> set = CertificateSet::Generate(options, variants);
    if (!set.ok()) {
      state.SkipWithError("Generate failed");
      return;
    }
    benchmark::DoNotOptimize(set->root_pem().data());
    max_cpu_ms = std::max(max_cpu_ms, ThreadCpuMs() - start);
  }
  state.counters["variants"] = static_cast<double>(variants.size());
  state.counters["max_cpu_ms"] = max_cpu_ms;
}

void BM_WholeSetDefaultSeed(benchmark::State& state) { Run(state, AllCertVariants(), false); }
void BM_WholeSetVaryingSeed(benchmark::State& state) { Run(state, AllCertVariants(), true); }

void BM_EcdsaOnlySetDefaultSeed(benchmark::State& state) {
  const std::vector<CertVariant> variants = EcdsaVariants();
  Run(state, variants, false);
}
void BM_EcdsaOnlySetVaryingSeed(benchmark::State& state) {
  const std::vector<CertVariant> variants = EcdsaVariants();
  Run(state, variants, true);
}

// The CAs plus one RSA leaf.
void BM_Rsa2048LeafVaryingSeed(benchmark::State& state) {
  const CertVariant v[] = {CertVariant::kRsa2048};
  Run(state, v, true);
}
void BM_Rsa1024LeafVaryingSeed(benchmark::State& state) {
  const CertVariant v[] = {CertVariant::kRsa1024};
  Run(state, v, true);
}

BENCHMARK(BM_WholeSetDefaultSeed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WholeSetVaryingSeed)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_EcdsaOnlySetDefaultSeed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EcdsaOnlySetVaryingSeed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Rsa2048LeafVaryingSeed)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_Rsa1024LeafVaryingSeed)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mxkit::tls
