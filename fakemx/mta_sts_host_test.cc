// The MTA-STS policy host against real clients: curl (the HTTP client most
// MTA-STS resolvers' fetches behave like), openssl s_client for the
// certificate SNI selects, and a blocking socket with a sans-IO tls::Engine
// for what curl will not send (overlong lines, missing Host, pipelining,
// one byte at a time). The host runs on its own thread on 127.0.0.1:0; every
// read is bounded by poll() and every client by --max-time, so a hang fails.

#include "fakemx/mta_sts_host.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "gtest/gtest.h"
#include "testing/blocking_client.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kReadTimeout{5000};
constexpr std::string_view kPolicy =
    "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n";

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mta_sts_host_test-XXXXXX";
  const char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// One certificate set per policy host name (the factory issues for one
// name); the same seed gives the same root, so one ca.pem trusts them all.
const tls::CertificateSet& CertSet(const std::string& domain) {
  static auto* sets = new std::map<std::string, tls::CertificateSet>;
  auto it = sets->find(domain);
  if (it == sets->end()) {
    tls::CertFactoryOptions options;
    options.hostname = "mta-sts." + domain;
    auto made = tls::CertificateSet::Generate(
        options, std::vector<tls::CertVariant>{tls::CertVariant::kGood, tls::CertVariant::kExpired});
    EXPECT_TRUE(made.ok()) << made.status();
    it = sets->emplace(domain, std::move(*made)).first;
    EXPECT_EQ(it->second.root_pem(), sets->begin()->second.root_pem());
  }
  return it->second;
}

const tls::ServedCertificate& Cert(const std::string& domain, tls::CertVariant variant) {
  return **CertSet(domain).Get(variant);
}

std::string RootPem() { return CertSet("example.test").root_pem(); }

MtaStsSite Site(const std::string& domain, tls::CertVariant variant = tls::CertVariant::kGood) {
  MtaStsSite site;
  site.domain = domain;
  site.host = "127.0.0.1";
  site.port = 0;
  site.body = std::string(kPolicy);
  const tls::ServedCertificate& cert = Cert(domain, variant);
  site.chain_pem = cert.chain_pem;
  site.key_pem = cert.key_pem;
  return site;
}

// The sites most tests share, all behind one address (SNI and Host pick).
std::vector<MtaStsSite> SharedSites() {
  std::vector<MtaStsSite> sites;
  sites.push_back(Site("example.test"));
  MtaStsSite redirect = Site("redirect.test");
  redirect.status = 301;
  redirect.location = "https://elsewhere.test/.well-known/mta-sts.txt";
  redirect.body = "moved";
  sites.push_back(redirect);
  MtaStsSite missing = Site("missing.test");
  missing.status = 404;
  missing.body = "no policy here";
  sites.push_back(missing);
  MtaStsSite html = Site("html.test");
  html.content_type = "text/html";
  html.body = "<p>version: STSv1</p>";
  sites.push_back(html);
  MtaStsSite slow = Site("slow.test");
  slow.delay = milliseconds(1200);
  sites.push_back(slow);
  sites.push_back(Site("expired.test", tls::CertVariant::kExpired));
  return sites;
}

class RunningHost {
 public:
  explicit RunningHost(std::vector<MtaStsSite> sites, MtaStsHostOptions options = {}) {
    auto host = MtaStsHost::Listen(io_, std::move(sites), options);
    EXPECT_TRUE(host.ok()) << host.status();
    if (!host.ok()) return;
    host_ = std::move(*host);
    ran_ = std::async(std::launch::async, [this] { io_.run(); });
  }
  ~RunningHost() { EXPECT_TRUE(Stop()); }

  // Stop() on the host's thread; true when io_context.run() then returned
  // on its own (no work left), within 5 s.
  bool Stop() {
    if (!ran_.valid()) return true;
    asio::post(io_, [this] { host_->Stop(); });
    const bool returned = ran_.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!returned) io_.stop();
    ran_.wait();
    ran_ = {};
    return returned;
  }

  uint16_t port(size_t site = 0) const { return host_->endpoints().at(site).port(); }
  const MtaStsHost& host() const { return *host_; }

 private:
  asio::io_context io_{1};
  std::unique_ptr<MtaStsHost> host_;
  std::future<void> ran_;
};

