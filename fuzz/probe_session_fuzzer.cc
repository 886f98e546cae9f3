// Fuzzes probe::HopSession, mxkit probe's client, with arbitrary server
// bytes: before STARTTLS as plaintext replies, after it either through a real
// server tls::Engine (the fuzz bytes are then the server's replies inside
// TLS) or raw, as TLS records a hostile server sends.
//
// Input: byte 0 flags, byte 1 feed chunk size (0: all at once), bytes 2-3
// the length of the plaintext part (big-endian), then the plaintext part,
// then the TLS part.
//   flags bits 0-1: version range (fuzz/tls_engine_input.h)
//   flags bit 2:    RSA server certificate (else ECDSA)
//   flags bit 3:    FeedEof at the end
//   flags bit 4:    the TLS part is fed raw (no server engine)
//
// Properties (MXKIT_FUZZ_CHECK):
//   - in the clear the probe sends only EHLO, HELO, STARTTLS and QUIT
//     lines: it never starts a mail transaction;
//   - while the handshake runs it writes only TLS records, never SMTP;
//   - nothing is written once done();
//   - after FeedEof the hop is done;
//   - the report is consistent: TLS established only after a 220 to
//     STARTTLS; injected bytes only after one; a red lock only when EHLO/HELO
//     was accepted and TLS was not established; verified only when
//     established with verify_result 0; the served chain non-empty when
//     established.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/property_check.h"
#include "fuzz/tls_engine_input.h"
#include "probe/hop_session.h"
#include "tls/engine.h"

namespace {

using mxkit::probe::HopSession;
using mxkit::probe::HopStage;

constexpr uint8_t kFlagEof = 8;
constexpr uint8_t kFlagRawTls = 16;

// The plaintext the probe wrote, one command line at a time.
void CheckPlainCommands(std::string_view out) {
  while (!out.empty()) {
    const size_t eol = out.find("\r\n");
    MXKIT_FUZZ_CHECK(eol != std::string_view::npos);
    const std::string_view line = out.substr(0, eol);
    const bool allowed = line.rfind("EHLO ", 0) == 0 || line.rfind("HELO ", 0) == 0 ||
                         line == "STARTTLS" || line == "QUIT";
    MXKIT_FUZZ_CHECK(allowed);
    out.remove_prefix(eol + 2);
  }
}

// A TLS record starts with a content type 20-23 (RFC 8446 §5.1).
bool LooksLikeTlsRecords(std::string_view out) {
  return out.empty() || (static_cast<uint8_t>(out[0]) >= 20 && static_cast<uint8_t>(out[0]) <= 23);
}

class Harness {
 public:
  Harness(uint8_t flags, size_t chunk) : flags_(flags), chunk_(chunk), hop_(Options(flags)) {}

  static mxkit::probe::HopOptions Options(uint8_t flags) {
    mxkit::probe::HopOptions o;
    o.helo_domain = "probe.example";
    // kRecord (kFlagAlternate) so a chain that fails still completes.
    o.tls_context = mxkit::fuzz::FuzzClientContext(flags | mxkit::fuzz::kFlagAlternate);
    o.tls_name = "mx.test";
    return o;
  }

  // Takes and checks what the hop wrote; hands it to the server engine.
  void Drain() {
    const HopStage stage = hop_.stage();
    std::string out = hop_.TakeOutput();
    if (out.empty()) return;
    MXKIT_FUZZ_CHECK(!written_after_done_);
    if (engine_ == nullptr && stage != HopStage::kTlsHandshake && stage != HopStage::kSmtpOverTls &&
        !tls_started_) {
      CheckPlainCommands(out);
    } else {
      MXKIT_FUZZ_CHECK(LooksLikeTlsRecords(out));
    }
    if (engine_ != nullptr) engine_->FeedCiphertext(out);
  }

  void Feed(std::string_view bytes) {
    while (!bytes.empty() && !hop_.done()) {
      const size_t n = chunk_ == 0 ? bytes.size() : std::min(chunk_, bytes.size());
      hop_.Feed(bytes.substr(0, n));
      bytes.remove_prefix(n);
      AfterStep();
    }
  }

  void AfterStep() {
    if (hop_.stage() == HopStage::kTlsHandshake) tls_started_ = true;
    Drain();
    if (hop_.done()) written_after_done_ = true;
  }

