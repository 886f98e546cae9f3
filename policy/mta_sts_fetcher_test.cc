// The fetcher against a real HTTPS server nobody here wrote: Python's
// http.server + ssl (testdata/https_policy_server.py) with certificates from
// tls/cert_factory.h, on 127.0.0.1 and an ephemeral port, stopped by the
// fixture even when a test fails.

#include "policy/mta_sts_fetcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gtest/gtest.h"
#include "testing/conformance.h"
#include "tls/cert_factory.h"

extern char** environ;

namespace mxkit::policy {
namespace {

constexpr char kServerScript[] = "policy/testdata/https_policy_server.py";
constexpr char kPython[] = "/usr/bin/python3";

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// One Python HTTPS server process; killed and reaped on destruction.
class PolicyServer {
 public:
  PolicyServer(const std::string& chain_pem, const std::string& key_pem, const std::string& mode) {
    const std::string chain = TempPath("chain-" + mode + ".pem");
    const std::string key = TempPath("key-" + mode + ".pem");
    WriteFile(chain, chain_pem);
    WriteFile(key, key_pem);
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {kPython, kServerScript, chain, key, mode};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int spawned = posix_spawn(&pid_, kPython, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (spawned != 0) {
      pid_ = -1;
      close(fds[0]);
      return;
    }
    // The port line, within 10 s.
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (poll(&p, 1, 100) <= 0) continue;
      char c[64];
      const ssize_t n = read(fds[0], c, sizeof(c));
      if (n <= 0) break;
      line.append(c, static_cast<size_t>(n));
    }
    close(fds[0]);
    port_ = static_cast<uint16_t>(std::atoi(line.c_str()));
  }
  ~PolicyServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

class FetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tls::CertFactoryOptions options;
    options.hostname = "mta-sts.example.test";
    auto set = tls::CertificateSet::Generate(options);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new tls::CertificateSet(std::move(*set));
  }
  static void TearDownTestSuite() { delete set_; }

  void SetUp() override {
    if (access(kPython, X_OK) != 0) {
      MXKIT_SKIP_OR_FAIL("/usr/bin/python3 (Debian's python3) for the HTTPS policy server");
    }
  }

  static StsFetchResult FetchFrom(const std::string& mode,
                                  tls::CertVariant variant = tls::CertVariant::kGood,
                                  std::chrono::milliseconds timeout = kDefaultStsFetchTimeout) {
    auto served = set_->Get(variant);
    EXPECT_TRUE(served.ok());
    PolicyServer server((*served)->chain_pem, (*served)->key_pem, mode);
    EXPECT_NE(server.port(), 0) << "the Python server did not start";
    StsFetchRequest request;
    request.policy_domain = "example.test";
    request.connect_address = "127.0.0.1";
    request.connect_port = server.port();
    request.trusted_roots_pem = set_->root_pem();
    request.timeout = timeout;
    return FetchStsPolicy(request);
  }

  static tls::CertificateSet* set_;
};
tls::CertificateSet* FetcherTest::set_ = nullptr;

TEST_F(FetcherTest, FetchesAndParsesAPolicy) {
  const StsFetchResult r = FetchFrom("ok");
  ASSERT_TRUE(r.ok()) << r.detail;
  ASSERT_TRUE(r.policy.has_value());
  EXPECT_EQ(r.policy->mode, StsMode::kEnforce);
  EXPECT_EQ(r.policy->mx, (std::vector<std::string>{"mx.example.test", "*.example.test"}));
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_FALSE(r.peer_certificate_der.empty());
  EXPECT_NE(r.detail.find("HTTP 200"), std::string::npos) << r.detail;
}

TEST_F(FetcherTest, CrlfPolicyInTestingMode) {
  const StsFetchResult r = FetchFrom("testing-crlf");
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(r.policy->mode, StsMode::kTesting);
}

TEST_F(FetcherTest, FailuresMapToRfc8460ResultTypes) {
  struct Row {
    const char* mode;
    tls::CertVariant variant;
    TlsResultType type;
    int status;
    const char* detail_part;
  };
  const Row rows[] = {
      {"not-found", tls::CertVariant::kGood, TlsResultType::kStsPolicyFetchError, 404, "HTTP 404"},
      {"redirect", tls::CertVariant::kGood, TlsResultType::kStsPolicyFetchError, 301,
       "redirects are not followed"},
      {"html", tls::CertVariant::kGood, TlsResultType::kStsPolicyFetchError, 200,
       "\"text/html\" is not text/plain"},
      {"oversize", tls::CertVariant::kGood, TlsResultType::kStsPolicyFetchError, 200,
       "exceeds 65536 octets"},
      {"invalid", tls::CertVariant::kGood, TlsResultType::kStsPolicyInvalid, 200,
       "line 2, column 7: mode"},
      {"no-length", tls::CertVariant::kGood, TlsResultType::kStsPolicyFetchError, 200,
       "without TLS close_notify"},
      {"ok", tls::CertVariant::kExpired, TlsResultType::kStsWebpkiInvalid, 0, "error 10"},
      {"ok", tls::CertVariant::kWrongHost, TlsResultType::kStsWebpkiInvalid, 0, "error 62"},
      {"ok", tls::CertVariant::kUnknownCa, TlsResultType::kStsWebpkiInvalid, 0, "error 20"},
      {"ok", tls::CertVariant::kSelfSigned, TlsResultType::kStsWebpkiInvalid, 0, "error 18"},
  };
  for (const Row& row : rows) {
    const StsFetchResult r = FetchFrom(row.mode, row.variant);
    SCOPED_TRACE(::testing::Message() << row.mode << " / " << tls::CertVariantName(row.variant)
                                      << ": " << r.detail);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failure, row.type);
    EXPECT_EQ(r.http_status, row.status);
    EXPECT_NE(r.detail.find(row.detail_part), std::string::npos);
    EXPECT_FALSE(r.policy.has_value());
  }
}

