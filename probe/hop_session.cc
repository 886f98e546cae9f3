#include "probe/hop_session.h"

#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "base/absl_interop.h"
#include "policy/chain.h"
#include "absl/strings/str_cat.h"

namespace mxkit::probe {

bool HopReport::hello_accepted() const {
  return hello_before_tls.has_value() && hello_before_tls->code == 250;
}

bool HopReport::red_lock() const { return hello_accepted() && !tls_established; }

bool HopReport::verified() const { return tls_established && tls && tls->verify_result == 0; }

struct HopSession::Impl {
  explicit Impl(HopOptions o) : options(std::move(o)), session(SessionConfig(options)) {
    // No transaction: QUIT as soon as STARTTLS and the second EHLO are done.
    session.Quit();
  }

  static smtp::ClientSessionConfig SessionConfig(const HopOptions& o) {
    smtp::ClientSessionConfig c;
    c.helo_domain = o.helo_domain;
    c.starttls = o.tls_context ? smtp::StartTlsMode::kOpportunistic : smtp::StartTlsMode::kNever;
    c.reply_options = o.reply_options;
    return c;
  }

  bool handshaking() const {
    return engine.has_value() && engine->state() == tls::EngineState::kHandshaking;
  }

  void OnReply(const smtp::ReplyEvent& e) {
    report.transcript.push_back(e);
    const std::string& c = e.command;
    if (c == "GREETING") {
      report.greeting = e.reply;
    } else if (absl::StartsWith(c, "EHLO ")) {
      (report.tls_established ? report.hello_after_tls : report.hello_before_tls) = e.reply;
    } else if (absl::StartsWith(c, "HELO ")) {
      report.helo_fallback = true;
      (report.tls_established ? report.hello_after_tls : report.hello_before_tls) = e.reply;
    } else if (c == "STARTTLS") {
      report.starttls_reply = e.reply;
    }
  }

  void StartTls() {
    tls::ClientConnectionOptions connection;
    connection.sni = options.tls_name;
    connection.verify_hostname = options.tls_name;
    absl::StatusOr<tls::Engine> e = tls::Engine::NewClient(options.tls_context, connection);
    if (!e.ok()) {
      // The context was made by the caller; a name BoringSSL refuses as SNI
      // ends the probe here rather than sending a ClientHello without it.
      Finish("cannot start TLS: " + base::StatusText(e.status()));
      return;
    }
    engine.emplace(std::move(*e));
  }

  void AfterHandshake() {
    report.tls_established = true;
    report.tls = engine->info();
    // BoringSSL has no security levels: a chain it verified whose leaf an
    // OpenSSL sender at Debian's level 2 refuses (RSA-1024, SHA-1) is not
    // verified either, with OpenSSL's number (policy/chain.h).
    if (report.tls->verify_result == 0 && !report.tls->peer_chain_der.empty()) {
      const policy::ChainVerification strength =
          policy::CheckLeafStrength(report.tls->peer_chain_der.front());
      if (!strength.ok && strength.x509_error > 0) report.tls->verify_result = strength.x509_error;
    }
    for (size_t i = 0; i < report.tls->peer_chain_der.size(); ++i) {
      absl::StatusOr<CertificateInfo> c = DescribeCertificate(report.tls->peer_chain_der[i]);
      if (!c.ok()) {
        report.chain_error = "certificate " + std::to_string(i) + ": " + base::StatusText(c.status());
        continue;
      }
      report.chain.push_back(*std::move(c));
    }
    session.OnTlsEstablished();
  }

  // Ends the hop with `why` unless the session already said why it ended.
  void Finish(std::string why) {
    if (!session.done()) session.OnConnectionClosed();
    DrainEvents();
    report.outcome = session.outcome();
    if (!why.empty()) report.detail = std::move(why);
    if (engine && engine->state() == tls::EngineState::kEstablished) {
      engine->Close();  // close_notify after QUIT's 221 (RFC 8446 §6.1)
    }
    if (engine && engine->has_ciphertext()) out += engine->TakeCiphertext();
    done = true;
  }

