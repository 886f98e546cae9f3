#include "dns/ares_resolver.h"

#include <ares.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/ascii.h"
#include "dns/message.h"
#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

WireRecord Rr(std::string name, RrType type, WireRData data) {
  return WireRecord{std::move(name), static_cast<uint16_t>(type), kClassIn, 300, std::move(data)};
}

// A canned authoritative server on 127.0.0.1, UDP and TCP on one port, on
// its own thread. What it answers depends on the query name only.
class FakeDnsServer {
 public:
  FakeDnsServer() : udp_(io_), tcp_(io_) {
    // c-ares uses one port number for UDP and TCP; an ephemeral UDP port's
    // TCP twin is almost always free, and a few tries make it certain enough.
    auto loopback = asio::ip::make_address("127.0.0.1");
    for (int attempt = 0; attempt < 20; ++attempt) {
      boost::system::error_code ec;
      udp_ = udp::socket(io_, udp::endpoint(loopback, 0));
      tcp_ = tcp::acceptor(io_);
      tcp_.open(tcp::v4());
      tcp_.bind(tcp::endpoint(loopback, udp_.local_endpoint().port()), ec);
      if (!ec) break;
      udp_.close();
    }
    tcp_.listen();
    ReceiveUdp();
    AcceptTcp();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeDnsServer() {
    io_.stop();
    thread_.join();
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(udp_.local_endpoint().port());
  }
  int queries() const { return queries_; }
  // The distinct UDP source ports queries came from: one per c-ares socket.
  std::set<uint16_t> udp_source_ports() const {
    std::lock_guard<std::mutex> lock(ports_mutex_);
    return udp_source_ports_;
  }

 private:
  // The reply to `query`, or nothing to stay silent.
  std::optional<std::string> Answer(std::string_view query, bool over_tcp) {
    ++queries_;
    WireResult<Message> parsed = ParseMessage(query);
    if (!parsed.ok() || parsed->questions.size() != 1) return std::nullopt;
    Message reply;
    reply.header = parsed->header;
    reply.header.qr = true;
    reply.header.aa = true;
    reply.questions = parsed->questions;
    const Question& q = parsed->questions[0];
    std::string name = absl::AsciiStrToLower(q.name);
    auto type = static_cast<RrType>(q.type);
    // AD only for the signed name, and only when the query asked for it
    // (RFC 6840 §5.7), as a validating resolver answers.
    const bool asked_ad = (parsed->header.z & kZAuthenticData) != 0;
    reply.header.z = (name == "signed.test" && asked_ad) ? kZAuthenticData : 0;
    if (name == "slow.test") return std::nullopt;
    if (name == "servfail.test") {
      reply.header.rcode = static_cast<uint8_t>(Rcode::kServFail);
    } else if (name == "refused.test") {
      reply.header.rcode = static_cast<uint8_t>(Rcode::kRefused);
    } else if (name == "a.test" || name == "alias.test") {
      if (name == "alias.test") {
        reply.answers.push_back(Rr(q.name, RrType::kCname, NameData{"a.test"}));
      }
      if (type == RrType::kA) {
        reply.answers.push_back(Rr("a.test", RrType::kA, AData{{192, 0, 2, 1}}));
      }
    } else if (name == "signed.test" && type == RrType::kA) {
      reply.answers.push_back(Rr(q.name, RrType::kA, AData{{192, 0, 2, 7}}));
    } else if (name == "txt.test" && type == RrType::kTxt) {
      reply.answers.push_back(
          Rr(q.name, RrType::kTxt, TxtData{{"v=spf1 ip4:192.0.2.0/24 ", "-all"}}));
    } else if (name == "mx.test" && type == RrType::kMx) {
      reply.answers.push_back(Rr(q.name, RrType::kMx, MxData{10, "mail.test"}));
      reply.answers.push_back(Rr(q.name, RrType::kMx, MxData{20, "mx2.test"}));
    } else if (name == "big.test" && type == RrType::kTxt) {
      // Over 512 bytes: UDP says TC (RFC 1035 §4.2.1), TCP carries it all.
      if (!over_tcp) {
        reply.header.tc = true;
      } else {
        for (int i = 0; i < 4; ++i) {
          reply.answers.push_back(Rr(q.name, RrType::kTxt, TxtData{{std::string(200, 'a' + i)}}));
        }
      }
    } else {
      reply.header.rcode = static_cast<uint8_t>(Rcode::kNxDomain);
    }
    WireResult<std::string> wire = BuildMessage(reply);
    if (!wire.ok()) return std::nullopt;
    return *wire;
  }

  void ReceiveUdp() {
    udp_.async_receive_from(asio::buffer(buffer_), peer_,
                            [this](boost::system::error_code ec, size_t n) {
                              if (ec) return;
                              {
                                std::lock_guard<std::mutex> lock(ports_mutex_);
                                udp_source_ports_.insert(peer_.port());
                              }
                              if (std::optional<std::string> reply =
                                      Answer(std::string_view(buffer_.data(), n), false)) {
                                udp_.send_to(asio::buffer(*reply), peer_, 0, ec);
                              }
                              ReceiveUdp();
                            });
  }

  void AcceptTcp() {
    tcp_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      // One query per connection is all c-ares needs here; served inline.
      unsigned char length[2];
      if (asio::read(socket, asio::buffer(length), ec) == 2) {
        std::string query(static_cast<size_t>(length[0] << 8 | length[1]), '\0');
        if (asio::read(socket, asio::buffer(query), ec) == query.size()) {
          if (std::optional<std::string> reply = Answer(query, true)) {
            std::string framed{static_cast<char>(reply->size() >> 8),
                               static_cast<char>(reply->size() & 0xff)};
            framed += *reply;
            asio::write(socket, asio::buffer(framed), ec);
          }
        }
      }
      AcceptTcp();
    });
  }

  asio::io_context io_;
  udp::socket udp_;
  tcp::acceptor tcp_;
  udp::endpoint peer_;
  std::array<char, 65536> buffer_{};
  std::atomic<int> queries_{0};
  mutable std::mutex ports_mutex_;
  std::set<uint16_t> udp_source_ports_;
  std::thread thread_;
};