TEST_F(FetcherTest, SlowServerTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  const StsFetchResult r = FetchFrom("slow", tls::CertVariant::kGood, std::chrono::milliseconds(700));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.failure, TlsResultType::kStsPolicyFetchError);
  EXPECT_NE(r.detail.find("timeout after 700 ms while reading the response"), std::string::npos)
      << r.detail;
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(FetcherTest, NoRootsTrustsNothing) {
  auto served = set_->Get(tls::CertVariant::kGood);
  ASSERT_TRUE(served.ok());
  PolicyServer server((*served)->chain_pem, (*served)->key_pem, "ok");
  ASSERT_NE(server.port(), 0);
  StsFetchRequest request;
  request.policy_domain = "example.test";
  request.connect_address = "127.0.0.1";
  request.connect_port = server.port();
  const StsFetchResult r = FetchStsPolicy(request);
  EXPECT_EQ(r.failure, TlsResultType::kStsWebpkiInvalid) << r.detail;
}

// A TCP peer that accepts and never speaks: the handshake times out.
TEST(Fetcher, SilentPeerTimesOutInTheHandshake) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  boost::asio::ip::tcp::socket peer(io);
  acceptor.async_accept(peer, [](boost::system::error_code) {});
  StsFetchRequest request;
  request.policy_domain = "example.test";
  request.connect_address = "127.0.0.1";
  request.connect_port = acceptor.local_endpoint().port();
  request.timeout = std::chrono::milliseconds(300);
  std::optional<StsFetchResult> result;
  AsyncFetchStsPolicy(io, request, [&](StsFetchResult r) {
    result = std::move(r);
    acceptor.close();
    peer.close();
  });
  EXPECT_FALSE(result.has_value()) << "done must not run inside the call";
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->failure, TlsResultType::kStsPolicyFetchError);
  EXPECT_NE(result->detail.find("timeout after 300 ms while in the TLS handshake"),
            std::string::npos)
      << result->detail;
}

TEST(Fetcher, RefusedConnectionIsAFetchError) {
  uint16_t port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  StsFetchRequest request;
  request.policy_domain = "example.test";
  request.connect_address = "127.0.0.1";
  request.connect_port = port;
  const StsFetchResult r = FetchStsPolicy(request);
  EXPECT_EQ(r.failure, TlsResultType::kStsPolicyFetchError);
  EXPECT_NE(r.detail.find("connect to mta-sts.example.test at 127.0.0.1:"), std::string::npos)
      << r.detail;
}

TEST(Fetcher, BadRequestsFailWithoutConnecting) {
  StsFetchRequest bad_domain;
  bad_domain.policy_domain = "exa mple.test";
  bad_domain.connect_address = "127.0.0.1";
  StsFetchResult r = FetchStsPolicy(bad_domain);
  EXPECT_EQ(r.failure, TlsResultType::kStsPolicyFetchError);
  EXPECT_NE(r.detail.find("policy domain"), std::string::npos) << r.detail;

  StsFetchRequest bad_address;
  bad_address.policy_domain = "example.test";
  bad_address.connect_address = "mta-sts.example.test";
  r = FetchStsPolicy(bad_address);
  EXPECT_EQ(r.failure, TlsResultType::kStsPolicyFetchError);
  EXPECT_NE(r.detail.find("is not an IP address"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace mxkit::policy