  void DrainEvents() {
    while (std::optional<smtp::ClientEvent> event = session.NextEvent()) {
      if (auto* r = std::get_if<smtp::ReplyEvent>(&*event)) {
        OnReply(*r);
      } else if (auto* caps = std::get_if<smtp::CapabilitiesEvent>(&*event)) {
        if (!report.tls_established) {
          report.starttls_offered = caps->extended && caps->capabilities.starttls;
        }
      } else if (std::holds_alternative<smtp::StartTlsEvent>(*event)) {
        if (!done && !engine) StartTls();
      } else if (auto* inj = std::get_if<smtp::ResponseInjectionEvent>(&*event)) {
        report.injected_bytes += inj->bytes;
      } else if (auto* complete = std::get_if<smtp::SessionCompleteEvent>(&*event)) {
        report.outcome = complete->outcome;
        if (report.detail.empty()) report.detail = complete->detail;
      }
    }
  }

  // Moves bytes between the session, the engine and the output until
  // nothing changes.
  void Pump() {
    bool progress = true;
    while (progress && !done) {
      progress = false;
      if (session.has_output()) {
        std::string plain = session.TakeOutput();
        if (engine && engine->state() == tls::EngineState::kEstablished) {
          (void)engine->WritePlaintext(plain);  // established: cannot fail
        } else {
          out += plain;
        }
      }
      DrainEvents();
      if (done) return;
      if (engine) {
        if (engine->has_ciphertext()) out += engine->TakeCiphertext();
        if (engine->state() == tls::EngineState::kEstablished && !report.tls_established) {
          AfterHandshake();
          progress = true;
          continue;
        }
        if (engine->state() == tls::EngineState::kFailed) {
          report.tls_error = engine->error();
          Finish(report.tls_established
                     ? "TLS failed after the handshake: " + engine->error()->ToString()
                     : "TLS handshake failed: " + engine->error()->ToString());
          return;
        }
        if (engine->has_plaintext()) {
          session.Feed(engine->TakePlaintext());
          progress = true;
        }
        if (engine->state() == tls::EngineState::kClosed && !session.done()) {
          Finish("");
          return;
        }
      }
      if (session.has_output()) progress = true;
    }
    if (!done && session.done()) Finish("");
  }

  HopOptions options;
  smtp::ClientSession session;
  std::optional<tls::Engine> engine;
  HopReport report;
  std::string out;
  bool done = false;
};

HopSession::HopSession(HopOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HopSession::~HopSession() = default;
HopSession::HopSession(HopSession&&) noexcept = default;
HopSession& HopSession::operator=(HopSession&&) noexcept = default;

void HopSession::Feed(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.done || bytes.empty()) return;
  if (s.engine) {
    s.engine->FeedCiphertext(bytes);
  } else {
    s.session.Feed(bytes);
  }
  s.Pump();
}

void HopSession::FeedEof() {
  Impl& s = *impl_;
  if (s.done) return;
  if (s.engine) {
    const bool was_handshaking = s.handshaking();
    s.engine->FeedEof();
    if (was_handshaking) {
      s.report.tls_error = s.engine->error();
      s.Finish("the server closed the connection during the TLS handshake");
      return;
    }
    s.Pump();
    if (s.done) return;
  }
  s.Finish(s.session.done() ? "" : "the server closed the connection");
}

void HopSession::Abort(std::string detail, bool timed_out) {
  Impl& s = *impl_;
  if (s.done) return;
  s.report.timed_out = timed_out;
  s.Finish(std::move(detail));
}

std::string HopSession::TakeOutput() { return std::exchange(impl_->out, {}); }
bool HopSession::has_output() const { return !impl_->out.empty(); }
bool HopSession::done() const { return impl_->done; }

HopStage HopSession::stage() const {
  const Impl& s = *impl_;
  if (s.done) return HopStage::kDone;
  if (!s.report.greeting) return HopStage::kGreeting;
  if (s.handshaking()) return HopStage::kTlsHandshake;
  if (s.report.tls_established) return HopStage::kSmtpOverTls;
  return HopStage::kSmtp;
}

const HopReport& HopSession::report() const { return impl_->report; }

}  // namespace mxkit::probe