AresOptions OptionsFor(const FakeDnsServer& server) {
  AresOptions options;
  options.servers = {server.address()};
  options.timeout = std::chrono::milliseconds(300);
  options.tries = 1;
  return options;
}

// Runs an asynchronous Lookup on a caller-owned io_context until it completes.
LookupResult RunLookup(const AresOptions& options, std::string_view name, RrType type) {
  asio::io_context io;
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver = AresResolver::Create(io, options);
  EXPECT_TRUE(resolver.ok()) << resolver.status();
  if (!resolver.ok()) return {};
  std::optional<LookupResult> result;
  int calls = 0;
  (*resolver)->Lookup(name, type, [&](LookupResult r) {
    ++calls;
    result = std::move(r);
  });
  while (!result && io.run_one() > 0) {
  }
  io.poll();
  EXPECT_EQ(calls, 1);
  return result.value_or(LookupResult{});
}

TEST(AresResolver, ResolvesAnARecord) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "a.test", RrType::kA);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].name, "a.test");
  EXPECT_EQ(std::get<AData>(result.records[0].data).address,
            (std::array<uint8_t, 4>{192, 0, 2, 1}));
}

TEST(AresResolver, KeepsTxtStringsSplitAsServed) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "txt.test.", RrType::kTxt);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(std::get<TxtData>(result.records[0].data).strings,
            (std::vector<std::string>{"v=spf1 ip4:192.0.2.0/24 ", "-all"}));
}

TEST(AresResolver, ResolvesMxRecords) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "mx.test", RrType::kMx);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(std::get<MxData>(result.records[0].data).preference, 10);
  EXPECT_EQ(std::get<MxData>(result.records[0].data).exchange, "mail.test");
  EXPECT_EQ(std::get<MxData>(result.records[1].data).exchange, "mx2.test");
}

TEST(AresResolver, AsksForAndReportsTheAdBit) {
  FakeDnsServer server;
  LookupResult signed_answer = RunLookup(OptionsFor(server), "signed.test", RrType::kA);
  ASSERT_EQ(signed_answer.status, LookupStatus::kAnswer) << signed_answer.detail;
  EXPECT_TRUE(signed_answer.authenticated) << "the query must set AD for the server to answer it";
  LookupResult unsigned_answer = RunLookup(OptionsFor(server), "a.test", RrType::kA);
  ASSERT_EQ(unsigned_answer.status, LookupStatus::kAnswer);
  EXPECT_FALSE(unsigned_answer.authenticated);
}

TEST(AresResolver, ReportsTheCnameChain) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "alias.test", RrType::kA);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
  ASSERT_EQ(result.cname_chain.size(), 1u);
  EXPECT_EQ(result.cname_chain[0].name, "alias.test");
  EXPECT_EQ(result.records[0].name, "a.test");
}

