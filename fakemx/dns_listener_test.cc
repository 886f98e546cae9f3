#include "fakemx/dns_listener.h"

#include <poll.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "dns/ares_resolver.h"
#include "dns/authoritative.h"
#include "dns/message.h"
#include "gtest/gtest.h"
#include "testing/descriptor_limit.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using dns::LookupStatus;
using dns::RrType;

dns::ResourceRecord Rr(std::string name, RrType type, dns::RData data) {
  return dns::ResourceRecord{std::move(name), type, 300, std::move(data)};
}

dns::AuthoritativeResponder MakeResponder() {
  dns::ServedZone zone;
  zone.apex = "example.test";
  zone.records = {
      Rr("example.test", RrType::kMx, dns::MxData{10, "mx.example.test"}),
      Rr("mx.example.test", RrType::kA, dns::AData{{192, 0, 2, 1}}),
      Rr("www.example.test", RrType::kCname, dns::NameData{"mx.example.test"}),
      Rr("nx.example.test", RrType::kA, dns::AData{{192, 0, 2, 9}}),
      Rr("servfail.example.test", RrType::kA, dns::AData{{192, 0, 2, 9}}),
      Rr("refused.example.test", RrType::kA, dns::AData{{192, 0, 2, 9}}),
      Rr("timeout.example.test", RrType::kA, dns::AData{{192, 0, 2, 9}}),
      Rr("trunc.example.test", RrType::kA, dns::AData{{192, 0, 2, 8}}),
  };
  for (int i = 0; i < 20; ++i) {
    zone.records.push_back(
        Rr("big.example.test", RrType::kTxt, dns::TxtData{{std::string(100, 'a' + i)}}));
  }
  zone.faults = {
      {"nx.example.test", std::nullopt, dns::ServeFault::kNxDomain},
      {"servfail.example.test", std::nullopt, dns::ServeFault::kServfail},
      {"refused.example.test", std::nullopt, dns::ServeFault::kRefused},
      {"timeout.example.test", std::nullopt, dns::ServeFault::kTimeout},
      {"trunc.example.test", RrType::kA, dns::ServeFault::kTruncate},
  };
  auto responder = dns::AuthoritativeResponder::Create({zone});
  EXPECT_TRUE(responder.ok()) << responder.status();
  return *std::move(responder);
}

// The listener on 127.0.0.1:0 with its io_context on a thread of its own,
// so the test's blocking clients and c-ares's own loop can talk to it.
class Served {
 public:
  explicit Served(DnsListenerOptions options = {}) {
    auto listener = DnsListener::Listen(io_, MakeResponder(), options);
    EXPECT_TRUE(listener.ok()) << listener.status();
    listener_ = *std::move(listener);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    asio::post(io_, [this] { listener_->Stop(); });
    io_.stop();
    thread_.join();
  }
  DnsListener& listener() { return *listener_; }
  std::string server() const {
    return "127.0.0.1:" + std::to_string(listener_->udp_endpoint().port());
  }
  // Keeps the io_context's thread busy for `d`, as a loaded machine does:
  // whatever becomes ready meanwhile is handled in one batch afterwards.
  void Stall(std::chrono::milliseconds d) {
    asio::post(io_, [d] { std::this_thread::sleep_for(d); });
  }
  DnsListenerStats stats() {
    DnsListenerStats s;
    std::atomic<bool> done = false;
    asio::post(io_, [&] {
      s = listener_->stats();
      done = true;
    });
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return s;
  }

 private:
  asio::io_context io_;
  std::unique_ptr<DnsListener> listener_;
  std::thread thread_;
};

dns::LookupResult AresLookup(const Served& served, std::string_view name, RrType type,
                             bool use_tcp = false) {
  asio::io_context io;
  dns::AresOptions options;
  options.servers = {served.server()};
  options.timeout = std::chrono::milliseconds(300);
  options.tries = 1;
  options.use_tcp = use_tcp;
  auto resolver = dns::AresResolver::Create(io, options);
  EXPECT_TRUE(resolver.ok()) << resolver.status();
  return (*resolver)->LookupSync(name, type);
}

struct AresRow {
  const char* name;
  RrType type;
  LookupStatus status;
  size_t records;
};

class AresTable : public ::testing::TestWithParam<AresRow> {};

