#include "probe/probe.h"

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/streambuf.hpp"
#include "boost/asio/write.hpp"
#include "dns/static_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::probe {
namespace {

namespace asio = boost::asio;

struct TargetRow {
  const char* text;
  bool ok;
  const char* name;
  bool is_ip;
  int port;  // -1: none
};

TEST(ParseProbeTarget, DomainsHostsAndIpLiterals) {
  const TargetRow rows[] = {
      {"example.com", true, "example.com", false, -1},
      {"Example.COM.", true, "Example.COM", false, -1},
      {"mx.example.com:2525", true, "mx.example.com", false, 2525},
      {"192.0.2.1", true, "192.0.2.1", true, -1},
      {"192.0.2.1:25", true, "192.0.2.1", true, 25},
      {"2001:db8::1", true, "2001:db8::1", true, -1},
      {"[2001:db8::1]:587", true, "2001:db8::1", true, 587},
      {"b\xC3\xBC" "cher.example", true, "xn--bcher-kva.example", false, -1},
      {"", false, "", false, -1},
      {"example.com:0", false, "", false, -1},
      {"example.com:65536", false, "", false, -1},
      {"example.com:", false, "", false, -1},
      {"example.com:2x", false, "", false, -1},
      {"exa mple.com", false, "", false, -1},
      {"example..com", false, "", false, -1},
      {"[2001:db8::1", false, "", false, -1},
      {"[example.com]:25", false, "", false, -1},
      {"2001:db8::zz", false, "", false, -1},
  };
  for (const TargetRow& row : rows) {
    SCOPED_TRACE(row.text);
    absl::StatusOr<ProbeTarget> t = ParseProbeTarget(row.text);
    ASSERT_EQ(t.ok(), row.ok) << (t.ok() ? "" : std::string(t.status().message()));
    if (!row.ok) continue;
    EXPECT_EQ(t->name, row.name);
    EXPECT_EQ(t->is_ip, row.is_ip);
    EXPECT_EQ(t->port ? *t->port : -1, row.port);
    EXPECT_EQ(t->mx_lookup(), !row.is_ip && row.port < 0);
  }
}

// A port on 127.0.0.1 with nothing listening: bound, never listened on.
uint16_t ClosedPort(asio::io_context& io, asio::ip::tcp::acceptor* keep) {
  (void)io;
  keep->open(asio::ip::tcp::v4());
  keep->bind({asio::ip::make_address("127.0.0.1"), 0});
  return keep->local_endpoint().port();
}

ProbeReport Probe(dns::StaticResolver& resolver, const std::string& target, uint16_t port,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  asio::io_context io;
  ProbeOptions o;
  o.port = port;
  o.timeout = timeout;
  return RunProbe(io, resolver, *ParseProbeTarget(target), o);
}

TEST(RunProbe, NxDomainIsNameNotFound) {
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("other.test. 300 IN A 127.0.0.1\n").ok());
  ProbeReport p = Probe(r, "nowhere.test", 25);
  EXPECT_EQ(p.failure, ProbeFailure::kNameNotFound);
  EXPECT_NE(p.error.find("NXDOMAIN"), std::string::npos) << p.error;
}

TEST(RunProbe, NullMxMeansNoMail) {
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("nomail.test. 300 IN MX 0 .\n").ok());
  ProbeReport p = Probe(r, "nomail.test", 25);
  EXPECT_EQ(p.failure, ProbeFailure::kNullMx);
  EXPECT_NE(p.error.find("RFC 7505"), std::string::npos) << p.error;
}

TEST(RunProbe, NoMxAndNoAddressIsNameNotFound) {
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("bare.test. 300 IN TXT \"v=spf1 -all\"\n").ok());
  ProbeReport p = Probe(r, "bare.test", 25);
  EXPECT_EQ(p.failure, ProbeFailure::kNameNotFound);
  ASSERT_EQ(p.mx.size(), 1u);
  EXPECT_TRUE(p.mx[0].implicit_mx);
}

TEST(RunProbe, ServfailOnMxIsADnsFailure) {
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("$SERVFAIL broken.test.\n").ok());
  ProbeReport p = Probe(r, "broken.test", 25);
  EXPECT_EQ(p.failure, ProbeFailure::kDnsFailure);
}

TEST(RunProbe, MxInPreferenceOrderAndRefusedEverywhereIsUnreachable) {
  asio::io_context io;
  asio::ip::tcp::acceptor closed(io);
  const uint16_t port = ClosedPort(io, &closed);
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("d.test. 300 IN MX 20 b.d.test.\n"
                         "d.test. 300 IN MX 10 a.d.test.\n"
                         "a.d.test. 300 IN A 127.0.0.1\n"
                         "b.d.test. 300 IN A 127.0.0.1\n")
                  .ok());
  ProbeReport p = Probe(r, "d.test", port);
  ASSERT_EQ(p.mx.size(), 2u);
  EXPECT_EQ(p.mx[0].host, "a.d.test");
  EXPECT_EQ(p.mx[0].preference, 10);
  EXPECT_EQ(p.mx[1].host, "b.d.test");
  EXPECT_EQ(p.failure, ProbeFailure::kUnreachable);
  ASSERT_EQ(p.mx[0].attempts.size(), 1u);
  EXPECT_FALSE(p.mx[0].attempts[0].connected);
  EXPECT_EQ(p.mx[0].attempts[0].address, "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(p.delivery_mx(), nullptr);
  EXPECT_FALSE(p.red_lock());
}