struct ShellRun {
  int exit_code = -1;
  std::string out;
};

// A shell command's exit code and standard output (stderr goes to the log).
ShellRun Shell(const std::string& command) {
  ShellRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class MtaStsHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    ca_ = dir_ + "/ca.pem";
    WriteFile(ca_, RootPem());
  }

  struct CurlResult {
    int exit_code = -1;
    std::string written;  // what -w printed
    std::string body;
    std::string headers;
  };

  // curl as a policy fetcher runs it: no -L (RFC 8461 §3.3: redirects are
  // not followed), the name resolved to the host's port.
  CurlResult Curl(uint16_t port, const std::string& domain, const std::string& extra = "",
                  const std::string& write_out = "%{http_code} %{content_type}",
                  const std::string& path = "/.well-known/mta-sts.txt") {
    const std::string name = "mta-sts." + domain;
    const std::string body = dir_ + "/body", headers = dir_ + "/headers";
    std::remove(body.c_str());
    std::remove(headers.c_str());
    const std::string command = "curl -sS --max-time 10 --cacert '" + ca_ + "' --resolve " +
                                name + ":" + std::to_string(port) + ":127.0.0.1 -o '" + body +
                                "' -D '" + headers + "' -w '" + write_out + "' " + extra +
                                " 'https://" + name + ":" + std::to_string(port) + path + "'";
    ShellRun run = Shell(command);
    return {run.exit_code, run.out, ReadFile(body), ReadFile(headers)};
  }

  std::string dir_;
  std::string ca_;
};

// --- A blocking TLS client for what curl does not send -----------------------

using RawClient = ::mxkit::testing::BlockingClient;

// A TLS connection (//testing:blocking_client) verified for `sni` against
// the test root every site's certificate chains to.
class TlsClient : public ::mxkit::testing::BlockingClient {
 public:
  TlsClient(uint16_t port, const std::string& sni) : BlockingClient(port) {
    tls::ClientContextOptions options;
    options.verify = tls::ClientVerify::kRequire;
    options.trusted_roots_pem = RootPem();
    const std::optional<tls::EngineError> error = Handshake(options, {sni, sni}, kReadTimeout);
    EXPECT_FALSE(error.has_value()) << error->ToString();
  }

  // Plaintext until the connection closes or `timeout`.
  std::string ReadUntilEof(milliseconds timeout = kReadTimeout) {
    return ReadUntil([](std::string_view) { return false; }, timeout);
  }
  // Responses whose whole content has arrived (Content-Length framing).
  std::string ReadResponses(size_t count) {
    return ReadUntil([count](std::string_view s) { return CountResponses(s) >= count; },
                     kReadTimeout);
  }

  static size_t CountResponses(std::string_view s) {
    size_t count = 0;
    while (true) {
      const size_t end = s.find("\r\n\r\n");
      if (end == std::string_view::npos) return count;
      size_t length = 0;
      const size_t cl = s.substr(0, end).find("Content-Length: ");
      if (cl != std::string_view::npos) length = std::stoul(std::string(s.substr(cl + 16, 12)));
      if (s.size() < end + 4 + length) return count;
      ++count;
      s.remove_prefix(end + 4 + length);
    }
  }
};

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// --- curl ---------------------------------------------------------------------

