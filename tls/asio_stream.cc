#include "tls/asio_stream.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace mxkit::tls {
namespace {

// One TLS record's worth (RFC 8446 §5.1: 2^14 plaintext plus at most 256
// bytes of expansion) per socket read; memory per connection stays at this
// plus whatever the caller has not read yet.
constexpr size_t kSocketReadSize = 16384 + 256;

using boost::system::error_code;

}  // namespace

struct AsioTlsStream::State {
  // Socket writes: `in_flight` is being written, write_buffer_ waits behind it.
  std::string in_flight;
  bool writing = false;
  uint64_t queued_total = 0;   // bytes ever queued
  uint64_t written_total = 0;  // bytes the socket accepted
  error_code write_error;      // sticky: once the socket failed, it stays failed
  // A WriteHandler completes once written_total reaches its mark.
  std::deque<std::pair<uint64_t, WriteHandler>> waiters;

  HandshakeHandler handshake_done;
  // The pending AsyncReadSome.
  char* read_data = nullptr;
  size_t read_size = 0;
  ReadHandler read_done;
  bool read_cancelled = false;  // CancelRead() came while read_done was pending
};

AsioTlsStream::AsioTlsStream(boost::asio::ip::tcp::socket& socket, Engine engine)
    : socket_(socket), engine_(std::move(engine)), state_(std::make_unique<State>()) {}

AsioTlsStream::~AsioTlsStream() = default;

void AsioTlsStream::Flush(WriteHandler done) {
  State& s = *state_;
  std::string more = engine_.TakeCiphertext();
  s.queued_total += more.size();
  write_buffer_ += more;
  if (s.write_error) {
    if (done) boost::asio::post(socket_.get_executor(), [done, ec = s.write_error] { done(ec); });
    return;
  }
  if (!s.writing && write_buffer_.empty()) {
    if (done) boost::asio::post(socket_.get_executor(), [done] { done(error_code()); });
    return;
  }
  if (done) s.waiters.emplace_back(s.queued_total, std::move(done));
  StartSocketWrite();
}

void AsioTlsStream::StartSocketWrite() {
  State& s = *state_;
  if (s.writing || write_buffer_.empty()) return;
  s.in_flight = std::exchange(write_buffer_, std::string());
  s.writing = true;
  boost::asio::async_write(
      socket_, boost::asio::buffer(s.in_flight), [this](error_code ec, size_t n) {
        State& s = *state_;
        s.writing = false;
        s.written_total += n;
        if (ec) s.write_error = ec;
        // Handlers may start new writes; take the finished ones out first.
        std::deque<WriteHandler> ready;
        while (!s.waiters.empty() && (ec || s.waiters.front().first <= s.written_total)) {
          ready.push_back(std::move(s.waiters.front().second));
          s.waiters.pop_front();
        }
        if (!ec) StartSocketWrite();
        for (WriteHandler& h : ready) h(ec);
      });
}

void AsioTlsStream::AsyncHandshake(HandshakeHandler done) {
  state_->handshake_done = std::move(done);
  // Start from the executor so `done` never runs inside this call.
  boost::asio::post(socket_.get_executor(), [this] { HandshakeStep(); });
}

void AsioTlsStream::HandshakeStep() {
  // Send whatever the engine produced (a flight, or the alert of a failure)
  // before deciding: a failed handshake's alert goes out before `done`.
  Flush([this](error_code ec) {
    const EngineState state = engine_.state();
    if (state == EngineState::kEstablished || state == EngineState::kClosed ||
        state == EngineState::kFailed || ec) {
      HandshakeHandler done = std::exchange(state_->handshake_done, nullptr);
      if (state == EngineState::kFailed) {
        done(engine_.error());
      } else if (ec) {
        EngineError e;
        e.kind = EngineError::Kind::kTruncated;
        e.reason = ec.message();
        done(e);
      } else {
        // kClosed here means the peer finished the handshake and closed at
        // once; the reader will see EOF.
        done(std::nullopt);
      }
      return;
    }
    read_buffer_.resize(kSocketReadSize);
    socket_.async_read_some(
        boost::asio::buffer(read_buffer_), [this](error_code ec, size_t n) {
          if (ec) {
            engine_.FeedEof();
            EngineError e;
            e.kind = EngineError::Kind::kTruncated;
            e.reason = ec.message();
            std::exchange(state_->handshake_done, nullptr)(e);
            return;
          }
          engine_.FeedCiphertext(std::string_view(read_buffer_.data(), n));
          // Application data may share a read with the last handshake flight.
          pending_plaintext_ += engine_.TakePlaintext();
          HandshakeStep();
        });
  });
}

