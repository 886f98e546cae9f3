// fakemx's DNS server: the Boost.Asio driver around dns::AuthoritativeResponder
// (dns/authoritative.h), which decides every answer. One UDP socket and one
// TCP acceptor on the same address and port, as a DNS server listens
// (RFC 1035 §4.2, RFC 7766 §5: TCP is not optional).
//
// UDP: each datagram is answered with one datagram, or not at all (a
// timeout fault). TCP (RFC 7766): messages behind a two-octet length
// (RFC 1035 §4.2.2), several per connection, answered in the order they
// came; a message shorter than a DNS header closes the connection (RFC 7766
// §6.2.4); a connection that sends no complete message within the idle timeout
// (a half-read one included) is closed, unless a query on it is still
// unanswered (a timeout fault: then after kDnsTcpUnansweredHold), so a stalled or slow client cannot
// hold a slot for ever; the number of open connections is bounded.
//
// Runs on the caller's io_context, on its thread; nothing here blocks.

#ifndef MXKIT_FAKEMX_DNS_LISTENER_H_
#define MXKIT_FAKEMX_DNS_LISTENER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "absl/status/statusor.h"
#include "dns/authoritative.h"

namespace mxkit::fakemx {

// RFC 7766 §6.2.3 asks for idle timeouts "on the order of seconds"; BIND's
// tcp-idle-timeout is 30 s, Unbound's 30 s too. Ten keeps a test's stray
// connection from lingering.
inline constexpr std::chrono::milliseconds kDefaultDnsTcpIdleTimeout{10000};
// RFC 7766 §3: a server's connection is idle only once every query on it
// has been answered, and RFC 1035 §4.2.2 asks the server to keep it open
// until then. A timeout fault never answers, so the idle timeout does not
// apply; this bound does instead (from the last complete message), long
// after any client has given up (dig +tcp waits 5 s a try, glibc 5 s), so a
// test's client sees its own timeout rather than the server closing first.
inline constexpr std::chrono::milliseconds kDnsTcpUnansweredHold{30000};
// BIND's default tcp-clients.
inline constexpr size_t kDefaultDnsTcpConnections = 150;
// When port 0 is asked for, binding TCP on the port the kernel gave UDP can
// find it taken by someone else's TCP socket; try again this many times.
inline constexpr int kDnsBindAttempts = 8;

struct DnsListenerOptions {
  boost::asio::ip::address address = boost::asio::ip::make_address("127.0.0.1");
  uint16_t port = 0;  // 0 = any free port, the same for UDP and TCP
  std::chrono::milliseconds tcp_idle_timeout = kDefaultDnsTcpIdleTimeout;
  size_t max_tcp_connections = kDefaultDnsTcpConnections;
};

struct DnsListenerStats {
  uint64_t udp_queries = 0;
  uint64_t tcp_queries = 0;
  uint64_t unanswered = 0;            // timeout faults and non-queries
  uint64_t udp_send_failures = 0;     // a full socket buffer drops the answer
  uint64_t tcp_connections_refused = 0;  // over max_tcp_connections
  uint64_t tcp_timeouts = 0;          // idle, half-read or held connections closed
  uint64_t tcp_malformed = 0;         // closed after a message shorter than a header
  uint64_t tcp_accept_errors = 0;     // EMFILE and the like; accepting resumes after a pause
  uint64_t udp_receive_errors = 0;    // ENOMEM and the like; reading resumes after a pause
};

class DnsListener {
 public:
  // Binds UDP then TCP on the same port and starts serving. Errors
  // (Unavailable for an address in use, InvalidArgument otherwise) name the
  // protocol and the address.
  static absl::StatusOr<std::unique_ptr<DnsListener>> Listen(boost::asio::io_context& io,
                                                             dns::AuthoritativeResponder responder,
                                                             DnsListenerOptions options = {});
  ~DnsListener();
  DnsListener(const DnsListener&) = delete;
  DnsListener& operator=(const DnsListener&) = delete;

  boost::asio::ip::udp::endpoint udp_endpoint() const;
  boost::asio::ip::tcp::endpoint tcp_endpoint() const;

  // Answers every query from now on from `responder` (a scenario switch:
  // fakemx/instance.h); the sockets and open TCP connections stay. Each
  // answer is computed at once from the responder in place, so none is
  // left half on the old zones. Call it on the io_context's thread.
  void SetResponder(dns::AuthoritativeResponder responder);

  // Stops serving: closes both sockets and every TCP connection. Called by
  // the destructor too; call it on the io_context's thread.
  void Stop();

  DnsListenerStats stats() const;

  struct Impl;

 private:
  explicit DnsListener(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_DNS_LISTENER_H_
