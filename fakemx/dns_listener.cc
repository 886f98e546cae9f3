#include "fakemx/dns_listener.h"

#include <array>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "dns/message.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

// RFC 768: a UDP payload is at most 65507 octets over IPv4 (65527 over
// IPv6); a buffer of the TCP maximum holds either.
constexpr size_t kUdpReceiveBuffer = dns::kMaxDnsMessageSize;
// Datagrams answered per readiness wake-up before yielding to the other
// handlers on the io_context (TCP connections, timers): draining the socket
// saves a reactor round trip per query under load.
constexpr int kUdpBurst = 64;
// Bytes read from a TCP connection at once.
constexpr size_t kTcpReadChunk = 16 * 1024;

std::string Endpoint(const asio::ip::address& address, uint16_t port) {
  if (address.is_v6()) return absl::StrCat("[", address.to_string(), "]:", port);
  return absl::StrCat(address.to_string(), ":", port);
}

absl::Status BindError(std::string_view protocol, const asio::ip::address& address,
                       uint16_t port, const error_code& ec) {
  std::string message = absl::StrCat("cannot listen for DNS on ", base::Av(protocol), " ",
                                     Endpoint(address, port), ": ", ec.message());
  if (ec == asio::error::address_in_use) return absl::UnavailableError(message);
  return absl::InvalidArgumentError(message);
}

}  // namespace

struct DnsListener::Impl : std::enable_shared_from_this<DnsListener::Impl> {
  class Connection;

  Impl(asio::io_context& io, dns::AuthoritativeResponder responder, DnsListenerOptions options)
      : io(io),
        responder(std::move(responder)),
        options(options),
        udp_socket(io),
        acceptor(io) {}

  asio::io_context& io;
  const dns::AuthoritativeResponder responder;
  const DnsListenerOptions options;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  bool stopped = false;
  DnsListenerStats stats;
  std::string udp_in = std::string(kUdpReceiveBuffer, '\0');
  std::string udp_out;
  absl::flat_hash_set<std::shared_ptr<Connection>> connections;

  absl::Status Bind();
  void WaitUdp();
  void DrainUdp();
  void Accept();
  void Stop();
};

class DnsListener::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Impl> owner, tcp::socket socket)
      : owner_(std::move(owner)), socket_(std::move(socket)), timer_(owner_->io) {}

  void Start() {
    ArmIdleTimer();
    Read();
  }

  void Close() {
    error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // Restarted only when a whole message has arrived: bytes trickling in
  // one at a time do not keep a half-read message alive.
  void ArmIdleTimer() {
    timer_.expires_after(owner_->options.tcp_idle_timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->owner_->stopped) return;
      ++self->owner_->stats.tcp_timeouts;
      self->Finish();
    });
  }

  void Read() {
    size_t used = in_.size();
    in_.resize(used + kTcpReadChunk);
    socket_.async_read_some(
        asio::buffer(in_.data() + used, kTcpReadChunk),
        [self = shared_from_this(), used](const error_code& ec, size_t n) {
          self->in_.resize(used + n);
          if (ec || self->owner_->stopped) {
            self->Finish();
            return;
          }
          self->Process();
        });
  }

  // Answers every complete message in the buffer, in order (RFC 7766 §7:
  // in order is always allowed), then writes the answers and reads on.
  void Process() {
    size_t pos = 0;
    bool answered_any = false;
    while (in_.size() - pos >= 2) {
      size_t length = static_cast<uint8_t>(in_[pos]) << 8 | static_cast<uint8_t>(in_[pos + 1]);
      if (in_.size() - pos - 2 < length) break;
      std::string_view query(in_.data() + pos + 2, length);
      pos += 2 + length;
      answered_any = true;
      ++owner_->stats.tcp_queries;
      if (!owner_->responder.Respond(query, dns::QueryTransport::kTcp, scratch_)) {
        // A timeout fault: nothing for this query; the connection stays
        // open until the idle timeout, as a stuck server's would.
        ++owner_->stats.unanswered;
        continue;
      }
      out_.push_back(static_cast<char>(scratch_.size() >> 8));
      out_.push_back(static_cast<char>(scratch_.size() & 0xff));
      out_.append(scratch_);
    }
    in_.erase(0, pos);
    if (answered_any) ArmIdleTimer();
    if (out_.empty()) {
      Read();
      return;
    }
    // Reading pauses while answers are written, so a client that sends
    // without reading cannot make us buffer without bound.
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const error_code& ec, size_t) {
                        self->out_.clear();
                        if (ec || self->owner_->stopped) {
                          self->Finish();
                          return;
                        }
                        self->Read();
                      });
  }

  void Finish() {
    Close();
    owner_->connections.erase(shared_from_this());
  }

  std::shared_ptr<Impl> owner_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string in_;
  std::string out_;
  std::string scratch_;
};

