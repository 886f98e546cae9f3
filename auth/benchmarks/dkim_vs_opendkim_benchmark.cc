// DKIM verify and sign, mxkit against OpenDKIM (libopendkim 2.11, Debian),
// in one Google Benchmark binary on the same inputs: the 5 KiB message of
// dkim_fixture.h, RSA-2048, c=relaxed/relaxed, the same signed header names.
// OpenDKIM is reached through auth/dkim/testing/opendkim_peer.h (its own
// shared object under RTLD_DEEPBIND, so it runs on OpenSSL 3 while we run on
// BoringSSL). Build with --config=opt.
//
// What one iteration is, per side (what an MTA does per message):
//   verify, mxkit:    Verifier::VerifyMessage over the whole message: split,
//                     parse the signature, key lookup (StaticResolver, in
//                     memory), body and header hashes, RSA verify. The
//                     Verifier lives across messages and caches parsed keys
//                     (its default); key_cache:0 re-parses the key record.
//   verify, OpenDKIM: dkim_verify (a new handle), dkim_chunk of the whole
//                     message, dkim_eom (key from the in-memory callback,
//                     parsed by OpenDKIM each time: it has no parsed-key
//                     cache), dkim_getsiglist, dkim_free. dkim_init once.
//   sign, mxkit:      SignMessage with a SigningKey parsed once (an MTA loads
//                     its key at start-up); parse_key:1 also parses the PEM
//                     per message, as OpenDKIM's API must.
//   sign, OpenDKIM:   dkim_sign (a new handle, which parses the PEM key: the
//                     API takes the key text per handle, as the opendkim milter
//                     passes it), dkim_chunk, dkim_eom, dkim_getsighdr_d,
//                     dkim_free. dkim_init once.
// The *Ratio benchmarks alternate small batches of both sides inside one
// loop and time each with this thread's CPU clock, so both see the same
// machine state; their counters give the throughput ratio ours/OpenDKIM
// (>1: we are faster). With --benchmark_repetitions the median is reported.


#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "auth/benchmarks/dkim_fixture.h"
#include "auth/dkim/internal/test_keys.h"
#include "auth/dkim/signer.h"
#include "auth/dkim/testing/opendkim_peer.h"
#include "auth/dkim/verifier.h"
#include "benchmark/benchmark.h"
#include "testing/cpu_clock.h"
#include "dns/static_resolver.h"

namespace mxkit::auth::dkim {
namespace {

using benchmarks::kDkimFixtureNow;

const std::vector<std::string> kSignedNames = {"from", "to", "cc", "subject", "date",
                                               "message-id", "reply-to", "mime-version",
                                               "content-type", "content-transfer-encoding"};

struct Fixture {
  std::string pem = internal::GenerateRsaPem(2048);
  SigningKey key = *SigningKey::RsaFromPem(pem);
  SignerOptions sign_options;
  testing::OpenDkimSignOptions peer_sign_options;
  std::string unsigned_message;
  std::string message;  // signed by us
  dns::StaticResolver resolver;
  std::unique_ptr<testing::OpenDkimPeer> peer;
  std::string error;  // set when the fixture could not be built