  // The plaintext part is done; when the hop is in its handshake, run the
  // server side (or feed the TLS part raw).
  void RunTls(std::string_view tls_part) {
    if (hop_.done() || hop_.stage() != HopStage::kTlsHandshake) {
      Feed(tls_part);  // still SMTP in the clear, or done: more plaintext
      return;
    }
    if (flags_ & kFlagRawTls) {
      Feed(tls_part);
      return;
    }
    auto server = mxkit::tls::Engine::NewServer(mxkit::fuzz::FuzzServerContext(flags_));
    MXKIT_FUZZ_CHECK(server.ok());
    server_.emplace(std::move(*server));
    engine_ = &*server_;
    // The ClientHello the hop already wrote went out before the server
    // existed: the hop wrote it when STARTTLS was answered.
    engine_->FeedCiphertext(pending_client_hello_);
    for (int round = 0; round < 16 && !hop_.done() &&
                        engine_->state() == mxkit::tls::EngineState::kHandshaking;
         ++round) {
      if (!engine_->has_ciphertext()) break;
      Feed(engine_->TakeCiphertext());
    }
    if (engine_->state() != mxkit::tls::EngineState::kEstablished) return;
    if (engine_->has_ciphertext()) Feed(engine_->TakeCiphertext());
    // The TLS part as the server's replies inside TLS.
    while (!tls_part.empty() && !hop_.done() &&
           engine_->state() == mxkit::tls::EngineState::kEstablished) {
      const size_t n = chunk_ == 0 ? tls_part.size() : std::min(chunk_, tls_part.size());
      if (!engine_->WritePlaintext(tls_part.substr(0, n)).ok()) break;
      tls_part.remove_prefix(n);
      Feed(engine_->TakeCiphertext());
    }
  }

  // The ClientHello is written in the same call that saw the STARTTLS 220;
  // keep it for the server engine made afterwards.
  void KeepClientHello(std::string bytes) {
    tls_started_ = true;
    pending_client_hello_ += bytes;
  }

  HopSession& hop() { return hop_; }
  bool tls_started() const { return tls_started_; }

 private:
  uint8_t flags_;
  size_t chunk_;
  HopSession hop_;
  std::optional<mxkit::tls::Engine> server_;
  mxkit::tls::Engine* engine_ = nullptr;
  bool tls_started_ = false;
  bool written_after_done_ = false;
  std::string pending_client_hello_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t flags = data[0];
  const size_t chunk = data[1];
  const size_t plain_len = std::min<size_t>((size_t{data[2]} << 8) | data[3], size - 4);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);
  const std::string_view plain = rest.substr(0, plain_len);
  const std::string_view tls_part = rest.substr(plain_len);

  Harness h(flags, chunk);
  // Plaintext part, watching for the switch to TLS so the ClientHello can be
  // handed to the server engine.
  std::string_view p = plain;
  while (!p.empty() && !h.hop().done()) {
    const size_t n = chunk == 0 ? p.size() : std::min(chunk, p.size());
    h.hop().Feed(p.substr(0, n));
    p.remove_prefix(n);
    const HopStage stage = h.hop().stage();
    if (stage == HopStage::kTlsHandshake) {
      // The output holds any plaintext command before the 220 and then the
      // ClientHello: split on the TLS record start.
      std::string out = h.hop().TakeOutput();
      size_t record = 0;
      while (record < out.size() && !LooksLikeTlsRecords(out.substr(record, 1))) {
        const size_t eol = out.find("\r\n", record);
        if (eol == std::string::npos) break;
        record = eol + 2;
      }
      CheckPlainCommands(std::string_view(out).substr(0, record));
      MXKIT_FUZZ_CHECK(record < out.size());  // a ClientHello follows the 220
      h.KeepClientHello(out.substr(record));
      break;
    }
    h.AfterStep();
  }
  h.RunTls(p.empty() ? tls_part : std::string(p) + std::string(tls_part));
  if (flags & kFlagEof) {
    h.hop().FeedEof();
    h.AfterStep();
    MXKIT_FUZZ_CHECK(h.hop().done());
  }

  const mxkit::probe::HopReport& r = h.hop().report();
  const bool got_220 = r.starttls_reply.has_value() && r.starttls_reply->code == 220;
  if (r.tls_established) {
    MXKIT_FUZZ_CHECK(got_220);
    MXKIT_FUZZ_CHECK(r.tls.has_value());
    MXKIT_FUZZ_CHECK(!r.tls->peer_chain_der.empty());
    MXKIT_FUZZ_CHECK(r.chain.size() + (r.chain_error.empty() ? 0 : 1) > 0);
  }
  if (r.injected_bytes > 0) MXKIT_FUZZ_CHECK(got_220);
  MXKIT_FUZZ_CHECK(r.red_lock() == (r.hello_accepted() && !r.tls_established));
  MXKIT_FUZZ_CHECK(!r.verified() || (r.tls_established && r.tls->verify_result == 0));
  if (r.tls_error) MXKIT_FUZZ_CHECK(!r.tls_error->reason.empty());
  return 0;
}
