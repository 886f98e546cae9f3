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
//   - once it has started TLS it writes only TLS records, never SMTP in
//     the clear;
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
bool IsRecordStart(char c) {
  return static_cast<uint8_t>(c) >= 20 && static_cast<uint8_t>(c) <= 23;
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

  // `plain` is fed in the clear; once the hop starts TLS, the rest goes raw
  // (kFlagRawTls) or `tls_part` becomes the server's replies inside TLS.
  void Run(std::string_view plain, std::string_view tls_part) {
    std::string_view rest_of_plain = FeedClear(plain);
    std::string_view rest = tls_part;
    if (!tls_started_) {
      rest = FeedClear(tls_part);
      rest_of_plain = {};
    }
    if (!tls_started_ || hop_.done()) return;
    if (flags_ & kFlagRawTls) {
      FeedChunks(std::string(rest_of_plain) + std::string(rest));
      return;
    }
    RunServer(rest);
  }

  void FeedEof() {
    hop_.FeedEof();
    TakeAndCheck();
    MXKIT_FUZZ_CHECK(hop_.done());
  }

  const mxkit::probe::HopReport& report() const { return hop_.report(); }

 private:
  // Feeds until the hop starts TLS; returns what was not fed.
  std::string_view FeedClear(std::string_view bytes) {
    while (!bytes.empty() && !hop_.done() && !tls_started_) {
      const size_t n = chunk_ == 0 ? bytes.size() : std::min(chunk_, bytes.size());
      hop_.Feed(bytes.substr(0, n));
      bytes.remove_prefix(n);
      TakeAndCheck();
    }
    return bytes;
  }

  void FeedChunks(std::string_view bytes) {
    while (!bytes.empty() && !hop_.done()) {
      const size_t n = chunk_ == 0 ? bytes.size() : std::min(chunk_, bytes.size());
      hop_.Feed(bytes.substr(0, n));
      bytes.remove_prefix(n);
      TakeAndCheck();
    }
  }

  // Takes what the hop wrote and checks it: command lines in the clear, then
  // (once TLS started) TLS records only; nothing once done.
  void TakeAndCheck() {
    std::string out = hop_.TakeOutput();
    if (!out.empty()) {
      MXKIT_FUZZ_CHECK(!written_after_done_);
      size_t records = 0;
      if (!tls_started_) {
        while (records < out.size() && !IsRecordStart(out[records])) {
          const size_t eol = out.find("\r\n", records);
          if (eol == std::string::npos) {
            records = out.size();
            break;
          }
          records = eol + 2;
        }
        CheckPlainCommands(std::string_view(out).substr(0, records));
        if (records < out.size()) {
          MXKIT_FUZZ_CHECK(hop_.stage() != mxkit::probe::HopStage::kGreeting &&
                           hop_.stage() != mxkit::probe::HopStage::kSmtp);
          tls_started_ = true;
        }
      }
      const std::string_view tls = std::string_view(out).substr(records);
      MXKIT_FUZZ_CHECK(tls.empty() || IsRecordStart(tls[0]));
      if (server_) {
        server_->FeedCiphertext(tls);
      } else {
        client_hello_ += tls;
      }
    }
    if (hop_.done()) written_after_done_ = true;
  }

  // A real server engine answers the ClientHello; `replies` is what it says
  // inside TLS once established.
  void RunServer(std::string_view replies) {
    auto server = mxkit::tls::Engine::NewServer(mxkit::fuzz::FuzzServerContext(flags_));
    MXKIT_FUZZ_CHECK(server.ok());
    server_.emplace(std::move(*server));
    server_->FeedCiphertext(client_hello_);
    for (int round = 0; round < 16 && !hop_.done() && server_->has_ciphertext(); ++round) {
      FeedChunks(server_->TakeCiphertext());
    }
    if (server_->state() != mxkit::tls::EngineState::kEstablished) return;
    while (!replies.empty() && !hop_.done() &&
           server_->state() == mxkit::tls::EngineState::kEstablished) {
      const size_t n = chunk_ == 0 ? replies.size() : std::min(chunk_, replies.size());
      if (!server_->WritePlaintext(replies.substr(0, n)).ok()) break;
      replies.remove_prefix(n);
      FeedChunks(server_->TakeCiphertext());
    }
  }

  uint8_t flags_;
  size_t chunk_;
  HopSession hop_;
  std::optional<mxkit::tls::Engine> server_;
  bool tls_started_ = false;
  bool written_after_done_ = false;
  std::string client_hello_;  // the hop's TLS bytes before the server engine exists
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t flags = data[0];
  const size_t chunk = data[1];
  const size_t plain_len = std::min<size_t>((size_t{data[2]} << 8) | data[3], size - 4);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);

  Harness h(flags, chunk);
  h.Run(rest.substr(0, plain_len), rest.substr(plain_len));
  if (flags & kFlagEof) h.FeedEof();

  const mxkit::probe::HopReport& r = h.report();
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