absl::Status DnsListener::Impl::Bind() {
  const asio::ip::address& address = options.address;
  const udp::endpoint udp_at(address, options.port);
  error_code ec;
  for (int attempt = 1;; ++attempt) {
    error_code ignored;
    udp_socket.close(ignored);
    acceptor.close(ignored);
    udp_socket.open(udp_at.protocol(), ec);
    if (!ec) udp_socket.bind(udp_at, ec);
    if (ec) return BindError("udp", address, options.port, ec);
    const uint16_t port = udp_socket.local_endpoint().port();
    const tcp::endpoint tcp_at(address, port);
    acceptor.open(tcp_at.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(tcp_at, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) break;
    // Only a port the kernel chose may be given up for another.
    if (options.port != 0 || ec != asio::error::address_in_use || attempt >= kDnsBindAttempts) {
      udp_socket.close(ignored);
      return BindError("tcp", address, port, ec);
    }
  }
  udp_socket.non_blocking(true, ec);
  if (ec) return BindError("udp", address, options.port, ec);
  return absl::OkStatus();
}

void DnsListener::Impl::WaitUdp() {
  udp_socket.async_wait(udp::socket::wait_read, [self = shared_from_this()](const error_code& ec) {
    if (ec || self->stopped) return;
    self->DrainUdp();
  });
}

void DnsListener::Impl::DrainUdp() {
  udp::endpoint peer;
  for (int i = 0; i < kUdpBurst; ++i) {
    error_code ec;
    size_t n = udp_socket.receive_from(asio::buffer(udp_in), peer, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    // ICMP port unreachable from an earlier answer surfaces here on Linux
    // as connection_refused: not this socket's failure, keep serving.
    if (ec) continue;
    ++stats.udp_queries;
    if (!responder.Respond(std::string_view(udp_in.data(), n), dns::QueryTransport::kUdp,
                           udp_out)) {
      ++stats.unanswered;
      continue;
    }
    udp_socket.send_to(asio::buffer(udp_out), peer, 0, ec);
    if (ec) ++stats.udp_send_failures;
  }
  WaitUdp();
}

void DnsListener::Impl::Accept() {
  acceptor.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    if (self->stopped) return;
    if (!ec) {
      if (self->connections.size() >= self->options.max_tcp_connections) {
        // RFC 7766 §6.1 lets a server close connections it cannot serve.
        ++self->stats.tcp_connections_refused;
        error_code ignored;
        socket.close(ignored);
      } else {
        auto connection = std::make_shared<Connection>(self, std::move(socket));
        self->connections.insert(connection);
        connection->Start();
      }
    }
    // Accept errors (EMFILE, a reset before accept) are the peer's or
    // transient; keep listening.
    self->Accept();
  });
}

void DnsListener::Impl::Stop() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  udp_socket.close(ignored);
  acceptor.close(ignored);
  auto open = std::move(connections);
  connections.clear();
  for (const std::shared_ptr<Connection>& connection : open) connection->Close();
}

absl::StatusOr<std::unique_ptr<DnsListener>> DnsListener::Listen(
    asio::io_context& io, dns::AuthoritativeResponder responder, DnsListenerOptions options) {
  auto impl = std::make_shared<Impl>(io, std::move(responder), options);
  if (absl::Status bound = impl->Bind(); !bound.ok()) return bound;
  impl->WaitUdp();
  impl->Accept();
  return std::unique_ptr<DnsListener>(new DnsListener(std::move(impl)));
}

DnsListener::DnsListener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsListener::~DnsListener() { impl_->Stop(); }

udp::endpoint DnsListener::udp_endpoint() const {
  error_code ec;
  udp::endpoint at = impl_->udp_socket.local_endpoint(ec);
  return ec ? udp::endpoint(impl_->options.address, impl_->options.port) : at;
}

tcp::endpoint DnsListener::tcp_endpoint() const {
  error_code ec;
  tcp::endpoint at = impl_->acceptor.local_endpoint(ec);
  return ec ? tcp::endpoint(impl_->options.address, impl_->options.port) : at;
}

void DnsListener::Stop() { impl_->Stop(); }

DnsListenerStats DnsListener::stats() const { return impl_->stats; }

}  // namespace mxkit::fakemx