TEST(RunProbe, MtaStsRecordWithoutPolicyHostAddressIsAFetchError) {
  asio::io_context io;
  asio::ip::tcp::acceptor closed(io);
  const uint16_t port = ClosedPort(io, &closed);
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("d.test. 300 IN MX 10 mx.d.test.\n"
                         "mx.d.test. 300 IN A 127.0.0.1\n"
                         "_mta-sts.d.test. 300 IN TXT \"v=STSv1; id=20261129\"\n")
                  .ok());
  ProbeReport p = Probe(r, "d.test", port);
  EXPECT_TRUE(p.mta_sts.applicable);
  EXPECT_EQ(p.mta_sts.id, "20261129");
  EXPECT_EQ(p.mta_sts.policy_host, "mta-sts.d.test");
  EXPECT_EQ(p.mta_sts.observation.state, policy::MtaStsObservation::State::kFailed);
  ASSERT_TRUE(p.mta_sts.observation.failure.has_value());
  EXPECT_EQ(*p.mta_sts.observation.failure, policy::TlsResultType::kStsPolicyFetchError);
  EXPECT_EQ(p.failure, ProbeFailure::kUnreachable) << "MTA-STS never stops the probe";
}

TEST(RunProbe, NoMtaStsRecordIsNoPolicyAndHostTargetsHaveNone) {
  asio::io_context io;
  asio::ip::tcp::acceptor closed(io);
  const uint16_t port = ClosedPort(io, &closed);
  dns::StaticResolver r;
  ASSERT_TRUE(r.LoadZone("d.test. 300 IN MX 10 mx.d.test.\n"
                         "mx.d.test. 300 IN A 127.0.0.1\n"
                         "_mta-sts.d.test. 300 IN TXT \"v=spf1 -all\"\n")
                  .ok());
  ProbeReport p = Probe(r, "d.test", port);
  EXPECT_EQ(p.mta_sts.observation.state, policy::MtaStsObservation::State::kNoPolicy);
  EXPECT_FALSE(p.mta_sts.observation.failure.has_value());
  ProbeReport host = Probe(r, "mx.d.test:" + std::to_string(port), 25);
  EXPECT_FALSE(host.mta_sts.applicable);
}

TEST(RunProbe, ServerThatNeverGreetsIsATimeout) {
  asio::io_context io;
  // Listening but never accepting: the kernel completes the connect, no
  // greeting ever comes.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  dns::StaticResolver r;
  ProbeReport p = Probe(r, "127.0.0.1:" + std::to_string(silent.local_endpoint().port()), 25,
                        std::chrono::milliseconds(300));
  EXPECT_EQ(p.failure, ProbeFailure::kTimeout) << p.error;
  ASSERT_EQ(p.mx.size(), 1u);
  ASSERT_TRUE(p.mx[0].hop.has_value());
  EXPECT_TRUE(p.mx[0].hop->timed_out);
  EXPECT_NE(p.error.find("the greeting"), std::string::npos) << p.error;
}

