// DKIM verification throughput against the crypto it cannot avoid.
//
// BM_DkimVerifyRsa2048Relaxed5KiB verifies one rsa-sha256 relaxed/relaxed
// signature over a 5 KiB message (key served by a StaticResolver), single
// threaded, so items_per_second is verifications per second per core. Beside
// it, in the same binary: BoringSSL's RSA-2048 verify rate and SHA-256
// throughput. The lower bound on a verification's cost is one RSA-2048 verify
// plus SHA-256 over the canonical body and signed headers; the counter
// `crypto_bound_ratio` is (that bound's time) / (our time), so 1.0 would mean
// parsing, canonicalization and DNS cost nothing (issue 13 asks for >= 0.85).
// Both are CPU time of this thread measured one after the other, so on a
// loaded machine the ratio moves by several percent between runs: quote the
// median of --benchmark_repetitions=5 with the load, and count instructions
// (callgrind, --toggle-collect='mxkit::auth::dkim::Verifier::VerifyMessage*')
// to compare versions.
//
// With DKIM_BENCH_DUMP_DIR set, the signed message and its key record are
// written there (message.eml, key.txt) for dkim_vs_dkimpy.sh.

#include <openssl/bio.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>


#include <cstdlib>
#include <fstream>
#include <string>

#include "auth/benchmarks/dkim_fixture.h"
#include "auth/dkim/internal/test_keys.h"
#include "auth/dkim/signer.h"
#include "auth/dkim/verifier.h"
#include "benchmark/benchmark.h"
#include "testing/cpu_clock.h"
#include "dns/static_resolver.h"

namespace mxkit::auth::dkim {
namespace {

constexpr int64_t kNow = benchmarks::kDkimFixtureNow;
constexpr std::size_t kMessageBytes = benchmarks::kDkimFixtureMessageBytes;

struct Fixture {
  std::string pem = internal::GenerateRsaPem(2048);
  SigningKey key = *SigningKey::RsaFromPem(pem);
  std::string unsigned_message;
  std::string message;
  std::size_t body_bytes = 0;
  // What a verification must hash: the canonical body and the header hash
  // input (signed fields plus the signature field), computed once here.
  std::size_t hashed_bytes = 0;
  dns::StaticResolver resolver;

  Fixture() {
    SignerOptions o;
    o.domain = "example.com";
    o.selector = "bench";
    o.timestamp = kNow;
    benchmarks::DkimFixtureMessage m = benchmarks::BuildDkimFixtureMessage(
        [&](const std::string& text) { return *SignMessage(text, key, o); });
    unsigned_message = m.unsigned_message;
    message = m.signature_field + m.unsigned_message;
    const std::string& body = m.body;
    body_bytes = body.size();
    DkimMessage split = *SplitMessage(message);
    SignatureParseResult sig = ParseSignature(split.headers[0].raw);
    std::string header_input;
    AppendHeaderHashInput(split.headers, sig.signature, split.headers[0].raw, &header_input);
    hashed_bytes = header_input.size() + CanonicalizeBody(Canonicalization::kRelaxed, split.body).size();
    dns::ResourceRecord rr;
    rr.name = "bench._domainkey.example.com";
    rr.type = dns::RrType::kTxt;
    std::string record = key.KeyRecordText();
    rr.data = dns::SplitIntoCharacterStrings(record);
    resolver.Add(rr);
    if (const char* dir = std::getenv("DKIM_BENCH_DUMP_DIR")) {
      std::ofstream(std::string(dir) + "/message.eml", std::ios::binary) << message;
      std::ofstream(std::string(dir) + "/key.txt", std::ios::binary)
          << "bench._domainkey.example.com\t" << record << "\n";
    }
  }
};

Fixture& Get() {
  static Fixture* f = new Fixture();
  return *f;
}

// One RSA-2048 verify plus SHA-256 over `hashed_bytes`: the crypto floor.
double CryptoBoundSeconds(RSA* rsa, std::size_t hashed_bytes, int iterations) {
  std::string data(hashed_bytes, 'x');
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
  std::string sig(RSA_size(rsa), '\0');
  unsigned sig_len = 0;
  RSA_sign(NID_sha256, digest, sizeof(digest), reinterpret_cast<uint8_t*>(sig.data()), &sig_len,
           rsa);
  double start = mxkit::testing::ThreadCpuSeconds();
  for (int i = 0; i < iterations; ++i) {
    SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
    int ok = RSA_verify(NID_sha256, digest, sizeof(digest),
                        reinterpret_cast<const uint8_t*>(sig.data()), sig_len, rsa);
    benchmark::DoNotOptimize(ok);
  }
  return (mxkit::testing::ThreadCpuSeconds() - start) / iterations;
}

RSA* RsaFromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  RSA* rsa = PEM_read_bio_RSAPrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return rsa;
}

void BM_DkimVerifyRsa2048Relaxed5KiB(benchmark::State& state) {
  Fixture& f = Get();
  Verifier verifier(&f.resolver, /*cache_parsed_keys=*/state.range(0) != 0);
  int64_t iterations = 0;
  double start = mxkit::testing::ThreadCpuSeconds();
  for (auto _ : state) {
    auto results = verifier.VerifyMessage(f.message, kNow);
    if (!results.ok() || results->size() != 1 || (*results)[0].result != DkimResult::kPass) {
      state.SkipWithError("verification did not pass");
      return;
    }
    ++iterations;
  }
  double elapsed = mxkit::testing::ThreadCpuSeconds() - start;
  state.SetItemsProcessed(iterations);
  state.SetBytesProcessed(iterations * static_cast<int64_t>(f.message.size()));
  // The floor: SHA-256 over the canonical body and the header hash input,
  // and one RSA verify.
  RSA* rsa = RsaFromPem(f.pem);
  double bound = CryptoBoundSeconds(rsa, f.hashed_bytes, 2000);
  RSA_free(rsa);
  double ours = elapsed / static_cast<double>(iterations);
  state.counters["message_bytes"] = static_cast<double>(f.message.size());
  state.counters["hashed_bytes"] = static_cast<double>(f.hashed_bytes);
  state.counters["crypto_bound_per_s"] = 1.0 / bound;
  state.counters["crypto_bound_ratio"] = bound / ours;
}
// key_cache:1 is the default Verifier; key_cache:0 parses the key record
// (base64, DER, RSA setup) for every message.
BENCHMARK(BM_DkimVerifyRsa2048Relaxed5KiB)
    ->ArgName("key_cache")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMicrosecond);