TEST_P(AresTable, OurResolverGetsTheRecordsAndFaultsOverUdpAndTcp) {
  Served served;
  const AresRow& row = GetParam();
  for (bool tcp : {false, true}) {
    dns::LookupResult result = AresLookup(served, row.name, row.type, tcp);
    EXPECT_EQ(result.status, row.status) << row.name << (tcp ? " tcp " : " udp ") << result.detail;
    EXPECT_EQ(result.records.size(), row.records) << row.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Listener, AresTable,
    ::testing::Values(AresRow{"example.test", RrType::kMx, LookupStatus::kAnswer, 1},
                    AresRow{"MX.Example.Test", RrType::kA, LookupStatus::kAnswer, 1},
                    AresRow{"www.example.test", RrType::kA, LookupStatus::kAnswer, 1},
                    AresRow{"mx.example.test", RrType::kAaaa, LookupStatus::kNoData, 0},
                    AresRow{"none.example.test", RrType::kA, LookupStatus::kNxDomain, 0},
                    AresRow{"nx.example.test", RrType::kA, LookupStatus::kNxDomain, 0},
                    AresRow{"servfail.example.test", RrType::kA,
                            LookupStatus::kTemporaryFailure, 0},
                    AresRow{"refused.example.test", RrType::kA,
                            LookupStatus::kPermanentFailure, 0},
                    AresRow{"timeout.example.test", RrType::kA,
                            LookupStatus::kTemporaryFailure, 0},
                    AresRow{"example.org", RrType::kA, LookupStatus::kPermanentFailure, 0},
                    // TC over UDP, then c-ares retries over TCP (RFC 7766 §5).
                    AresRow{"trunc.example.test", RrType::kA, LookupStatus::kAnswer, 1},
                    AresRow{"big.example.test", RrType::kTxt, LookupStatus::kAnswer, 20}));

std::string Query(uint16_t id, std::string_view name, RrType type) {
  auto wire = dns::BuildMessage(dns::MakeQuery(id, name, static_cast<uint16_t>(type)));
  EXPECT_TRUE(wire.ok());
  return *wire;
}

std::string Framed(const std::string& message) {
  std::string out;
  out.push_back(static_cast<char>(message.size() >> 8));
  out.push_back(static_cast<char>(message.size() & 0xff));
  return out + message;
}

// Reads one length-prefixed message; empty when the connection ended.
std::string ReadFramed(tcp::socket& socket) {
  unsigned char prefix[2];
  boost::system::error_code ec;
  asio::read(socket, asio::buffer(prefix), ec);
  if (ec) return "";
  std::string message(prefix[0] << 8 | prefix[1], '\0');
  asio::read(socket, asio::buffer(message), ec);
  return ec ? "" : message;
}

TEST(DnsListener, ListensForUdpAndTcpOnOnePort) {
  Served served;
  EXPECT_NE(served.listener().udp_endpoint().port(), 0);
  EXPECT_EQ(served.listener().udp_endpoint().port(), served.listener().tcp_endpoint().port());
  EXPECT_EQ(served.listener().tcp_endpoint().address().to_string(), "127.0.0.1");
}

TEST(DnsListener, AnswersPipelinedTcpQueriesInOrderSkippingTimeouts) {
  Served served;
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(served.listener().tcp_endpoint());
  // Three queries in one write, the middle one a timeout fault.
  std::string stream = Framed(Query(1, "mx.example.test", RrType::kA)) +
                       Framed(Query(2, "timeout.example.test", RrType::kA)) +
                       Framed(Query(3, "example.test", RrType::kMx));
  asio::write(socket, asio::buffer(stream));
  for (uint16_t id : {1, 3}) {
    auto parsed = dns::ParseMessage(ReadFramed(socket));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->header.id, id);
    EXPECT_EQ(parsed->answers.size(), 1u);
  }
  // The same connection serves a query sent byte by byte.
  std::string slow = Framed(Query(4, "www.example.test", RrType::kA));
  for (char c : slow) asio::write(socket, asio::buffer(&c, 1));
  auto parsed = dns::ParseMessage(ReadFramed(socket));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.id, 4);
  EXPECT_EQ(served.stats().tcp_queries, 4u);
  EXPECT_EQ(served.stats().unanswered, 1u);
}