TEST(RunProbe, ServerTricklingBytesWithinEachWaitHitsTheSessionDeadline) {
  // A greeting that never ends, one byte every 100 ms: every 400 ms wait is
  // satisfied, so only the session deadline (here 1.5 s) stops the probe.
  asio::io_context server_io;
  asio::ip::tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();
  std::atomic<int> sent{0};
  std::thread server([&] {
    boost::system::error_code ec;
    asio::ip::tcp::socket s(server_io);
    acceptor.accept(s, ec);
    if (ec) return;
    asio::write(s, asio::buffer("220 ", 4), ec);
    // Until the probe closes, or 20 s as a backstop against a hung test.
    for (int i = 0; i < 200 && !ec; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      asio::write(s, asio::buffer("x", 1), ec);
      if (!ec) ++sent;
    }
  });
  asio::io_context io;
  ProbeOptions o;
  o.timeout = std::chrono::milliseconds(400);
  o.session_deadline = std::chrono::milliseconds(1500);
  o.evaluate_policies = false;
  dns::StaticResolver resolver;
  const auto start = std::chrono::steady_clock::now();
  ProbeReport p = RunProbe(io, resolver, *ParseProbeTarget("127.0.0.1:" + std::to_string(port)), o);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  server.join();
  ASSERT_EQ(p.mx.size(), 1u);
  ASSERT_TRUE(p.mx[0].hop.has_value());
  EXPECT_TRUE(p.mx[0].hop->timed_out);
  EXPECT_NE(p.mx[0].hop->detail.find("deadline of 1500 ms"), std::string::npos) << p.mx[0].hop->detail;
  EXPECT_GE(sent.load(), 5);  // the server did keep each wait alive
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// StaticResolver with the AD bit set on the answers for chosen (name, type)
// pairs, as a validating resolver would for signed zones.
class SigningResolver : public dns::Resolver {
 public:
  SigningResolver(dns::StaticResolver& zone, std::set<std::pair<std::string, dns::RrType>> signed_answers)
      : zone_(zone), signed_(std::move(signed_answers)) {}
  void Lookup(std::string_view name, dns::RrType type, Callback done) override {
    const bool is_signed = signed_.count({std::string(name), type}) > 0;
    zone_.Lookup(name, type, [is_signed, done = std::move(done)](dns::LookupResult r) {
      r.authenticated = is_signed;
      done(std::move(r));
    });
  }

 private:
  dns::StaticResolver& zone_;
  std::set<std::pair<std::string, dns::RrType>> signed_;
};

// An SMTP server without STARTTLS for one session: enough for the probe to
// take EHLO and evaluate the policies.
void ServeOnePlainSession(asio::ip::tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  asio::ip::tcp::socket s(acceptor.get_executor());
  acceptor.accept(s, ec);
  if (ec) return;
  asio::write(s, asio::buffer(std::string("220 mx.d.test ESMTP\r\n")), ec);
  asio::streambuf in;
  while (!ec) {
    const size_t n = asio::read_until(s, in, "\r\n", ec);
    if (ec) return;
    std::string line(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + n);
    in.consume(n);
    const bool quit = line.rfind("QUIT", 0) == 0;
    asio::write(s, asio::buffer(std::string(quit ? "221 bye\r\n" : "250 mx.d.test\r\n")), ec);
    if (quit) return;
  }
}

struct DaneChainRow {
  bool mx_signed, a_signed, aaaa_signed, tlsa_signed;
  policy::TlsaLookup want;
  const char* reason_part;  // "" when the chain is secure
};

// RFC 7672 §2.2.1-2.2.2: TLSA records count only when the MX answer and
// the MX host's address answers are DNSSEC-secure as well.
TEST(RunProbe, TlsaCountsOnlyBehindAuthenticatedMxAndAddressAnswers) {
  const DaneChainRow rows[] = {
      {true, true, true, true, policy::TlsaLookup::kAuthenticated, ""},
      {false, true, true, true, policy::TlsaLookup::kUnauthenticated, "MX answer for d.test"},
      {true, false, true, true, policy::TlsaLookup::kUnauthenticated, "A/AAAA answers for mx.d.test"},
      {true, true, false, true, policy::TlsaLookup::kUnauthenticated, "A/AAAA answers for mx.d.test"},
      {true, true, true, false, policy::TlsaLookup::kUnauthenticated, ""},
  };
  dns::StaticResolver zone;
  ASSERT_TRUE(zone.LoadZone("d.test. 300 IN MX 10 mx.d.test.\n"
                            "mx.d.test. 300 IN A 127.0.0.1\n"
                            "mx.d.test. 300 IN TXT \"exists, so AAAA is no data\"\n")
                  .ok());
  zone.Add({"_25._tcp.mx.d.test", dns::RrType::kTlsa, 300,
            dns::TlsaData{3, 1, 1, std::string(32, '\x5a')}});
  for (const DaneChainRow& row : rows) {
    SCOPED_TRACE(testing::Message() << row.mx_signed << row.a_signed << row.aaaa_signed << row.tlsa_signed);
    std::set<std::pair<std::string, dns::RrType>> signed_answers;
    if (row.mx_signed) signed_answers.insert({"d.test", dns::RrType::kMx});
    if (row.a_signed) signed_answers.insert({"mx.d.test", dns::RrType::kA});
    if (row.aaaa_signed) signed_answers.insert({"mx.d.test", dns::RrType::kAaaa});
    if (row.tlsa_signed) signed_answers.insert({"_25._tcp.mx.d.test", dns::RrType::kTlsa});
    SigningResolver resolver(zone, signed_answers);
    asio::io_context server_io;
    asio::ip::tcp::acceptor acceptor(server_io, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread server([&] { ServeOnePlainSession(acceptor); });
    asio::io_context io;
    ProbeOptions o;
    o.port = acceptor.local_endpoint().port();
    o.timeout = std::chrono::milliseconds(3000);
    ProbeReport p = RunProbe(io, resolver, *ParseProbeTarget("d.test"), o);
    server.join();
    ASSERT_EQ(p.mx.size(), 1u);
    EXPECT_EQ(p.mx[0].mx_authenticated, row.mx_signed);
    EXPECT_EQ(p.mx[0].addresses_authenticated, row.a_signed && row.aaaa_signed);
    ASSERT_TRUE(p.mx[0].tlsa.has_value()) << p.error;
    EXPECT_EQ(p.mx[0].tlsa->authenticated, row.tlsa_signed);
    EXPECT_EQ(p.mx[0].tlsa->lookup, row.want);
    if (*row.reason_part == '\0') {
      EXPECT_EQ(p.mx[0].tlsa->insecure_reason, "");
    } else {
      EXPECT_NE(p.mx[0].tlsa->insecure_reason.find(row.reason_part), std::string::npos)
          << p.mx[0].tlsa->insecure_reason;
    }
  }
}

}  // namespace
}  // namespace mxkit::probe
