// Shared by tls_engine_server_fuzzer and tls_engine_client_fuzzer: the input
// framing, the contexts built from the embedded test certificates
// (tls/testdata, no file IO), and the loop that feeds the peer's bytes to an
// engine while checking the properties engine.h promises.
//
// Framing: byte 0 flags, byte 1 chunk size, then the peer's bytes.
//   flags bits 0-1: version range, 1.2-1.3 / 1.3 / 1.2 / 1.0-1.3
//   flags bit 2:    server: RSA certificate (else ECDSA);
//                   client: ClientVerify::kRecord (else kRequire)
//   flags bit 3:    FeedEof after the last byte
//   flags bit 4:    once established, echo each piece of plaintext back
//   byte 1:         feed chunk size; 0 feeds everything at once
//
// Properties (__builtin_trap on violation, named on stderr first):
//   - no plaintext is ever available while handshaking, and WritePlaintext
//     is refused then without producing ciphertext;
//   - states only move forward: kHandshaking -> kEstablished -> kClosed, and
//     any -> kFailed; kFailed and kClosed are final;
//   - kFailed always carries an error with a reason; a peer's alert has
//     a number that fits the alert's one byte;
//   - plaintext received never exceeds the ciphertext fed;
//   - kEstablished reports a version and a cipher.

#ifndef MXKIT_FUZZ_TLS_ENGINE_INPUT_H_
#define MXKIT_FUZZ_TLS_ENGINE_INPUT_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "tls/engine.h"

namespace mxkit::fuzz {

struct TlsEngineInput {
  uint8_t flags = 0;
  size_t chunk = 0;
  std::string_view peer_bytes;
};

constexpr size_t kTlsEngineHeaderSize = 2;
constexpr uint8_t kFlagAlternate = 4;  // RSA certificate / kRecord
constexpr uint8_t kFlagEof = 8;
constexpr uint8_t kFlagEcho = 16;

// False when the input is too short to carry the header.
bool ParseTlsEngineInput(std::string_view data, TlsEngineInput* out);

tls::VersionRange FuzzVersionRange(uint8_t flags);

// Contexts for the flags' version range and variant; built once per
// distinct configuration and reused (a fuzzer must not leak or re-parse
// PEM on every input).
std::shared_ptr<const tls::ServerContext> FuzzServerContext(uint8_t flags);
std::shared_ptr<const tls::ClientContext> FuzzClientContext(uint8_t flags);

// Feeds input.peer_bytes to `engine` as the flags say, checking the
// properties above after every call.
void DriveEngine(tls::Engine& engine, const TlsEngineInput& input);

}  // namespace mxkit::fuzz

#endif  // MXKIT_FUZZ_TLS_ENGINE_INPUT_H_