TEST_F(MtaStsHostTest, CurlGetsEachSitesAnswerChosenBySniAndHost) {
  RunningHost host(SharedSites());
  struct Row {
    const char* domain;
    const char* path;
    const char* written;
    std::string_view body;
  };
  const Row rows[] = {
      {"example.test", "/.well-known/mta-sts.txt", "200 text/plain", kPolicy},
      {"example.test", "/.well-known/mta-sts.txt?x=1", "200 text/plain", kPolicy},
      {"example.test", "/", "404 text/plain", "not found\n"},
      {"example.test", "/.well-known/mta-sts.txt/", "404 text/plain", "not found\n"},
      {"missing.test", "/.well-known/mta-sts.txt", "404 text/plain", "no policy here"},
      {"html.test", "/.well-known/mta-sts.txt", "200 text/html", "<p>version: STSv1</p>"},
      // No -L: curl reports the redirect and does not follow it.
      {"redirect.test", "/.well-known/mta-sts.txt",
       "301 text/plain https://elsewhere.test/.well-known/mta-sts.txt", "moved"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(row.domain) + row.path);
    const std::string write_out = std::string_view(row.domain) == "redirect.test"
                                      ? "%{http_code} %{content_type} %{redirect_url}"
                                      : "%{http_code} %{content_type}";
    CurlResult r = Curl(host.port(), row.domain, "", write_out, row.path);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.written, row.written);
    EXPECT_EQ(r.body, row.body);
    EXPECT_NE(r.headers.find("Content-Length: " + std::to_string(row.body.size()) + "\r\n"),
              std::string::npos)
        << r.headers;
    // RFC 9110 §5.6.7 IMF-fixdate; the day and month names in English.
    const size_t date = r.headers.find("\r\nDate: ");
    ASSERT_NE(date, std::string::npos) << r.headers;
    const std::string value = r.headers.substr(date + 8, r.headers.find("\r\n", date + 2) - date - 8);
    EXPECT_EQ(value.size(), 29u) << value;
    EXPECT_EQ(value.substr(25), " GMT") << value;
    // The date part as date(1) spells today (a run across midnight UTC
    // would differ; the test takes seconds).
    EXPECT_EQ(value.substr(0, 16), Shell("LC_ALL=C date -u +'%a, %d %b %Y'").out.substr(0, 16));
  }
}

TEST_F(MtaStsHostTest, CurlWaitsOutTheSitesDelayBeforeTheHeaders) {
  RunningHost host(SharedSites());
  CurlResult r = Curl(host.port(4), "slow.test", "", "%{http_code} %{time_starttransfer}");
  ASSERT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.written.substr(0, 4), "200 ");
  EXPECT_GE(std::stod(r.written.substr(4)), 1.15) << r.written;
  EXPECT_EQ(r.body, kPolicy);
}

TEST_F(MtaStsHostTest, CurlRefusesTheExpiredCertificateWithExit60) {
  RunningHost host(SharedSites());
  CurlResult r = Curl(host.port(5), "expired.test");
  EXPECT_EQ(r.exit_code, 60);  // CURLE_PEER_FAILED_VERIFICATION
  EXPECT_EQ(r.written, "000 ");
  // The same host name with the expired chain's CA check skipped: it was the
  // certificate, not the connection.
  r = Curl(host.port(5), "expired.test", "-k");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.written, "200 text/plain");
}

TEST_F(MtaStsHostTest, HostNamingNoSiteIs404AndHostOutranksSni) {
  RunningHost host(SharedSites());
  CurlResult r = Curl(host.port(), "example.test", "-H 'Host: mta-sts.nosuch.test'");
  EXPECT_EQ(r.written, "404 text/plain");
  // A name served elsewhere does not count: only the policy host names.
  r = Curl(host.port(), "example.test", "-H 'Host: example.test'");
  EXPECT_EQ(r.written, "404 text/plain");
  // SNI picked example.test's certificate; the Host field picks the content,
  // as a shared web host does.
  r = Curl(host.port(), "example.test", "-H 'Host: MTA-STS.Missing.Test.:443'");
  EXPECT_EQ(r.written, "404 text/plain");
  EXPECT_EQ(r.body, "no policy here");
}

