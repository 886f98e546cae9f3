#include "fakemx/dns_listener.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "dns/message.h"
#include "dns/tcp_framer.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

// RFC 768: a UDP payload is at most 65507 octets over IPv4 (65527 over
// IPv6); a buffer of the TCP maximum holds either.
constexpr size_t kUdpReceiveBuffer = dns::kMaxDnsMessageSize;
// Datagrams taken per recvmmsg(2) and answered per sendmmsg(2): under load
// one system call each way serves a batch, as NSD does.
constexpr size_t kUdpBatch = 16;
// Batches answered per readiness wake-up before yielding to the other
// handlers on the io_context (TCP connections, timers).
constexpr int kUdpBatchesPerWakeup = 8;
// Bytes read from a TCP connection at once.
constexpr size_t kTcpReadChunk = 16 * 1024;
// After an accept error (EMFILE, ENFILE, ENOBUFS) the listening socket stays
// readable; accepting again at once would spin. NGINX and mta_sts_host wait.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
// After a receive error that is ours (ENOMEM, ENOBUFS), not a peer's, the
// datagram stays queued and the socket readable: wait before reading again.
constexpr std::chrono::milliseconds kUdpRetryDelay{50};
// The mDNS port (RFC 6762 §3); avahi-daemon holds UDP 0.0.0.0:5353 on most
// desktops, which makes fakemx's default --dns=127.0.0.1:5353 fail.
constexpr uint16_t kMdnsPort = 5353;
// RFC 1035 §4.1.1: QR, the high bit of the header's third octet.
constexpr uint8_t kQrBit = 0x80;

std::string Endpoint(const asio::ip::address& address, uint16_t port) {
  if (address.is_v6()) return absl::StrCat("[", address.to_string(), "]:", port);
  return absl::StrCat(address.to_string(), ":", port);
}

