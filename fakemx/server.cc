#include "fakemx/server.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/absl_interop.h"
#include "fakemx/delivery.h"
#include "fakemx/storage_queue.h"
#include "fakemx/transport.h"
#include "smtp/reply.h"
#include "tls/version.h"

namespace mxkit::fakemx {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// After a failed accept (EMFILE, ENFILE, ENOBUFS) retrying at once would
// spin; Postfix's master backs off the same way.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// alert-after-220 answers the ClientHello's first record with a fatal
// handshake_failure alert (RFC 8446 §6: AlertLevel fatal(2),
// handshake_failure(40)) in a TLS 1.0 record header (0x0301), which every
// client version parses before version negotiation.
constexpr char kHandshakeFailureAlert[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28};
// RFC 8446 §5.1 (and RFC 5246 §6.2.1): a TLSPlaintext record carries at most
// 2^14 octets; a longer length field is not a ClientHello worth waiting for.
constexpr size_t kTlsRecordHeader = 5;
constexpr size_t kMaxTlsPlaintextRecord = 1u << 14;

std::string BodyName(smtp::BodyType body) {
  switch (body) {
    case smtp::BodyType::k7Bit: return "7BIT";
    case smtp::BodyType::k8BitMime: return "8BITMIME";
    case smtp::BodyType::kBinaryMime: return "BINARYMIME";
  }
  return "7BIT";
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ConnectionInfo DescribePeer(const tcp::socket& socket, bool implicit_tls) {
  ConnectionInfo info;
  info.implicit_tls = implicit_tls;
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (!ec) {
    info.client_address = remote.address().to_string();
    info.client_port = remote.port();
  }
  return info;
}

class Connection;

}  // namespace

struct Server::Impl {
  Impl(asio::io_context& io, ServerOptions options, Maildir* maildir)
      : io(io),
        options(std::move(options)),
        maildir(maildir),
        acceptor(io),
        smtps_acceptor(io),
        accept_retry(io),
        smtps_accept_retry(io),
        grace_timer(io),
        storage(io, maildir, this->options.storage_threads) {
    if (!this->options.behaviour) {
      this->options.behaviour = ReceiverBehaviourFactory(tls::StartTlsBehaviour::kOffer);
    }
  }

  void Accept(tcp::acceptor& from, bool implicit_tls);
  void Remove(Connection* connection);
  void MaybeDone();
  std::vector<std::shared_ptr<Connection>> Snapshot() const {
    std::vector<std::shared_ptr<Connection>> all;
    all.reserve(connections.size());
    for (const auto& [raw, conn] : connections) all.push_back(conn);
    return all;
  }

  asio::io_context& io;
  ServerOptions options;
  Maildir* maildir;
  tcp::acceptor acceptor;
  tcp::acceptor smtps_acceptor;  // open only with options.smtps_endpoint
  asio::steady_timer accept_retry;
  asio::steady_timer smtps_accept_retry;
  asio::steady_timer grace_timer;
  StorageQueue storage;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections;
  ServerStats stats;
  bool shutting_down = false;
  bool grace_over = false;
  std::function<void()> on_drained;
};

namespace {

// The driver of one connection: moves bytes between a Transport and a
// ServerSession, runs the timers, shutdown and storage deferral, and asks
// the connection's Behaviour what to answer. At most one transport
// operation (a read, a write, a handshake) is outstanding at a time:
// replies are flushed before more input is read, which bounds what a
// pipelining client can make us buffer (RFC 2920 §3.1 lets a server do
// exactly this).
class Connection : public std::enable_shared_from_this<Connection>,
                   private smtp::ServerPolicy {
 public:
  Connection(Server::Impl* server, tcp::socket socket, bool implicit_tls)
      : server_(server),
        info_(DescribePeer(socket, implicit_tls)),
        transport_(std::move(socket)),
        idle_timer_(transport_.socket().get_executor()),
        session_timer_(transport_.socket().get_executor()),
        behaviour_(server->options.behaviour(info_)),
        session_(SessionConfig(*server, *behaviour_, implicit_tls), this),
        read_buffer_(new char[kReadBufferSize]) {
    const bool v6 = info_.client_address.find(':') != std::string::npos;
    peer_ = (v6 ? "[" + info_.client_address + "]" : info_.client_address) + ":" +
            std::to_string(info_.client_port);
    error_code ec;
    transport_.socket().set_option(tcp::no_delay(true), ec);
  }

  void Start() {
    if (server_->options.verbose) Log(info_.implicit_tls ? "connected (implicit TLS)" : "connected");
    session_timer_.expires_after(server_->options.session_timeout);
    session_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->OnSessionTimeout();
    });
    if (info_.implicit_tls) {
      // RFC 8314 §3.3: the TLS handshake comes first, the greeting after it.
      StartHandshake();
      return;
    }
    session_.Start();
    Pump();
  }