// The TCP framing at every split point (style: every incremental parser):
// three queries, written in two pieces cut at each byte, always give the
// same three answers in order.
TEST(DnsListener, AnswersTcpStreamsCutAtEveryByte) {
  Served served;
  const std::string stream = Framed(Query(1, "mx.example.test", RrType::kA)) +
                             Framed(Query(2, "www.example.test", RrType::kA)) +
                             Framed(Query(3, "none.example.test", RrType::kA));
  asio::io_context io;
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    tcp::socket socket(io);
    socket.connect(served.listener().tcp_endpoint());
    socket.set_option(tcp::no_delay(true));
    asio::write(socket, asio::buffer(stream.data(), cut));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    asio::write(socket, asio::buffer(stream.data() + cut, stream.size() - cut));
    std::vector<std::pair<uint16_t, size_t>> got;
    for (int i = 0; i < 3; ++i) {
      auto parsed = dns::ParseMessage(ReadFramed(socket));
      ASSERT_TRUE(parsed.ok()) << "cut " << cut;
      got.emplace_back(parsed->header.id, parsed->answers.size());
    }
    EXPECT_EQ(got, (std::vector<std::pair<uint16_t, size_t>>{{1, 1}, {2, 2}, {3, 0}}))
        << "cut " << cut;
  }
  EXPECT_EQ(served.stats().tcp_queries, 3 * (stream.size() - 1));
}

TEST(DnsListener, ClosesIdleAndHalfReadConnectionsAfterTheTimeout) {
  DnsListenerOptions options;
  options.tcp_idle_timeout = std::chrono::milliseconds(200);
  Served served(options);
  asio::io_context io;
  tcp::socket idle(io), half(io);
  idle.connect(served.listener().tcp_endpoint());
  half.connect(served.listener().tcp_endpoint());
  std::string partial = Framed(Query(1, "mx.example.test", RrType::kA)).substr(0, 7);
  asio::write(half, asio::buffer(partial));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadFramed(idle), "");
  EXPECT_EQ(ReadFramed(half), "");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
  EXPECT_EQ(served.stats().tcp_timeouts, 2u);
}

// Whether `socket` has anything to read (data or the peer's close) within
// `wait`.
bool ReadableWithin(tcp::socket& socket, std::chrono::milliseconds wait) {
  pollfd p{socket.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

// RFC 7766 §3: a connection with an unanswered query is not idle. The
// client gives up on a timeout fault by itself; the server closing at the
// idle timeout raced the client's own timeout (dnspython saw EOFError).
TEST(DnsListener, KeepsAConnectionWithAnUnansweredQueryPastTheIdleTimeout) {
  DnsListenerOptions options;
  options.tcp_idle_timeout = std::chrono::milliseconds(200);
  Served served(options);
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(served.listener().tcp_endpoint());
  asio::write(socket, asio::buffer(Framed(Query(1, "timeout.example.test", RrType::kA))));
  EXPECT_FALSE(ReadableWithin(socket, std::chrono::milliseconds(800)));
  // Still served: the next query is answered.
  asio::write(socket, asio::buffer(Framed(Query(2, "mx.example.test", RrType::kA))));
  auto parsed = dns::ParseMessage(ReadFramed(socket));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.id, 2);
  EXPECT_EQ(served.stats().tcp_timeouts, 0u);
}

// An idle timer that expired while its handler waited behind a message's
// arrival must not close the connection that message re-armed.
TEST(DnsListener, AStaleIdleTimerDoesNotCloseAConnectionJustServed) {
  DnsListenerOptions options;
  options.tcp_idle_timeout = std::chrono::milliseconds(100);
  Served served(options);
  asio::io_context io;
  for (int round = 0; round < 5; ++round) {
    tcp::socket socket(io);
    socket.connect(served.listener().tcp_endpoint());
    asio::write(socket, asio::buffer(Framed(Query(1, "mx.example.test", RrType::kA))));
    ASSERT_FALSE(ReadFramed(socket).empty());
    // The timer expires (at 100 ms) and the next query arrives (at 150 ms)
    // while the io thread is busy; both are handled together at 250 ms.
    served.Stall(std::chrono::milliseconds(250));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    asio::write(socket, asio::buffer(Framed(Query(2, "mx.example.test", RrType::kA))));
    auto parsed = dns::ParseMessage(ReadFramed(socket));
    ASSERT_TRUE(parsed.ok()) << "round " << round << ": closed instead of answered";
    EXPECT_EQ(parsed->header.id, 2);
    // The answer goes out before a stale handler could run; the connection
    // must still be open after it.
    asio::write(socket, asio::buffer(Framed(Query(3, "mx.example.test", RrType::kA))));
    parsed = dns::ParseMessage(ReadFramed(socket));
    ASSERT_TRUE(parsed.ok()) << "round " << round << ": closed by the stale idle timer";
    EXPECT_EQ(parsed->header.id, 3);
  }
  EXPECT_EQ(served.stats().tcp_timeouts, 0u);
}

// RFC 7766 §6.2.4: a message shorter than a header is not DNS; the server
// answers what came before it and closes rather than wait for more.
TEST(DnsListener, ClosesAConnectionAfterAMessageShorterThanAHeader) {
  for (const std::string& bad : {std::string(2, '\0'), Framed(std::string(11, 'x'))}) {
    Served served;
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(served.listener().tcp_endpoint());
    asio::write(socket,
                asio::buffer(Framed(Query(7, "mx.example.test", RrType::kA)) + bad +
                             Framed(Query(8, "mx.example.test", RrType::kA))));
    auto parsed = dns::ParseMessage(ReadFramed(socket));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->header.id, 7);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ReadFramed(socket), "");  // closed, and query 8 not answered
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    EXPECT_EQ(served.stats().tcp_malformed, 1u);
    EXPECT_EQ(served.stats().tcp_queries, 1u);
  }
}