absl::Status BindError(std::string_view protocol, const asio::ip::address& address,
                       uint16_t port, const error_code& ec) {
  std::string message = absl::StrCat("cannot listen for DNS on ", base::Av(protocol), " ",
                                     Endpoint(address, port), ": ", ec.message());
  if (ec == asio::error::address_in_use && port == kMdnsPort && protocol == "udp") {
    // Deliberately no SO_REUSEADDR on UDP: two fakemx would then share the
    // port and the kernel would hand each query to one of them.
    absl::StrAppend(&message, " (", kMdnsPort,
                    " is the mDNS port, RFC 6762: avahi-daemon or another mDNS responder is "
                    "the likely holder)");
  }
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
        acceptor(io),
        accept_retry(io),
        udp_retry(io) {}

  asio::io_context& io;
  dns::AuthoritativeResponder responder;  // replaced by SetResponder
  const DnsListenerOptions options;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  asio::steady_timer udp_retry;
  bool stopped = false;
  DnsListenerStats stats;
  // One receive buffer, answer and address per batch slot.
  struct UdpSlot {
    std::string in = std::string(kUdpReceiveBuffer, '\0');
    std::string out;
    sockaddr_storage peer{};
    iovec in_iov{}, out_iov{};
  };
  std::array<UdpSlot, kUdpBatch> udp_slots;
  std::array<mmsghdr, kUdpBatch> udp_received{};
  std::array<mmsghdr, kUdpBatch> udp_answers{};
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
    ArmIdleTimer(owner_->options.tcp_idle_timeout);
    Read();
  }

  void Close() {
    error_code ignored;
    ++timer_generation_;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  // Restarted only when a whole message has arrived: bytes trickling in
  // one at a time do not keep a half-read message alive.
  void ArmIdleTimer(std::chrono::milliseconds timeout) {
    // A wait that expired while its handler was queued cannot be cancelled
    // any more (expires_after cancels only a pending wait); without the
    // generation that stale handler would close a connection that has just
    // been answered and re-armed, and the client would see EOF.
    const uint64_t generation = ++timer_generation_;
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this(), generation](const error_code& ec) {
      if (ec || self->owner_->stopped || generation != self->timer_generation_) return;
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
    bool malformed = false;
    for (;;) {
      const dns::TcpFrame frame = dns::NextTcpFrame(std::string_view(in_).substr(pos));
      if (frame.status == dns::TcpFrameStatus::kNeedMore) break;
      if (frame.status == dns::TcpFrameStatus::kMalformed) {
        // Shorter than a header, zero included: not DNS, and nothing to
        // answer with (no id). RFC 7766 §6.2.4 lets the server close rather
        // than hold the connection until the idle timeout. The answers to
        // the messages before it are still written first.
        ++owner_->stats.tcp_malformed;
        malformed = true;
        break;
      }
      pos += frame.consumed;
      answered_any = true;
      ++owner_->stats.tcp_queries;
      if (!owner_->responder.Respond(frame.message, dns::QueryTransport::kTcp, scratch_)) {
        // A timeout fault (or a response, QR set, which asks nothing):
        // nothing is sent. A query so left keeps the connection open, as a
        // stuck server's would, until kDnsTcpUnansweredHold.
        ++owner_->stats.unanswered;
        if ((static_cast<uint8_t>(frame.message[2]) & kQrBit) == 0) ++unanswered_;
        continue;
      }
      out_.push_back(static_cast<char>(scratch_.size() >> 8));
      out_.push_back(static_cast<char>(scratch_.size() & 0xff));
      out_.append(scratch_);
    }
    in_.erase(0, pos);
    if (malformed) in_.clear();
    if (answered_any && !malformed) {
      // Not idle while a query waits for an answer (RFC 7766 §3).
      ArmIdleTimer(unanswered_ == 0
                       ? owner_->options.tcp_idle_timeout
                       : std::max(owner_->options.tcp_idle_timeout, kDnsTcpUnansweredHold));
    }
    if (out_.empty()) {
      if (malformed) {
        Finish();
      } else {
        Read();
      }
      return;
    }
    // Reading pauses while answers are written, so a client that sends
    // without reading cannot make us buffer without bound.
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this(), malformed](const error_code& ec, size_t) {
                        self->out_.clear();
                        if (ec || self->owner_->stopped || malformed) {
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
  uint64_t timer_generation_ = 0;
  // Queries on this connection a timeout fault left unanswered; they are
  // never answered, so the connection is never idle again.
  uint64_t unanswered_ = 0;
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
  const int fd = udp_socket.native_handle();
  for (int batch = 0; batch < kUdpBatchesPerWakeup; ++batch) {
    for (size_t i = 0; i < kUdpBatch; ++i) {
      UdpSlot& slot = udp_slots[i];
      slot.in_iov = {slot.in.data(), slot.in.size()};
      msghdr& h = udp_received[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &slot.peer;
      h.msg_namelen = sizeof(slot.peer);
      h.msg_iov = &slot.in_iov;
      h.msg_iovlen = 1;
    }
    const int received = recvmmsg(fd, udp_received.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
    if (received < 0) {
      const int error = errno;
      // EAGAIN: drained. ECONNREFUSED (ICMP port unreachable from an earlier
      // answer, which Linux reports on this socket and then clears) is a
      // peer's error; EINTR is nobody's. Wait for the next datagram.
      if (error == EAGAIN || error == EWOULDBLOCK || error == ECONNREFUSED || error == EINTR) {
        break;
      }
      // ENOMEM, ENOBUFS and the like leave the datagram queued and the
      // socket readable: waiting for readiness again would spin.
      ++stats.udp_receive_errors;
      udp_retry.expires_after(kUdpRetryDelay);
      udp_retry.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec && !self->stopped) self->DrainUdp();
      });
      return;
    }
    if (received == 0) break;
    size_t answers = 0;
    for (int i = 0; i < received; ++i) {
      UdpSlot& slot = udp_slots[i];
      ++stats.udp_queries;
      const std::string_view query(slot.in.data(), udp_received[i].msg_len);
      if (!responder.Respond(query, dns::QueryTransport::kUdp, slot.out)) {
        ++stats.unanswered;
        continue;
      }
      slot.out_iov = {slot.out.data(), slot.out.size()};
      msghdr& h = udp_answers[answers++].msg_hdr;
      h = msghdr{};
      h.msg_name = &slot.peer;
      h.msg_namelen = udp_received[i].msg_hdr.msg_namelen;
      h.msg_iov = &slot.out_iov;
      h.msg_iovlen = 1;
    }
    for (size_t sent = 0; sent < answers;) {
      const int n = sendmmsg(fd, udp_answers.data() + sent, answers - sent, MSG_DONTWAIT);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        // A full send buffer (or a peer's error): UDP may lose the rest, and
        // the client retries. The first one failed; skip it and go on.
        ++stats.udp_send_failures;
        ++sent;
        continue;
      }
      sent += static_cast<size_t>(n);
    }
    if (static_cast<size_t>(received) < kUdpBatch) break;
  }
  WaitUdp();
}

void DnsListener::Impl::Accept() {
  acceptor.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE, ENFILE, ENOBUFS: the pending connection stays in the backlog
      // and the acceptor readable, so accepting again at once would spin.
      // A reset before accept (ECONNABORTED) costs the same short wait.
      ++self->stats.tcp_accept_errors;
      self->accept_retry.expires_after(kAcceptRetryDelay);
      self->accept_retry.async_wait([self](const error_code& ec) {
        if (!ec && !self->stopped) self->Accept();
      });
      return;
    }
    {
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
    self->Accept();
  });
}

void DnsListener::Impl::Stop() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  udp_socket.close(ignored);
  acceptor.close(ignored);
  accept_retry.cancel();
  udp_retry.cancel();
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

void DnsListener::SetResponder(dns::AuthoritativeResponder responder) {
  impl_->responder = std::move(responder);
}

DnsListenerStats DnsListener::stats() const { return impl_->stats; }

}  // namespace mxkit::fakemx