TEST_F(MtaStsHostTest, HeadHasTheLengthWithoutContentAndOtherMethodsGet405) {
  RunningHost host(SharedSites());
  CurlResult r = Curl(host.port(), "example.test", "-I");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.written, "200 text/plain");
  EXPECT_NE(r.headers.find("Content-Length: " + std::to_string(kPolicy.size())),
            std::string::npos);
  EXPECT_EQ(r.body, r.headers);  // -I writes the header to -o as well: no content after it
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    r = Curl(host.port(), "example.test", std::string("-X ") + method);
    EXPECT_EQ(r.written, "405 text/plain");
    EXPECT_NE(r.headers.find("Allow: GET, HEAD\r\n"), std::string::npos) << r.headers;
  }
}

TEST_F(MtaStsHostTest, Http11KeepsTheConnectionAndHttp10ClosesIt) {
  RunningHost host(SharedSites());
  const std::string url = "https://mta-sts.example.test:" + std::to_string(host.port()) +
                          "/.well-known/mta-sts.txt";
  // Two URLs in one curl run: the second reuses the connection (0 new
  // connects) when the first was kept alive.
  CurlResult r = Curl(host.port(), "example.test", "-o /dev/null '" + url + "'",
                      "%{http_code}:%{num_connects} ");
  EXPECT_EQ(r.written, "200:1 200:0 ");
  r = Curl(host.port(), "example.test", "--http1.0 -o /dev/null '" + url + "'",
           "%{http_code}:%{num_connects} ");
  EXPECT_EQ(r.written, "200:1 200:1 ");
  EXPECT_NE(r.headers.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(MtaStsHostTest, OpenSslSeesTheCertificateTheServerNameAsksFor) {
  RunningHost host(SharedSites());
  const std::string port = std::to_string(host.port());
  struct Row {
    std::string servername_flag;
    const char* san;
  };
  const Row rows[] = {
      {"-servername mta-sts.redirect.test", "DNS:mta-sts.redirect.test"},
      {"-servername mta-sts.html.test", "DNS:mta-sts.html.test"},
      {"-servername MTA-STS.HTML.TEST", "DNS:mta-sts.html.test"},
      // No SNI, or a name of none of the sites: the first site's, the default.
      {"-noservername", "DNS:mta-sts.example.test"},
      {"-servername mta-sts.nosuch.test", "DNS:mta-sts.example.test"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.servername_flag);
    ShellRun run = Shell("openssl s_client -connect 127.0.0.1:" + port + " " + row.servername_flag +
                    " -CAfile '" + ca_ + "' </dev/null 2>/dev/null" +
                    " | openssl x509 -noout -ext subjectAltName");
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_NE(run.out.find(row.san), std::string::npos) << run.out;
    EXPECT_EQ(Count(run.out, "DNS:"), 1u) << run.out;
  }
}

// --- What curl does not send ------------------------------------------------

TEST_F(MtaStsHostTest, MalformedRequestsGetTheirStatusAndAClose) {
  RunningHost host(SharedSites());
  struct Row {
    const char* name;
    std::string request;
    const char* status_line;
  };
  const std::string host_field = "Host: mta-sts.example.test\r\n";
  const Row rows[] = {
      {"request line over 8000", "GET /" + std::string(8000, 'a') + " HTTP/1.1\r\n" + host_field +
                                     "\r\n",
       "HTTP/1.1 414 URI Too Long\r\n"},
      {"request line over 8000, unfinished", "GET /" + std::string(9000, 'a'),
       "HTTP/1.1 414 URI Too Long\r\n"},
      {"header over 16 KiB",
       "GET /.well-known/mta-sts.txt HTTP/1.1\r\n" + host_field + "X-Pad: " +
           std::string(17000, 'p') + "\r\n\r\n",
       "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
      {"HTTP/1.1 without Host", "GET /.well-known/mta-sts.txt HTTP/1.1\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"two Host fields", "GET /.well-known/mta-sts.txt HTTP/1.1\r\n" + host_field + host_field +
                              "\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"not HTTP", "HELO mta-sts.example.test\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
      {"content over 4 KiB",
       "GET /.well-known/mta-sts.txt HTTP/1.1\r\n" + host_field + "Content-Length: 5000\r\n\r\n" +
           std::string(5000, 'b'),
       "HTTP/1.1 413 Payload Too Large\r\n"},
      // A chunk-size line parses only when whole; one without end was
      // buffered without bound (515 MiB in 8 s).
      {"chunk-size line over 32 KiB",
       "POST /.well-known/mta-sts.txt HTTP/1.1\r\n" + host_field +
           "Transfer-Encoding: chunked\r\n\r\n1;" + std::string(40000, 'x'),
       "HTTP/1.1 400 Bad Request\r\n"},
      // RFC 9112 §6.3: chunked not last, the body's length is unknown.
      {"Transfer-Encoding gzip",
       "GET /.well-known/mta-sts.txt HTTP/1.1\r\n" + host_field +
           "Transfer-Encoding: gzip\r\n\r\nGET /x HTTP/1.1\r\n" + host_field + "\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      // RFC 9112 §6.1: a coding the host does not implement.
      {"Transfer-Encoding gzip, chunked",
       "GET /.well-known/mta-sts.txt HTTP/1.1\r\n" + host_field +
           "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 501 Not Implemented\r\n"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    TlsClient client(host.port(), "mta-sts.example.test");
    client.Send(row.request);
    const std::string got = client.ReadUntilEof();
    EXPECT_TRUE(client.closed());
    EXPECT_EQ(got.substr(0, std::string_view(row.status_line).size()), row.status_line) << got;
    EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  }
}

TEST_F(MtaStsHostTest, RequestFormsBeyondCurlsAreAnswered) {
  RunningHost host(SharedSites());
  struct Row {
    const char* name;
    std::string request;
    const char* status_line;
    bool closes;
  };
  const Row rows[] = {
      // HTTP/1.0 may omit Host: the TLS server_name names the site.
      {"HTTP/1.0 without Host", "GET /.well-known/mta-sts.txt HTTP/1.0\r\n\r\n",
       "HTTP/1.1 200 OK\r\n", true},
      // RFC 9112 §3.2.2: the absolute-form authority wins over Host.
      {"absolute-form", "GET https://mta-sts.missing.test/.well-known/mta-sts.txt HTTP/1.1\r\n"
                        "Host: mta-sts.example.test\r\n\r\n",
       "HTTP/1.1 404 Not Found\r\n", false},
      {"GET with a small body", "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
                                "Host: mta-sts.example.test\r\nContent-Length: 3\r\n\r\nabc",
       "HTTP/1.1 200 OK\r\n", false},
      {"Connection: close", "GET /.well-known/mta-sts.txt HTTP/1.1\r\n"
                            "Host: mta-sts.example.test\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 200 OK\r\n", true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    TlsClient client(host.port(), "mta-sts.example.test");
    client.Send(row.request);
    const std::string got = client.ReadResponses(1);
    EXPECT_EQ(got.substr(0, std::string_view(row.status_line).size()), row.status_line) << got;
    client.ReadUntilEof(milliseconds(row.closes ? 5000 : 300));
    EXPECT_EQ(client.closed(), row.closes);
  }
}

TEST_F(MtaStsHostTest, PipelinedAndByteAtATimeRequestsAreAnsweredInOrder) {
  RunningHost host(SharedSites());
  const std::string get =
      "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.test\r\n\r\n";
  const std::string other = "GET /nothing HTTP/1.1\r\nHost: mta-sts.example.test\r\n\r\n";
  {
    TlsClient client(host.port(), "mta-sts.example.test");
    client.Send(get + other + get);
    const std::string got = client.ReadResponses(3);
    ASSERT_EQ(TlsClient::CountResponses(got), 3u) << got;
    const size_t first = got.find("200 OK"), second = got.find("404 Not Found"),
                 third = got.find("200 OK", first + 1);
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_NE(third, std::string::npos);
  }
  {
    // Every split point of the request: one TLS record per byte.
    TlsClient client(host.port(), "mta-sts.example.test");
    for (char c : get) client.Send(std::string(1, c));
    const std::string got = client.ReadResponses(1);
    EXPECT_EQ(got.substr(0, 17), "HTTP/1.1 200 OK\r\n") << got;
    EXPECT_EQ(got.substr(got.size() - kPolicy.size()), kPolicy);
  }
}

// --- Connections --------------------------------------------------------------

TEST_F(MtaStsHostTest, GarbageAndFailedHandshakesCloseOnlyTheirConnection) {
  RunningHost host(SharedSites());
  RawClient plain_http(host.port());
  RawClient silent(host.port());
  ASSERT_TRUE(plain_http.connected());
  ASSERT_TRUE(silent.connected());
  plain_http.Send("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.test\r\n\r\n");
  plain_http.ReadRawUntilEof(kReadTimeout);
  EXPECT_TRUE(plain_http.eof());
  // curl refusing a certificate aborts a handshake as well.
  EXPECT_EQ(Curl(host.port(5), "expired.test").exit_code, 60);
  // Others are served meanwhile, the silent one included once it speaks.
  EXPECT_EQ(Curl(host.port(), "example.test").written, "200 text/plain");
  silent.ReadRawSome(milliseconds(100));
  EXPECT_FALSE(silent.eof());
}

TEST_F(MtaStsHostTest, SilentConnectionsCloseAtTheHeaderTimeoutIdleOnesAtTheIdleTimeout) {
  MtaStsHostOptions options;
  options.header_timeout = milliseconds(400);
  options.idle_timeout = milliseconds(800);
  RunningHost host(SharedSites(), options);
  {
    // No TLS byte at all.
    RawClient silent(host.port());
    const auto start = Clock::now();
    silent.ReadRawUntilEof(kReadTimeout);
    const auto took = Clock::now() - start;
    EXPECT_TRUE(silent.eof());
    EXPECT_GE(took, milliseconds(350));
    EXPECT_LT(took, milliseconds(3000));
  }
  {
    // A request header that never ends.
    TlsClient client(host.port(), "mta-sts.example.test");
    client.Send("GET /.well-known/mta-sts.txt HTTP/1.1\r\n");
    const auto start = Clock::now();
    const std::string got = client.ReadUntilEof();
    EXPECT_TRUE(client.closed());
    EXPECT_EQ(got, "");  // closed without an answer
    EXPECT_LT(Clock::now() - start, milliseconds(3000));
  }
  {
    // After an answer, kept alive for the idle timeout, not the header one.
    TlsClient client(host.port(), "mta-sts.example.test");
    client.Send("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.test\r\n\r\n");
    client.ReadResponses(1);
    const auto start = Clock::now();
    client.ReadUntilEof();
    const auto took = Clock::now() - start;
    EXPECT_TRUE(client.closed());
    EXPECT_GE(took, milliseconds(700));
    EXPECT_LT(took, milliseconds(3000));
  }
}

TEST_F(MtaStsHostTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  MtaStsHostOptions options;
  options.max_connections = 2;
  RunningHost host(SharedSites(), options);
  auto first = std::make_unique<RawClient>(host.port());
  RawClient second(host.port());
  // Both accepted and waiting for a ClientHello.
  first->ReadRawSome(milliseconds(200));
  second.ReadRawSome(milliseconds(200));
  ASSERT_FALSE(first->eof());
  ASSERT_FALSE(second.eof());
  RawClient third(host.port());
  const auto start = Clock::now();
  third.ReadRawUntilEof(kReadTimeout);
  EXPECT_TRUE(third.eof());
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  first.reset();
  // The server notices the close at its next read; give it a moment.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(Curl(host.port(), "example.test").written, "200 text/plain");
}

TEST_F(MtaStsHostTest, StopClosesOpenAndDelayedConnectionsSoRunReturns) {
  RunningHost host(SharedSites());
  RawClient idle(host.port());
  TlsClient delayed(host.port(4), "mta-sts.slow.test");
  delayed.Send("GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.slow.test\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(100));
  const auto start = Clock::now();
  EXPECT_TRUE(host.Stop());
  EXPECT_LT(Clock::now() - start, milliseconds(1000));  // not after the 1.2 s delay
  idle.ReadRawUntilEof(kReadTimeout);
  EXPECT_TRUE(idle.eof());
  EXPECT_EQ(delayed.ReadUntilEof(), "");
  EXPECT_TRUE(delayed.closed());
}

TEST(MtaStsHost, EndpointsReportRealPortsInSiteOrderAndSharedAddressesShareOne) {
  asio::io_context io;
  std::vector<MtaStsSite> sites = {Site("example.test"), Site("html.test"), Site("slow.test")};
  sites[2].host = "::1";
  auto host = MtaStsHost::Listen(io, sites);
  ASSERT_TRUE(host.ok()) << host.status();
  const auto endpoints = (*host)->endpoints();
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_NE(endpoints[0].port(), 0);
  EXPECT_EQ(endpoints[0], endpoints[1]);
  EXPECT_EQ(endpoints[2].address().to_string(), "::1");
  EXPECT_NE(endpoints[2].port(), 0);
  (*host)->Stop();
  io.run();  // nothing left to do
}

TEST(MtaStsHost, ListenErrorsNameTheSiteAndWhy) {
  struct Row {
    const char* name;
    std::function<void(std::vector<MtaStsSite>&)> change;
    const char* mentions;
  };
  const Row rows[] = {
      {"status", [](auto& s) { s[1].status = 99; },
       "MTA-STS site 2 (\"html.test\"): HTTP status 99 is not a final status"},
      {"location", [](auto& s) { s[1].location = "https://x.test/\r\nSet-Cookie: a=b"; },
       "MTA-STS site 2 (\"html.test\"): location \"https://x.test/\\r\\nSet-Cookie: a=b\" holds"},
      {"content type", [](auto& s) { s[0].content_type = "text/plain\n"; },
       "MTA-STS site 1 (\"example.test\"): content_type"},
      {"domain", [](auto& s) { s[0].domain = "Bad_Domain"; },
       "MTA-STS site 1 (\"Bad_Domain\"): the domain is no host name"},
      {"host", [](auto& s) { s[1].host = "localhost"; },
       "MTA-STS site 2 (\"html.test\"): host \"localhost\" is no IPv4 or IPv6 address"},
      {"same name twice", [](auto& s) { s[1] = s[0]; },
       "MTA-STS site 2 (\"example.test\"): mta-sts.example.test is already served at "
       "127.0.0.1:0 by MTA-STS site 1"},
            // (The factory derives keys from the seed and the variant, not the
      // host name: the expired leaf's key is another key.)
      {"key of another certificate",
       [](auto& s) { s[1].key_pem = Cert("html.test", tls::CertVariant::kExpired).key_pem; },
       "MTA-STS site 2 (\"html.test\"): certificate or key refused: sni_certificates[0]"},
      {"no certificate", [](auto& s) { s[0].chain_pem = ""; },
       "MTA-STS site 1 (\"example.test\"): certificate or key refused: certificate_chain_pem"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    asio::io_context io;
    std::vector<MtaStsSite> sites = {Site("example.test"), Site("html.test")};
    row.change(sites);
    auto host = MtaStsHost::Listen(io, sites);
    ASSERT_FALSE(host.ok());
    EXPECT_EQ(host.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(host.status().message().find(row.mentions), absl::string_view::npos)
        << host.status();
  }
}

TEST(MtaStsHost, BindFailureNamesTheSiteAndTheAddress) {
  asio::io_context io;
  auto first = MtaStsHost::Listen(io, {Site("example.test")});
  ASSERT_TRUE(first.ok()) << first.status();
  const uint16_t taken = (*first)->endpoints()[0].port();
  std::vector<MtaStsSite> sites = {Site("html.test"), Site("slow.test")};
  sites[1].port = taken;
  auto second = MtaStsHost::Listen(io, sites);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("MTA-STS site 2 (\"slow.test\"): cannot listen on "
                                           "127.0.0.1:" +
                                           std::to_string(taken)),
            absl::string_view::npos)
      << second.status();
}

}  // namespace
}  // namespace mxkit::fakemx