// EMFILE leaves the connection in the backlog and the acceptor readable:
// the listener must pause, not spin, and serve it once descriptors free up.
TEST(DnsListener, PausesAfterAnAcceptErrorInsteadOfSpinning) {
  Served served;
  asio::io_context io;
  tcp::socket socket(io);
  socket.open(tcp::v4());
  testing::ScopedDescriptorExhaustion exhausted;
  ASSERT_TRUE(exhausted.ok());
  boost::system::error_code ec;
  socket.connect(served.listener().tcp_endpoint(), ec);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t errors = served.stats().tcp_accept_errors;
  ASSERT_TRUE(exhausted.Restore());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 20u) << "accept retried without pause";
  asio::write(socket, asio::buffer(Framed(Query(3, "mx.example.test", RrType::kA))));
  auto parsed = dns::ParseMessage(ReadFramed(socket));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.id, 3);
}

TEST(DnsListener, RefusesConnectionsOverTheBound) {
  DnsListenerOptions options;
  options.max_tcp_connections = 1;
  Served served(options);
  asio::io_context io;
  tcp::socket first(io), second(io);
  first.connect(served.listener().tcp_endpoint());
  // The first is surely accepted once it has been answered.
  asio::write(first, asio::buffer(Framed(Query(1, "mx.example.test", RrType::kA))));
  ASSERT_FALSE(ReadFramed(first).empty());
  second.connect(served.listener().tcp_endpoint());
  asio::write(second, asio::buffer(Framed(Query(2, "mx.example.test", RrType::kA))));
  EXPECT_EQ(ReadFramed(second), "");
  EXPECT_EQ(served.stats().tcp_connections_refused, 1u);
}

TEST(DnsListener, AnswersUdpAndIgnoresResponsesAndRunts) {
  Served served;
  asio::io_context io;
  udp::socket socket(io, udp::endpoint(udp::v4(), 0));
  std::string runt(5, 'x');
  socket.send_to(asio::buffer(runt), served.listener().udp_endpoint());
  std::string query = Query(77, "mx.example.test", RrType::kA);
  socket.send_to(asio::buffer(query), served.listener().udp_endpoint());
  std::string buffer(2048, '\0');
  udp::endpoint from;
  size_t n = socket.receive_from(asio::buffer(buffer), from);
  auto parsed = dns::ParseMessage(std::string_view(buffer.data(), n));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.id, 77);  // the runt got no answer before it
  EXPECT_EQ(from.port(), served.listener().udp_endpoint().port());
  EXPECT_EQ(served.stats().udp_queries, 2u);
  EXPECT_EQ(served.stats().unanswered, 1u);
}

TEST(DnsListener, ReportsAPortInUseNamingTheAddress) {
  Served served;
  asio::io_context io;
  DnsListenerOptions options;
  options.port = served.listener().udp_endpoint().port();
  auto second = DnsListener::Listen(io, MakeResponder(), options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(second.status().message())
                .find("udp 127.0.0.1:" + std::to_string(options.port)),
            std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace mxkit::fakemx