  // Shutdown began: leave between transactions, finish the one in progress.
  void BeginDrain() {
    draining_ = true;
    if (op_ == Op::kRead && !InTransaction()) CancelRead();
  }

  // The grace period is over: answer 421 now unless a message is being
  // stored (its reply comes first, then the 421). A reply being written
  // (perhaps a 250) may finish, within kFinalReplyTimeout. A handshake (or
  // a STARTTLS fault) in progress has no SMTP to answer in: it is closed.
  void ForceClose() {
    draining_ = true;
    grace_over_ = true;
    if (op_ == Op::kRead) {
      CancelRead();
    } else if (op_ == Op::kWrite) {
      ArmIdleTimer(kFinalReplyTimeout);
    } else if (op_ == Op::kHandshake || op_ == Op::kFault) {
      Close();
    }
  }

 private:
  enum class Op { kNone, kRead, kWrite, kHandshake, kFault };

  static smtp::ServerSessionConfig SessionConfig(const Server::Impl& server,
                                                 const Behaviour& behaviour, bool implicit_tls) {
    smtp::ServerSessionConfig config = server.options.session;
    config.implicit_tls = implicit_tls;
    // On the implicit-TLS listener the session does not advertise it (TLS
    // is active) and answers a STARTTLS "503 TLS already active", as
    // after a STARTTLS handshake.
    config.extensions.starttls =
        server.options.tls_context != nullptr && behaviour.advertises_starttls();
    return config;
  }

  // ---- smtp::ServerPolicy: the behaviour's answers, plus what the driver
  // needs to record (the HELO for the sidecar) and do (store a message the
  // behaviour accepted) ---------------------------------------------------------

  // Nothing would call Decide() for a behaviour's own deferral (it has no
  // handle on the session), so a deferral becomes a temporary failure
  // rather than a silent hang until the session timeout.
  static smtp::Decision Immediate(smtp::Decision d) {
    if (d.action != smtp::Decision::Action::kDefer) return d;
    return smtp::Decision::Reject(451, "4.3.0", "Error: behaviour deferred a decision");
  }

  smtp::Decision OnConnect() override { return Immediate(behaviour_->OnConnect()); }

  smtp::Decision OnHello(const smtp::HelloRequest& hello) override {
    smtp::Decision d = Immediate(behaviour_->OnHello(hello));
    if (d.action == smtp::Decision::Action::kAccept) hello_ = hello;
    return d;
  }

  smtp::Decision OnMailFrom(const smtp::Envelope& envelope) override {
    return Immediate(behaviour_->OnMailFrom(envelope));
  }
  smtp::Decision OnRcptTo(const smtp::Envelope& envelope, const smtp::Recipient& r) override {
    return Immediate(behaviour_->OnRcptTo(envelope, r));
  }
  smtp::Decision OnDataStart(const smtp::Envelope& envelope) override {
    return Immediate(behaviour_->OnDataStart(envelope));
  }
  smtp::Decision OnAuth(const smtp::AuthRequest& request) override {
    return Immediate(behaviour_->OnAuth(request));
  }
  smtp::Decision OnStartTls() override { return Immediate(behaviour_->OnStartTls()); }

