#include "fakemx/server.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "fakemx/delivery.h"
#include "fakemx/storage_queue.h"
#include "fakemx/transport.h"
#include "fakemx/verdict_authentication_results.h"
#include "smtp/command.h"
#include "smtp/limits.h"
#include "smtp/reply.h"
#include "tls/version.h"

namespace mxkit::fakemx {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().is_v6()
                                  ? "[" + endpoint.address().to_string() + "]"
                                  : endpoint.address().to_string();
  return address + ":" + std::to_string(endpoint.port());
}

namespace {

// After a failed accept (EMFILE, ENFILE, ENOBUFS) retrying at once would
// spin; Postfix's master backs off the same way.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// alert-after-220 answers the ClientHello's first record with a fatal
// handshake_failure alert (RFC 8446 §6: AlertLevel fatal(2),
// handshake_failure(40)) in a TLS 1.0 record header (0x0301), which every
// client version parses before version negotiation.
constexpr char kHandshakeFailureAlert[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28};
// --verbose quotes at most this much of a raw (not well-formed) reply.
constexpr size_t kMaxLoggedRawReply = 200;

// Reads one connection makes in a row, when the client keeps its socket
// full (a large message), before the others get a turn.
constexpr int kMaxInlineReads = 4;

// A connection's own read buffer (ReadActive): a few command lines, or a
// small message, per read.
constexpr size_t kActiveReadBufferSize = 4096;

// RFC 8446 §5.1 (and RFC 5246 §6.2.1): a TLSPlaintext record carries at most
// 2^14 octets; a longer length field is not a ClientHello worth waiting for.
constexpr size_t kTlsRecordHeader = 5;
constexpr size_t kMaxTlsPlaintextRecord = 1u << 14;

// drop_after_data_bytes keeps the command line it feeds, to read a BDAT
// chunk's size; a BDAT line is far shorter than RFC 5321 §4.5.3.1.4's 512
// octets, and a longer line is no BDAT the session would accept.
constexpr size_t kMaxTrackedCommandLine = smtp::kMaxCommandLine;

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

ConnectionInfo DescribeConnection(const tcp::socket& socket, bool implicit_tls) {
  ConnectionInfo info;
  info.implicit_tls = implicit_tls;
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (!ec) {
    info.client_address = remote.address().to_string();
    info.client_port = remote.port();
  }
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (!ec) {
    info.local_address = local.address().to_string();
    info.local_port = local.port();
  }
  return info;
}

class Connection;

// The error a handshake that hit the idle timeout is reported with.
constexpr char kHandshakeTimedOut[] = "handshake timed out";

}  // namespace

struct Server::Impl {
  // A receiver as the server runs it.
  struct Receiver {
    ReceiverOptions options;
    std::chrono::seconds idle_timeout;
  };
  // One listening socket of a receiver.
  struct Listener {
    Listener(asio::io_context& io, Receiver* receiver, ListenerOptions options)
        : receiver(receiver), options(std::move(options)), acceptor(io), retry(io) {}
    Receiver* receiver;
    ListenerOptions options;
    tcp::acceptor acceptor;
    asio::steady_timer retry;  // after a failed accept
  };

  Impl(asio::io_context& io, ServerOptions options, Maildir* maildir)
      : io(io),
        options(std::move(options)),
        maildir(maildir),
        grace_timer(io),
        read_buffer(new char[kReadBufferSize]) {
    std::vector<ReceiverOptions> configured = std::move(this->options.receivers);
    this->options.receivers.clear();
    if (configured.empty()) configured.push_back(SingleReceiver(this->options));
    for (ReceiverOptions& r : configured) {
      if (!r.behaviour) r.behaviour = ReceiverBehaviourFactory(tls::StartTlsBehaviour::kOffer);
      auto receiver = std::make_unique<Receiver>();
      receiver->idle_timeout = r.idle_timeout.value_or(this->options.idle_timeout);
      receiver->options = std::move(r);
      for (const ListenerOptions& l : receiver->options.listeners) {
        listeners.push_back(std::make_unique<Listener>(io, receiver.get(), l));
      }
      receivers.push_back(std::move(receiver));
    }
    // Without a Maildir a message is only captured: nothing to wait for,
    // so no storage threads either.
    if (maildir != nullptr) {
      storage = std::make_unique<StorageQueue>(io, maildir, this->options.storage_threads);
    }
  }

  // The one receiver the single-receiver fields of ServerOptions describe.
  static ReceiverOptions SingleReceiver(const ServerOptions& options) {
    ReceiverOptions r;
    r.name = options.session.hostname;
    r.listeners.push_back({options.endpoint, /*implicit_tls=*/false});
    if (options.smtps_endpoint) r.listeners.push_back({*options.smtps_endpoint, true});
    r.session = options.session;
    r.behaviour = options.behaviour;
    r.tls_context = options.tls_context;
    r.tls_certificate = options.tls_certificate;
    r.verdicts = options.verdicts;
    return r;
  }

  void Accept(Listener& listener);
  void Remove(Connection* connection);
  void MaybeDone();
  void CloseAcceptors() {
    error_code ignored;
    for (const auto& l : listeners) {
      l->acceptor.close(ignored);
      l->retry.cancel();
    }
  }
  std::vector<std::shared_ptr<Connection>> Snapshot() const {
    std::vector<std::shared_ptr<Connection>> all;
    all.reserve(connections.size());
    for (const auto& [raw, conn] : connections) all.push_back(conn);
    return all;
  }
  // The first receiver's first listener of the kind, if any.
  const Listener* FirstListener(bool implicit_tls) const {
    if (receivers.empty()) return nullptr;
    for (const auto& l : listeners) {
      if (l->receiver == receivers.front().get() && l->options.implicit_tls == implicit_tls) {
        return l.get();
      }
    }
    return nullptr;
  }

  asio::io_context& io;
  ServerOptions options;
  Maildir* maildir;
  std::vector<std::unique_ptr<Receiver>> receivers;
  std::vector<std::unique_ptr<Listener>> listeners;
  asio::steady_timer grace_timer;
  // Every plain read lands here: one io_context thread, and a connection
  // hands what it read to its session before the handler returns, so one
  // buffer serves all of them and an idle connection holds none.
  std::unique_ptr<char[]> read_buffer;
  std::unique_ptr<StorageQueue> storage;  // null without a Maildir
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections;
  ServerStats stats;
  // What smtp::ParseReplies finds in a write, by the write's bytes, for
  // ServerStats::replies_by_code: a session sends the same few replies again
  // and again ("250 2.1.0 Ok"), and parsing each one again cost more than the
  // rest of sending it. At most kMaxRememberedReplyWrites distinct writes are
  // kept (a scenario whose text changes per message would add one each);
  // other writes are parsed every time, as before.
  struct ReplyCodes {
    bool whole = false;      // the write is whole replies; else counted under 0
    std::vector<int> codes;  // one per reply, in order
  };
  static constexpr size_t kMaxRememberedReplyWrites = 256;
  absl::flat_hash_map<std::string, ReplyCodes> reply_codes;
  bool shutting_down = false;
  bool grace_over = false;
  std::function<void()> on_drained;
  // Expires with the server: a handler of the server's own (accept, its
  // retry, the grace timer) that runs after ~Server finds it expired and
  // touches nothing. (Connections reach the server through a plain
  // pointer: a server is destroyed only once Shutdown drained them.)
  std::shared_ptr<const bool> alive = std::make_shared<const bool>(true);
};

