// fakemx: a fake MX server. See fakemx/README.md.

#include <signal.h>
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>  // mallopt
#endif
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "base/absl_interop.h"
#include "base/version.h"
#include "fakemx/dns_listener.h"
#include "fakemx/flags.h"
#include "fakemx/instance.h"
#include "fakemx/scenario.h"
#include "fakemx/server.h"

namespace {

// How far ahead of its needs the heap grows, and how much it keeps when
// trimmed (see main).
constexpr int kHeapTopPadBytes = 64 << 20;

namespace asio = boost::asio;
namespace fakemx = mxkit::fakemx;
using fakemx::FakemxFlags;
using mxkit::base::StatusText;

// Exit codes: a usage error (bad flag, bad scenario) is 2, a failure to
// start (a port taken, a directory not writable) is 1.
constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

// Open files fakemx wants: 10,000 concurrent connections (issue 9's idle
// connection test) plus listeners, the Maildir, TLS files and stdio.
constexpr rlim_t kWantedOpenFiles = 10050;

// Raises the soft RLIMIT_NOFILE to the hard limit: the default soft limit
// (1024 on Debian) would refuse the 1,021st connection with EMFILE.
void RaiseOpenFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    std::perror("fakemx: warning: getrlimit(RLIMIT_NOFILE)");
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < kWantedOpenFiles) {
    std::fprintf(stderr,
                 "fakemx: warning: open file limit %llu (hard limit %llu) is below %llu; "
                 "fewer than 10000 concurrent connections will be accepted (raise it with "
                 "ulimit -Hn, or LimitNOFILE= under systemd)\n",
                 static_cast<unsigned long long>(limit.rlim_cur),
                 static_cast<unsigned long long>(limit.rlim_max),
                 static_cast<unsigned long long>(kWantedOpenFiles));
  }
}

int ListScenarios() {
  size_t width = 0;
  for (const fakemx::CatalogueEntry& e : fakemx::ScenarioCatalogue()) {
    width = std::max(width, e.name.size());
  }
  for (const fakemx::CatalogueEntry& e : fakemx::ScenarioCatalogue()) {
    std::printf("%-*.*s  %.*s\n", static_cast<int>(width), static_cast<int>(e.name.size()),
                e.name.data(), static_cast<int>(e.summary.size()), e.summary.data());
  }
  return 0;
}

int Run(const FakemxFlags& flags) {
  RaiseOpenFileLimit();

  fakemx::InstanceOptions options;
  options.scenario = fakemx::ScenarioSource::Named(
      flags.scenario.empty() ? std::string(fakemx::kDefaultScenario) : flags.scenario);
  options.flags = flags;
  asio::io_context io(1);
  absl::StatusOr<std::unique_ptr<fakemx::Instance>> created =
      fakemx::Instance::Create(io, std::move(options));
  if (!created.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(created.status()).c_str());
    return fakemx::IsUsageError(created.status()) ? kExitUsage : kExitFailure;
  }
  fakemx::Instance& instance = **created;

  // One fact per line, flushed, so a test can start us on port 0 and read
  // the real ports; "listening on smtp" comes last, when connections are
  // accepted on every listener.
  const fakemx::Banner banner = instance.banner();
  for (const std::string& line : banner.facts) std::printf("%s\n", line.c_str());
  for (const std::string& line : banner.warnings) std::fprintf(stderr, "%s\n", line.c_str());
  for (const std::string& line : banner.listening) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::fflush(stderr);

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
        instance.Shutdown([&] {
          signals.cancel();
          io.stop();
        });
      } else {
        std::printf("fakemx: second signal, closing all connections now\n");
        std::fflush(stdout);
        instance.ForceClose();
      }
      wait_for_signal();
    });
  };
  wait_for_signal();
  instance.Serve();
  io.run();

  if (const std::optional<fakemx::DnsListenerStats> d = instance.dns_stats()) {
    std::printf("fakemx: dns stopped; %llu udp queries, %llu tcp queries, %llu unanswered\n",
                static_cast<unsigned long long>(d->udp_queries),
                static_cast<unsigned long long>(d->tcp_queries),
                static_cast<unsigned long long>(d->unanswered));
  }
  const fakemx::ServerStats stats = instance.server_stats();
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
  absl::StatusOr<FakemxFlags> flags = fakemx::ParseFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(flags.status()).c_str());
    return kExitUsage;
  }
  if (flags->help) {
    std::fputs(fakemx::FlagsUsage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("fakemx %s\n", mxkit::kMxkitVersion);
    return 0;
  }
  if (flags->list_scenarios) return ListScenarios();
#if defined(__GLIBC__)
  // The heap grows (and is trimmed) in kHeapTopPadBytes steps, not glibc's
  // 128 KiB: the store frees whole sessions as it evicts, and memory handed
  // back to the kernel costs ~13 µs per 4 KiB to fault in again on the
  // project VM (tests/perf/page_first_touch.c). Without it, 1,000 slow
  // clients took fakemx to 0.52 and 0.76 of its per-connection throughput,
  // with it 0.92 (tests/perf/slow_clients.sh; BENCHMARKS.md, issue 9, s17).
  // Advice to the allocator: where it is refused nothing else changes.
  mallopt(M_TOP_PAD, kHeapTopPadBytes);
#endif
  return Run(*flags);
}
