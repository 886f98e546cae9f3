// Complete STARTTLS sessions per second over loopback, beside the raw
// BoringSSL handshake rate for the same certificate, measured in the same
// run (issue 8's target: sessions >= 0.8x handshakes).
//
// A session: connect, greeting, EHLO, STARTTLS, TLS 1.3 handshake (ECDSA
// P-256 leaf from the certificate factory, verified against its root with
// the host name checked), EHLO, one 1 KiB message, QUIT. Server:
// smtp::ServerSession + tls::Engine; client: smtp::ClientSession +
// tls::Engine (testing/smtp_client_runner). Raw: SSL_accept/SSL_connect on
// the same sockets with SSL_CTXs built from the same PEMs, then close_notify.
// Each of C client threads runs one connection at a time against one of C
// server threads. With C = 1 the figure is latency-bound: a session has about
// six more round trips than a bare handshake, each waiting for a thread to
// wake. With C >= the core count both are CPU-bound, and the ratio is what our
// SMTP and engine layers cost on top of the handshake.
//
// Usage: starttls_benchmark [--seconds=S] [--rounds=N] [--connections=C]
// Prints each round's two rates, then the medians, their ratio and the load
// average. Measure on an idle machine (BENCHMARKS.md).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "smtp/server_session.h"
#include "testing/smtp_client_runner.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace mxkit {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(std::string_view what) {
  std::fprintf(stderr, "starttls_benchmark: %.*s\n", static_cast<int>(what.size()), what.data());
  std::exit(1);
}

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the peer went away; the session loop notices
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// One SMTP session with STARTTLS, server side, blocking.
void ServeSmtp(int fd, const std::shared_ptr<const tls::ServerContext>& context) {
  smtp::ServerSessionConfig config;
  config.hostname = "mx.test";
  config.extensions.starttls = true;
  smtp::ServerSession session(config);
  std::optional<tls::Engine> engine;
  char buf[16 * 1024];
  auto flush = [&] {
    if (!session.has_output()) return;
    std::string out = session.TakeOutput();
    if (engine) {
      if (!engine->WritePlaintext(out).ok()) return;
      WriteAll(fd, engine->TakeCiphertext());
    } else {
      WriteAll(fd, out);
    }
  };
  session.Start();
  bool close = false;
  while (!close) {
    flush();
    while (std::optional<smtp::ServerEvent> event = session.NextEvent()) {
      if (std::holds_alternative<smtp::CloseRequestedEvent>(*event)) close = true;
      if (std::holds_alternative<smtp::StartTlsRequestedEvent>(*event)) {
        flush();  // the 220
        absl::StatusOr<tls::Engine> e = tls::Engine::NewServer(context);
        if (!e.ok()) Die(e.status().ToString());
        engine.emplace(std::move(*e));
        while (engine->state() == tls::EngineState::kHandshaking) {
          const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
          if (n <= 0) return;
          engine->FeedCiphertext(std::string_view(buf, static_cast<size_t>(n)));
          if (engine->has_ciphertext()) WriteAll(fd, engine->TakeCiphertext());
        }
        if (engine->state() != tls::EngineState::kEstablished) {
          Die("server handshake failed: " + engine->error()->ToString());
        }
        session.OnTlsEstablished();
        // The client's EHLO may have come in the same read as its Finished.
        if (engine->has_plaintext()) session.Feed(engine->TakePlaintext());
      }
    }
    flush();
    if (close || session.state() == smtp::ServerState::kClosed) break;
    std::string_view plaintext;
    std::string decrypted;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    if (engine) {
      engine->FeedCiphertext(std::string_view(buf, static_cast<size_t>(n)));
      if (engine->has_ciphertext()) WriteAll(fd, engine->TakeCiphertext());
      decrypted = engine->TakePlaintext();
      plaintext = decrypted;
    } else {
      plaintext = std::string_view(buf, static_cast<size_t>(n));
    }
    session.Feed(plaintext);
  }
  if (engine) {
    engine->Close();
    if (engine->has_ciphertext()) WriteAll(fd, engine->TakeCiphertext());
  }
}

