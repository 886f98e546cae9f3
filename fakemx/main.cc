// fakemx: a fake MX server. See fakemx/README.md.

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "base/absl_interop.h"
#include "base/version.h"
#include "fakemx/flags.h"
#include "fakemx/maildir.h"
#include "fakemx/server.h"
#include "fakemx/tls_setup.h"

namespace {

namespace asio = boost::asio;
using mxkit::fakemx::FakemxFlags;

using mxkit::base::StatusText;

std::string MachineHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// A fresh directory under $TMPDIR (or /tmp) that only we use.
std::string MakeTemporaryDirectory(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string path = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) +
                     "-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) return "";
  return path;
}

int Run(const FakemxFlags& flags) {
  const std::string hostname = flags.hostname.empty() ? MachineHostname() : flags.hostname;
  // TLS first: every --tls-* flag is checked against BoringSSL here, before
  // anything is created or bound.
  std::string tls_dir = flags.tls_dir;
  if (tls_dir.empty()) {
    tls_dir = MakeTemporaryDirectory("fakemx-tls");
    if (tls_dir.empty()) {
      std::perror("fakemx: cannot create a temporary --tls-dir");
      return 1;
    }
  }
  const std::string certificate_hostname = mxkit::fakemx::CertificateHostname(hostname);
  absl::StatusOr<mxkit::fakemx::TlsSetup> tls =
      mxkit::fakemx::SetUpTls(flags, certificate_hostname, tls_dir);
  if (!tls.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(tls.status()).c_str());
    return 1;
  }

  std::string maildir_path = flags.maildir;
  if (maildir_path.empty()) {
    maildir_path = MakeTemporaryDirectory("fakemx");
    if (maildir_path.empty()) {
      std::perror("fakemx: cannot create a temporary Maildir");
      return 1;
    }
  }
  auto maildir = mxkit::fakemx::Maildir::Open(maildir_path, {.hostname = hostname});
  if (!maildir.ok()) {
    std::fprintf(stderr, "fakemx: --maildir: %s\n", StatusText(maildir.status()).c_str());
    return 1;
  }

  mxkit::fakemx::ServerOptions options;
  options.endpoint = {asio::ip::make_address(flags.smtp_host), flags.smtp_port};
  options.session.hostname = hostname;
  options.session.limits.max_message_size = flags.max_message_size;
  options.session.command_leniencies = flags.command_leniencies;
  options.session.data_bare_line_endings = flags.data_bare_line_endings;
  options.session.data_nul = flags.data_nul;
  options.verbose = flags.verbose;
  options.idle_timeout = std::chrono::seconds(flags.idle_timeout_seconds);
  options.session_timeout = std::chrono::seconds(flags.session_timeout_seconds);
  options.shutdown_grace = std::chrono::seconds(flags.shutdown_grace_seconds);
  options.storage_threads = static_cast<size_t>(flags.storage_threads);
  options.tls_context = tls->context;
  options.tls_certificate = tls->certificate_variant;
  options.behaviour = mxkit::fakemx::ReceiverBehaviourFactory(flags.starttls);
  if (flags.smtps) {
    options.smtps_endpoint =
        asio::ip::tcp::endpoint(asio::ip::make_address(flags.smtps_host), flags.smtps_port);
  }

  asio::io_context io(1);
  mxkit::fakemx::Server server(io, options, maildir->get());
  if (absl::Status s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "fakemx: --smtp/--smtps: %s\n", StatusText(s).c_str());
    return 1;
  }
  const auto format = [](const asio::ip::tcp::endpoint& endpoint) {
    const std::string address = endpoint.address().is_v6()
                                    ? "[" + endpoint.address().to_string() + "]"
                                    : endpoint.address().to_string();
    return address + ":" + std::to_string(endpoint.port());
  };

  // One fact per line, flushed, so a test can start us on port 0 and read
  // the real port; "listening" comes last, when connections are accepted.
  std::printf("fakemx: hostname %s\n", hostname.c_str());
  std::printf("fakemx: maildir %s\n", (*maildir)->root().c_str());
  std::printf("fakemx: tls-dir %s\n", tls->dir.c_str());
  std::printf("fakemx: certificate %s for %s\n", tls->certificate_variant.c_str(),
              tls->certificate_hostname.c_str());
  std::printf("fakemx: starttls %s\n",
              std::string(mxkit::fakemx::FlagValue(flags.starttls)).c_str());
  if (flags.data_bare_line_endings != mxkit::smtp::BareLineEndingPolicy::kReject &&
      flags.data_bare_line_endings != mxkit::smtp::BareLineEndingPolicy::kPassThrough) {
    std::fprintf(stderr,
                 "fakemx: warning: --data-bare-line-endings=%s makes this server vulnerable to "
                 "SMTP smuggling, on purpose (CVE-2023-51764/51765/51766)\n",
                 std::string(mxkit::fakemx::FlagValue(flags.data_bare_line_endings)).c_str());
  }
  if (flags.cert == mxkit::tls::CertVariant::kWildcard &&
      std::count(tls->certificate_hostname.begin(), tls->certificate_hostname.end(), '.') < 2) {
    // RFC 6125 §6.4.3 leaves it to clients; OpenSSL (and so s_client, swaks,
    // curl and Python) never matches a star with fewer than two labels after it.
    std::fprintf(stderr,
                 "fakemx: warning: --cert=wildcard for %s issues *.%s, which clients refuse "
                 "(no wildcard over a single label); give --hostname three or more labels, "
                 "e.g. mx.example.test, to test a wildcard they accept\n",
                 tls->certificate_hostname.c_str(),
                 tls->certificate_hostname.substr(tls->certificate_hostname.find('.') + 1).c_str());
  }
  if (const auto smtps = server.smtps_local_endpoint()) {
    std::printf("fakemx: listening on smtps %s\n", format(*smtps).c_str());
  }
  // Last: a test waits for this line.
  std::printf("fakemx: listening on smtp %s\n", format(server.local_endpoint()).c_str());
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signals_seen = 0;
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
      if (ec) return;
      if (++signals_seen == 1) {
        std::printf("fakemx: %s received, finishing transactions (up to %llds)\n",
                    signal_number == SIGINT ? "SIGINT" : "SIGTERM",
                    static_cast<long long>(flags.shutdown_grace_seconds));
        std::fflush(stdout);
        server.Shutdown([&] {
          signals.cancel();
          io.stop();
        });
      } else {
        std::printf("fakemx: second signal, closing all connections now\n");
        std::fflush(stdout);
        server.ForceClose();
      }
      wait_for_signal();
    });
  };
  wait_for_signal();
  server.Start();
  io.run();

  const mxkit::fakemx::ServerStats stats = server.stats();
  std::printf("fakemx: stopped; %llu messages stored, %llu storage failures, %llu connections\n",
              static_cast<unsigned long long>(stats.messages_stored),
              static_cast<unsigned long long>(stats.storage_failures),
              static_cast<unsigned long long>(stats.connections_accepted));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Asio sends with MSG_NOSIGNAL; this also covers anything else.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  absl::StatusOr<FakemxFlags> flags = mxkit::fakemx::ParseFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(flags.status()).c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(mxkit::fakemx::FlagsUsage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("fakemx %s\n", mxkit::kMxkitVersion);
    return 0;
  }
  return Run(*flags);
}
