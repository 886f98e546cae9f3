#include "testing/smtp_client_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mxkit::testing {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status Errno(std::string_view what) {
  return absl::UnavailableError(std::string(what) + ": " + std::strerror(errno));
}

// One connection: plaintext until the engine exists, ciphertext after.
class Runner {
 public:
  Runner(int fd, SmtpClientRunOptions options)
      : fd_(fd), options_(std::move(options)), session_(options_.session) {}

  absl::StatusOr<SmtpClientRun> Run() {
    if (options_.implicit_tls) {
      if (absl::Status s = StartTls(); !s.ok()) return s;
      if (absl::Status s = Handshake(); !s.ok()) return s;
      if (!run_.tls_established) return Finish();
    }
    for (smtp::OutgoingMessage& m : options_.messages) session_.AddTransaction(std::move(m));
    session_.Quit();
    while (!session_.done()) {
      if (absl::Status s = Flush(); !s.ok()) return s;
      if (absl::Status s = Events(); !s.ok()) return s;
      if (session_.done() || stop_) break;
      if (session_.has_output()) continue;
      std::string bytes;
      absl::StatusOr<bool> open = ReadPlaintext(&bytes);
      if (!open.ok()) return open.status();
      if (!*open) {
        session_.OnConnectionClosed();
        if (absl::Status s = Events(); !s.ok()) return s;
        break;
      }
      session_.Feed(bytes);
    }
    if (absl::Status s = Flush(); !s.ok() && session_.outcome() != smtp::SessionOutcome::kCompleted) {
      return s;
    }
    return Finish();
  }

 private:
  absl::StatusOr<SmtpClientRun> Finish() {
    // A failed handshake ends the connection under the session's feet: tell
    // it, so the outcome says so instead of "in progress".
    if (run_.tls_error && !session_.done()) session_.OnConnectionClosed();
    run_.outcome = session_.outcome();
    run_.results = session_.results();
    return std::move(run_);
  }

  absl::Status Events() {
    while (std::optional<smtp::ClientEvent> event = session_.NextEvent()) {
      if (auto* reply = std::get_if<smtp::ReplyEvent>(&*event)) {
        run_.replies.push_back(*reply);
      } else if (auto* injected = std::get_if<smtp::ResponseInjectionEvent>(&*event)) {
        run_.injected_reply_bytes += injected->bytes;
      } else if (auto* complete = std::get_if<smtp::SessionCompleteEvent>(&*event)) {
        run_.detail = complete->detail;
      } else if (std::holds_alternative<smtp::StartTlsEvent>(*event)) {
        if (absl::Status s = Flush(); !s.ok()) return s;
        if (absl::Status s = StartTls(); !s.ok()) return s;
        if (absl::Status s = Handshake(); !s.ok()) return s;
        if (!run_.tls_established) {
          stop_ = true;  // nothing more can be said in the clear (RFC 3207 §4)
          return absl::OkStatus();
        }
        session_.OnTlsEstablished();
      }
    }
    return absl::OkStatus();
  }

  absl::Status StartTls() {
    if (!options_.tls_context) {
      return absl::FailedPreconditionError("the server accepted STARTTLS but no tls_context was given");
    }
    absl::StatusOr<tls::Engine> engine =
        tls::Engine::NewClient(options_.tls_context, options_.tls_connection);
    if (!engine.ok()) return engine.status();
    engine_.emplace(std::move(*engine));
    return absl::OkStatus();
  }