  // The 250 waits for the Maildir: the session holds the reply while a
  // storage thread writes, fsyncs and renames, then OnStored answers. A
  // message the behaviour refuses is not stored.
  smtp::Decision OnMessage(const smtp::Envelope& envelope, std::string_view message) override {
    const smtp::Decision verdict = Immediate(behaviour_->OnMessage(envelope, message));
    if (verdict.action != smtp::Decision::Action::kAccept) return verdict;
    Delivery delivery;
    delivery.received_at_us = NowMicros();
    delivery.client_address = info_.client_address;
    delivery.client_port = info_.client_port;
    delivery.server_hostname = server_->options.session.hostname;
    if (hello_) {
      delivery.esmtp = hello_->extended;
      delivery.helo = hello_->domain;
    }
    delivery.tls = TlsFacts();
    delivery.reverse_path = envelope.reverse_path;
    delivery.mail_params = envelope.mail_params;
    delivery.recipients.reserve(envelope.recipients.size());
    for (const smtp::Recipient& r : envelope.recipients) {
      delivery.recipients.push_back({r.forward_path, r.params});
    }
    delivery.body = BodyName(envelope.body);
    delivery.smtputf8 = envelope.smtputf8;
    delivery.via_bdat = envelope.via_bdat;
    if (server_->storage.inline_storage()) {
      return Stored(server_->maildir->Deliver(delivery, message));
    }
    server_->storage.Push({std::move(delivery), std::string(message),
                           [self = shared_from_this()](absl::StatusOr<std::string> result) {
                             self->OnStored(std::move(result));
                           }});
    return smtp::Decision::Defer();
  }

  DeliveryTls TlsFacts() const {
    DeliveryTls t;
    t.plaintext_discarded_bytes = plaintext_discarded_bytes_;
    const tls::Engine* engine = transport_.engine();
    if (!transport_.tls_active() || engine == nullptr) return t;
    const tls::HandshakeInfo& info = engine->info();
    t.used = true;
    t.implicit = info_.implicit_tls;
    t.version = std::string(tls::VersionName(info.version));
    t.cipher = info.cipher;
    t.group = info.group;
    if (!info.sni.empty()) t.sni = info.sni;
    t.certificate = server_->options.tls_certificate;
    return t;
  }

  void OnStored(absl::StatusOr<std::string> result) {
    session_.Decide(Stored(std::move(result)));
    Pump();
  }

  // The final reply for a storage result.
  smtp::Decision Stored(absl::StatusOr<std::string> result) {
    if (result.ok()) {
      ++server_->stats.messages_stored;
      return smtp::Decision::Accept("Ok: queued as " + *result);
    }
    ++server_->stats.storage_failures;
    std::fprintf(stderr, "fakemx: storing a message from %s failed: %s\n",
                 info_.client_address.c_str(), base::StatusText(result.status()).c_str());
    // RFC 3463 §3.4: X.3.0 "other or undefined mail system status".
    return smtp::Decision::Reject(451, "4.3.0", "Error: could not store the message");
  }

  // ---- The driver loop --------------------------------------------------------

  // A transaction a shutdown lets finish: from an accepted MAIL FROM (the
  // null reverse path "<>" of a bounce included) to the reply to its data,
  // and any decision still pending (a message being stored).
  bool InTransaction() const {
    return session_.in_transaction() ||
           session_.state() == smtp::ServerState::kAwaitingDecision;
  }

  void DrainEvents() {
    while (std::optional<smtp::ServerEvent> event = session_.NextEvent()) {
      if (std::holds_alternative<smtp::CloseRequestedEvent>(*event)) {
        close_requested_ = true;
      } else if (std::holds_alternative<smtp::StartTlsRequestedEvent>(*event)) {
        starttls_requested_ = true;
      } else if (const auto* injected = std::get_if<smtp::PlaintextInjectionEvent>(&*event)) {
        plaintext_discarded_bytes_ += injected->bytes;
        server_->stats.plaintext_discarded_bytes += injected->bytes;
        if (server_->options.verbose) {
          Log("discarded " + std::to_string(injected->bytes) + " plaintext bytes after STARTTLS");
        }
      }
    }
  }