namespace {

// The driver of one connection: moves bytes between a Transport and a
// ServerSession, runs the timers, shutdown and storage deferral, carries out
// what the session and the connection's Behaviour ask for (delays, stalls,
// resets, trickled replies, a drop mid-DATA) and records the session in the
// capture store. At most one transport operation (a read, a write, a
// handshake) is outstanding at a time: replies are flushed before more input
// is read, which bounds what a pipelining client can make us buffer (RFC 2920
// §3.1 lets a server do exactly this).
//
// Timeouts and waits of our own: one timer (deadline_timer_) times whatever
// the connection is doing now: a client read or write (the idle timeout), a
// delayed decision (the tarpit delay), the gap between trickled bytes, a
// stall. A delay is not a client wait: the idle timeout does not run during
// it (the client is waiting for us) and starts again with the next read. The
// session timeout, a shutdown (between transactions, or once its grace is
// over) cut a delay short: the held decision is dropped and 421 is sent
// instead. With a Maildir, the delay of a message's accepting reply runs
// before the message is stored, so what a cut delay drops is never a 250
// for a message already in new/. A stall has a fixed deadline, the idle timeout from when it began
// (a hung server does not notice client traffic); it then closes without any
// reply, as do a shutdown and the session timeout.
class Connection : public std::enable_shared_from_this<Connection>,
                   private smtp::ServerPolicy {
 public:
  Connection(Server::Impl* server, Server::Impl::Receiver* receiver, tcp::socket socket,
             bool implicit_tls)
      : server_(server),
        receiver_(receiver),
        info_(DescribeConnection(socket, implicit_tls)),
        accepted_at_(std::chrono::steady_clock::now()),
        transport_(std::move(socket)),
        deadline_timer_(transport_.socket().get_executor()),
        session_timer_(transport_.socket().get_executor()),
        behaviour_(receiver->options.behaviour(info_)),
        idle_timeout_(behaviour_->idle_timeout().value_or(receiver->idle_timeout)),
        per_byte_delay_(behaviour_->per_byte_delay()),
        drop_after_data_bytes_(behaviour_->drop_after_data_bytes()),
        session_(SessionConfig(*server, *receiver, *behaviour_, implicit_tls), this) {
    starttls_offered_ =
        !implicit_tls && receiver_->options.tls_context != nullptr && behaviour_->advertises_starttls();
    error_code ec;
    transport_.socket().set_option(tcp::no_delay(true), ec);
    if (server_->options.verbose) {
      // Once per connection, and only for --verbose: the closing line is
      // logged after the socket no longer knows its peer.
      const tcp::endpoint remote = transport_.socket().remote_endpoint(ec);
      peer_ = ec ? info_.client_address + ":" + std::to_string(info_.client_port)
                 : FormatEndpoint(remote);
    }
    if (server_->options.capture != nullptr) {
      CapturedSession c;
      c.receiver = receiver_->options.name;
      c.scenario = server_->options.scenario;
      c.started_at_us = NowMicros();
      c.client_address = info_.client_address;
      c.client_port = info_.client_port;
      c.local_address = info_.local_address;
      c.local_port = info_.local_port;
      c.implicit_tls = implicit_tls;
      capture_ = server_->options.capture->Open(std::move(c));
    }
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
    Stamp();
    session_.Start();
    AfterSessionStep();
    Pump();
  }

  // Shutdown began: leave between transactions, finish the one in progress.
  // A stalled connection has no transaction that could finish: it is
  // closed, without a reply, as a hung server would be.
  void BeginDrain() {
    draining_ = true;
    Stamp();
    if (op_ == Op::kStall) {
      Close();
    } else if (op_ == Op::kRead && !InTransaction()) {
      CancelRead();
    } else if (op_ == Op::kDelay && !InTransaction()) {
      CutDelay();
    }
  }

  // The grace period is over: answer 421 now unless a message is being
  // stored (its reply comes first, then the 421). A reply being written
  // (perhaps a 250) may finish, within kFinalReplyTimeout; a trickled one is
  // written out at once. A handshake (or a STARTTLS fault) in progress has
  // no SMTP to answer in: it is closed, as is a stall.
  void ForceClose() {
    draining_ = true;
    grace_over_ = true;
    Stamp();
    switch (op_) {
      case Op::kRead:
        CancelRead();
        return;
      case Op::kWrite:
        ArmDeadline(kFinalReplyTimeout);
        return;
      case Op::kTrickleGap:
        op_ = Op::kNone;
        WriteTrickle();
        return;
      case Op::kDelay:
        CutDelay();
        return;
      case Op::kHandshake:
      case Op::kFault:
      case Op::kStall:
        Close();
        return;
      case Op::kNone:
        return;
    }
  }

 private:
  enum class Op {
    kNone,
    kRead,        // waiting for the client's bytes (idle timeout)
    kWrite,       // writing to the client (idle timeout, or kFinalReplyTimeout)
    kHandshake,   // TLS handshake (idle timeout)
    kFault,       // a STARTTLS fault reading raw bytes (idle timeout)
    kDelay,       // holding a delayed decision (its delay)
    kTrickleGap,  // between two bytes of a per-byte write (per_byte_delay)
    kStall,       // stalled: reading and discarding (fixed deadline)
  };

  // Who gets the bytes of the shared-buffer read in progress.
  enum class ReadFor { kSession, kFault, kStall };

  static smtp::ServerSessionConfig SessionConfig(const Server::Impl& server,
                                                 const Server::Impl::Receiver& receiver,
                                                 const Behaviour& behaviour, bool implicit_tls) {
    smtp::ServerSessionConfig config = receiver.options.session;
    config.implicit_tls = implicit_tls;
    // On the implicit-TLS listener the session does not advertise it (TLS
    // is active) and answers a STARTTLS "503 TLS already active", as
    // after a STARTTLS handshake.
    config.extensions.starttls =
        receiver.options.tls_context != nullptr && behaviour.advertises_starttls();
    config.command_events = server.options.capture != nullptr;
    return config;
  }

  // ---- smtp::ServerPolicy: the behaviour's answers, plus what the driver
  // needs to record (the HELO for the sidecar) and do (store a message the
  // behaviour accepted) ---------------------------------------------------------

  // Nothing would call Decide() for a behaviour's own deferral (it has no
  // handle on the session), so a deferral becomes a temporary failure
  // rather than a silent hang until the session timeout.
  //
  // Takes the behaviour's call, not its answer: the answer is made in the
  // returned Decision itself, where a by-value parameter would be moved out
  // again (a dozen strings, at every step of every message).
  template <typename Ask>
  static smtp::Decision Immediate(Ask ask) {
    smtp::Decision d = ask();
    if (d.action == smtp::Decision::Action::kDefer) {
      d = smtp::Decision::Reject(451, "4.3.0", "Error: behaviour deferred a decision");
    }
    return d;
  }

  smtp::Decision OnConnect() override { return Immediate([&] { return behaviour_->OnConnect(); }); }

  smtp::Decision OnHello(const smtp::HelloRequest& hello) override {
    smtp::Decision d = Immediate([&] { return behaviour_->OnHello(hello); });
    if (d.action == smtp::Decision::Action::kAccept) hello_ = hello;
    return d;
  }

  smtp::Decision OnMailFrom(const smtp::Envelope& envelope) override {
    return Immediate([&] { return behaviour_->OnMailFrom(envelope); });
  }
  smtp::Decision OnRcptTo(const smtp::Envelope& envelope, const smtp::Recipient& r) override {
    return Immediate([&] { return behaviour_->OnRcptTo(envelope, r); });
  }
  smtp::Decision OnDataStart(const smtp::Envelope& envelope) override {
    return Immediate([&] { return behaviour_->OnDataStart(envelope); });
  }
  smtp::Decision OnAuth(const smtp::AuthRequest& request) override {
    return Immediate([&] { return behaviour_->OnAuth(request); });
  }
  smtp::Decision OnStartTls() override {
    starttls_command_ = true;  // for the session verdict: asked, whatever the answer
    return Immediate([&] { return behaviour_->OnStartTls(); });
  }
  smtp::Decision OnCommand(const smtp::CommandRequest& request) override {
    return Immediate([&] { return behaviour_->OnCommand(request); });
  }
  std::optional<smtp::ServerExtensions> Extensions(bool tls_active) override {
    return behaviour_->Extensions(tls_active);
  }

  // With a Maildir the 250 waits for it: the session holds the reply while
  // a storage thread writes, fsyncs and renames, then OnStored answers.
  // Without one the message is only captured, when the session's
  // MessageCompleteEvent says it was answered 2xx. A message the behaviour
  // refuses is neither stored nor captured as a message.
  //
  // A behaviour's delay on the accepting reply (a tarpit) runs before the
  // message is stored, not after: a timeout or a shutdown that cuts the
  // delay short answers 421 for a message that is not in new/, so the
  // client's retry cannot make a duplicate, and every 250 stays a message
  // on disk (the stop line's count equals new/).
  smtp::Decision OnMessage(const smtp::Envelope& envelope, std::string_view message) override {
    smtp::Decision verdict = Immediate([&] { return behaviour_->OnMessage(envelope, message); });
    pending_message_.reset();
    pending_raw_.reset();
    unstored_.reset();
    if (verdict.action != smtp::Decision::Action::kAccept) return verdict;
    VerdictEngine* engine = receiver_->options.verdicts.get();
    // Without a Maildir and without verdicts, OnMessageAccepted makes the
    // capture's Delivery from the session's event, whose envelope it may
    // take instead of copying.
    if (server_->maildir == nullptr && engine == nullptr) return verdict;
    // Made where the capture keeps it, straight from the session's envelope.
    CapturedMessage& pending = pending_message_.emplace();
    Delivery& delivery = pending.delivery;
    FillDelivery(envelope, delivery);
    if (engine != nullptr) {
      // Judged before the 250, so a test that sees the message sees its
      // verdict, and the 250 count stays the message count.
      // The callback writes straight into the message the capture will
      // keep (a move less of two dozen strings per message). It
      // holds the connection: an engine over a resolver that completes
      // later (not fakemx's own) must find it alive, and such a late verdict
      // is dropped (judging_), the message having been refused below.
      judging_ = true;
      engine->Evaluate(delivery, message, delivery.received_at_us,
                       [self = shared_from_this()](MessageVerdict&& v) {
                         if (self->judging_) self->ShareVerdict(std::move(v));
                       });
      judging_ = false;
      const MessageVerdict& judged = *pending.verdict;
      if (!judged.evaluated) {
        // An engine that completes later would need this reply deferred;
        // VerdictEngine never does (ServerOptions::verdicts). Refused
        // visibly rather than answered 250 without a verdict.
        std::fprintf(stderr, "fakemx: the verdict engine did not complete inline; refusing\n");
        pending_message_.reset();
        // RFC 3463 §3.4: X.3.0 "other or undefined mail system status".
        return smtp::Decision::Reject(451, "4.3.0", "Error: could not judge the message");
      }
      if (engine->options().add_authentication_results) {
        pending_raw_ = PrependAuthenticationResults(message, AuthenticationResultsValue(judged));
      }
      // For the Maildir's sidecar: the same shared verdict the capture keeps.
      if (server_->maildir != nullptr) delivery.verdict = pending.verdict;
    }
    if (pending_raw_) message = *pending_raw_;
    if (server_->maildir == nullptr) return verdict;
    // The Maildir takes a copy when the capture keeps this one.
    Delivery stored = capture_ != nullptr ? delivery : std::move(delivery);
    const std::chrono::milliseconds delay = std::exchange(verdict.delay, {});
    accepted_verdict_ = std::move(verdict);
    if (delay.count() > 0) {
      unstored_ = Unstored{std::move(stored), std::string(message)};
      delay_until_ = std::chrono::steady_clock::now() + delay;
      return smtp::Decision::Defer();  // Pump starts the delay; OnDelayOver stores
    }
    return Store(std::move(stored), message);
  }

  // Writes the message into the Maildir: on this thread (the final reply
  // at once) or on a storage thread (Defer; OnStored answers).
  smtp::Decision Store(Delivery delivery, std::string_view message) {
    if (server_->storage->inline_storage()) {
      return Stored(server_->maildir->Deliver(delivery, message));
    }
    server_->storage->Push({std::move(delivery), std::string(message),
                            [self = shared_from_this()](absl::StatusOr<std::string> result) {
                              self->OnStored(std::move(result));
                            }});
    return smtp::Decision::Defer();
  }

  // Fills `delivery` from the connection and `envelope`: moved from when
  // the caller is done with it (an rvalue), else copied, and never copied
  // whole first.
  template <typename EnvelopeRef>
  void FillDelivery(EnvelopeRef&& envelope, Delivery& delivery) const {
    constexpr bool kTakes = !std::is_lvalue_reference_v<EnvelopeRef>;
    delivery.received_at_us = NowMicros();
    delivery.client_address = info_.client_address;
    delivery.client_port = info_.client_port;
    delivery.server_hostname = receiver_->options.session.hostname;
    if (hello_) {
      delivery.esmtp = hello_->extended;
      delivery.helo = hello_->domain;
    }
    delivery.tls = TlsFacts();
    delivery.reverse_path = std::forward<EnvelopeRef>(envelope).reverse_path;
    delivery.mail_params = std::forward<EnvelopeRef>(envelope).mail_params;
    delivery.recipients.reserve(envelope.recipients.size());
    for (auto& r : envelope.recipients) {
      if constexpr (kTakes) {
        delivery.recipients.push_back({std::move(r.forward_path), std::move(r.params)});
      } else {
        delivery.recipients.push_back({r.forward_path, r.params});
      }
    }
    delivery.body = BodyName(envelope.body);
    delivery.smtputf8 = envelope.smtputf8;
    delivery.via_bdat = envelope.via_bdat;
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
    t.certificate = receiver_->options.tls_certificate;
    return t;
  }

  void OnStored(absl::StatusOr<std::string> result) {
    Stamp();
    session_.Decide(Stored(std::move(result)));
    AfterSessionStep();
    Pump();
  }

  // The final reply for a storage result: the behaviour's accepting
  // verdict (a scenario's own 250 text, lines or raw bytes), with the
  // Maildir name as its text only when it has no words of its own.
  smtp::Decision Stored(absl::StatusOr<std::string> result) {
    smtp::Decision accept = std::exchange(accepted_verdict_, smtp::Decision::Accept());
    if (result.ok()) {
      stored_name_ = *result;
      if (accept.text.empty() && accept.lines.empty() && accept.raw.empty()) {
        accept.text = "Ok: queued as " + *result;
      }
      return accept;
    }
    ++server_->stats.storage_failures;
    std::fprintf(stderr, "fakemx: storing a message from %s failed: %s\n",
                 info_.client_address.c_str(), base::StatusText(result.status()).c_str());
    // RFC 3463 §3.4: X.3.0 "other or undefined mail system status".
    return smtp::Decision::Reject(451, "4.3.0", "Error: could not store the message");
  }

  // Makes `v` the pending message's verdict: the one this connection's
  // previous message has when they are equal (CapturedMessage::verdict),
  // else a new shared one.
  void ShareVerdict(MessageVerdict&& v) {
    if (last_verdict_ == nullptr || *last_verdict_ != v) {
      last_verdict_ = std::make_shared<const MessageVerdict>(std::move(v));
    }
    pending_message_->verdict = last_verdict_;
  }

  // The session answered a message 2xx (exactly once per message: the
  // event is). It is counted and captured here, with its Maildir name.
  void OnMessageAccepted(smtp::MessageCompleteEvent& event) {
    ++server_->stats.messages_stored;
    ++messages_accepted_;
    // OnMessage made the message (its delivery and verdict) where the
    // capture takes it from, when it made a Delivery at all.
    const bool delivery_made = pending_message_.has_value();
    CapturedMessage& m = delivery_made ? *pending_message_ : pending_message_.emplace();
    if (!m.verdict->evaluated && transport_.tls_active()) {
      // No engine: the lock needs no DNS (fakemx/verdict_types.h).
      MessageVerdict encrypted;
      encrypted.summary.encrypted = true;
      ShareVerdict(std::move(encrypted));
    }
    CountVerdict(server_->stats.verdicts, *m.verdict);
    if (capture_ == nullptr) {
      pending_message_.reset();
      pending_raw_.reset();
      return;
    }
    if (delivery_made) {
      // The capture keeps it in CapturedMessage::verdict.
      m.delivery.verdict.reset();
    } else {
      FillDelivery(std::move(event.envelope), m.delivery);
    }
    if (pending_raw_) {
      m.raw = std::move(*pending_raw_);
      pending_raw_.reset();
    } else {
      m.raw = std::move(event.message);
    }
    m.maildir_name = std::move(stored_name_);
    stored_name_.clear();
    server_->options.capture->AddMessage(*capture_, std::move(m));
    pending_message_.reset();
  }

  // ---- The driver loop --------------------------------------------------------

  // A transaction a shutdown lets finish: from an accepted MAIL FROM (the
  // null reverse path "<>" of a bounce included) to the reply to its data,
  // and any decision still pending (a message being stored). A delayed
  // decision outside a transaction (a tarpitted greeting or EHLO) is not
  // one: it is cut short.
  bool InTransaction() const {
    return session_.in_transaction() ||
           (session_.state() == smtp::ServerState::kAwaitingDecision && !delayed_ && !unstored_);
  }

  void DrainEvents() {
    while (std::optional<smtp::ServerEvent> event = session_.NextEvent()) {
      if (const auto* command = std::get_if<smtp::CommandReceivedEvent>(&*event)) {
        Record(TranscriptEntry::Kind::kCommand, command->line);
      } else if (std::holds_alternative<smtp::MailFromEvent>(*event)) {
        // Its command was recorded just before: the capture ends the
        // session's opening there (a message's transcript slice).
        if (capture_ != nullptr) server_->options.capture->StartTransaction(*capture_);
      } else if (auto* message = std::get_if<smtp::MessageCompleteEvent>(&*event)) {
        if (message->accepted) OnMessageAccepted(*message);
      } else if (const auto* close = std::get_if<smtp::CloseRequestedEvent>(&*event)) {
        close_requested_ = true;
        if (close->reset) reset_ = true;
        SetEndReason(CloseReason(*close));
      } else if (const auto* delayed = std::get_if<smtp::DecisionDelayedEvent>(&*event)) {
        // After an Abort (a timeout, a shutdown) the held decision is gone.
        if (session_.state() == smtp::ServerState::kAwaitingDecision) {
          delayed_ = true;
          delay_until_ = std::chrono::steady_clock::now() + delayed->delay;
        }
      } else if (std::holds_alternative<smtp::StalledEvent>(*event)) {
        SetEndReason("stalled");
        if (server_->options.verbose) Log("stalled: no reply will come");
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

  std::string CloseReason(const smtp::CloseRequestedEvent& close) const {
    using Reason = smtp::CloseRequestedEvent::Reason;
    switch (close.reason) {
      case Reason::kQuit: return "quit";
      case Reason::kTooManyErrors: return "too many errors";
      case Reason::kBufferOverflow: return "input overflow";
      case Reason::kServiceUnavailable: return "service unavailable";
      case Reason::kPolicy: break;
    }
    // A behaviour's decision (our own 421s set their reason first). The
    // rule that made it noted itself last.
    std::string reason = close.reset              ? "rule reset"
                         : session_.has_output() ? "rule disconnect"
                                                 : "rule drop";
    if (!last_note_.empty()) reason += " (" + last_note_ + ")";
    return reason;
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
    // idle timeout) goes first, and the 421 then goes out under TLS. A
    // stalled session sends nothing, not even a 421.
    const smtp::ServerState state = session_.state();
    const bool storing = state == smtp::ServerState::kAwaitingDecision && !delayed_ && !unstored_;
    if (state == smtp::ServerState::kStalled) {
      if (session_expired_ || (draining_ && !session_.has_output())) {
        Close();
        return;
      }
    } else if (!storing && state != smtp::ServerState::kAwaitingTls) {
      if (idle_expired_) {
        End("idle timeout", "4.4.2", "Error: timeout exceeded");
      } else if (session_expired_) {
        End("session timeout", "4.4.2", "Error: session time limit exceeded");
      } else if (draining_ && (grace_over_ || !InTransaction())) {
        // RFC 5321 §3.8: a server shutting down sends 421 before closing.
        End("shutdown", "4.3.2", "Service shutting down, closing channel");
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
      StartWrite(std::move(output), ending_ ? kFinalReplyTimeout : idle_timeout_);
      return;
    }
    if (close_requested_ || session_.state() == smtp::ServerState::kClosed) {
      Close();
      return;
    }
    switch (session_.state()) {
      case smtp::ServerState::kAwaitingTls:
        if (starttls_requested_) {
          starttls_requested_ = false;
          AfterStartTls220();
        }
        return;
      case smtp::ServerState::kStalled:
        if (!stall_deadline_) stall_deadline_ = std::chrono::steady_clock::now() + idle_timeout_;
        StartStallRead();
        return;
      case smtp::ServerState::kAwaitingDecision:
        if (delayed_ || unstored_) StartDelay();
        return;  // else storing: OnStored resumes
      default:
        break;
    }
    if (!session_.wants_input()) return;
    if (!held_input_.empty()) {
      // The rest of a read that the DATA byte count fed piecewise.
      const std::string held = std::exchange(held_input_, std::string());
      FeedInput(held);
      Pump();
      return;
    }
    StartRead();
  }

  // Ends the session from our side with a 421 (no-op once it is closed);
  // Pump writes it, within kFinalReplyTimeout, and then closes. A held
  // (delayed) decision is dropped, as is a message still in its tarpit
  // delay: it was never stored, so the 421 loses nothing the client was
  // told we have.
  void End(std::string_view reason, std::string_view enhanced, std::string_view text) {
    if (session_.state() == smtp::ServerState::kClosed) return;
    SetEndReason(reason);
    ending_ = true;
    delayed_ = false;
    unstored_.reset();
    session_.Abort(421, enhanced, text);
  }

  // ---- Reading ------------------------------------------------------------------

  // Reads and hands a view of the bytes to the reader `what` names
  // (DispatchRead), which uses them before it returns. Reads go into the
  // server's shared buffer, or, once the client has sent something, into
  // the connection's own (ReadActive).
  // Under TLS through the stream, which copies its plaintext into the
  // buffer right before calling back. Before TLS: a readiness wait, then a
  // non-blocking read of what is there, so an idle connection holds no
  // buffer. A read that filled the whole buffer (a large message) is
  // followed by another at once, since more is likely queued, up to
  // kMaxInlineReads in a row before the other connections get a turn.
  void StartSharedRead(ReadFor what) {
    read_for_ = what;
    read_cancelled_ = false;
    if (transport_.tls_active()) {
      transport_.AsyncReadSome(server_->read_buffer.get(), kReadBufferSize,
                               [self = shared_from_this()](error_code ec, size_t n) {
                                 self->DispatchRead(
                                     ec, std::string_view(self->server_->read_buffer.get(), n));
                               });
      return;
    }
    if (reading_inline_) {
      read_again_ = true;  // asked from inside ReadNow's loop, which goes on
      return;
    }
    if (maybe_more_) {
      ReadNow();
    } else {
      WaitOrReadActive();
    }
  }

  void WaitOrReadActive() {
    if (read_for_ == ReadFor::kSession && active_read_buffer_ != nullptr) {
      ReadActive();
    } else {
      WaitThenRead();
    }
  }

  // A connection that has sent something reads into a small buffer of its
  // own. Then Asio reads speculatively, or queues the read on the descriptor
  // it already watches (edge-triggered) with no system call. A readiness wait
  // makes Asio re-arm the descriptor (EPOLL_CTL_MOD) every time: one system
  // call more per command, about 4% of fakemx's CPU with reused connections
  // on the project VM. A connection that never sent anything (issue 9's
  // 10,000 idle connections) still holds no buffer. A read that fills the
  // buffer (a large message) hands over to the shared buffer, read at once
  // (maybe_more_), in 64 KiB reads.
  void ReadActive() {
    transport_.AsyncReadSome(
        active_read_buffer_.get(), kActiveReadBufferSize,
        [self = shared_from_this()](error_code ec, size_t n) {
          if (self->closed_) return;
          self->maybe_more_ = !ec && n == kActiveReadBufferSize;
          if (self->read_cancelled_ && !ec) ec = asio::error::operation_aborted;
          self->DispatchRead(ec, std::string_view(self->active_read_buffer_.get(), n));
        });
  }

  void WaitThenRead() {
    // Asio re-arms the descriptor (EPOLL_CTL_MOD) for this wait, so bytes
    // that arrived while no read was pending are reported too.
    transport_.AsyncWaitReadable([self = shared_from_this()](error_code ec) {
      if (self->closed_) return;
      if (ec || self->read_cancelled_) {
        self->DispatchRead(ec ? ec : asio::error::operation_aborted, {});
      } else {
        self->ReadNow();
      }
    });
  }

  // Reads and dispatches, in a loop rather than by recursion while the
  // reader wants more and more is likely there.
  void ReadNow() {
    reading_inline_ = true;
    int budget = kMaxInlineReads;
    while (true) {
      read_again_ = false;
      error_code ec;
      const size_t n =
          transport_.ReadAvailable(server_->read_buffer.get(), kReadBufferSize, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        reading_inline_ = false;
        maybe_more_ = false;
        WaitOrReadActive();  // woken for nothing
        return;
      }
      maybe_more_ = !ec && n == kReadBufferSize;
      DispatchRead(ec, std::string_view(server_->read_buffer.get(), n));
      if (!read_again_ || closed_) break;
      if (!maybe_more_) {
        reading_inline_ = false;
        WaitOrReadActive();
        return;
      }
      if (--budget == 0) {
        reading_inline_ = false;
        asio::post(transport_.socket().get_executor(), [self = shared_from_this()] {
          if (self->closed_) return;
          if (self->read_cancelled_) {
            self->DispatchRead(asio::error::operation_aborted, {});
          } else {
            self->ReadNow();
          }
        });
        return;
      }
    }
    reading_inline_ = false;
  }

  void DispatchRead(error_code ec, std::string_view bytes) {
    switch (read_for_) {
      case ReadFor::kSession: OnRead(ec, bytes); return;
      case ReadFor::kFault: OnFaultRead(ec, bytes); return;
      case ReadFor::kStall: OnStallRead(ec); return;
    }
  }

  void StartRead() {
    op_ = Op::kRead;
    ArmDeadline(idle_timeout_);
    StartSharedRead(ReadFor::kSession);
  }

  // A cancelled read ends with operation_aborted on a plain socket; the TLS
  // stream may report it differently, so the driver remembers that it
  // cancelled rather than trusting the code.
  void CancelRead() {
    read_cancelled_ = true;
    transport_.Cancel();
  }

  void OnRead(error_code ec, std::string_view bytes) {
    const size_t n = bytes.size();
    op_ = Op::kNone;
    if (closed_) return;
    Stamp();
    if (ec == asio::error::operation_aborted || read_cancelled_ || idle_expired_ ||
        session_expired_) {
      // Cancelled by a timer or by shutdown; Pump sends the 421. Bytes that
      // arrived in the same instant are dropped unprocessed.
      Pump();
      return;
    }
    if (ec) {  // EOF, reset, a TLS error after the handshake: nothing to answer
      if (transport_.engine() != nullptr && transport_.engine()->error()) {
        const std::string error = transport_.engine()->error()->ToString();
        if (server_->options.verbose) Log("tls failed: " + error);
        SetEndReason("tls failed: " + error);
      } else if (ec == asio::error::eof) {
        SetEndReason("client closed");
      } else {
        SetEndReason("client closed: " + ec.message());
      }
      Close();
      return;
    }
    if (draining_ && (grace_over_ || !InTransaction())) {
      Pump();
      return;
    }
    if (n > 0 && active_read_buffer_ == nullptr && !transport_.tls_active()) {
      active_read_buffer_ = std::make_unique<char[]>(kActiveReadBufferSize);
    }
    if (n > 0 && transport_.tls_active() && !tls_facts_.client_sent_under_tls) {
      // From now on the session counts as encrypted (docs/verdicts.md).
      tls_facts_.client_sent_under_tls = true;
      UpdateSessionVerdict();
    }
    // Plaintext behind a STARTTLS in this same read is discarded by the
    // session (PlaintextInjectionEvent); none of it is ever handed to the
    // TLS engine, which reads only what the socket delivers after the 220.
    FeedInput(bytes);
    if (closed_) return;
    Pump();
  }

  // Hands client bytes to the session. With Behaviour::drop_after_data_bytes
  // the content of each message (DATA content, or the bytes of its BDAT
  // chunks together) is counted and fed only up to that many octets; then
  // the connection is dropped (or reset), mid-message, the message never
  // complete. To count exactly, commands are then fed one line at a time
  // (content pipelined behind "DATA" or a BDAT line in the same read would
  // otherwise be fed uncounted), a BDAT chunk's bytes are fed up to its
  // size (what follows it is the next command, not content), and what the
  // session cannot take yet (a decision is pending) waits in held_input_
  // instead of its own buffer.
  void FeedInput(std::string_view bytes) {
    if (!drop_after_data_bytes_) {
      session_.Feed(bytes);
      AfterSessionStep();
      return;
    }
    const uint64_t limit = *drop_after_data_bytes_;
    const auto in_content = [this] {
      const smtp::ServerState state = session_.state();
      return state == smtp::ServerState::kDataContent || state == smtp::ServerState::kBdatContent;
    };
    while (!bytes.empty() && !close_requested_) {
      if (session_.state() == smtp::ServerState::kAwaitingDecision) {
        held_input_.append(bytes);
        return;
      }
      if (!session_.wants_input()) {
        // Awaiting TLS (the session discards and counts what it is fed
        // there, CVE-2011-0411), stalled or closed: nothing to count.
        session_.Feed(bytes);
        AfterSessionStep();
        return;
      }
      if (!in_content()) {
        if (!session_.in_transaction()) data_bytes_ = 0;  // per message
        const size_t eol = bytes.find('\n');
        const size_t n = eol == std::string_view::npos ? bytes.size() : eol + 1;
        const std::string_view piece = bytes.substr(0, n);
        if (command_line_.size() + piece.size() <= kMaxTrackedCommandLine) {
          command_line_.append(piece);
        }
        session_.Feed(piece);
        AfterSessionStep();
        bytes.remove_prefix(n);
        if (eol != std::string_view::npos) {
          if (session_.state() == smtp::ServerState::kBdatContent) {
            bdat_remaining_ = BdatChunkSize(command_line_);
          }
          command_line_.clear();
        }
        continue;
      }
      uint64_t n = std::min<uint64_t>(limit - std::min(limit, data_bytes_), bytes.size());
      if (session_.state() == smtp::ServerState::kBdatContent) n = std::min(n, bdat_remaining_);
      if (n > 0) {
        session_.Feed(bytes.substr(0, n));
        AfterSessionStep();
        data_bytes_ += n;
        bdat_remaining_ -= std::min(n, bdat_remaining_);
        bytes.remove_prefix(n);
      }
      if (data_bytes_ >= limit && in_content()) {
        DropMidData(limit);
        return;
      }
      if (n == 0) {
        // Not reachable while the chunk size is tracked right; rather than
        // spin, the rest goes to the session uncounted.
        session_.Feed(bytes);
        AfterSessionStep();
        return;
      }
    }
  }

  // The size of the BDAT chunk the session has just started on `line`
  // (RFC 3030 §2); the session accepted the line, so it parses. Should it
  // not, every byte fed until the chunk ends counts.
  uint64_t BdatChunkSize(std::string_view line) const {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    smtp::CommandParseOptions options;
    static_cast<smtp::CommandLeniencies&>(options) = receiver_->options.session.command_leniencies;
    options.extensions.chunking = true;
    const smtp::CommandResult parsed = smtp::ParseCommand(line, options);
    const smtp::BdatCommand* bdat = parsed.ok() ? parsed.command.get_if<smtp::BdatCommand>() : nullptr;
    return bdat != nullptr ? bdat->chunk_size : std::numeric_limits<uint64_t>::max();
  }

  // Replies already due (the 354 of a DATA the content was pipelined
  // behind) still go out first, as a real receiver would have sent them
  // before reading on; then Pump closes (or resets).
  void DropMidData(uint64_t limit) {
    reset_ = behaviour_->disconnect_resets();
    close_requested_ = true;
    SetEndReason(std::string(reset_ ? "rule reset" : "rule drop") + " after " +
                 std::to_string(limit) + " DATA bytes");
    if (server_->options.verbose) Log(end_reason_);
  }

  // kStall: what the client sends is read and discarded (a full receive
  // window would block the client's writes, which is not what a hung
  // server that still accepts TCP data looks like) until the deadline.
  void StartStallRead() {
    op_ = Op::kStall;
    ArmDeadlineAt(*stall_deadline_);
    StartSharedRead(ReadFor::kStall);
  }

  void OnStallRead(error_code ec) {
    op_ = Op::kNone;
    if (closed_) return;
    if (ec || read_cancelled_) {
      Close();  // the client gave up (or shutdown cut the read)
      return;
    }
    Pump();
  }

  // ---- Writing ------------------------------------------------------------------

  void StartWrite(std::string bytes, std::chrono::steady_clock::duration timeout,
                  bool smtp_replies = true) {
    write_buffer_ = std::move(bytes);
    if (smtp_replies) {
      CountReplies(write_buffer_);
      if (server_->options.verbose) LogReplies(write_buffer_);
      Record(TranscriptEntry::Kind::kReply, write_buffer_);
    }
    // Behaviour::per_byte_delay: a tarpit that trickles its replies. Our
    // own final 421 goes out whole, bounded by kFinalReplyTimeout.
    if (smtp_replies && per_byte_delay_.count() > 0 && !ending_) {
      trickle_at_ = 0;
      WriteTrickle();
      return;
    }
    op_ = Op::kWrite;
    ArmDeadline(timeout);
    transport_.AsyncWrite(write_buffer_,
                          [self = shared_from_this()](error_code ec) { self->OnWritten(ec); });
  }

  void OnWritten(error_code ec) {
    op_ = Op::kNone;
    if (closed_) return;
    Stamp();
    if (ec) {
      SetEndReason("write failed: " + ec.message());
      Close();
    } else {
      Pump();
    }
  }

  // Writes the next byte of write_buffer_ (all the rest once the grace
  // period or the session time is over), then waits per_byte_delay.
  void WriteTrickle() {
    const bool rest = grace_over_ || session_expired_;
    const std::string_view pending = std::string_view(write_buffer_).substr(trickle_at_);
    const std::string_view piece = rest ? pending : pending.substr(0, 1);
    op_ = Op::kWrite;
    ArmDeadline(idle_timeout_);
    transport_.AsyncWrite(piece, [self = shared_from_this(), n = piece.size()](error_code ec) {
      self->op_ = Op::kNone;
      if (self->closed_) return;
      self->trickle_at_ += n;
      if (ec || self->trickle_at_ >= self->write_buffer_.size()) {
        self->OnWritten(ec);
        return;
      }
      self->op_ = Op::kTrickleGap;
      self->ArmDeadline(self->per_byte_delay_);
    });
  }

  // ---- Delays -------------------------------------------------------------------

  void StartDelay() {
    op_ = Op::kDelay;
    ArmDeadlineAt(delay_until_);
  }

  void OnDelayOver() {
    op_ = Op::kNone;
    if (unstored_) {
      Unstored m = std::move(*unstored_);
      unstored_.reset();
      session_.Decide(Store(std::move(m.delivery), m.message));
      AfterSessionStep();
      Pump();
      return;
    }
    delayed_ = false;
    session_.ReleaseDelayedDecision();
    AfterSessionStep();
    Pump();
  }

  // The delay ends early (session timeout, shutdown): Pump answers 421
  // instead of the held decision.
  void CutDelay() {
    op_ = Op::kNone;
    Pump();
  }

  // ---- TLS --------------------------------------------------------------------

  // "220 Ready to start TLS" is on the wire: handshake, or carry out the
  // behaviour's fault.
  void AfterStartTls220() {
    const tls::StartTlsBehaviour fault = behaviour_->after_starttls_220();
    switch (fault) {
      case tls::StartTlsBehaviour::kAbortAfter220:
        tls_facts_.handshake_error = "receiver fault abort-after-220";
        if (server_->options.verbose) Log("abort-after-220: closing before the handshake");
        SetEndReason("starttls fault abort-after-220");
        Close();
        return;
      case tls::StartTlsBehaviour::kAlertAfter220:
      case tls::StartTlsBehaviour::kStallHandshake:
        fault_ = fault;
        tls_facts_.handshake_error =
            "receiver fault " + std::string(tls::StartTlsBehaviourName(fault));
        SetEndReason(std::string("starttls fault ") +
                     std::string(tls::StartTlsBehaviourName(fault)));
        StartFaultRead();
        return;
      default:
        StartHandshake();
        return;
    }
  }

  void StartHandshake() {
    tls_facts_.handshake_started = true;
    op_ = Op::kHandshake;
    ArmDeadline(idle_timeout_);
    transport_.AsyncServerHandshake(
        receiver_->options.tls_context,
        [self = shared_from_this()](const std::optional<tls::EngineError>& error) {
          self->OnHandshake(error);
        });
  }

  void OnHandshake(const std::optional<tls::EngineError>& error) {
    op_ = Op::kNone;
    if (closed_) return;
    Stamp();
    if (error) {
      HandshakeFailed(error->ToString());
      return;
    }
    ++server_->stats.tls_established;
    tls_facts_.established = true;
    UpdateSessionVerdict();
    const tls::HandshakeInfo& info = transport_.engine()->info();
    if (server_->options.verbose || capture_ != nullptr) {
      const std::string what = "tls established " + std::string(tls::VersionName(info.version)) +
                               " " + info.cipher +
                               " sni=" + (info.sni.empty() ? std::string("(none)") : info.sni);
      if (server_->options.verbose) Log(what);
      if (capture_ != nullptr) {
        capture_->tls = TlsFacts();
        Record(TranscriptEntry::Kind::kNote, what);
      }
    }
    if (info_.implicit_tls) {
      session_.Start();
    } else {
      session_.OnTlsEstablished();
    }
    AfterSessionStep();
    Pump();
  }

  void HandshakeFailed(const std::string& error) {
    ++server_->stats.tls_failed;
    if (error == kHandshakeTimedOut) {
      ++server_->stats.tls_timed_out;
      tls_facts_.timed_out = true;
    } else {
      tls_facts_.handshake_error = error;
    }
    UpdateSessionVerdict();
    if (server_->options.verbose) Log("tls failed: " + error);
    if (capture_ != nullptr) {
      capture_->tls_error = error;
      Record(TranscriptEntry::Kind::kNote, "tls failed: " + error);
    }
    SetEndReason("tls failed");
    Close();
  }

  // alert-after-220 and stall-handshake read raw bytes (no TLS engine):
  // the first collects the ClientHello's first record and answers it with a
  // fatal alert, the second discards everything until the idle timeout.
  void StartFaultRead() {
    op_ = Op::kFault;
    ArmDeadline(idle_timeout_);
    StartSharedRead(ReadFor::kFault);
  }

  void OnFaultRead(error_code ec, std::string_view got) {
    op_ = Op::kNone;
    if (closed_) return;
    if (ec) {
      Close();
      return;
    }
    if (fault_ == tls::StartTlsBehaviour::kStallHandshake) {
      StartFaultRead();
      return;
    }
    fault_record_bytes_ += got.size();
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
        Stamp();
        Record(TranscriptEntry::Kind::kNote, "alert-after-220: sent a handshake_failure alert");
        StartWrite(std::string(kHandshakeFailureAlert, sizeof kHandshakeFailureAlert),
                   kFinalReplyTimeout, /*smtp_replies=*/false);
        return;
      }
    }
    StartFaultRead();
  }

  // ---- Capture and logging ------------------------------------------------------

  // One clock read per batch (a read, a timer, a completion): every entry
  // recorded while handling it carries this offset.
  void Stamp() {
    if (capture_ == nullptr) return;
    offset_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - accepted_at_)
                     .count();
  }

  void Record(TranscriptEntry::Kind kind, std::string_view text) {
    if (capture_ == nullptr) return;
    server_->options.capture->Append(*capture_, kind, offset_us_, text);
  }

  // After the session was fed or decided: its events (the commands first)
  // and then the behaviour's notes on them (which scenario rule decided),
  // so the transcript reads command, rule, reply. The notes are taken even
  // without a capture so they cannot pile up over a long connection; the
  // last one names the rule in a close reason.
  void AfterSessionStep() {
    std::vector<std::string> notes = behaviour_->TakeNotes();
    // Only a rule that decided in this step can have asked for a close.
    last_note_ = notes.empty() ? std::string() : notes.back();
    DrainEvents();
    for (const std::string& note : notes) {
      if (server_->options.verbose) Log("rule: " + note);
      Record(TranscriptEntry::Kind::kNote, note);
    }
  }

  // The first reason wins: a 421 for an idle timeout is followed by the
  // session's close request, which is not the cause.
  // The session's verdict from what happened so far (fakemx/verdict.h
  // JudgeSession), kept in the capture also for sessions that never
  // delivered.
  void UpdateSessionVerdict() {
    if (capture_ == nullptr) return;
    SessionTlsFacts facts = tls_facts_;
    facts.implicit_tls = info_.implicit_tls;
    facts.starttls_offered = starttls_offered_;
    facts.starttls_requested = starttls_command_;
    capture_->verdict = JudgeSession(facts, messages_accepted_);
  }

  void SetEndReason(std::string_view reason) {
    if (end_reason_.empty()) end_reason_ = std::string(reason);
  }

  // ServerStats::replies_by_code; a write that is not whole replies (a
  // scenario's raw bytes) counts under 0.
  void CountReplies(std::string_view wire) {
    auto& memo = server_->reply_codes;
    auto found = memo.find(base::Av(wire));
    Server::Impl::ReplyCodes parsed_codes;
    const Server::Impl::ReplyCodes* codes = nullptr;
    if (found != memo.end()) {
      codes = &found->second;
    } else {
      const smtp::RepliesParseResult parsed = smtp::ParseReplies(wire);
      parsed_codes.whole = !parsed.error.has_value();
      if (parsed_codes.whole) {
        for (const smtp::Reply& reply : parsed.replies) parsed_codes.codes.push_back(reply.code);
      }
      codes = &parsed_codes;
      if (memo.size() < Server::Impl::kMaxRememberedReplyWrites) {
        codes = &memo.try_emplace(std::string(wire), std::move(parsed_codes)).first->second;
      }
    }
    if (!codes->whole) {
      ++server_->stats.replies_by_code[0];
      return;
    }
    for (int code : codes->codes) ++server_->stats.replies_by_code[code];
  }

  // --verbose: one line per reply, its code and first line. A scenario may
  // send raw bytes that are not a reply at all (garbage-replies): a write
  // that does not parse whole is logged as the bytes sent, quoted.
  void LogReplies(std::string_view wire) {
    const smtp::RepliesParseResult parsed = smtp::ParseReplies(wire);
    if (parsed.error) {
      Log("sent raw " + base::QuoteForMessage(wire, kMaxLoggedRawReply));
      return;
    }
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

  // ---- Timers -------------------------------------------------------------------

  // The deadline timer is lazy: arming only moves a deadline, and the one
  // pending wait re-waits when it fires early. Re-arming an Asio timer on
  // every read and write (cancel + new wait) cost more than the SMTP work of
  // a small message.
  void ArmDeadline(std::chrono::steady_clock::duration timeout) {
    ArmDeadlineAt(std::chrono::steady_clock::now() + timeout);
  }

  void ArmDeadlineAt(std::chrono::steady_clock::time_point deadline) {
    deadline_ = deadline;
    if (deadline_waits_ == 0 || deadline_timer_.expiry() > deadline_) {
      deadline_timer_.expires_at(deadline_);  // aborts a later pending wait
      StartDeadlineWait();
    }
  }

  void StartDeadlineWait() {
    ++deadline_waits_;
    deadline_timer_.async_wait([self = shared_from_this()](error_code ec) {
      --self->deadline_waits_;
      if (ec || self->closed_ || self->op_ == Op::kNone) return;  // nothing to time now
      if (std::chrono::steady_clock::now() < self->deadline_) {
        if (self->deadline_waits_ == 0) {
          self->deadline_timer_.expires_at(self->deadline_);
          self->StartDeadlineWait();
        }
        return;
      }
      self->OnDeadline();
    });
  }

  void OnDeadline() {
    Stamp();
    switch (op_) {
      case Op::kRead:
        idle_expired_ = true;
        CancelRead();  // OnRead -> Pump -> 421
        return;
      case Op::kWrite:
        // The client does not read; a 421 could not reach it either.
        SetEndReason("idle timeout (client not reading)");
        Close();
        return;
      case Op::kHandshake:
        // No SMTP channel to send a 421 in; RFC 8314 §5.1 wants the
        // handshake bounded like any other wait.
        HandshakeFailed(kHandshakeTimedOut);
        return;
      case Op::kFault:
        if (server_->options.verbose) Log("stall-handshake: idle timeout, closing");
        Close();
        return;
      case Op::kDelay:
        OnDelayOver();
        return;
      case Op::kTrickleGap:
        op_ = Op::kNone;
        WriteTrickle();
        return;
      case Op::kStall:
        // A hung server sends no 421.
        if (server_->options.verbose) Log("stalled: idle timeout, closing without a reply");
        Close();
        return;
      case Op::kNone:
        return;
    }
  }

  void OnSessionTimeout() {
    if (closed_) return;
    Stamp();
    session_expired_ = true;
    SetEndReason("session timeout");
    // A write in progress finishes first (bounded by the idle timer; a
    // trickled one is written out at its next byte); a pending storage is
    // answered first; a read or a delay is cut short. A STARTTLS fault has
    // no SMTP channel left for a 421, and its reads re-arm the idle timer,
    // so a trickling peer would outlive the session limit; a stall sends
    // nothing.
    switch (op_) {
      case Op::kRead:
        CancelRead();
        return;
      case Op::kDelay:
        CutDelay();
        return;
      case Op::kFault:
      case Op::kStall:
        Close();
        return;
      default:
        return;
    }
  }

  // Closes the connection (a reset one with RST); the server forgets it (for
  // Shutdown's drain) once the socket is really closed, so a close_notify is
  // not cut off by the io_context stopping.
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (server_->options.verbose) Log(reset_ ? "reset" : "closed");
    deadline_timer_.cancel();
    session_timer_.cancel();
    if (capture_ != nullptr) {
      UpdateSessionVerdict();
      server_->options.capture->Close(*capture_, NowMicros(),
                                      end_reason_.empty() ? "closed" : end_reason_);
    }
    if (reset_) {
      transport_.Reset();
      server_->Remove(this);
      return;
    }
    if (op_ == Op::kNone && transport_.tls_active()) {
      // close_notify first, so the client's TLS library sees the end as
      // clean; a client that does not take it is cut off after
      // kFinalReplyTimeout (closing the socket completes the write).
      auto self = shared_from_this();
      deadline_timer_.expires_after(kFinalReplyTimeout);
      deadline_timer_.async_wait([self](error_code ec) {
        if (!ec) self->transport_.Close();
      });
      transport_.AsyncClose([self] {
        self->deadline_timer_.cancel();
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
  Server::Impl::Receiver* receiver_;
  const ConnectionInfo info_;
  std::string peer_;  // "address:port" ("[v6]:port") for --verbose; empty without it
  const std::chrono::steady_clock::time_point accepted_at_;
  Transport transport_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer session_timer_;
  std::unique_ptr<Behaviour> behaviour_;
  const std::chrono::seconds idle_timeout_;
  const std::chrono::milliseconds per_byte_delay_;
  const std::optional<uint64_t> drop_after_data_bytes_;
  smtp::ServerSession session_;
  std::shared_ptr<CapturedSession> capture_;  // null without a capture store
  int64_t offset_us_ = 0;                     // Stamp()
  std::string write_buffer_;
  size_t trickle_at_ = 0;    // bytes of write_buffer_ written, per-byte mode
  std::string held_input_;   // drop_after_data_bytes: fed once the session wants it
  uint64_t data_bytes_ = 0;  // content octets of this message fed so far
  // drop_after_data_bytes: the command line being fed, and what is left of
  // the BDAT chunk being fed.
  std::string command_line_;
  uint64_t bdat_remaining_ = 0;
  std::optional<smtp::HelloRequest> hello_;
  // The message being answered, as the capture will keep it: its delivery
  // (with a capture) and its verdict (with an engine), set by OnMessage
  // when it makes a Delivery (a Maildir or an engine), for OnMessageAccepted.
  std::optional<CapturedMessage> pending_message_;
  // Its stored copy when that differs from what was received (the
  // Authentication-Results field prepended).
  std::optional<std::string> pending_raw_;
  uint64_t messages_accepted_ = 0;  // answered 2xx in this connection
  bool starttls_offered_ = false;   // STARTTLS in the EHLO reply (the session's config)
  SessionTlsFacts tls_facts_;       // for UpdateSessionVerdict
  bool starttls_command_ = false;   // the client sent STARTTLS
  std::string stored_name_;                   // its name in new/, once stored
  // The behaviour's accepting verdict on the message being stored, for
  // its final reply (Stored).
  smtp::Decision accepted_verdict_ = smtp::Decision::Accept();
  // The verdict given to this connection's latest message (ShareVerdict).
  std::shared_ptr<const MessageVerdict> last_verdict_;
  // A message whose tarpit delay runs before it is stored (OnMessage).
  struct Unstored {
    Delivery delivery;
    std::string message;
  };
  std::optional<Unstored> unstored_;
  std::string end_reason_;
  std::string last_note_;
  Op op_ = Op::kNone;
  std::chrono::steady_clock::time_point deadline_;
  int deadline_waits_ = 0;
  std::chrono::steady_clock::time_point delay_until_;
  std::optional<std::chrono::steady_clock::time_point> stall_deadline_;
  uint64_t plaintext_discarded_bytes_ = 0;
  // alert-after-220 / stall-handshake in progress, and what the first
  // record looked like so far.
  tls::StartTlsBehaviour fault_ = tls::StartTlsBehaviour::kOffer;
  std::string fault_record_header_;
  size_t fault_record_bytes_ = 0;
  bool fault_done_ = false;  // the alert is written; close
  bool starttls_requested_ = false;
  ReadFor read_for_ = ReadFor::kSession;
  bool read_cancelled_ = false;
  bool reading_inline_ = false;  // inside ReadNow's loop
  bool read_again_ = false;      // a reader asked for more inside it
  bool maybe_more_ = false;      // the last plain read filled its buffer
  bool judging_ = false;         // inside VerdictEngine::Evaluate (OnMessage)
  // Plain reads once the client has sent something (ReadActive).
  std::unique_ptr<char[]> active_read_buffer_;
  bool close_requested_ = false;
  bool reset_ = false;    // close with RST (CloseRequestedEvent::reset, a drop mid-DATA)
  bool delayed_ = false;  // the session holds a delayed decision
  bool ending_ = false;   // we sent (or are sending) our own final 421
  bool closed_ = false;
  bool draining_ = false;
  bool grace_over_ = false;
  bool idle_expired_ = false;
  bool session_expired_ = false;
};

}  // namespace

void Server::Impl::Accept(Listener& listener) {
  listener.acceptor.async_accept([this, &listener, alive = std::weak_ptr<const bool>(alive)](
                                     error_code ec, tcp::socket socket) {
    // Closing the acceptor (Shutdown, ~Server) completes this handler with
    // operation_aborted, perhaps after the server (this, the listener) is
    // gone: neither is looked at before we know it is still there.
    if (ec == asio::error::operation_aborted || alive.expired()) return;
    if (shutting_down || !listener.acceptor.is_open()) return;
    if (ec) {
      std::fprintf(stderr, "fakemx: accept on %s failed: %s\n",
                   FormatEndpoint(listener.options.endpoint).c_str(), ec.message().c_str());
      listener.retry.expires_after(kAcceptRetryDelay);
      listener.retry.async_wait([this, &listener, alive](error_code wait_ec) {
        if (wait_ec || alive.expired()) return;
        Accept(listener);
      });
      return;
    }
    auto connection = std::make_shared<Connection>(this, listener.receiver, std::move(socket),
                                                   listener.options.implicit_tls);
    connections.emplace(connection.get(), connection);
    ++stats.connections_accepted;
    connection->Start();
    Accept(listener);
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
  impl_->CloseAcceptors();
  // ~Impl destroys the StorageQueue, which finishes what is queued (a
  // message must not be cut off mid-write) before the Maildir goes away.
}

namespace {

absl::Status Bind(tcp::acceptor& acceptor, const tcp::endpoint& endpoint,
                  std::string_view receiver) {
  const auto fail = [&](std::string_view what, const error_code& ec) {
    return absl::UnavailableError("cannot " + std::string(what) + " " + FormatEndpoint(endpoint) +
                                  " (receiver " + std::string(receiver) + "): " + ec.message());
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
  Impl& s = *impl_;
  // Everything is checked before anything is bound: all or none.
  for (const auto& receiver : s.receivers) {
    if (receiver->options.listeners.empty()) {
      return absl::InvalidArgumentError("receiver " + receiver->options.name +
                                        " has no listener");
    }
  }
  for (const auto& listener : s.listeners) {
    if (listener->options.implicit_tls && listener->receiver->options.tls_context == nullptr) {
      return absl::FailedPreconditionError(
          "an implicit-TLS listener needs a TLS context (certificate and key): " +
          FormatEndpoint(listener->options.endpoint) + " (receiver " +
          listener->receiver->options.name + ")");
    }
  }
  for (const auto& listener : s.listeners) {
    absl::Status bound =
        Bind(listener->acceptor, listener->options.endpoint, listener->receiver->options.name);
    if (!bound.ok()) {
      s.CloseAcceptors();
      return bound;
    }
  }
  return absl::OkStatus();
}

tcp::endpoint Server::local_endpoint() const {
  const Impl::Listener* listener = impl_->FirstListener(/*implicit_tls=*/false);
  if (listener == nullptr) return impl_->options.endpoint;
  error_code ec;
  tcp::endpoint endpoint = listener->acceptor.local_endpoint(ec);
  return ec ? listener->options.endpoint : endpoint;
}

std::vector<BoundListener> Server::listeners() const {
  std::vector<BoundListener> out;
  out.reserve(impl_->listeners.size());
  for (const auto& listener : impl_->listeners) {
    error_code ec;
    tcp::endpoint endpoint = listener->acceptor.local_endpoint(ec);
    out.push_back({listener->receiver->options.name, ec ? listener->options.endpoint : endpoint,
                   listener->options.implicit_tls});
  }
  return out;
}

std::optional<tcp::endpoint> Server::smtps_local_endpoint() const {
  const Impl::Listener* listener = impl_->FirstListener(/*implicit_tls=*/true);
  if (listener == nullptr) return std::nullopt;
  error_code ec;
  tcp::endpoint endpoint = listener->acceptor.local_endpoint(ec);
  return ec ? listener->options.endpoint : endpoint;
}

void Server::Start() {
  for (const auto& listener : impl_->listeners) {
    if (listener->acceptor.is_open()) impl_->Accept(*listener);
  }
}

void Server::Shutdown(std::function<void()> done) {
  Impl& s = *impl_;
  if (s.shutting_down) return;
  s.shutting_down = true;
  s.on_drained = std::move(done);
  s.CloseAcceptors();
  for (const auto& connection : s.Snapshot()) connection->BeginDrain();
  s.grace_timer.expires_after(s.options.shutdown_grace);
  s.grace_timer.async_wait([this, alive = std::weak_ptr<const bool>(s.alive)](error_code ec) {
    if (ec || alive.expired()) return;  // cancelled, or the server is gone
    ForceClose();
  });
  s.MaybeDone();
}

void Server::ForceClose() {
  impl_->grace_over = true;
  for (const auto& connection : impl_->Snapshot()) connection->ForceClose();
}

void Server::StopAccepting() { impl_->CloseAcceptors(); }

ServerStats Server::stats() const {
  ServerStats stats = impl_->stats;
  stats.connections_open = impl_->connections.size();
  return stats;
}

}  // namespace mxkit::fakemx