bssl::UniquePtr<SSL_CTX> RawServerContext(const tls::ServedCertificate& served) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  bssl::UniquePtr<BIO> chain(BIO_new_mem_buf(served.chain_pem.data(), served.chain_pem.size()));
  bssl::UniquePtr<X509> leaf(PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr));
  if (!leaf || !SSL_CTX_use_certificate(ctx.get(), leaf.get())) Die("raw: leaf");
  while (X509* extra = PEM_read_bio_X509(chain.get(), nullptr, nullptr, nullptr)) {
    SSL_CTX_add0_chain_cert(ctx.get(), extra);
  }
  ERR_clear_error();
  bssl::UniquePtr<BIO> key_bio(BIO_new_mem_buf(served.key_pem.data(), served.key_pem.size()));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key || !SSL_CTX_use_PrivateKey(ctx.get(), key.get())) Die("raw: key");
  return ctx;
}

bssl::UniquePtr<SSL_CTX> RawClientContext(const std::string& root_pem) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(root_pem.data(), root_pem.size()));
  bssl::UniquePtr<X509> root(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!root || !X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), root.get())) Die("raw: root");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

enum class Mode { kRaw, kStartTls };

struct Listener {
  int fd = -1;
  uint16_t port = 0;
};

Listener Listen() {
  Listener l;
  l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind");
  if (::listen(l.fd, 128) != 0) Die("listen");
  socklen_t len = sizeof(addr);
  ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  l.port = ntohs(addr.sin_port);
  return l;
}

struct Bench {
  std::shared_ptr<const tls::ServerContext> server_context;
  std::shared_ptr<const tls::ClientContext> client_context;
  bssl::UniquePtr<SSL_CTX> raw_server;
  bssl::UniquePtr<SSL_CTX> raw_client;
  std::string message;
};

// The server side of one connection, in the server thread.
void Serve(const Bench& bench, Mode mode, int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (mode == Mode::kStartTls) {
    ServeSmtp(fd, bench.server_context);
  } else {
    bssl::UniquePtr<SSL> ssl(SSL_new(bench.raw_server.get()));
    SSL_set_fd(ssl.get(), fd);
    if (SSL_accept(ssl.get()) != 1) Die("raw: SSL_accept failed");
    SSL_shutdown(ssl.get());
  }
  ::close(fd);
}

// The client side of one connection, in the measuring thread.
void Connect(const Bench& bench, Mode mode, uint16_t port) {
  absl::StatusOr<int> fd = testing::ConnectLoopback(port);
  if (!fd.ok()) Die(fd.status().ToString());
  if (mode == Mode::kStartTls) {
    testing::SmtpClientRunOptions options;
    options.session.helo_domain = "client.test";
    options.session.starttls = smtp::StartTlsMode::kRequired;
    options.tls_context = bench.client_context;
    options.tls_connection = {"mx.test", "mx.test"};
    smtp::OutgoingMessage m;
    m.reverse_path = "sender@client.test";
    m.recipients.push_back({"rcpt@mx.test", {}});
    m.content = bench.message;
    options.messages.push_back(std::move(m));
    absl::StatusOr<testing::SmtpClientRun> run = testing::RunSmtpClient(*fd, std::move(options));
    if (!run.ok()) Die(run.status().ToString());
    if (!run->tls_established || run->outcome != smtp::SessionOutcome::kCompleted ||
        run->results.size() != 1 || run->results[0].status != smtp::TransactionStatus::kDelivered) {
      Die("a STARTTLS session did not deliver: " + run->detail);
    }
  } else {
    bssl::UniquePtr<SSL> ssl(SSL_new(bench.raw_client.get()));
    SSL_set_fd(ssl.get(), *fd);
    SSL_set_tlsext_host_name(ssl.get(), "mx.test");
    X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl.get()), "mx.test", 7);
    if (SSL_connect(ssl.get()) != 1) {
      ERR_print_errors_fp(stderr);
      Die("raw: SSL_connect failed (verify result " +
          std::to_string(SSL_get_verify_result(ssl.get())) + ")");
    }
    SSL_shutdown(ssl.get());
  }
  ::close(*fd);
}

