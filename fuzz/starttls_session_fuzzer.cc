// Fuzzes a ServerSession through STARTTLS with real TLS engines on both
// sides: the client's plaintext before and after the handshake, raw bytes
// injected into the server's TLS stream, and raw bytes injected into the
// client's, in any order the input chooses.
//
// Input: a sequence of operations, each [op][length][length bytes]:
//   op % 5 == 0  client data: plaintext to the session before TLS; after the
//                handshake, encrypted by the client engine and fed through the
//                server engine (the normal path)
//   op % 5 == 1  raw bytes to the server engine as if from the network (a
//                man in the middle or a broken client); before TLS they go to
//                the session as plaintext, which is what a pipelining
//                attacker sends (CVE-2011-0411)
//   op % 5 == 2  raw bytes to the client engine as if from the server
//   op % 5 == 3  run the handshake in memory, if STARTTLS was accepted
//   op % 5 == 4  the network delivers everything pending in both directions
//
// Properties checked (__builtin_trap on violation):
//   - neither engine yields plaintext unless its handshake completed (records
//     authenticated before a later failure may still be handed out);
//   - between StartTlsRequestedEvent and OnTlsEstablished() the session
//     writes nothing and reports only PlaintextInjectionEvent, whose byte
//     counts add up to exactly the plaintext it was fed in that window;
//   - everything the session writes, in the clear or through TLS, parses as
//     well-formed replies;
//   - an engine never leaves kFailed.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz/property_check.h"
#include "smtp/reply.h"
#include "smtp/server_session.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace {

using namespace mxkit;

struct Contexts {
  std::shared_ptr<const tls::ServerContext> server;
  std::shared_ptr<const tls::ClientContext> client;
};

// Built once: the certificate factory is deterministic, so every run of the
// fuzzer (and every replay of a corpus file) sees the same certificate.
const Contexts& GetContexts() {
  static const Contexts* contexts = [] {
    tls::CertFactoryOptions options;
    options.hostname = "mx.example.net";
    absl::StatusOr<tls::CertificateSet> certs =
        tls::CertificateSet::Generate(options, {tls::CertVariant::kEcdsaP256});
    if (!certs.ok()) std::abort();
    absl::StatusOr<const tls::ServedCertificate*> served = certs->Get(tls::CertVariant::kEcdsaP256);
    if (!served.ok()) std::abort();
    tls::ServerContextOptions server_options;
    server_options.versions = {tls::TlsVersion::kTls12, tls::TlsVersion::kTls13};
    server_options.certificate_chain_pem = (*served)->chain_pem;
    server_options.private_key_pem = (*served)->key_pem;
    tls::ClientContextOptions client_options;
    client_options.versions = {tls::TlsVersion::kTls12, tls::TlsVersion::kTls13};
    client_options.verify = tls::ClientVerify::kRecord;
    client_options.trusted_roots_pem = certs->root_pem();
    auto server = tls::ServerContext::Create(server_options);
    auto client = tls::ClientContext::Create(client_options);
    if (!server.ok() || !client.ok()) std::abort();
    return new Contexts{*server, *client};
  }();
  return *contexts;
}

class Harness {
 public:
  Harness() {
    smtp::ServerSessionConfig config;
    config.hostname = "mx.example.net";
    config.extensions.starttls = true;
    session_ = std::make_unique<smtp::ServerSession>(config);
    session_->Start();
    Drain();
  }

  void ClientData(std::string_view bytes) {
    if (client_ && server_) {
      if (client_->state() != tls::EngineState::kEstablished) return;
      MXKIT_FUZZ_CHECK(client_->WritePlaintext(bytes).ok());
      to_server_ += client_->TakeCiphertext();
      return;
    }
    FeedSessionPlaintext(bytes);
  }

  void RawToServer(std::string_view bytes) {
    if (server_) {
      to_server_.append(bytes);
    } else {
      FeedSessionPlaintext(bytes);
    }
  }

  void RawToClient(std::string_view bytes) {
    if (client_) to_client_.append(bytes);
  }

  void Handshake() {
    if (!awaiting_tls_ || server_) return;
    auto server = tls::Engine::NewServer(GetContexts().server);
    auto client = tls::Engine::NewClient(GetContexts().client, {"mx.example.net", "mx.example.net"});
    MXKIT_FUZZ_CHECK(server.ok() && client.ok());
    server_.emplace(std::move(*server));
    client_.emplace(std::move(*client));
    for (int i = 0; i < 8 && server_->state() == tls::EngineState::kHandshaking; ++i) Deliver();
  }

