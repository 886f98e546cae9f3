// fakemx: a fake MX server. See fakemx/README.md.

#include <signal.h>
#include <stdlib.h>
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
#include "dns/authoritative.h"
#include "fakemx/api_backend.h"
#include "fakemx/api_server.h"
#include "fakemx/capture.h"
#include "fakemx/dns_listener.h"
#include "fakemx/flags.h"
#include "fakemx/maildir.h"
#include "fakemx/mta_sts_host.h"
#include "fakemx/scenario.h"
#include "fakemx/scenario_behaviour.h"
#include "fakemx/scenario_dns.h"
#include "fakemx/scenario_flags.h"
#include "fakemx/server.h"
#include "fakemx/tls_setup.h"

namespace {

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

// A fresh directory under $TMPDIR (or /tmp) that only we use.
std::string MakeTemporaryDirectory(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string path = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) +
                     "-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) return "";
  return path;
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

// Where a listener of `receiver` came from, for an error.
std::string ListenerPlace(const fakemx::Scenario& scenario, const fakemx::Receiver& receiver,
                          const fakemx::ListenerSpec& listener) {
  if (listener.position.line > 0) {
    return scenario.source + ":" + std::to_string(listener.position.line) + ":" +
           std::to_string(listener.position.column) + ": ";
  }
  return "scenario " + scenario.name + ", receiver " + receiver.name + ": ";
}

// The API's view of this process until fakemx::Instance (issue 11's
// embedding) owns the wiring: the capture, the scenario as started, and
// counters from the server, the capture and the DNS listener.
class MainApiBackend : public fakemx::ApiBackend, public fakemx::CaptureObserver {
 public:
  MainApiBackend(fakemx::CaptureStore& capture, fakemx::ApiScenario scenario,
                 const fakemx::Server& server, const fakemx::DnsListener* dns)
      : capture_(capture), scenario_(std::move(scenario)), server_(server), dns_(dns) {
    capture_.AddObserver(this);
  }
  ~MainApiBackend() override { capture_.RemoveObserver(this); }

  fakemx::CaptureStore& capture() override { return capture_; }
  fakemx::ApiScenario scenario() const override { return scenario_; }
  void SwitchScenario(std::string /*spec*/,
                      std::function<void(absl::StatusOr<fakemx::ApiScenario>)> done) override {
    done(absl::FailedPreconditionError("switching needs fakemx::Instance"));
  }
  std::vector<fakemx::MetricFamily> Metrics() const override {
    const fakemx::ServerStats s = server_.stats();
    const fakemx::CaptureStats c = capture_.stats();
    auto n = [](uint64_t v) { return static_cast<double>(v); };
    std::vector<fakemx::MetricFamily> out = {
        {"fakemx_connections_total", "SMTP connections accepted.", "counter",
         {{"", n(s.connections_accepted)}}},
        {"fakemx_connections_open", "SMTP connections open now.", "gauge",
         {{"", n(s.connections_open)}}},
        {"fakemx_messages_total", "Messages answered 250.", "counter",
         {{"", n(s.messages_stored)}}},
        {"fakemx_storage_failures_total", "Messages answered 451 4.3.0 (storage failed).",
         "counter", {{"", n(s.storage_failures)}}},
        {"fakemx_tls_handshakes_total", "TLS handshakes by outcome.", "counter",
         {{"outcome=\"established\"", n(s.tls_established)},
          {"outcome=\"failed\"", n(s.tls_failed)}}},
        {"fakemx_verdicts_total", "Messages by verdict summary word.", "counter",
         {{"lock=\"encrypted\"", n(encrypted_)},
          {"lock=\"red_lock\"", n(added_ - encrypted_)},
          {"sender=\"authenticated\"", n(authenticated_)},
          {"sender=\"question_mark\"", n(added_ - authenticated_)}}},
        {"fakemx_capture_sessions", "Sessions in the capture now.", "gauge",
         {{"", n(c.sessions)}}},
        {"fakemx_capture_messages", "Messages in the capture now.", "gauge",
         {{"", n(c.messages)}}},
        {"fakemx_capture_bytes", "Bytes the capture accounts now.", "gauge", {{"", n(c.bytes)}}},
        {"fakemx_capture_evictions_total", "Sessions and messages evicted from the capture.",
         "counter",
         {{"kind=\"session\"", n(c.sessions_evicted)},
          {"kind=\"message\"", n(c.messages_evicted)}}},
    };
    if (dns_ != nullptr) {
      const fakemx::DnsListenerStats d = dns_->stats();
      out.push_back({"fakemx_dns_queries_total", "DNS queries by transport.", "counter",
                     {{"transport=\"udp\"", n(d.udp_queries)},
                      {"transport=\"tcp\"", n(d.tcp_queries)}}});
    }
    return out;
  }

