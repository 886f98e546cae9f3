#include "fakemx/server.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "base/absl_interop.h"
#include "fakemx/delivery.h"
#include "smtp/reply.h"

namespace mxkit::fakemx {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// After a failed accept (EMFILE, ENFILE, ENOBUFS) retrying at once would
// spin; Postfix's master backs off the same way.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

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


class Connection;

// Messages wait here for a storage thread. A thread takes the waiting
// messages (up to kMaxStorageBatch) at once and hands them to
// Maildir::DeliverBatch; the results go back to the io_context in one post,
// which wakes the network thread once per batch rather than per message.
class StorageQueue {
 public:
  using Done = std::function<void(absl::StatusOr<std::string>)>;
  struct Job {
    Delivery delivery;
    std::string message;
    Done done;  // runs on the io_context
  };

  StorageQueue(asio::io_context& io, Maildir* maildir, size_t threads)
      : io_(io), maildir_(maildir) {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }

  // Stores what is queued, then stops the threads.
  ~StorageQueue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  bool inline_storage() const { return threads_.empty(); }

  void Push(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  // Each fdatasync() costs a device cache flush on ext4 even when the batch
  // shares a journal commit, so flushes only overlap across threads; a small
  // batch still saves wakeups when the queue is deep (fast storage), without
  // making one message wait behind many others' flushes.
  static constexpr size_t kMaxStorageBatch = 4;

  void Work() {
    std::vector<Job> batch;
    std::vector<Maildir::DeliveryRequest> requests;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      const size_t n = std::min(kMaxStorageBatch, jobs_.size());
      batch.clear();
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(jobs_.front()));
        jobs_.pop_front();
      }
      lock.unlock();
      requests.clear();
      for (const Job& job : batch) requests.push_back({&job.delivery, job.message});
      std::vector<absl::StatusOr<std::string>> results = maildir_->DeliverBatch(requests);
      std::vector<std::pair<Done, absl::StatusOr<std::string>>> completions;
      completions.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        completions.emplace_back(std::move(batch[i].done), std::move(results[i]));
      }
      asio::post(io_, [completions = std::move(completions)]() mutable {
        for (auto& [done, result] : completions) done(std::move(result));
      });
      lock.lock();
    }
  }

  asio::io_context& io_;
  Maildir* maildir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

struct Server::Impl {
  Impl(asio::io_context& io, ServerOptions options, Maildir* maildir)
      : io(io),
        options(std::move(options)),
        maildir(maildir),
        acceptor(io),
        accept_retry(io),
        grace_timer(io),
        storage(io, maildir, this->options.storage_threads) {}

  void Accept();
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
  asio::steady_timer accept_retry;
  asio::steady_timer grace_timer;
  StorageQueue storage;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections;
  ServerStats stats;
  bool shutting_down = false;
  bool grace_over = false;
  std::function<void()> on_drained;
};