  void Pump() {
    if (closed_ || op_ != Op::kNone) return;
    if (fault_done_) {
      Close();
      return;
    }
    // A pending decision (a message being stored) is answered first; OnStored
    // pumps again. Between STARTTLS's 220 and the handshake there is no
    // plaintext channel left to send a 421 in: the handshake (bounded by the
    // idle timeout) goes first, and the 421 then goes out under TLS.
    const smtp::ServerState state = session_.state();
    if (state != smtp::ServerState::kAwaitingDecision &&
        state != smtp::ServerState::kAwaitingTls) {
      if (idle_expired_) {
        End("4.4.2", "Error: timeout exceeded");
      } else if (session_expired_) {
        End("4.4.2", "Error: session time limit exceeded");
      } else if (draining_ && (grace_over_ || !InTransaction())) {
        // RFC 5321 §3.8: a server shutting down sends 421 before closing.
        End("4.3.2", "Service shutting down, closing channel");
      }
    }
    DrainEvents();
    if (session_.has_output()) {
      std::string output = session_.TakeOutput();
      if (starttls_requested_) {
        // inject-after-220: the extra lines ride in the same write as the
        // 220, so they reach the client before its ClientHello leaves.
        output += behaviour_->injected_after_starttls_220();
      }
      StartWrite(std::move(output), ending_ ? kFinalReplyTimeout : server_->options.idle_timeout);
      return;
    }
    if (close_requested_ || session_.state() == smtp::ServerState::kClosed) {
      Close();
      return;
    }
    if (session_.state() == smtp::ServerState::kAwaitingTls) {
      if (starttls_requested_) {
        starttls_requested_ = false;
        AfterStartTls220();
      }
      return;
    }
    if (session_.state() == smtp::ServerState::kAwaitingDecision) return;  // OnStored resumes
    if (session_.wants_input()) StartRead();
  }

  // Ends the session from our side with a 421 (no-op once it is closed);
  // Pump writes it, within kFinalReplyTimeout, and then closes.
  void End(std::string_view enhanced, std::string_view text) {
    if (session_.state() == smtp::ServerState::kClosed) return;
    ending_ = true;
    session_.Abort(421, enhanced, text);
  }

  void StartRead() {
    op_ = Op::kRead;
    read_cancelled_ = false;
    ArmIdleTimer(server_->options.idle_timeout);
    transport_.AsyncReadSome(read_buffer_.get(), kReadBufferSize,
                             [self = shared_from_this()](error_code ec, size_t n) {
                               self->OnRead(ec, n);
                             });
  }

  // A cancelled read ends with operation_aborted on a plain socket; the TLS
  // stream may report it differently, so the driver remembers that it
  // cancelled rather than trusting the code.
  void CancelRead() {
    read_cancelled_ = true;
    transport_.Cancel();
  }

  void OnRead(error_code ec, size_t n) {
    op_ = Op::kNone;
    DisarmIdleTimer();
    if (closed_) return;
    if (ec == asio::error::operation_aborted || read_cancelled_ || idle_expired_ ||
        session_expired_) {
      // Cancelled by a timer or by shutdown; Pump sends the 421. Bytes that
      // arrived in the same instant are dropped unprocessed.
      Pump();
      return;
    }
    if (ec) {  // EOF, reset, a TLS error after the handshake: nothing to answer
      if (server_->options.verbose && transport_.engine() != nullptr &&
          transport_.engine()->error()) {
        Log("tls failed: " + transport_.engine()->error()->ToString());
      }
      Close();
      return;
    }
    if (draining_ && (grace_over_ || !InTransaction())) {
      Pump();
      return;
    }
    // Plaintext behind a STARTTLS in this same read is discarded by the
    // session (PlaintextInjectionEvent); none of it is ever handed to the
    // TLS engine, which reads only what the socket delivers after the 220.
    session_.Feed(std::string_view(read_buffer_.get(), n));
    Pump();
  }

  void StartWrite(std::string bytes, std::chrono::steady_clock::duration timeout,
                  bool smtp_replies = true) {
    op_ = Op::kWrite;
    write_buffer_ = std::move(bytes);
    if (server_->options.verbose && smtp_replies) LogReplies(write_buffer_);
    ArmIdleTimer(timeout);
    transport_.AsyncWrite(write_buffer_, [self = shared_from_this()](error_code ec) {
      self->op_ = Op::kNone;
      self->DisarmIdleTimer();
      if (ec) {
        self->Close();
      } else {
        self->Pump();
      }
    });
  }

  // ---- TLS --------------------------------------------------------------------

  // "220 Ready to start TLS" is on the wire: handshake, or carry out the
  // behaviour's fault.
  void AfterStartTls220() {
    const tls::StartTlsBehaviour fault = behaviour_->after_starttls_220();
    switch (fault) {
      case tls::StartTlsBehaviour::kAbortAfter220:
        if (server_->options.verbose) Log("abort-after-220: closing before the handshake");
        Close();
        return;
      case tls::StartTlsBehaviour::kAlertAfter220:
      case tls::StartTlsBehaviour::kStallHandshake:
        fault_ = fault;
        StartFaultRead();
        return;
      default:
        StartHandshake();
        return;
    }
  }