TEST(AresResolver, DistinguishesNxDomainFromNoData) {
  FakeDnsServer server;
  EXPECT_EQ(RunLookup(OptionsFor(server), "nx.test", RrType::kA).status, LookupStatus::kNxDomain);
  EXPECT_EQ(RunLookup(OptionsFor(server), "a.test", RrType::kMx).status, LookupStatus::kNoData);
  // A CNAME to a name without the type is no data, with the chain kept.
  LookupResult alias = RunLookup(OptionsFor(server), "alias.test", RrType::kTxt);
  EXPECT_EQ(alias.status, LookupStatus::kNoData);
  EXPECT_EQ(alias.cname_chain.size(), 1u);
}

TEST(AresResolver, ServfailIsTemporaryAndRefusedPermanent) {
  FakeDnsServer server;
  LookupResult servfail = RunLookup(OptionsFor(server), "servfail.test", RrType::kTxt);
  EXPECT_EQ(servfail.status, LookupStatus::kTemporaryFailure);
  EXPECT_NE(servfail.detail.find(server.address()), std::string::npos) << servfail.detail;
  LookupResult refused = RunLookup(OptionsFor(server), "refused.test", RrType::kTxt);
  EXPECT_EQ(refused.status, LookupStatus::kPermanentFailure) << refused.detail;
}

TEST(AresResolver, SilentServerTimesOutAsTemporaryFailure) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "slow.test", RrType::kA);
  EXPECT_EQ(result.status, LookupStatus::kTemporaryFailure);
  EXPECT_NE(result.detail.find("timeout"), std::string::npos) << result.detail;
  EXPECT_GE(server.queries(), 1);
}

TEST(AresResolver, RetriesTruncatedAnswersOverTcp) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "big.test", RrType::kTxt);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
  EXPECT_EQ(result.records.size(), 4u);
  EXPECT_GE(server.queries(), 2);  // UDP, then TCP
}

TEST(AresResolver, QueriesOverTcpWhenAsked) {
  FakeDnsServer server;
  AresOptions options = OptionsFor(server);
  options.use_tcp = true;
  LookupResult result = RunLookup(options, "txt.test", RrType::kTxt);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
}

TEST(AresResolver, LookupSyncRunsItsOwnLoop) {
  FakeDnsServer server;
  asio::io_context unused;  // never run: LookupSync must not need it
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver =
      AresResolver::Create(unused, OptionsFor(server));
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  LookupResult result = (*resolver)->LookupSync("txt.test", RrType::kTxt);
  ASSERT_EQ(result.status, LookupStatus::kAnswer) << result.detail;
  EXPECT_EQ(std::get<TxtData>(result.records[0].data).strings.size(), 2u);
  EXPECT_EQ((*resolver)->LookupSync("nx.test", RrType::kTxt).status, LookupStatus::kNxDomain);
}

TEST(AresResolver, ConcurrentLookupsEachCompleteOnce) {
  FakeDnsServer server;
  asio::io_context io;
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver =
      AresResolver::Create(io, OptionsFor(server));
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  std::vector<LookupStatus> statuses;
  const std::vector<std::pair<std::string, RrType>> queries = {
      {"a.test", RrType::kA},     {"txt.test", RrType::kTxt}, {"nx.test", RrType::kA},
      {"mx.test", RrType::kMx},   {"a.test", RrType::kMx},    {"alias.test", RrType::kA}};
  for (const auto& [name, type] : queries) {
    (*resolver)->Lookup(name, type, [&](LookupResult r) { statuses.push_back(r.status); });
  }
  while (statuses.size() < queries.size() && io.run_one() > 0) {
  }
  io.poll();
  ASSERT_EQ(statuses.size(), queries.size());
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), LookupStatus::kAnswer), 4);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), LookupStatus::kNxDomain), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), LookupStatus::kNoData), 1);
}

TEST(AresResolver, DestroyingTheResolverCompletesPendingLookups) {
  FakeDnsServer server;
  asio::io_context io;
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver =
      AresResolver::Create(io, OptionsFor(server));
  ASSERT_TRUE(resolver.ok());
  std::optional<LookupResult> result;
  (*resolver)->Lookup("slow.test", RrType::kA, [&](LookupResult r) { result = std::move(r); });
  resolver->reset();
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, LookupStatus::kTemporaryFailure);
  EXPECT_EQ(result->detail, "resolver destroyed");
}

