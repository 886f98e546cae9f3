#include "testing/blocking_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <string>
#include <utility>

namespace mxkit::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds Left(Clock::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

}  // namespace

BlockingClient::BlockingClient(std::string_view ipv4_address, uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  const std::string address(ipv4_address);
  connected_ = fd_ >= 0 && inet_pton(AF_INET, address.c_str(), &addr.sin_addr) == 1 &&
               connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

BlockingClient::~BlockingClient() {
  if (fd_ >= 0) close(fd_);
}

void BlockingClient::LimitReceiveBuffer(int bytes) {
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void BlockingClient::SendRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a server that already closed must fail the test, not
    // kill it with SIGPIPE.
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::string BlockingClient::ReadRawSome(milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
  char buf[16384];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n < 0) error_ = errno;
  if (n <= 0) {
    eof_ = true;
    return "";
  }
  ++reads_;
  return std::string(buf, static_cast<size_t>(n));
}

std::string BlockingClient::ReadRawUntilEof(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string all;
  while (!eof_) {
    const milliseconds left = Left(deadline);
    if (left.count() <= 0) break;
    all += ReadRawSome(left);
  }
  return all;
}

std::optional<tls::EngineError> BlockingClient::Handshake(
    const tls::ClientContextOptions& options, const tls::ClientConnectionOptions& connection,
    milliseconds timeout) {
  tls::EngineError setup;
  setup.kind = tls::EngineError::Kind::kUsage;
  auto context = tls::ClientContext::Create(options);
  if (!context.ok()) {
    setup.reason = "test: client context: " + context.status().ToString();
    return setup;
  }
  auto engine = tls::Engine::NewClient(*context, connection);
  if (!engine.ok()) {
    setup.reason = "test: client engine: " + engine.status().ToString();
    return setup;
  }
  engine_.emplace(std::move(*engine));
  Flush();
  const auto deadline = Clock::now() + timeout;
  while (engine_->state() == tls::EngineState::kHandshaking) {
    const milliseconds left = Left(deadline);
    if (left.count() <= 0) break;
    Pump(left);
    if (eof_) break;
  }
  Flush();
  if (engine_->state() == tls::EngineState::kEstablished) return std::nullopt;
  if (engine_->error()) return engine_->error();
  tls::EngineError late;
  late.reason = "test: no handshake outcome in time";
  return late;
}

bool BlockingClient::closed() const {
  return eof_ || (engine_ && (engine_->state() == tls::EngineState::kClosed ||
                              engine_->state() == tls::EngineState::kFailed));
}

void BlockingClient::Send(std::string_view bytes) {
  if (!engine_) {
    SendRaw(bytes);
    return;
  }
  // A failed write leaves nothing to send; the test's next read fails.
  if (engine_->WritePlaintext(bytes).ok()) Flush();
}

const std::string& BlockingClient::ReadUntil(const std::function<bool(std::string_view)>& done,
                                             milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done(received_) && !closed()) {
    const milliseconds left = Left(deadline);
    if (left.count() <= 0) break;
    Pump(left);
  }
  return received_;
}

std::string BlockingClient::ReadReply(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (std::optional<std::string> reply = TakeReply()) return *std::move(reply);
    const milliseconds left = Left(deadline);
    if (left.count() <= 0 || eof_) return "";
    Pump(left);
  }
}

std::string BlockingClient::Command(std::string_view line, milliseconds timeout) {
  Send(line);
  return ReadReply(timeout);
}

void BlockingClient::Pump(milliseconds timeout) {
  const std::string got = ReadRawSome(timeout);
  if (!engine_) {
    received_ += got;
    return;
  }
  if (!got.empty()) engine_->FeedCiphertext(got);
  if (eof_) engine_->FeedEof();
  received_ += engine_->TakePlaintext();
  Flush();
}

void BlockingClient::Flush() {
  if (engine_ && engine_->has_ciphertext()) SendRaw(engine_->TakeCiphertext());
}

std::optional<std::string> BlockingClient::TakeReply() {
  size_t start = 0;
  while (true) {
    const size_t end = received_.find("\r\n", start);
    if (end == std::string::npos) return std::nullopt;
    if (end - start >= 4 && received_[start + 3] == ' ') {
      std::string reply = received_.substr(0, end + 2);
      received_.erase(0, end + 2);
      return reply;
    }
    start = end + 2;
  }
}

}  // namespace mxkit::testing