  void StartHandshake() {
    op_ = Op::kHandshake;
    ArmIdleTimer(server_->options.idle_timeout);
    transport_.AsyncServerHandshake(
        server_->options.tls_context,
        [self = shared_from_this()](const std::optional<tls::EngineError>& error) {
          self->OnHandshake(error);
        });
  }

  void OnHandshake(const std::optional<tls::EngineError>& error) {
    op_ = Op::kNone;
    DisarmIdleTimer();
    if (closed_) return;
    if (error) {
      ++server_->stats.tls_failed;
      if (server_->options.verbose) Log("tls failed: " + error->ToString());
      Close();
      return;
    }
    ++server_->stats.tls_established;
    if (server_->options.verbose) {
      const tls::HandshakeInfo& info = transport_.engine()->info();
      Log("tls established " + std::string(tls::VersionName(info.version)) + " " + info.cipher +
          " sni=" + (info.sni.empty() ? std::string("(none)") : info.sni));
    }
    if (info_.implicit_tls) {
      session_.Start();
    } else {
      session_.OnTlsEstablished();
    }
    Pump();
  }

  // alert-after-220 and stall-handshake read raw bytes (no TLS engine):
  // the first collects the ClientHello's first record and answers it with a
  // fatal alert, the second discards everything until the idle timeout.
  void StartFaultRead() {
    op_ = Op::kFault;
    ArmIdleTimer(server_->options.idle_timeout);
    transport_.AsyncReadSome(read_buffer_.get(), kReadBufferSize,
                             [self = shared_from_this()](error_code ec, size_t n) {
                               self->OnFaultRead(ec, n);
                             });
  }

  void OnFaultRead(error_code ec, size_t n) {
    op_ = Op::kNone;
    DisarmIdleTimer();
    if (closed_) return;
    if (ec) {
      Close();
      return;
    }
    if (fault_ == tls::StartTlsBehaviour::kStallHandshake) {
      StartFaultRead();
      return;
    }
    const std::string_view got(read_buffer_.get(), n);
    fault_record_bytes_ += n;
    if (fault_record_header_.size() < kTlsRecordHeader) {
      fault_record_header_ += got.substr(0, kTlsRecordHeader - fault_record_header_.size());
    }
    if (fault_record_header_.size() == kTlsRecordHeader) {
      const size_t length = (static_cast<unsigned char>(fault_record_header_[3]) << 8) |
                            static_cast<unsigned char>(fault_record_header_[4]);
      // Whatever the first record is, the alert answers it once it is whole
      // (or as soon as it cannot be a ClientHello record).
      if (fault_record_bytes_ >= kTlsRecordHeader + length || length > kMaxTlsPlaintextRecord) {
        if (server_->options.verbose) {
          Log("alert-after-220: answered a " + std::to_string(kTlsRecordHeader + length) +
              "-byte record with a handshake_failure alert");
        }
        fault_done_ = true;
        StartWrite(std::string(kHandshakeFailureAlert, sizeof kHandshakeFailureAlert),
                   kFinalReplyTimeout, /*smtp_replies=*/false);
        return;
      }
    }
    StartFaultRead();
  }

  // ---- Logging and timers -------------------------------------------------------

  // --verbose: one line per reply, its code and first line. The session
  // writes only whole, well-formed replies (fuzz/server_session_fuzzer.cc
  // checks it), so the batch always parses.
  void LogReplies(std::string_view wire) {
    const smtp::RepliesParseResult parsed = smtp::ParseReplies(wire);
    for (const smtp::Reply& reply : parsed.replies) {
      std::string first = std::to_string(reply.code);
      if (!reply.lines.empty()) first += " " + reply.lines[0];
      Log("sent " + first);
    }
  }