void BM_BoringSslRsa2048Verify(benchmark::State& state) {
  RSA* rsa = RsaFromPem(Get().pem);
  uint8_t digest[SHA256_DIGEST_LENGTH] = {1, 2, 3};
  std::string sig(RSA_size(rsa), '\0');
  unsigned sig_len = 0;
  RSA_sign(NID_sha256, digest, sizeof(digest), reinterpret_cast<uint8_t*>(sig.data()), &sig_len,
           rsa);
  for (auto _ : state) {
    int ok = RSA_verify(NID_sha256, digest, sizeof(digest),
                        reinterpret_cast<const uint8_t*>(sig.data()), sig_len, rsa);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
  RSA_free(rsa);
}
BENCHMARK(BM_BoringSslRsa2048Verify)->Unit(benchmark::kMicrosecond);

void BM_BoringSslSha256(benchmark::State& state) {
  std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  uint8_t digest[SHA256_DIGEST_LENGTH];
  for (auto _ : state) {
    SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BoringSslSha256)->Arg(static_cast<int64_t>(kMessageBytes));

void BM_RelaxedBodyCanonicalization5KiB(benchmark::State& state) {
  Fixture& f = Get();
  std::string_view body(f.unsigned_message);
  body = body.substr(body.find("\r\n\r\n") + 4);
  for (auto _ : state) {
    std::string out = CanonicalizeBody(Canonicalization::kRelaxed, body);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_RelaxedBodyCanonicalization5KiB);

// The stages of a verification, to see where time beyond the crypto goes.
void BM_StageSplitMessage(benchmark::State& state) {
  for (auto _ : state) {
    auto split = SplitMessage(Get().message);
    benchmark::DoNotOptimize(split);
  }
}
BENCHMARK(BM_StageSplitMessage);

void BM_StageParseSignature(benchmark::State& state) {
  auto split = *SplitMessage(Get().message);
  for (auto _ : state) {
    SignatureParseResult r = ParseSignature(split.headers[0].raw);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_StageParseSignature);

void BM_StageKeyLookup(benchmark::State& state) {
  for (auto _ : state) {
    dns::LookupResult r = Get().resolver.LookupSync("bench._domainkey.example.com", dns::RrType::kTxt);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_StageKeyLookup);

void BM_StageHeaderHashInput(benchmark::State& state) {
  auto split = *SplitMessage(Get().message);
  SignatureParseResult sig = ParseSignature(split.headers[0].raw);
  for (auto _ : state) {
    std::string input;
    AppendHeaderHashInput(split.headers, sig.signature, split.headers[0].raw, &input);
    benchmark::DoNotOptimize(input);
  }
}
BENCHMARK(BM_StageHeaderHashInput);

}  // namespace
}  // namespace mxkit::auth::dkim