  Fixture() {
    sign_options.domain = "example.com";
    sign_options.selector = "bench";
    sign_options.timestamp = kDkimFixtureNow;
    sign_options.signed_headers = kSignedNames;
    peer_sign_options.domain = "example.com";
    peer_sign_options.selector = "bench";
    peer_sign_options.sign_headers = kSignedNames;
    benchmarks::DkimFixtureMessage m = benchmarks::BuildDkimFixtureMessage(
        [&](const std::string& u) { return SignMessage(u, key, sign_options).value_or(""); });
    unsigned_message = m.unsigned_message;
    message = m.signature_field + m.unsigned_message;

    const std::string name = "bench._domainkey.example.com";
    const std::string record = key.KeyRecordText();
    dns::ResourceRecord rr;
    rr.name = name;
    rr.type = dns::RrType::kTxt;
    rr.data = dns::SplitIntoCharacterStrings(record);
    resolver.Add(rr);

    std::string shim = testing::FindOpenDkimShim();
    if (shim.empty()) {
      error = "libopendkim_peer_shim.so not found in the runfiles (set MXKIT_OPENDKIM_SHIM)";
      return;
    }
    auto loaded = testing::OpenDkimPeer::Load(shim, kDkimFixtureNow);
    if (!loaded.ok()) {
      error = std::string(loaded.status().message());
      return;
    }
    peer = std::move(*loaded);
    peer->AddKey(name, record);
    // Both sides must accept both sides' signatures before anything is timed.
    absl::StatusOr<std::string> theirs = peer->Sign(unsigned_message, pem, peer_sign_options);
    if (!theirs.ok()) {
      error = std::string(theirs.status().message());
      return;
    }
    Verifier verifier(&resolver);
    for (const std::string& msg : {message, *theirs + unsigned_message}) {
      auto ours = verifier.VerifyMessage(msg, kDkimFixtureNow);
      testing::OpenDkimVerification v = peer->Verify(msg);
      if (!ours.ok() || ours->size() != 1 || (*ours)[0].result != DkimResult::kPass ||
          v.signatures.size() != 1 || !v.signatures[0].passed()) {
        error = "the fixture message does not verify on both sides";
        return;
      }
    }
    std::cerr << "fixture: " << message.size() << "-byte message; OpenDKIM's signature "
              << theirs->size() << " bytes, ours " << m.signature_field.size() << "\n";
  }
};

Fixture& Get() {
  static Fixture* f = new Fixture();
  return *f;
}

bool MxkitVerifyPasses(const Verifier& verifier, const std::string& message) {
  auto r = verifier.VerifyMessage(message, kDkimFixtureNow);
  return r.ok() && r->size() == 1 && (*r)[0].result == DkimResult::kPass;
}

bool OpenDkimVerifyPasses(testing::OpenDkimPeer& peer, const std::string& message) {
  testing::OpenDkimVerification v = peer.Verify(message);
  return v.signatures.size() == 1 && v.signatures[0].passed();
}

void BM_DkimVerifyMxkit(benchmark::State& state) {
  Fixture& f = Get();
  Verifier verifier(&f.resolver, /*cache_parsed_keys=*/state.range(0) != 0);
  for (auto _ : state) {
    if (!MxkitVerifyPasses(verifier, f.message)) {
      state.SkipWithError("mxkit verification did not pass");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DkimVerifyMxkit)->ArgName("key_cache")->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

void BM_DkimVerifyOpenDkim(benchmark::State& state) {
  Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    if (!OpenDkimVerifyPasses(*f.peer, f.message)) {
      state.SkipWithError("OpenDKIM verification did not pass");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DkimVerifyOpenDkim)->Unit(benchmark::kMicrosecond);

void BM_DkimSignMxkit(benchmark::State& state) {
  Fixture& f = Get();
  const bool parse_key = state.range(0) != 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> field;
    if (parse_key) {
      absl::StatusOr<SigningKey> key = SigningKey::RsaFromPem(f.pem);
      field = SignMessage(f.unsigned_message, *key, f.sign_options);
    } else {
      field = SignMessage(f.unsigned_message, f.key, f.sign_options);
    }
    if (!field.ok()) {
      state.SkipWithError("mxkit signing failed");
      return;
    }
    benchmark::DoNotOptimize(field);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DkimSignMxkit)->ArgName("parse_key")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_DkimSignOpenDkim(benchmark::State& state) {
  Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<std::string> field = f.peer->Sign(f.unsigned_message, f.pem, f.peer_sign_options);
    if (!field.ok()) {
      state.SkipWithError("OpenDKIM signing failed");
      return;
    }
    benchmark::DoNotOptimize(field);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DkimSignOpenDkim)->Unit(benchmark::kMicrosecond);

// Batches of kBatch per side per iteration, alternating.
constexpr int kVerifyBatch = 4;

void BM_DkimVerifyRatio(benchmark::State& state) {
  Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  Verifier cached(&f.resolver, true);
  Verifier uncached(&f.resolver, false);
  double ours = 0, ours_uncached = 0, theirs = 0;
  for (auto _ : state) {
    bool ok = true;
    double t0 = mxkit::testing::ThreadCpuSeconds();
    for (int i = 0; i < kVerifyBatch; ++i) ok &= MxkitVerifyPasses(cached, f.message);
    double t1 = mxkit::testing::ThreadCpuSeconds();
    for (int i = 0; i < kVerifyBatch; ++i) ok &= MxkitVerifyPasses(uncached, f.message);
    double t2 = mxkit::testing::ThreadCpuSeconds();
    for (int i = 0; i < kVerifyBatch; ++i) ok &= OpenDkimVerifyPasses(*f.peer, f.message);
    double t3 = mxkit::testing::ThreadCpuSeconds();
    if (!ok) {
      state.SkipWithError("a verification did not pass");
      return;
    }
    ours += t1 - t0;
    ours_uncached += t2 - t1;
    theirs += t3 - t2;
  }
  const double n = static_cast<double>(state.iterations()) * kVerifyBatch;
  state.counters["mxkit_per_s"] = n / ours;
  state.counters["mxkit_nocache_per_s"] = n / ours_uncached;
  state.counters["opendkim_per_s"] = n / theirs;
  state.counters["ratio"] = theirs / ours;
  state.counters["ratio_nocache"] = theirs / ours_uncached;
}
BENCHMARK(BM_DkimVerifyRatio)->Unit(benchmark::kMillisecond);

constexpr int kSignBatch = 2;

void BM_DkimSignRatio(benchmark::State& state) {
  Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  double ours = 0, ours_parse = 0, theirs = 0;
  for (auto _ : state) {
    bool ok = true;
    double t0 = mxkit::testing::ThreadCpuSeconds();
    for (int i = 0; i < kSignBatch; ++i) {
      ok &= SignMessage(f.unsigned_message, f.key, f.sign_options).ok();
    }
    double t1 = mxkit::testing::ThreadCpuSeconds();
    for (int i = 0; i < kSignBatch; ++i) {
      absl::StatusOr<SigningKey> key = SigningKey::RsaFromPem(f.pem);
      ok &= key.ok() && SignMessage(f.unsigned_message, *key, f.sign_options).ok();
    }
    double t2 = mxkit::testing::ThreadCpuSeconds();
    for (int i = 0; i < kSignBatch; ++i) {
      ok &= f.peer->Sign(f.unsigned_message, f.pem, f.peer_sign_options).ok();
    }
    double t3 = mxkit::testing::ThreadCpuSeconds();
    if (!ok) {
      state.SkipWithError("a signing failed");
      return;
    }
    ours += t1 - t0;
    ours_parse += t2 - t1;
    theirs += t3 - t2;
  }
  const double n = static_cast<double>(state.iterations()) * kSignBatch;
  state.counters["mxkit_per_s"] = n / ours;
  state.counters["mxkit_parse_key_per_s"] = n / ours_parse;
  state.counters["opendkim_per_s"] = n / theirs;
  state.counters["ratio"] = theirs / ours;
  state.counters["ratio_parse_key"] = theirs / ours_parse;
}
BENCHMARK(BM_DkimSignRatio)->Unit(benchmark::kMillisecond);

// Where parse_key:1's extra time goes: the PEM parse alone, then one
// SignDigest on the freshly parsed key (BoringSSL checks the key and builds
// its Montgomery contexts on the first private-key operation), then a
// SignDigest on a key already used.
void BM_StageRsaFromPem(benchmark::State& state) {
  Fixture& f = Get();
  for (auto _ : state) {
    absl::StatusOr<SigningKey> key = SigningKey::RsaFromPem(f.pem);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_StageRsaFromPem)->Unit(benchmark::kMicrosecond);

void BM_StageFirstSignDigestOnFreshKey(benchmark::State& state) {
  Fixture& f = Get();
  const std::string digest(32, '\x5a');
  for (auto _ : state) {
    absl::StatusOr<SigningKey> key = SigningKey::RsaFromPem(f.pem);
    absl::StatusOr<std::string> b = key->SignDigest(digest);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_StageFirstSignDigestOnFreshKey)->Unit(benchmark::kMicrosecond);

void BM_StageSignDigestOnWarmKey(benchmark::State& state) {
  Fixture& f = Get();
  const std::string digest(32, '\x5a');
  for (auto _ : state) {
    absl::StatusOr<std::string> b = f.key.SignDigest(digest);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_StageSignDigestOnWarmKey)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mxkit::auth::dkim