void AsioTlsStream::AsyncReadSome(char* data, size_t size, ReadHandler done) {
  State& s = *state_;
  s.read_data = data;
  s.read_size = size;
  s.read_done = std::move(done);
  boost::asio::post(socket_.get_executor(), [this] { ReadCiphertext(); });
}

void AsioTlsStream::CancelRead() {
  if (!state_->read_done) return;
  state_->read_cancelled = true;
  error_code ignored;
  socket_.cancel(ignored);
}

void AsioTlsStream::ReadCiphertext() {
  State& s = *state_;
  if (std::exchange(s.read_cancelled, false)) {
    std::exchange(s.read_done, nullptr)(boost::asio::error::operation_aborted, 0);
    return;
  }
  pending_plaintext_ += engine_.TakePlaintext();
  if (!pending_plaintext_.empty() || s.read_size == 0) {
    const size_t n = std::min(s.read_size, pending_plaintext_.size());
    if (n > 0) std::memcpy(s.read_data, pending_plaintext_.data(), n);
    pending_plaintext_.erase(0, n);
    std::exchange(s.read_done, nullptr)(error_code(), n);
    return;
  }
  switch (engine_.state()) {
    case EngineState::kHandshaking:
      std::exchange(s.read_done, nullptr)(boost::asio::error::not_connected, 0);
      return;
    case EngineState::kClosed:
      std::exchange(s.read_done, nullptr)(boost::asio::error::eof, 0);
      return;
    case EngineState::kFailed:
      std::exchange(s.read_done, nullptr)(boost::asio::error::connection_aborted, 0);
      return;
    case EngineState::kEstablished:
      break;
  }
  read_buffer_.resize(kSocketReadSize);
  socket_.async_read_some(boost::asio::buffer(read_buffer_), [this](error_code ec, size_t n) {
    State& s = *state_;
    if (ec == boost::asio::error::eof) {
      engine_.FeedEof();  // kClosed; a truncation is recorded in error()
    } else if (ec) {
      s.read_cancelled = false;  // the socket's own abort answers the cancel
      std::exchange(s.read_done, nullptr)(ec, 0);
      return;
    } else {
      engine_.FeedCiphertext(std::string_view(read_buffer_.data(), n));
    }
    // A failure queues an alert, TLS 1.3 may answer a KeyUpdate: send it,
    // best effort, through the write queue.
    if (engine_.has_ciphertext()) Flush(nullptr);
    ReadCiphertext();
  });
}

void AsioTlsStream::AsyncWrite(std::string_view plaintext, WriteHandler done) {
  const absl::Status status = engine_.WritePlaintext(plaintext);
  if (!status.ok()) {
    error_code ec;
    switch (engine_.state()) {
      case EngineState::kHandshaking: ec = boost::asio::error::not_connected; break;
      case EngineState::kClosed: ec = boost::asio::error::shut_down; break;
      default: ec = boost::asio::error::connection_aborted; break;
    }
    boost::asio::post(socket_.get_executor(), [done = std::move(done), ec] { done(ec); });
    return;
  }
  Flush(std::move(done));
}

void AsioTlsStream::AsyncShutdown(WriteHandler done) {
  engine_.Close();
  Flush(std::move(done));
}

}  // namespace mxkit::tls