  // Runs the handshake to its end; a TLS failure is an outcome, not an error.
  absl::Status Handshake() {
    while (engine_->state() == tls::EngineState::kHandshaking) {
      if (absl::Status s = SendCiphertext(); !s.ok()) return s;
      if (engine_->state() != tls::EngineState::kHandshaking) break;
      char buf[16 * 1024];
      absl::StatusOr<size_t> n = ReadRaw(buf, sizeof(buf), "the TLS handshake");
      if (!n.ok()) return n.status();
      if (*n == 0) {
        engine_->FeedEof();
      } else {
        engine_->FeedCiphertext(std::string_view(buf, *n));
      }
    }
    // The engine's last flight (client Finished, or an alert) still goes out.
    if (absl::Status s = SendCiphertext(); !s.ok() && engine_->state() == tls::EngineState::kEstablished) {
      return s;
    }
    if (engine_->state() == tls::EngineState::kEstablished) {
      run_.tls_established = true;
      run_.tls_info = engine_->info();
    } else {
      run_.tls_error = engine_->error();
      run_.outcome = smtp::SessionOutcome::kConnectionClosed;
    }
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (!session_.has_output()) return absl::OkStatus();
    std::string out = session_.TakeOutput();
    if (engine_) {
      if (absl::Status s = engine_->WritePlaintext(out); !s.ok()) return s;
      return SendCiphertext();
    }
    return WriteRaw(out);
  }

  absl::Status SendCiphertext() {
    if (!engine_ || !engine_->has_ciphertext()) return absl::OkStatus();
    return WriteRaw(engine_->TakeCiphertext());
  }

  // Bounded like a read: a server that stops reading (a tarpit, a stalled
  // handshake) ends the run with an error after `timeout`, not a hang.
  absl::Status WriteRaw(std::string_view bytes) {
    const int ms = static_cast<int>(options_.timeout.count());
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Errno("send");
      pollfd p{fd_, POLLOUT, 0};
      const int ready = ::poll(&p, 1, ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Errno("poll");
      if (ready == 0) {
        return absl::DeadlineExceededError("the server took no bytes within " +
                                           std::to_string(ms) + " ms");
      }
    }
    return absl::OkStatus();
  }

  // 0 = EOF. Tries the socket first and polls only when nothing is there
  // yet: a poll() before every recv() doubled the client's syscalls, which
  // the STARTTLS benchmark measures.
  absl::StatusOr<size_t> ReadRaw(char* buf, size_t size, std::string_view waiting_for) {
    const int ms = static_cast<int>(options_.timeout.count());
    while (true) {
      const ssize_t n = ::recv(fd_, buf, size, MSG_DONTWAIT);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == ECONNRESET) return size_t{0};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return Errno("recv");
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Errno("poll");
      if (ready == 0) {
        return absl::DeadlineExceededError("no bytes from the server within " +
                                           std::to_string(ms) + " ms during " +
                                           std::string(waiting_for));
      }
    }
  }

  // Plaintext from the server: false at EOF (or close_notify).
  absl::StatusOr<bool> ReadPlaintext(std::string* out) {
    while (true) {
      if (engine_ && engine_->has_plaintext()) {
        *out = engine_->TakePlaintext();
        return true;
      }
      if (engine_ && engine_->state() != tls::EngineState::kEstablished) return false;
      char buf[16 * 1024];
      absl::StatusOr<size_t> n = ReadRaw(buf, sizeof(buf), "a reply");
      if (!n.ok()) return n.status();
      if (!engine_) {
        if (*n == 0) return false;
        out->assign(buf, *n);
        return true;
      }
      if (*n == 0) {
        engine_->FeedEof();
      } else {
        engine_->FeedCiphertext(std::string_view(buf, *n));
      }
      if (absl::Status s = SendCiphertext(); !s.ok()) return s;
    }
  }

  int fd_;
  SmtpClientRunOptions options_;
  smtp::ClientSession session_;
  std::optional<tls::Engine> engine_;
  SmtpClientRun run_;
  bool stop_ = false;
};

}  // namespace

absl::StatusOr<SmtpClientRun> RunSmtpClient(int fd, SmtpClientRunOptions options) {
  return Runner(fd, std::move(options)).Run();
}

absl::StatusOr<int> ConnectLoopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status s = Errno("connect to 127.0.0.1:" + std::to_string(port));
    ::close(fd);
    return s;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace mxkit::testing
