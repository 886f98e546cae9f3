#include "fuzz/tls_engine_input.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "fuzz/property_check.h"
#include "tls/testdata/certs.h"

namespace mxkit::fuzz {
namespace {

using tls::EngineState;

// Only these moves are legal (engine.h's EngineState).
bool ValidTransition(EngineState from, EngineState to) {
  if (from == to) return true;
  switch (from) {
    case EngineState::kHandshaking:
      return true;
    case EngineState::kEstablished:
      return to == EngineState::kClosed || to == EngineState::kFailed;
    case EngineState::kClosed:
    case EngineState::kFailed:
      return false;
  }
  return false;
}

// The contexts are fixed test configuration: failing to build one is a bug
// in the fuzzer, not a finding, so say so and stop.
[[noreturn]] void ConfigurationBroken(const absl::Status& status) {
  std::fprintf(stderr, "fuzz configuration broken: %s\n", status.ToString().c_str());
  std::abort();
}

}  // namespace

bool ParseTlsEngineInput(std::string_view data, TlsEngineInput* out) {
  if (data.size() < kTlsEngineHeaderSize) return false;
  out->flags = static_cast<uint8_t>(data[0]);
  out->chunk = static_cast<uint8_t>(data[1]);
  out->peer_bytes = data.substr(kTlsEngineHeaderSize);
  return true;
}

tls::VersionRange FuzzVersionRange(uint8_t flags) {
  using tls::TlsVersion;
  switch (flags & 3) {
    case 1: return {TlsVersion::kTls13, TlsVersion::kTls13};
    case 2: return {TlsVersion::kTls12, TlsVersion::kTls12};
    case 3: return {TlsVersion::kTls10, TlsVersion::kTls13};
    default: return {TlsVersion::kTls12, TlsVersion::kTls13};
  }
}

std::shared_ptr<const tls::ServerContext> FuzzServerContext(uint8_t flags) {
  static auto* cache = new std::map<int, std::shared_ptr<const tls::ServerContext>>;
  const int key = flags & (3 | kFlagAlternate);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  tls::ServerContextOptions o;
  o.versions = FuzzVersionRange(flags);
  const bool rsa = flags & kFlagAlternate;
  o.certificate_chain_pem = rsa ? tls::testdata::k_rsa_pem : tls::testdata::k_ecdsa_pem;
  o.private_key_pem = rsa ? tls::testdata::k_rsa_key : tls::testdata::k_ecdsa_key;
  auto ctx = tls::ServerContext::Create(o);
  if (!ctx.ok()) ConfigurationBroken(ctx.status());
  return (*cache)[key] = *ctx;
}

std::shared_ptr<const tls::ClientContext> FuzzClientContext(uint8_t flags) {
  static auto* cache = new std::map<int, std::shared_ptr<const tls::ClientContext>>;
  const int key = flags & (3 | kFlagAlternate);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  tls::ClientContextOptions o;
  o.versions = FuzzVersionRange(flags);
  o.verify = (flags & kFlagAlternate) ? tls::ClientVerify::kRecord : tls::ClientVerify::kRequire;
  o.trusted_roots_pem = tls::testdata::k_ca_pem;
  auto ctx = tls::ClientContext::Create(o);
  if (!ctx.ok()) ConfigurationBroken(ctx.status());
  return (*cache)[key] = *ctx;
}

void DriveEngine(tls::Engine& engine, const TlsEngineInput& input) {
  std::string_view rest = input.peer_bytes;
  size_t fed = 0, received = 0;
  EngineState before = engine.state();

  auto check_after = [&] {
    const EngineState now = engine.state();
    MXKIT_FUZZ_CHECK(ValidTransition(before, now));
    if (now == EngineState::kHandshaking) {
      MXKIT_FUZZ_CHECK(!engine.has_plaintext());
      MXKIT_FUZZ_CHECK(engine.TakePlaintext().empty());
      engine.TakeCiphertext();
      MXKIT_FUZZ_CHECK(engine.WritePlaintext("MAIL FROM:<>\r\n").code() ==
            absl::StatusCode::kFailedPrecondition);
      MXKIT_FUZZ_CHECK(!engine.has_ciphertext());
    }
    if (now == EngineState::kFailed) {
      MXKIT_FUZZ_CHECK(engine.error().has_value());
      MXKIT_FUZZ_CHECK(!engine.error()->reason.empty());
      // A peer's alert (also one read from a plaintext record BoringSSL
      // could not open, tls/engine.cc RecordScanner) is one byte's worth.
      if (engine.error()->kind == tls::EngineError::Kind::kPeerAlert) {
        MXKIT_FUZZ_CHECK(engine.error()->alert >= 0 && engine.error()->alert <= 255);
        MXKIT_FUZZ_CHECK(!engine.error()->ToString().empty());
      }
    }
    if (now == EngineState::kEstablished) {
      MXKIT_FUZZ_CHECK(!engine.info().cipher.empty());
    }
    const std::string plaintext = engine.TakePlaintext();
    received += plaintext.size();
    MXKIT_FUZZ_CHECK(received <= fed);
    if (!plaintext.empty() && (input.flags & kFlagEcho) && now == EngineState::kEstablished) {
      MXKIT_FUZZ_CHECK(engine.WritePlaintext(plaintext).ok());
    }
    engine.TakeCiphertext();
    before = now;
  };

  check_after();
  while (!rest.empty()) {
    const size_t n = input.chunk == 0 ? rest.size() : std::min(input.chunk, rest.size());
    engine.FeedCiphertext(rest.substr(0, n));
    fed += n;
    rest.remove_prefix(n);
    check_after();
  }
  if (input.flags & kFlagEof) {
    const bool was_handshaking = engine.state() == EngineState::kHandshaking;
    engine.FeedEof();
    check_after();
    if (was_handshaking) MXKIT_FUZZ_CHECK(engine.state() == EngineState::kFailed);
  }
}

}  // namespace mxkit::fuzz