  void Log(std::string_view what) {
    // The time as the sidecars' received_at writes it (RFC 3339, UTC, µs).
    const std::string line =
        "fakemx: " + FormatRfc3339Micros(NowMicros()) + " " + peer_ + " " + std::string(what) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

  // The idle timer is lazy: arming only moves a deadline, and the one
  // pending wait re-waits when it fires early. Re-arming an Asio timer on
  // every read and write (cancel + new wait) cost more than the SMTP work of
  // a small message.
  void ArmIdleTimer(std::chrono::steady_clock::duration timeout) {
    idle_deadline_ = std::chrono::steady_clock::now() + timeout;
    if (idle_waits_ == 0 || idle_timer_.expiry() > idle_deadline_) {
      idle_timer_.expires_at(idle_deadline_);  // aborts a later pending wait
      StartIdleWait();
    }
  }

  void StartIdleWait() {
    ++idle_waits_;
    idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
      --self->idle_waits_;
      if (ec || self->closed_ || self->op_ == Op::kNone) return;  // nothing to time now
      if (std::chrono::steady_clock::now() < self->idle_deadline_) {
        if (self->idle_waits_ == 0) {
          self->idle_timer_.expires_at(self->idle_deadline_);
          self->StartIdleWait();
        }
        return;
      }
      self->OnIdleTimeout();
    });
  }

  // The operation the deadline was for is done; the pending wait, if any,
  // sees op_ == kNone or a newer deadline when it fires.
  void DisarmIdleTimer() {}

  void OnIdleTimeout() {
    switch (op_) {
      case Op::kRead:
        idle_expired_ = true;
        CancelRead();  // OnRead -> Pump -> 421
        return;
      case Op::kWrite:
        Close();  // the client does not read; a 421 could not reach it either
        return;
      case Op::kHandshake:
        // No SMTP channel to send a 421 in; RFC 8314 §5.1 wants the
        // handshake bounded like any other wait.
        ++server_->stats.tls_failed;
        if (server_->options.verbose) Log("tls failed: handshake timed out");
        Close();
        return;
      case Op::kFault:
        if (server_->options.verbose) Log("stall-handshake: idle timeout, closing");
        Close();
        return;
      case Op::kNone:
        return;
    }
  }

  void OnSessionTimeout() {
    if (closed_) return;
    session_expired_ = true;
    // A write in progress finishes first (bounded by the idle timer); a
    // pending storage is answered first; a read is cut short. A STARTTLS
    // fault has no SMTP channel left for a 421, and its reads re-arm the
    // idle timer, so a trickling peer would outlive the session limit.
    if (op_ == Op::kRead) CancelRead();
    if (op_ == Op::kFault) Close();
  }

  // Closes the connection; the server forgets it (for Shutdown's drain)
  // once the socket is really closed, so a close_notify is not cut off by
  // the io_context stopping.
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (server_->options.verbose) Log("closed");
    idle_timer_.cancel();
    session_timer_.cancel();
    if (op_ == Op::kNone && transport_.tls_active()) {
      // close_notify first, so the client's TLS library sees the end as
      // clean; a client that does not take it is cut off after
      // kFinalReplyTimeout (closing the socket completes the write).
      auto self = shared_from_this();
      idle_timer_.expires_after(kFinalReplyTimeout);
      idle_timer_.async_wait([self](error_code ec) {
        if (!ec) self->transport_.Close();
      });
      transport_.AsyncClose([self] {
        self->idle_timer_.cancel();
        self->server_->Remove(self.get());
      });
      return;
    }
    // Plaintext, or a write or handshake still outstanding (the client is
    // not reading, or TLS failed): no close_notify can follow.
    transport_.Close();
    server_->Remove(this);
  }

  Server::Impl* server_;
  const ConnectionInfo info_;
  Transport transport_;
  asio::steady_timer idle_timer_;
  asio::steady_timer session_timer_;
  std::unique_ptr<Behaviour> behaviour_;
  smtp::ServerSession session_;
  std::unique_ptr<char[]> read_buffer_;
  std::string write_buffer_;
  std::optional<smtp::HelloRequest> hello_;
  Op op_ = Op::kNone;
  std::chrono::steady_clock::time_point idle_deadline_;
  int idle_waits_ = 0;
  std::string peer_;  // "address:port" for --verbose
  uint64_t plaintext_discarded_bytes_ = 0;
  // alert-after-220 / stall-handshake in progress, and what the first
  // record looked like so far.
  tls::StartTlsBehaviour fault_ = tls::StartTlsBehaviour::kOffer;
  std::string fault_record_header_;
  size_t fault_record_bytes_ = 0;
  bool fault_done_ = false;  // the alert is written; close
  bool starttls_requested_ = false;
  bool read_cancelled_ = false;
  bool close_requested_ = false;
  bool ending_ = false;  // we sent (or are sending) our own final 421
  bool closed_ = false;
  bool draining_ = false;
  bool grace_over_ = false;
  bool idle_expired_ = false;
  bool session_expired_ = false;
};

}  // namespace