namespace {

// Drives one ServerSession over one socket. At most one socket operation
// (a read or a write) is outstanding at a time: replies are flushed before
// more input is read, which bounds what a pipelining client can make us
// buffer (RFC 2920 §3.1 lets a server do exactly this).
class Connection : public std::enable_shared_from_this<Connection>,
                   private smtp::ServerPolicy {
 public:
  Connection(Server::Impl* server, tcp::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        idle_timer_(socket_.get_executor()),
        session_timer_(socket_.get_executor()),
        session_(server->options.session, this),
        read_buffer_(new char[kReadBufferSize]) {
    error_code ec;
    const tcp::endpoint remote = socket_.remote_endpoint(ec);
    if (!ec) {
      remote_address_ = remote.address().to_string();
      remote_port_ = remote.port();
    }
    peer_ = (remote.address().is_v6() ? "[" + remote_address_ + "]" : remote_address_) + ":" +
            std::to_string(remote_port_);
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void Start() {
    if (server_->options.verbose) Log("connected");
    session_timer_.expires_after(server_->options.session_timeout);
    session_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->OnSessionTimeout();
    });
    session_.Start();
    Pump();
  }

  // Shutdown began: leave between transactions, finish the one in progress.
  void BeginDrain() {
    draining_ = true;
    if (op_ == Op::kRead && !InTransaction()) socket_.cancel();
  }

  // The grace period is over: answer 421 now unless a message is being
  // stored (its reply comes first, then the 421). A reply being written
  // (perhaps a 250) may finish, within kFinalReplyTimeout.
  void ForceClose() {
    draining_ = true;
    grace_over_ = true;
    if (op_ == Op::kRead) {
      socket_.cancel();
    } else if (op_ == Op::kWrite) {
      ArmIdleTimer(kFinalReplyTimeout);
    }
  }

 private:
  enum class Op { kNone, kRead, kWrite };

  // ---- smtp::ServerPolicy ---------------------------------------------------

  smtp::Decision OnHello(const smtp::HelloRequest& hello) override {
    hello_ = hello;
    return smtp::Decision::Accept();
  }

  // The 250 waits for the Maildir: the session holds the reply while a
  // storage thread writes, fsyncs and renames, then OnStored answers.
  smtp::Decision OnMessage(const smtp::Envelope& envelope, std::string_view message) override {
    Delivery delivery;
    delivery.received_at_us = NowMicros();
    delivery.client_address = remote_address_;
    delivery.client_port = remote_port_;
    delivery.server_hostname = server_->options.session.hostname;
    if (hello_) {
      delivery.esmtp = hello_->extended;
      delivery.helo = hello_->domain;
    }
    delivery.tls = session_.tls_active();
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
                 remote_address_.c_str(), base::StatusText(result.status()).c_str());
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
        // STARTTLS is not offered yet (no TLS in this server); a session
        // that asks for it anyway cannot continue in plaintext.
        close_requested_ = true;
      }
    }
  }

  void Pump() {
    if (closed_ || op_ != Op::kNone) return;
    // A pending decision (a message being stored) is answered first; OnStored
    // pumps again.
    if (session_.state() != smtp::ServerState::kAwaitingDecision) {
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
      StartWrite(session_.TakeOutput(),
                 ending_ ? kFinalReplyTimeout : server_->options.idle_timeout);
      return;
    }
    if (close_requested_ || session_.state() == smtp::ServerState::kClosed ||
        session_.state() == smtp::ServerState::kAwaitingTls) {
      Close();
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
    ArmIdleTimer(server_->options.idle_timeout);
    socket_.async_read_some(asio::buffer(read_buffer_.get(), kReadBufferSize),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->OnRead(ec, n);
                            });
  }

  void OnRead(error_code ec, size_t n) {
    op_ = Op::kNone;
    DisarmIdleTimer();
    if (closed_) return;
    if (ec == asio::error::operation_aborted || idle_expired_ || session_expired_) {
      // Cancelled by a timer or by shutdown; Pump sends the 421. Bytes that
      // arrived in the same instant are dropped unprocessed.
      Pump();
      return;
    }
    if (ec) {  // EOF, reset: nothing to answer
      Close();
      return;
    }
    if (draining_ && (grace_over_ || !InTransaction())) {
      Pump();
      return;
    }
    session_.Feed(std::string_view(read_buffer_.get(), n));
    Pump();
  }

  void StartWrite(std::string bytes, std::chrono::steady_clock::duration timeout) {
    op_ = Op::kWrite;
    write_buffer_ = std::move(bytes);
    if (server_->options.verbose) LogReplies(write_buffer_);
    ArmIdleTimer(timeout);
    asio::async_write(socket_, asio::buffer(write_buffer_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->op_ = Op::kNone;
                        self->DisarmIdleTimer();
                        if (ec) {
                          self->Close();
                        } else {
                          self->Pump();
                        }
                      });
  }

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
    if (op_ == Op::kRead) {
      idle_expired_ = true;
      socket_.cancel();  // OnRead -> Pump -> 421
    } else if (op_ == Op::kWrite) {
      Close();  // the client does not read; a 421 could not reach it either
    }
  }

  void OnSessionTimeout() {
    if (closed_) return;
    session_expired_ = true;
    // A write in progress finishes first (bounded by the idle timer); a
    // pending storage is answered first; a read is cut short.
    if (op_ == Op::kRead) socket_.cancel();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (server_->options.verbose) Log("closed");
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    idle_timer_.cancel();
    session_timer_.cancel();
    server_->Remove(this);
  }

  Server::Impl* server_;
  tcp::socket socket_;
  asio::steady_timer idle_timer_;
  asio::steady_timer session_timer_;
  smtp::ServerSession session_;
  std::unique_ptr<char[]> read_buffer_;
  std::string write_buffer_;
  std::string remote_address_;
  uint16_t remote_port_ = 0;
  std::optional<smtp::HelloRequest> hello_;
  Op op_ = Op::kNone;
  std::chrono::steady_clock::time_point idle_deadline_;
  int idle_waits_ = 0;
  std::string peer_;  // "address:port" for --verbose
  bool close_requested_ = false;
  bool ending_ = false;  // we sent (or are sending) our own final 421
  bool closed_ = false;
  bool draining_ = false;
  bool grace_over_ = false;
  bool idle_expired_ = false;
  bool session_expired_ = false;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (shutting_down || !acceptor.is_open()) return;
    if (ec) {
      std::fprintf(stderr, "fakemx: accept failed: %s\n", ec.message().c_str());
      accept_retry.expires_after(kAcceptRetryDelay);
      accept_retry.async_wait([this](error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    auto connection = std::make_shared<Connection>(this, std::move(socket));
    connections.emplace(connection.get(), connection);
    ++stats.connections_accepted;
    connection->Start();
    Accept();
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
  // ~Impl destroys the StorageQueue, which finishes what is queued (a
  // message must not be cut off mid-write) before the Maildir goes away.
}

absl::Status Server::Listen() {
  const tcp::endpoint& endpoint = impl_->options.endpoint;
  const auto fail = [&](std::string_view what, const error_code& ec) {
    return absl::UnavailableError("cannot " + std::string(what) + " " +
                                  endpoint.address().to_string() + ":" +
                                  std::to_string(endpoint.port()) + ": " + ec.message());
  };
  error_code ec;
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for", ec);
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on", ec);
  impl_->acceptor.bind(endpoint, ec);
  if (ec) return fail("bind", ec);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on", ec);
  return absl::OkStatus();
}

tcp::endpoint Server::local_endpoint() const {
  error_code ec;
  tcp::endpoint endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.endpoint : endpoint;
}

void Server::Start() { impl_->Accept(); }

void Server::Shutdown(std::function<void()> done) {
  Impl& s = *impl_;
  if (s.shutting_down) return;
  s.shutting_down = true;
  s.on_drained = std::move(done);
  error_code ignored;
  s.acceptor.close(ignored);
  s.accept_retry.cancel();
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
