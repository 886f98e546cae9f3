#include "fakemx/testing/running_server.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include <boost/asio/post.hpp>

#include "gtest/gtest.h"
#include "tls/receiver_profile.h"

namespace mxkit::fakemx::testing {

namespace asio = boost::asio;
using ::mxkit::testing::BlockingClient;

std::string MakeTempDir(std::string_view prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  const char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr) << tmpl;
  return tmpl;
}

std::vector<std::string> FileNames(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  }
  closedir(d);
  return out;
}

std::vector<std::string> FileContents(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& name : FileNames(dir)) {
    std::ifstream f(dir + "/" + name, std::ios::binary);
    std::stringstream content;
    content << f.rdbuf();
    out.push_back(content.str());
  }
  return out;
}

const tls::CertificateSet& GoodCertificates() {
  static const tls::CertificateSet* certs = [] {
    auto generated = tls::CertificateSet::Generate(
        tls::CertFactoryOptions{}, std::vector<tls::CertVariant>{tls::CertVariant::kGood});
    EXPECT_TRUE(generated.ok()) << generated.status();
    return new tls::CertificateSet(std::move(*generated));
  }();
  return *certs;
}

std::shared_ptr<const tls::ServerContext> GoodServerContext() {
  auto context = tls::BuildServerContext(tls::ReceiverProfile{}, GoodCertificates());
  EXPECT_TRUE(context.ok()) << context.status();
  return *context;
}

std::optional<tls::EngineError> HandshakeWithMxTest(BlockingClient& c,
                                                    tls::VersionRange versions) {
  tls::ClientContextOptions options;
  options.versions = versions;
  options.trusted_roots_pem = GoodCertificates().root_pem();
  return c.Handshake(options, {.sni = "mx.test", .verify_hostname = "mx.test"}, kReplyTimeout);
}

std::string Code(const std::string& reply) { return reply.substr(0, 4); }

std::string Greet(BlockingClient& c) {
  EXPECT_EQ(Code(c.ReadReply()), "220 ");
  return c.Command("EHLO client.test\r\n");
}

void SendMessage(BlockingClient& c, std::string_view mail_from, std::string_view message) {
  EXPECT_EQ(Code(c.Command("MAIL FROM:<" + std::string(mail_from) + ">\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@mx.test>\r\n")), "250 ");
  EXPECT_EQ(Code(c.Command("DATA\r\n")), "354 ");
  EXPECT_EQ(Code(c.Command(std::string(message) + ".\r\n")), "250 ");
}

RunningServer::RunningServer(ServerOptions options, std::optional<std::string> maildir_prefix) {
  if (maildir_prefix) {
    dir_ = MakeTempDir(*maildir_prefix);
    auto maildir = Maildir::Open(dir_, {.hostname = "mx.test"});
    EXPECT_TRUE(maildir.ok()) << maildir.status();
    if (maildir.ok()) maildir_ = std::move(*maildir);
  }
  options.capture = &capture_;
  server_ = std::make_unique<Server>(io_, std::move(options), maildir_.get());
  const absl::Status listening = server_->Listen();
  EXPECT_TRUE(listening.ok()) << listening;
  server_->Start();
  thread_ = std::thread([this] { io_.run(); });
}

RunningServer::~RunningServer() { Stop(); }

void RunningServer::Stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    server_->Shutdown([this] { io_.stop(); });
    server_->ForceClose();
  });
  thread_.join();
}

void RunningServer::BeginShutdown() {
  asio::post(io_, [this] { server_->Shutdown([this] { io_.stop(); }); });
}

bool RunningServer::Drained(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!io_.stopped()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  thread_.join();
  return true;
}

uint16_t RunningServer::port() const { return server_->local_endpoint().port(); }

uint16_t RunningServer::smtps_port() const { return server_->smtps_local_endpoint()->port(); }

const asio::ip::tcp::endpoint& RunningServer::endpoint(std::size_t i) {
  if (listeners_.empty()) {
    for (const BoundListener& l : server_->listeners()) listeners_.push_back(l.endpoint);
  }
  return listeners_.at(i);
}

std::vector<BoundListener> RunningServer::listeners() const { return server_->listeners(); }

ServerStats RunningServer::stats() const { return server_->stats(); }

}  // namespace mxkit::fakemx::testing