void Server::Impl::Accept(tcp::acceptor& from, bool implicit_tls) {
  from.async_accept([this, &from, implicit_tls](error_code ec, tcp::socket socket) {
    if (shutting_down || !from.is_open()) return;
    if (ec) {
      std::fprintf(stderr, "fakemx: accept failed: %s\n", ec.message().c_str());
      asio::steady_timer& retry = implicit_tls ? smtps_accept_retry : accept_retry;
      retry.expires_after(kAcceptRetryDelay);
      retry.async_wait([this, &from, implicit_tls](error_code wait_ec) {
        if (!wait_ec) Accept(from, implicit_tls);
      });
      return;
    }
    auto connection = std::make_shared<Connection>(this, std::move(socket), implicit_tls);
    connections.emplace(connection.get(), connection);
    ++stats.connections_accepted;
    connection->Start();
    Accept(from, implicit_tls);
  });
}

void Server::Impl::Remove(Connection* connection) {
  // The caller's handler keeps the connection alive until it returns.
  connections.erase(connection);
  MaybeDone();
}

void Server::Impl::MaybeDone() {
  if (!shutting_down || !connections.empty() || !on_drained) return;
  grace_timer.cancel();
  asio::post(io, std::exchange(on_drained, nullptr));
}

Server::Server(asio::io_context& io, ServerOptions options, Maildir* maildir)
    : impl_(std::make_unique<Impl>(io, std::move(options), maildir)) {}

Server::~Server() {
  error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->smtps_acceptor.close(ignored);
  // ~Impl destroys the StorageQueue, which finishes what is queued (a
  // message must not be cut off mid-write) before the Maildir goes away.
}

namespace {

absl::Status Bind(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  const auto fail = [&](std::string_view what, const error_code& ec) {
    return absl::UnavailableError("cannot " + std::string(what) + " " +
                                  endpoint.address().to_string() + ":" +
                                  std::to_string(endpoint.port()) + ": " + ec.message());
  };
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for", ec);
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on", ec);
  acceptor.bind(endpoint, ec);
  if (ec) return fail("bind", ec);
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on", ec);
  return absl::OkStatus();
}

}  // namespace

absl::Status Server::Listen() {
  const ServerOptions& options = impl_->options;
  if (options.smtps_endpoint && options.tls_context == nullptr) {
    return absl::FailedPreconditionError(
        "an implicit-TLS listener needs a TLS context (certificate and key)");
  }
  if (absl::Status s = Bind(impl_->acceptor, options.endpoint); !s.ok()) return s;
  if (options.smtps_endpoint) return Bind(impl_->smtps_acceptor, *options.smtps_endpoint);
  return absl::OkStatus();
}

tcp::endpoint Server::local_endpoint() const {
  error_code ec;
  tcp::endpoint endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.endpoint : endpoint;
}

std::optional<tcp::endpoint> Server::smtps_local_endpoint() const {
  if (!impl_->options.smtps_endpoint) return std::nullopt;
  error_code ec;
  tcp::endpoint endpoint = impl_->smtps_acceptor.local_endpoint(ec);
  return ec ? *impl_->options.smtps_endpoint : endpoint;
}

void Server::Start() {
  impl_->Accept(impl_->acceptor, /*implicit_tls=*/false);
  if (impl_->smtps_acceptor.is_open()) impl_->Accept(impl_->smtps_acceptor, /*implicit_tls=*/true);
}

void Server::Shutdown(std::function<void()> done) {
  Impl& s = *impl_;
  if (s.shutting_down) return;
  s.shutting_down = true;
  s.on_drained = std::move(done);
  error_code ignored;
  s.acceptor.close(ignored);
  s.smtps_acceptor.close(ignored);
  s.accept_retry.cancel();
  s.smtps_accept_retry.cancel();
  for (const auto& connection : s.Snapshot()) connection->BeginDrain();
  s.grace_timer.expires_after(s.options.shutdown_grace);
  s.grace_timer.async_wait([this](error_code ec) {
    if (!ec) ForceClose();
  });
  s.MaybeDone();
}

void Server::ForceClose() {
  impl_->grace_over = true;
  for (const auto& connection : impl_->Snapshot()) connection->ForceClose();
}

ServerStats Server::stats() const {
  ServerStats stats = impl_->stats;
  stats.connections_open = impl_->connections.size();
  return stats;
}

}  // namespace mxkit::fakemx