  // Moves pending ciphertext in both directions, once.
  void Deliver() {
    if (client_ && client_->has_ciphertext()) to_server_ += client_->TakeCiphertext();
    if (server_ && !to_server_.empty()) {
      const tls::EngineState before = server_->state();
      server_->FeedCiphertext(std::exchange(to_server_, {}));
      CheckEngine(*server_, before, &server_established_);
      if (server_->state() == tls::EngineState::kEstablished && awaiting_tls_) {
        // The session learns of TLS only once the handshake is complete.
        MXKIT_FUZZ_CHECK(injected_ == fed_while_awaiting_);
        session_->OnTlsEstablished();
        awaiting_tls_ = false;
        Drain();
      }
      if (server_->has_plaintext()) FeedSessionPlaintext(server_->TakePlaintext());
    }
    if (server_ && server_->has_ciphertext()) to_client_ += server_->TakeCiphertext();
    if (client_ && !to_client_.empty()) {
      const tls::EngineState before = client_->state();
      client_->FeedCiphertext(std::exchange(to_client_, {}));
      CheckEngine(*client_, before, &client_established_);
      if (client_->has_plaintext()) tls_output_ += client_->TakePlaintext();
    }
  }

  void Finish() {
    for (int i = 0; i < 4; ++i) Deliver();
    smtp::RepliesParseResult clear = smtp::ParseReplies(clear_output_);
    MXKIT_FUZZ_CHECK(!clear.error.has_value());
    // TLS authenticates every record, so whatever was injected into the
    // client's stream can end it but never add to it: what the client
    // decrypted is exactly what the session wrote.
    smtp::RepliesParseResult protected_replies = smtp::ParseReplies(tls_output_);
    MXKIT_FUZZ_CHECK(!protected_replies.error.has_value());
  }

 private:
  // `established` remembers whether this engine ever completed its
  // handshake: records authenticated before a later failure may still be
  // waiting as plaintext, but an engine that never got there has none.
  void CheckEngine(const tls::Engine& engine, tls::EngineState before, bool* established) {
    if (before == tls::EngineState::kFailed) MXKIT_FUZZ_CHECK(engine.state() == tls::EngineState::kFailed);
    if (engine.state() == tls::EngineState::kEstablished) *established = true;
    if (!*established) MXKIT_FUZZ_CHECK(!engine.has_plaintext());
    if (engine.state() == tls::EngineState::kFailed) MXKIT_FUZZ_CHECK(engine.error().has_value());
  }

  void FeedSessionPlaintext(std::string_view bytes) {
    if (awaiting_tls_) fed_while_awaiting_ += bytes.size();
    session_->Feed(bytes);
    Drain();
  }

  void Drain() {
    std::string out = session_->TakeOutput();
    if (awaiting_tls_) MXKIT_FUZZ_CHECK(out.empty());
    if (server_ && !awaiting_tls_) {
      if (!out.empty() && server_->state() == tls::EngineState::kEstablished) {
        MXKIT_FUZZ_CHECK(server_->WritePlaintext(out).ok());
      }
    } else {
      clear_output_ += out;
    }
    while (std::optional<smtp::ServerEvent> e = session_->NextEvent()) {
      if (awaiting_tls_) {
        const auto* injection = std::get_if<smtp::PlaintextInjectionEvent>(&*e);
        MXKIT_FUZZ_CHECK(injection != nullptr);
        injected_ += injection->bytes;
      }
      if (std::holds_alternative<smtp::StartTlsRequestedEvent>(*e)) {
        awaiting_tls_ = true;
        // What followed the STARTTLS line in the same Feed is reported by
        // the injection event that comes with it; count it as fed.
        fed_while_awaiting_ = 0;
        injected_ = 0;
        pending_start_ = true;
      }
    }
    if (pending_start_) {
      pending_start_ = false;
      // The remainder of the feed that carried STARTTLS was discarded
      // already: treat its count as what was fed in the window.
      fed_while_awaiting_ = injected_;
    }
  }

  std::unique_ptr<smtp::ServerSession> session_;
  std::optional<tls::Engine> server_;
  std::optional<tls::Engine> client_;
  std::string to_server_, to_client_;
  std::string clear_output_, tls_output_;
  bool awaiting_tls_ = false;
  bool server_established_ = false;
  bool client_established_ = false;
  bool pending_start_ = false;
  size_t fed_while_awaiting_ = 0;
  size_t injected_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness harness;
  size_t pos = 0;
  while (pos + 2 <= size) {
    const uint8_t op = data[pos];
    const size_t length = std::min<size_t>(data[pos + 1], size - pos - 2);
    const std::string_view bytes(reinterpret_cast<const char*>(data) + pos + 2, length);
    pos += 2 + length;
    switch (op % 5) {
      case 0: harness.ClientData(bytes); break;
      case 1: harness.RawToServer(bytes); break;
      case 2: harness.RawToClient(bytes); break;
      case 3: harness.Handshake(); break;
      case 4: harness.Deliver(); break;
    }
  }
  harness.Finish();
  return 0;
}
