// Fuzzes the TLS engine in the client role: after its ClientHello, arbitrary
// bytes from a "server" (fuzz/tls_engine_input.h has the framing and the
// properties checked). Seeds are real server flights recorded by
// //fuzz:tls_engine_seeds.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/tls_engine_input.h"
#include "tls/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mxkit::fuzz::TlsEngineInput input;
  if (!mxkit::fuzz::ParseTlsEngineInput(
          std::string_view(reinterpret_cast<const char*>(data), size), &input)) {
    return 0;
  }
  auto engine = mxkit::tls::Engine::NewClient(mxkit::fuzz::FuzzClientContext(input.flags),
                                              {"mx.test", "mx.test"});
  if (!engine.ok()) __builtin_trap();
  // engine.h: the ClientHello is ready right after NewClient.
  if (!engine->has_ciphertext()) __builtin_trap();
  mxkit::fuzz::DriveEngine(*engine, input);
  return 0;
}