// Connections per second over `seconds`, with `connections` client threads
// each running one connection at a time against as many server threads.
// One connection measures latency (every round trip waits for a thread to
// wake); several keep both cores busy and measure what each costs in CPU.
double Measure(const Bench& bench, Mode mode, double seconds, int connections) {
  Listener listener = Listen();
  std::atomic<bool> stop{false};
  std::vector<std::thread> servers;
  for (int i = 0; i < connections; ++i) {
    servers.emplace_back([&] {
      while (true) {
        const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0 || stop.load()) {
          if (fd >= 0) ::close(fd);
          return;
        }
        Serve(bench, mode, fd);
      }
    });
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(seconds));
  std::atomic<uint64_t> n{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < connections; ++i) {
    clients.emplace_back([&] {
      while (Clock::now() < end) {
        Connect(bench, mode, listener.port);
        n.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  // Wake each accept() with one last connection, then close.
  for (int i = 0; i < connections; ++i) {
    if (absl::StatusOr<int> fd = testing::ConnectLoopback(listener.port); fd.ok()) ::close(*fd);
  }
  for (std::thread& t : servers) t.join();
  ::close(listener.fd);
  return static_cast<double>(n.load()) / elapsed;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

int Main(int argc, char** argv) {
  double seconds = 2;
  int rounds = 5;
  int connections = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--seconds=", 0) == 0) {
      seconds = std::atof(argv[i] + 10);
    } else if (arg.rfind("--rounds=", 0) == 0) {
      rounds = std::atoi(argv[i] + 9);
    } else if (arg.rfind("--connections=", 0) == 0) {
      connections = std::atoi(argv[i] + 14);
    } else {
      Die("unknown argument '" + std::string(arg) + "' (usage: --seconds=S --rounds=N)");
    }
  }
  if (seconds <= 0 || rounds <= 0) Die("--seconds and --rounds must be positive");

  tls::CertFactoryOptions options;
  options.hostname = "mx.test";
  absl::StatusOr<tls::CertificateSet> certs =
      tls::CertificateSet::Generate(options, {tls::CertVariant::kEcdsaP256});
  if (!certs.ok()) Die(certs.status().ToString());
  absl::StatusOr<const tls::ServedCertificate*> served = certs->Get(tls::CertVariant::kEcdsaP256);
  if (!served.ok()) Die(served.status().ToString());

  Bench bench;
  tls::ServerContextOptions server_options;
  server_options.versions = {tls::TlsVersion::kTls13, tls::TlsVersion::kTls13};
  server_options.certificate_chain_pem = (*served)->chain_pem;
  server_options.private_key_pem = (*served)->key_pem;
  absl::StatusOr<std::shared_ptr<const tls::ServerContext>> server_context =
      tls::ServerContext::Create(server_options);
  if (!server_context.ok()) Die(server_context.status().ToString());
  bench.server_context = *server_context;
  tls::ClientContextOptions client_options;
  client_options.versions = {tls::TlsVersion::kTls13, tls::TlsVersion::kTls13};
  client_options.trusted_roots_pem = certs->root_pem();
  client_options.verify = tls::ClientVerify::kRequire;
  absl::StatusOr<std::shared_ptr<const tls::ClientContext>> client_context =
      tls::ClientContext::Create(client_options);
  if (!client_context.ok()) Die(client_context.status().ToString());
  bench.client_context = *client_context;
  bench.raw_server = RawServerContext(**served);
  bench.raw_client = RawClientContext(certs->root_pem());
  // A 1 KiB message: header and body lines of ordinary length.
  bench.message = "From: <sender@client.test>\r\nTo: <rcpt@mx.test>\r\nSubject: benchmark\r\n\r\n";
  while (bench.message.size() < 1024 - 78) bench.message += std::string(76, 'x') + "\r\n";
  bench.message.resize(1022, 'x');
  bench.message += "\r\n";

  std::printf("starttls_benchmark: %d rounds of %.1f s each, %d concurrent connection(s); "
              "load average before: %s\n",
              rounds, seconds, connections, LoadAverage().c_str());
  std::vector<double> raw, sessions;
  for (int r = 0; r < rounds; ++r) {
    // Alternate which goes first so drift in machine load hits both alike.
    if (r % 2 == 0) {
      raw.push_back(Measure(bench, Mode::kRaw, seconds, connections));
      sessions.push_back(Measure(bench, Mode::kStartTls, seconds, connections));
    } else {
      sessions.push_back(Measure(bench, Mode::kStartTls, seconds, connections));
      raw.push_back(Measure(bench, Mode::kRaw, seconds, connections));
    }
    std::printf("round %d: raw BoringSSL TLS 1.3 handshakes %.0f/s, STARTTLS sessions %.0f/s\n",
                r + 1, raw.back(), sessions.back());
  }
  const double raw_median = Median(raw);
  const double session_median = Median(sessions);
  std::printf("median: raw handshakes %.0f/s, STARTTLS sessions %.0f/s, ratio %.2fx "
              "(target >= 0.80x); load average after: %s\n",
              raw_median, session_median, session_median / raw_median, LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace mxkit

int main(int argc, char** argv) { return mxkit::Main(argc, argv); }