TEST(AresResolver, ManyConcurrentLookupsShareOneChannelAndEachCompletesOnce) {
  FakeDnsServer server;
  asio::io_context io;
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver =
      AresResolver::Create(io, OptionsFor(server));
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  // Under 256: the fake server's socket drops datagrams past what the
  // default receive buffer (rmem_default, about 212 KB) holds, roughly 256.
  constexpr int kLookups = 200;
  const std::pair<const char*, LookupStatus> kinds[] = {
      {"a.test", LookupStatus::kAnswer},
      {"nx.test", LookupStatus::kNxDomain},
      {"servfail.test", LookupStatus::kTemporaryFailure},
      {"refused.test", LookupStatus::kPermanentFailure},
  };
  std::vector<int> calls(kLookups, 0);
  std::vector<LookupStatus> statuses(kLookups);
  for (int i = 0; i < kLookups; ++i) {
    (*resolver)->Lookup(kinds[i % 4].first, RrType::kA, [&, i](LookupResult r) {
      ++calls[i];
      statuses[i] = r.status;
    });
  }
  int done = 0;
  while (done < kLookups && io.run_one() > 0) {
    done = static_cast<int>(std::count(calls.begin(), calls.end(), 1));
  }
  io.poll();
  for (int i = 0; i < kLookups; ++i) {
    ASSERT_EQ(calls[i], 1) << i;
    EXPECT_EQ(statuses[i], kinds[i % 4].second) << i << " " << kinds[i % 4].first;
  }
  // One channel: every query left from the same UDP socket. A channel per
  // lookup would have used as many source ports as lookups.
  EXPECT_EQ(server.udp_source_ports().size(), 1u);
  EXPECT_EQ(server.queries(), kLookups);
}

TEST(AresResolver, DestroyingWithManyLookupsInFlightCallsEachCallbackOnce) {
  FakeDnsServer server;
  asio::io_context io;
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver =
      AresResolver::Create(io, OptionsFor(server));
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  constexpr int kLookups = 100;
  std::vector<int> calls(kLookups, 0);
  std::vector<LookupResult> results(kLookups);
  for (int i = 0; i < kLookups; ++i) {
    // Half never get an answer; the others may or may not have one yet.
    (*resolver)->Lookup(i % 2 == 0 ? "slow.test" : "a.test", RrType::kA,
                        [&, i](LookupResult r) {
                          ++calls[i];
                          results[i] = std::move(r);
                        });
  }
  io.poll();  // let some answers in
  resolver->reset();
  io.run();
  for (int i = 0; i < kLookups; ++i) {
    ASSERT_EQ(calls[i], 1) << i;
    if (i % 2 == 0) {
      EXPECT_EQ(results[i].status, LookupStatus::kTemporaryFailure) << i;
      EXPECT_EQ(results[i].detail, "resolver destroyed") << i;
    } else {
      EXPECT_TRUE(results[i].status == LookupStatus::kAnswer ||
                  results[i].detail == "resolver destroyed")
          << i << ": " << results[i].detail;
    }
  }
}

TEST(AresResolver, LookupSyncKeepsItsChannelAcrossCallsAndThreads) {
  FakeDnsServer server;
  asio::io_context unused;
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver =
      AresResolver::Create(unused, OptionsFor(server));
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const bool nx = (t + i) % 3 == 0;
        LookupResult r = (*resolver)->LookupSync(nx ? "nx.test" : "a.test", RrType::kA);
        if (r.status != (nx ? LookupStatus::kNxDomain : LookupStatus::kAnswer)) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(server.queries(), 100);
}

TEST(AresResolver, UnqueryableNameIsAPermanentFailure) {
  FakeDnsServer server;
  LookupResult result = RunLookup(OptionsFor(server), "a..test", RrType::kA);
  EXPECT_EQ(result.status, LookupStatus::kPermanentFailure);
  EXPECT_EQ(server.queries(), 0);
}

TEST(AresResolver, RejectsMalformedServers) {
  asio::io_context io;
  AresOptions options;
  options.servers = {"not an address"};
  EXPECT_FALSE(AresResolver::Create(io, options).ok());
  options.servers = {"127.0.0.1:53"};
  options.tries = 0;
  EXPECT_FALSE(AresResolver::Create(io, options).ok());
}

TEST(AresStatus, MapsAresCodesOntoLookupStatus) {
  EXPECT_EQ(StatusFromAres(ARES_ENOTFOUND), LookupStatus::kNxDomain);
  EXPECT_EQ(StatusFromAres(ARES_ENODATA), LookupStatus::kNoData);
  EXPECT_EQ(StatusFromAres(ARES_ESERVFAIL), LookupStatus::kTemporaryFailure);
  EXPECT_EQ(StatusFromAres(ARES_ETIMEOUT), LookupStatus::kTemporaryFailure);
  EXPECT_EQ(StatusFromAres(ARES_ECONNREFUSED), LookupStatus::kTemporaryFailure);
  EXPECT_EQ(StatusFromAres(ARES_EREFUSED), LookupStatus::kPermanentFailure);
  EXPECT_EQ(StatusFromAres(ARES_EBADNAME), LookupStatus::kPermanentFailure);
}

}  // namespace
}  // namespace mxkit::dns