  void OnMessageAdded(const fakemx::CapturedSession& /*session*/,
                      const fakemx::CapturedMessage& message) override {
    ++added_;
    encrypted_ += message.verdict.summary.encrypted ? 1 : 0;
    authenticated_ += message.verdict.summary.authenticated ? 1 : 0;
  }

 private:
  fakemx::CaptureStore& capture_;
  fakemx::ApiScenario scenario_;
  const fakemx::Server& server_;
  const fakemx::DnsListener* dns_;
  uint64_t added_ = 0, encrypted_ = 0, authenticated_ = 0;
};

int Run(const FakemxFlags& flags) {
  RaiseOpenFileLimit();

  // The scenario first: a bad file is reported before anything is created
  // or bound.
  const std::string scenario_name =
      flags.scenario.empty() ? std::string(fakemx::kDefaultScenario) : flags.scenario;
  absl::StatusOr<fakemx::Scenario> scenario = fakemx::ResolveScenario(scenario_name);
  if (!scenario.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(scenario.status()).c_str());
    return kExitUsage;
  }
  if (scenario->receivers.empty()) {
    std::fprintf(stderr, "fakemx: scenario %s has no receivers\n", scenario->name.c_str());
    return kExitUsage;
  }
  if (absl::Status s = fakemx::ApplyFlagsToScenario(flags, *scenario); !s.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(s).c_str());
    return kExitUsage;
  }
  const fakemx::Receiver& first = scenario->receivers.front();

  // Every listener address is an IP literal (the parser and the flags check
  // that); converting them here still fails cleanly rather than throwing.
  std::vector<std::vector<fakemx::ListenerOptions>> listeners;
  for (const fakemx::Receiver& r : scenario->receivers) {
    std::vector<fakemx::ListenerOptions>& out = listeners.emplace_back();
    for (const fakemx::ListenerSpec& l : r.listeners) {
      boost::system::error_code ec;
      const asio::ip::address address = asio::ip::make_address(l.host, ec);
      if (ec) {
        std::fprintf(stderr, "fakemx: %slistener %s: not an IP address\n",
                     ListenerPlace(*scenario, r, l).c_str(), l.host.c_str());
        return kExitUsage;
      }
      out.push_back({asio::ip::tcp::endpoint(address, l.port),
                     l.mode == fakemx::ListenerMode::kSmtps});
    }
  }

  // TLS next: every TLS setting is checked against BoringSSL here, before
  // anything is bound.
  std::string tls_dir = flags.tls_dir;
  if (tls_dir.empty()) {
    tls_dir = MakeTemporaryDirectory("fakemx-tls");
    if (tls_dir.empty()) {
      std::perror("fakemx: cannot create a temporary --tls-dir");
      return kExitFailure;
    }
  }
  absl::StatusOr<fakemx::ScenarioTls> tls = fakemx::SetUpScenarioTls(*scenario, flags, tls_dir);
  if (!tls.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(tls.status()).c_str());
    return tls.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }

  // The DNS world next (zones, MTA-STS sites, DKIM keys written beside the
  // certificates), and the responder over it: a scenario whose records do
  // not make zones is reported before anything is bound.
  absl::StatusOr<fakemx::ScenarioDns> dns_world =
      fakemx::BuildScenarioDns(*scenario, *tls, tls->dir);
  if (!dns_world.ok()) {
    std::fprintf(stderr, "fakemx: %s\n", StatusText(dns_world.status()).c_str());
    return dns_world.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                           : kExitFailure;
  }
  if (flags.mta_sts_port_given) {
    for (fakemx::MtaStsSite& site : dns_world->policy_sites) site.port = flags.mta_sts_port;
  }
  std::optional<mxkit::dns::AuthoritativeResponder> responder;
  fakemx::DnsListenerOptions dns_options;
  if (flags.dns) {
    absl::StatusOr<mxkit::dns::AuthoritativeResponder> created =
        mxkit::dns::AuthoritativeResponder::Create(dns_world->zones);
    if (!created.ok()) {
      std::fprintf(stderr, "fakemx: scenario %s: DNS zones: %s\n", scenario->name.c_str(),
                   StatusText(created.status()).c_str());
      return kExitUsage;
    }
    responder = *std::move(created);
    boost::system::error_code ec;
    dns_options.address = asio::ip::make_address(flags.dns_host, ec);
    if (ec) {  // ParseHostPort accepted it as a literal; still no throw here
      std::fprintf(stderr, "fakemx: --dns: %s is not an IP address\n", flags.dns_host.c_str());
      return kExitUsage;
    }
    dns_options.port = flags.dns_port;
  }

  // Without --maildir, messages live in the capture only: no disk, no fsync.
  std::unique_ptr<fakemx::Maildir> maildir;
  if (!flags.maildir.empty()) {
    auto opened = fakemx::Maildir::Open(flags.maildir, {.hostname = first.hostname});
    if (!opened.ok()) {
      std::fprintf(stderr, "fakemx: --maildir: %s\n", StatusText(opened.status()).c_str());
      return kExitFailure;
    }
    maildir = *std::move(opened);
  }
  fakemx::CaptureStore capture({.max_sessions = static_cast<size_t>(flags.capture_max_sessions),
                                .max_bytes = static_cast<size_t>(flags.capture_max_bytes)});

  fakemx::ServerOptions options;
  options.verbose = flags.verbose;
  options.idle_timeout = std::chrono::seconds(flags.idle_timeout_seconds);
  options.session_timeout = std::chrono::seconds(flags.session_timeout_seconds);
  options.shutdown_grace = std::chrono::seconds(flags.shutdown_grace_seconds);
  options.storage_threads = static_cast<size_t>(flags.storage_threads);
  options.scenario = scenario->name;
  options.capture = &capture;
  for (size_t i = 0; i < scenario->receivers.size(); ++i) {
    const fakemx::Receiver& r = scenario->receivers[i];
    const fakemx::ReceiverTls& rt = tls->receivers[i];
    fakemx::ReceiverOptions ro;
    ro.name = r.name;
    ro.listeners = listeners[i];
    ro.session = fakemx::ReceiverSessionConfig(r, mxkit::smtp::ServerSessionConfig{},
                                               rt.context != nullptr);
    // The receiver and its cross-connection state (greylist, ordinals)
    // live as long as the factory, i.e. the server.
    ro.behaviour = fakemx::ScenarioBehaviourFactory(std::make_shared<const fakemx::Receiver>(r),
                                                    std::make_shared<fakemx::ReceiverState>());
    ro.tls_context = rt.context;
    ro.tls_certificate = rt.certificate_variant;
    ro.idle_timeout = r.idle_timeout;
    options.receivers.push_back(std::move(ro));
  }

  asio::io_context io(1);
  fakemx::Server server(io, options, maildir.get());
  if (absl::Status s = server.Listen(); !s.ok()) {
    std::fprintf(stderr, "fakemx: listen: %s\n", StatusText(s).c_str());
    return kExitFailure;
  }

  // DNS and the MTA-STS policy host listen before anything is announced, so
  // a sender started on the "listening on smtp" line finds them up.
  std::unique_ptr<fakemx::DnsListener> dns;
  if (responder) {
    absl::StatusOr<std::unique_ptr<fakemx::DnsListener>> listening =
        fakemx::DnsListener::Listen(io, *std::move(responder), dns_options);
    if (!listening.ok()) {
      std::fprintf(stderr,
                   "fakemx: %s; give --dns=off to run without a DNS server, or another "
                   "--dns=HOST:PORT such as --dns=127.0.0.1:5354 (port 0 picks a free one)\n",
                   StatusText(listening.status()).c_str());
      return kExitFailure;
    }
    dns = *std::move(listening);
  }
  std::unique_ptr<fakemx::MtaStsHost> mta_sts;
  if (!dns_world->policy_sites.empty()) {
    absl::StatusOr<std::unique_ptr<fakemx::MtaStsHost>> listening =
        fakemx::MtaStsHost::Listen(io, dns_world->policy_sites);
    if (!listening.ok()) {
      std::fprintf(stderr, "fakemx: MTA-STS policy host: %s%s\n",
                   StatusText(listening.status()).c_str(),
                   flags.mta_sts_port_given ? ""
                                            : "; --mta-sts-port=N moves every policy host to "
                                              "port N (0 picks a free one)");
      return kExitFailure;
    }
    mta_sts = *std::move(listening);
  }

  // The API last: it serves what the others bound.
  std::unique_ptr<MainApiBackend> api_backend;
  std::unique_ptr<fakemx::ApiServer> api;
  if (flags.api) {
    fakemx::ApiScenario described;
    described.name = scenario->name;
    described.source = scenario->source == "<catalogue>" ? "catalogue" : scenario->source;
    for (const fakemx::Receiver& r : scenario->receivers) described.receivers.push_back(r.name);
    for (const fakemx::BoundListener& l : server.listeners()) {
      described.listeners.push_back(
          {l.receiver, l.implicit_tls ? "smtps" : "smtp", fakemx::FormatEndpoint(l.endpoint)});
    }
    if (dns) {
      const asio::ip::udp::endpoint udp = dns->udp_endpoint();
      described.listeners.push_back(
          {"", "dns-udp", fakemx::FormatEndpoint(asio::ip::tcp::endpoint(udp.address(), udp.port()))});
      described.listeners.push_back({"", "dns-tcp", fakemx::FormatEndpoint(dns->tcp_endpoint())});
    }
    api_backend = std::make_unique<MainApiBackend>(capture, std::move(described), server, dns.get());
    fakemx::ApiServerOptions api_options;
    boost::system::error_code ec;
    const asio::ip::address api_address = asio::ip::make_address(flags.api_host, ec);
    if (ec) {  // ParseHostPort accepted it as a literal; still no throw here
      std::fprintf(stderr, "fakemx: --api: %s is not an IP address\n", flags.api_host.c_str());
      return kExitUsage;
    }
    api_options.endpoint = asio::ip::tcp::endpoint(api_address, flags.api_port);
    api_options.verbose = flags.verbose;
    absl::StatusOr<std::unique_ptr<fakemx::ApiServer>> listening =
        fakemx::ApiServer::Listen(io, *api_backend, api_options);
    if (!listening.ok()) {
      std::fprintf(stderr,
                   "fakemx: %s; give --api=off to run without the HTTP API, or another "
                   "--api=HOST:PORT (port 0 picks a free one)\n",
                   StatusText(listening.status()).c_str());
      return kExitFailure;
    }
    api = *std::move(listening);
  }

  // One fact per line, flushed, so a test can start us on port 0 and read
  // the real ports; "listening on smtp" comes last, when connections are
  // accepted on every listener.
  const fakemx::ReceiverTls& first_tls = tls->receivers.front();
  std::printf("fakemx: scenario %s\n", scenario->name.c_str());
  std::printf("fakemx: hostname %s\n", first.hostname.c_str());
  if (maildir) {
    std::printf("fakemx: maildir %s\n", maildir->root().c_str());
  } else {
    std::printf("fakemx: maildir none (capture in memory only)\n");
  }
  std::printf("fakemx: tls-dir %s\n", tls->dir.c_str());
  if (first_tls.context != nullptr) {
    std::printf("fakemx: certificate %s for %s\n", first_tls.certificate_variant.c_str(),
                first_tls.certificate_hostname.c_str());
    std::printf("fakemx: starttls %s\n",
                std::string(fakemx::FlagValue(first.tls.profile.starttls)).c_str());
  } else {
    std::printf("fakemx: certificate none (TLS off)\n");
    std::printf("fakemx: starttls off (TLS off)\n");
  }
  const std::vector<fakemx::BoundListener> bound = server.listeners();
  for (const fakemx::BoundListener& l : bound) {
    std::printf("fakemx: receiver %s %s %s\n", l.receiver.c_str(),
                l.implicit_tls ? "smtps" : "smtp", fakemx::FormatEndpoint(l.endpoint).c_str());
  }
  if (dns) {
    const asio::ip::udp::endpoint udp = dns->udp_endpoint();
    std::printf("fakemx: dns udp %s\n",
                fakemx::FormatEndpoint(asio::ip::tcp::endpoint(udp.address(), udp.port())).c_str());
    std::printf("fakemx: dns tcp %s\n", fakemx::FormatEndpoint(dns->tcp_endpoint()).c_str());
  } else {
    std::printf("fakemx: dns off\n");
  }
  if (mta_sts) {
    const std::vector<asio::ip::tcp::endpoint> at = mta_sts->endpoints();
    for (size_t i = 0; i < at.size() && i < dns_world->policy_sites.size(); ++i) {
      std::printf("fakemx: mta-sts %s https %s\n", dns_world->policy_sites[i].domain.c_str(),
                  fakemx::FormatEndpoint(at[i]).c_str());
    }
  }
  for (const fakemx::DkimKey& key : dns_world->dkim_keys) {
    std::printf("fakemx: dkim-key %s %s %s\n", key.domain.c_str(), key.selector.c_str(),
                key.key_file.c_str());
  }
  for (const std::string& warning : fakemx::ScenarioWarnings(flags, *scenario)) {
    std::fprintf(stderr, "fakemx: warning: %s\n", warning.c_str());
  }
  for (const fakemx::ReceiverTls& rt : tls->receivers) {
    const std::string& host = rt.certificate_hostname;
    if (rt.context == nullptr || rt.certificate_variant != "wildcard" ||
        std::count(host.begin(), host.end(), '.') >= 2) {
      continue;
    }
    // RFC 6125 §6.4.3 leaves it to clients; OpenSSL (and so s_client, swaks,
    // curl and Python) never matches a star with fewer than two labels after it.
    std::fprintf(stderr,
                 "fakemx: warning: --cert=wildcard for %s issues *.%s, which clients refuse "
                 "(no wildcard over a single label); give --hostname three or more labels, "
                 "e.g. mx.example.test, to test a wildcard they accept\n",
                 host.c_str(), host.substr(host.find('.') + 1).c_str());
  }
  if (api) {
    std::printf("fakemx: api http %s\n", fakemx::FormatEndpoint(api->endpoint()).c_str());
  } else {
    std::printf("fakemx: api off\n");
  }
  // The first receiver's first listener of each kind; the plain one last
  // (a test waits for it), or the implicit-TLS one when there is no plain.
  std::optional<asio::ip::tcp::endpoint> smtp, smtps;
  for (const fakemx::BoundListener& l : bound) {
    if (l.receiver != first.name) continue;
    std::optional<asio::ip::tcp::endpoint>& slot = l.implicit_tls ? smtps : smtp;
    if (!slot) slot = l.endpoint;
  }
  if (smtps) std::printf("fakemx: listening on smtps %s\n", fakemx::FormatEndpoint(*smtps).c_str());
  if (smtp) std::printf("fakemx: listening on smtp %s\n", fakemx::FormatEndpoint(*smtp).c_str());
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
        // DNS and the policy host have nothing in flight worth finishing.
        if (dns) dns->Stop();
        if (mta_sts) mta_sts->Stop();
        // Open long-polls are closed: the capture they wait on is going.
        if (api) api->Stop();
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

  if (dns) {
    const fakemx::DnsListenerStats d = dns->stats();
    std::printf("fakemx: dns stopped; %llu udp queries, %llu tcp queries, %llu unanswered\n",
                static_cast<unsigned long long>(d.udp_queries),
                static_cast<unsigned long long>(d.tcp_queries),
                static_cast<unsigned long long>(d.unanswered));
  }
  const fakemx::ServerStats stats = server.stats();
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
  return Run(*flags);
}
