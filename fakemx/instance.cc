#include "fakemx/instance.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "absl/strings/cord.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "dns/authoritative.h"
#include "fakemx/api_server.h"
#include "fakemx/maildir.h"
#include "fakemx/mta_sts_host.h"
#include "fakemx/scenario_behaviour.h"
#include "fakemx/scenario_flags.h"
#include "fakemx/tls_setup.h"
#include "fakemx/verdict.h"

namespace mxkit::fakemx {

namespace asio = boost::asio;
using base::StatusText;
using boost::asio::ip::tcp;
using boost::asio::ip::udp;

namespace {

// The payload that marks an error as the user's (fakemx exits 2 for it).
constexpr absl::string_view kUsagePayload = "type.mxkit.dev/fakemx.UsageError";

absl::Status Usage(absl::Status status) {
  status.SetPayload(kUsagePayload, absl::Cord("usage"));
  return status;
}
absl::Status Usage(std::string message) { return Usage(absl::InvalidArgumentError(message)); }

// `status` with `prefix` before its message, same code and payloads.
absl::Status Prefixed(std::string_view prefix, const absl::Status& status) {
  absl::Status out(status.code(), std::string(prefix) + StatusText(status));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

// A TLS or DNS-world error: the user's when the scenario or a flag is at
// fault (InvalidArgument), else a failure to start (a file not writable).
absl::Status UsageIfInvalid(absl::Status status) {
  return status.code() == absl::StatusCode::kInvalidArgument ? Usage(std::move(status)) : status;
}

// A fresh directory under $TMPDIR (or /tmp) that only we use.
absl::StatusOr<std::string> MakeTemporaryDirectory(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string path =
      std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(std::string("cannot create a temporary --tls-dir: ") +
                               std::strerror(errno));
  }
  return path;
}

// Where a listener of `receiver` came from, for an error.
std::string ListenerPlace(const Scenario& scenario, const Receiver& receiver,
                          const ListenerSpec& listener) {
  if (listener.position.line > 0) {
    return scenario.source + ":" + std::to_string(listener.position.line) + ":" +
           std::to_string(listener.position.column) + ": ";
  }
  return "scenario " + scenario.name + ", receiver " + receiver.name + ": ";
}

std::string FormatUdp(const udp::endpoint& at) {
  return FormatEndpoint(tcp::endpoint(at.address(), at.port()));
}

// A session's facts without its messages (each message carries its own copy).
CapturedSession SessionFacts(const CapturedSession& session) {
  CapturedSession facts;
  facts.id = session.id;
  facts.receiver = session.receiver;
  facts.scenario = session.scenario;
  facts.started_at_us = session.started_at_us;
  facts.ended_at_us = session.ended_at_us;
  facts.client_address = session.client_address;
  facts.client_port = session.client_port;
  facts.local_address = session.local_address;
  facts.local_port = session.local_port;
  facts.implicit_tls = session.implicit_tls;
  facts.tls = session.tls;
  facts.tls_error = session.tls_error;
  facts.transcript = session.transcript;
  facts.transcript_dropped = session.transcript_dropped;
  facts.end_reason = session.end_reason;
  facts.evicted = session.evicted;
  facts.verdict = session.verdict;
  return facts;
}

ReceivedMessage Received(const CapturedSession& session, const CapturedMessage& message) {
  return {message, SessionFacts(session)};
}

void Add(ServerStats& sum, const ServerStats& s) {
  sum.connections_accepted += s.connections_accepted;
  sum.connections_open += s.connections_open;
  sum.messages_stored += s.messages_stored;
  sum.storage_failures += s.storage_failures;
  sum.tls_established += s.tls_established;
  sum.tls_failed += s.tls_failed;
  sum.tls_timed_out += s.tls_timed_out;
  sum.plaintext_discarded_bytes += s.plaintext_discarded_bytes;
  for (const auto& [code, n] : s.replies_by_code) sum.replies_by_code[code] += n;
  sum.verdicts.Add(s.verdicts);
}

// One caller's wait, shared between its thread and the io thread: whoever
// sets `done` first decides (a result, or the caller's timeout).
template <typename T, typename Filter>
struct Wait {
  Filter filter;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<T> result;

  // False when the wait was already over.
  bool Finish(std::optional<T> value) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (done) return false;
      done = true;
      result = std::move(value);
    }
    cv.notify_all();
    return true;
  }
};
using MessageWait = Wait<ReceivedMessage, MessageFilter>;
using SessionWait = Wait<CapturedSession, SessionFilter>;

}  // namespace

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

ScenarioSource ScenarioSource::Named(std::string name_or_path) {
  ScenarioSource s;
  s.kind_ = Kind::kNameOrPath;
  s.text_ = std::move(name_or_path);
  return s;
}

ScenarioSource ScenarioSource::Yaml(std::string text, std::string source) {
  ScenarioSource s;
  s.kind_ = Kind::kYaml;
  s.text_ = std::move(text);
  s.source_ = std::move(source);
  return s;
}

ScenarioSource ScenarioSource::Built(Scenario scenario) {
  ScenarioSource s;
  s.kind_ = Kind::kBuilt;
  s.built_ = std::make_shared<const Scenario>(std::move(scenario));
  return s;
}

InstanceOptions InstanceOptions::Embedded(ScenarioSource scenario) {
  InstanceOptions options;
  options.scenario = std::move(scenario);
  options.ephemeral_ports = true;
  options.remove_temporary_tls_dir = true;
  options.flags.dns = true;
  options.flags.dns_host = "127.0.0.1";
  options.flags.dns_port = 0;
  options.flags.api = true;
  options.flags.api_host = "127.0.0.1";
  options.flags.api_port = 0;
  options.flags.mta_sts_port_given = true;
  options.flags.mta_sts_port = 0;
  // A test's stop should not wait the command line's default grace.
  options.flags.shutdown_grace_seconds = 2;
  return options;
}

MessageFilter AnyMessage() {
  return [](const CapturedSession&, const CapturedMessage&) { return true; };
}

MessageFilter ToRecipient(std::string address) {
  return [address = std::move(address)](const CapturedSession&, const CapturedMessage& m) {
    for (const DeliveryRecipient& rcpt : m.delivery.recipients) {
      if (base::EqualsIgnoreCase(rcpt.address, address)) return true;
    }
    return false;
  };
}

MessageFilter FromSender(std::string address) {
  return [address = std::move(address)](const CapturedSession&, const CapturedMessage& m) {
    return base::EqualsIgnoreCase(m.delivery.reverse_path, address);
  };
}

MessageFilter AtReceiver(std::string receiver) {
  return [receiver = std::move(receiver)](const CapturedSession& s, const CapturedMessage&) {
    return base::EqualsIgnoreCase(s.receiver, receiver);
  };
}

// One scenario as it runs: everything built from it, and its SMTP server.
struct Generation {
  Scenario scenario;
  ApiScenario meta;  // name, source, yaml, receivers; listeners filled by Facts
  ScenarioTls tls;
  ScenarioDns world;  // policy_sites' ports as bound, once bound
  // One per receiver, over the world's zones; null where verdicts are off.
  std::vector<std::shared_ptr<VerdictEngine>> verdicts;
  std::optional<dns::AuthoritativeResponder> responder;  // until handed to the listener
  ServerOptions server_options;
  std::unique_ptr<Server> server;
};

struct Instance::Impl {
  // Hears every capture change on the io thread, for the waits and the
  // verdict counters.
  struct Observer : CaptureObserver {
    explicit Observer(Impl* impl) : impl(impl) {}
    void OnMessageAdded(const CapturedSession& session, const CapturedMessage& message) override {
      auto& waits = impl->message_waits;
      for (auto it = waits.begin(); it != waits.end();) {
        MessageWait& w = **it;
        bool over;
        {
          std::lock_guard<std::mutex> lock(w.mu);
          over = w.done;
        }
        if (over || (w.filter(session, message) && w.Finish(Received(session, message)))) {
          it = waits.erase(it);
        } else {
          ++it;
        }
      }
    }
    void OnSessionClosed(const CapturedSession& session) override {
      auto& waits = impl->session_waits;
      for (auto it = waits.begin(); it != waits.end();) {
        SessionWait& w = **it;
        bool over;
        {
          std::lock_guard<std::mutex> lock(w.mu);
          over = w.done;
        }
        if (over || (w.filter(session) && w.Finish(SessionFacts(session)))) {
          it = waits.erase(it);
        } else {
          ++it;
        }
      }
    }
    Impl* impl;
  };

  // What the any-thread accessors read, refreshed on the io thread.
  struct Facts {
    std::vector<BoundListener> smtp;
    std::optional<udp::endpoint> dns;
    std::optional<tcp::endpoint> api;
    std::vector<std::pair<std::string, tcp::endpoint>> mta_sts;
    std::string tls_dir;
    std::vector<DkimKey> dkim_keys;
    ApiScenario scenario;
    std::string first_receiver;
  };

  Impl(asio::io_context& io, InstanceOptions options)
      : io(&io),
        options(std::move(options)),
        capture({.max_sessions = static_cast<size_t>(this->options.flags.capture_max_sessions),
                 .max_bytes = static_cast<size_t>(this->options.flags.capture_max_bytes)}),
        observer(this) {
    capture.AddObserver(&observer);
  }

  ~Impl() {
    // Servers before the io_context (pending handlers hold their
    // connections), the io_context before the capture the servers write to;
    // the API first, as it reads everything else.
    api.reset();
    mta_sts.reset();
    dns.reset();
    retired.clear();
    current.reset();
    own_io.reset();
    capture.RemoveObserver(&observer);
    if (made_tls_dir && options.remove_temporary_tls_dir) {
      std::error_code ignored;
      std::filesystem::remove_all(tls_dir, ignored);
    }
  }

  bool OnIoThread() const { return io->get_executor().running_in_this_thread(); }

  // Runs `fn` on the io thread and returns its result; inline when called
  // there or when no io thread runs any more (an embedded instance stopped).
  template <typename Fn>
  auto RunOnIo(Fn fn) -> decltype(fn()) {
    if (OnIoThread() || io_thread_gone) return fn();
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    std::future<decltype(fn())> result = task.get_future();
    asio::post(*io, [&task] { task(); });
    return result.get();
  }

  absl::Status Init(ApiBackend& backend);
  absl::StatusOr<std::unique_ptr<Generation>> Prepare(const ScenarioSource& source,
                                                      std::string api_source);
  ServerOptions MakeServerOptions(const Generation& g);
  void Serve() {
    serving = true;
    current->server->Start();
  }
  void Switch(const ScenarioSource& source, std::string api_source,
              std::function<void(absl::StatusOr<ApiScenario>)> done);
  void RefreshFacts();
  void CollectRetired();
  void Shutdown(std::function<void()> done);
  std::vector<MetricFamily> Metrics() const;
  Banner MakeBanner() const;

  // Declared first, destroyed last of all but explicitly in ~Impl.
  std::unique_ptr<asio::io_context> own_io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread;
  bool io_thread_gone = false;

  asio::io_context* io;
  InstanceOptions options;
  std::string tls_dir;
  bool made_tls_dir = false;
  DnsListenerOptions dns_options;
  std::unique_ptr<Maildir> maildir;
  CaptureStore capture;
  Observer observer;
  std::vector<std::shared_ptr<MessageWait>> message_waits;
  std::vector<std::shared_ptr<SessionWait>> session_waits;

  // What WaitForMessage and WaitForSession share: `scan` looks through the
  // store for what `wait` wants and finishes it (true when it did). On the io
  // thread, or once it is gone, nothing else can add to the store, so one
  // scan answers. Otherwise the scan runs on the io thread and, when it finds
  // nothing, `wait` joins `queue` for the capture observer to finish; the
  // caller sleeps until then or `timeout`, never polling.
  template <typename T, typename Filter, typename Scan>
  std::optional<T> Await(const std::shared_ptr<Wait<T, Filter>>& wait,
                         std::vector<std::shared_ptr<Wait<T, Filter>>>& queue, Scan scan,
                         std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (OnIoThread() || io_thread_gone) {
      scan();
      return std::move(wait->result);
    }
    asio::post(*io, [this, wait, &queue, scan] {
      if (shutting_down) {
        if (!scan()) wait->Finish(std::nullopt);
        return;
      }
      if (!scan()) queue.push_back(wait);
    });
    std::unique_lock<std::mutex> lock(wait->mu);
    if (!wait->cv.wait_until(lock, deadline, [&] { return wait->done; })) {
      wait->done = true;  // the observer drops it at the next arrival
      return std::nullopt;
    }
    return std::move(wait->result);
  }

  std::unique_ptr<Generation> current;
  uint64_t generation = 0;
  // Servers of earlier scenarios, not accepting, until their last
  // connection ends; the stats of those gone are summed in retired_stats.
  std::vector<std::unique_ptr<Server>> retired;
  ServerStats retired_stats;
  std::unique_ptr<DnsListener> dns;
  std::unique_ptr<MtaStsHost> mta_sts;
  std::unique_ptr<ApiServer> api;

  bool serving = false;
  bool shutting_down = false;
  bool stopped = false;  // Stop() has finished

  mutable std::mutex facts_mu;
  Facts facts;  // guarded by facts_mu
};

absl::StatusOr<std::unique_ptr<Generation>> Instance::Impl::Prepare(const ScenarioSource& source,
                                                                    std::string api_source) {
  const FakemxFlags& flags = options.flags;
  auto g = std::make_unique<Generation>();
  absl::StatusOr<Scenario> scenario;
  switch (source.kind_) {
    case ScenarioSource::Kind::kNameOrPath:
      scenario = ResolveScenario(source.text_);
      if (scenario.ok()) {
        if (scenario->source == "<catalogue>") {
          g->meta.source = "catalogue";
          for (const CatalogueEntry& e : ScenarioCatalogue()) {
            if (e.name == scenario->name) g->meta.yaml = std::string(e.yaml);
          }
        } else {
          // The file's text is not kept: LoadScenarioFile reads and parses it.
          g->meta.source = scenario->source;
        }
      }
      break;
    case ScenarioSource::Kind::kYaml:
      scenario = ParseScenario(source.text_, source.source_);
      g->meta.source = api_source.empty() ? source.source_ : api_source;
      g->meta.yaml = source.text_;
      break;
    case ScenarioSource::Kind::kBuilt:
      scenario = *source.built_;
      g->meta.source = "built";
      break;
  }
  if (!api_source.empty()) g->meta.source = api_source;
  if (!scenario.ok()) return Usage(scenario.status());
  g->scenario = *std::move(scenario);
  Scenario& s = g->scenario;
  if (s.receivers.empty()) return Usage("scenario " + s.name + " has no receivers");
  if (absl::Status applied = ApplyFlagsToScenario(flags, s); !applied.ok()) {
    return Usage(applied);
  }
  if (options.ephemeral_ports) {
    for (Receiver& r : s.receivers) {
      for (ListenerSpec& l : r.listeners) l.port = 0;
    }
  }
  // Every listener address is an IP literal (the parser and the flags check
  // that); converting them here still fails cleanly rather than throwing.
  for (const Receiver& r : s.receivers) {
    for (const ListenerSpec& l : r.listeners) {
      boost::system::error_code ec;
      asio::ip::make_address(l.host, ec);
      if (ec) return Usage(ListenerPlace(s, r, l) + "listener " + l.host + ": not an IP address");
    }
  }
  // TLS next: every TLS setting is checked against BoringSSL here, before
  // anything is bound.
  absl::StatusOr<ScenarioTls> tls = SetUpScenarioTls(s, flags, tls_dir);
  if (!tls.ok()) return UsageIfInvalid(tls.status());
  g->tls = *std::move(tls);
  // The DNS world (zones, MTA-STS sites, DKIM keys written beside the
  // certificates) and the responder over it.
  absl::StatusOr<ScenarioDns> world = BuildScenarioDns(s, g->tls, g->tls.dir);
  if (!world.ok()) return UsageIfInvalid(world.status());
  g->world = *std::move(world);
  // Verdicts look names up in the same zones, in process (also with
  // --dns=off), so they see what the sender under test sees.
  absl::StatusOr<std::vector<std::shared_ptr<VerdictEngine>>> verdicts =
      MakeScenarioVerdicts(s, g->world.zones);
  if (!verdicts.ok()) return UsageIfInvalid(verdicts.status());
  g->verdicts = *std::move(verdicts);
  if (flags.mta_sts_port_given || options.ephemeral_ports) {
    const uint16_t port = options.ephemeral_ports ? 0 : flags.mta_sts_port;
    for (MtaStsSite& site : g->world.policy_sites) site.port = port;
  }
  if (flags.dns) {
    absl::StatusOr<dns::AuthoritativeResponder> created =
        dns::AuthoritativeResponder::Create(g->world.zones);
    if (!created.ok()) {
      return Usage("scenario " + s.name + ": DNS zones: " + StatusText(created.status()));
    }
    g->responder = *std::move(created);
  }
  g->meta.name = s.name;
  for (const Receiver& r : s.receivers) g->meta.receivers.push_back(r.name);
  g->server_options = MakeServerOptions(*g);
  return g;
}

ServerOptions Instance::Impl::MakeServerOptions(const Generation& g) {
  const FakemxFlags& flags = options.flags;
  ServerOptions o;
  o.verbose = flags.verbose;
  o.idle_timeout = std::chrono::seconds(flags.idle_timeout_seconds);
  o.session_timeout = std::chrono::seconds(flags.session_timeout_seconds);
  o.shutdown_grace = std::chrono::seconds(flags.shutdown_grace_seconds);
  o.storage_threads = static_cast<size_t>(flags.storage_threads);
  o.scenario = g.scenario.name;
  o.capture = &capture;
  for (size_t i = 0; i < g.scenario.receivers.size(); ++i) {
    const Receiver& r = g.scenario.receivers[i];
    const ReceiverTls& rt = g.tls.receivers[i];
    ReceiverOptions ro;
    ro.name = r.name;
    for (const ListenerSpec& l : r.listeners) {
      boost::system::error_code ec;
      const asio::ip::address address = asio::ip::make_address(l.host, ec);  // checked above
      ro.listeners.push_back({tcp::endpoint(address, l.port), l.mode == ListenerMode::kSmtps});
    }
    ro.session = ReceiverSessionConfig(r, smtp::ServerSessionConfig{}, rt.context != nullptr);
    // The receiver and its cross-connection state (greylist, ordinals) live
    // as long as the factory, i.e. the server (and a rebuilt one after a
    // failed switch shares them).
    ro.behaviour = ScenarioBehaviourFactory(std::make_shared<const Receiver>(r),
                                            std::make_shared<ReceiverState>());
    ro.tls_context = rt.context;
    ro.tls_certificate = rt.certificate_variant;
    ro.idle_timeout = r.idle_timeout;
    if (i < g.verdicts.size()) ro.verdicts = g.verdicts[i];
    o.receivers.push_back(std::move(ro));
  }
  return o;
}

absl::Status Instance::Impl::Init(ApiBackend& backend) {
  const FakemxFlags& flags = options.flags;
  tls_dir = flags.tls_dir;
  ApiServerOptions api_options;
  if (flags.api) {
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(flags.api_host, ec);
    if (ec) return Usage("--api: " + flags.api_host + " is not an IP address");
    api_options.endpoint = tcp::endpoint(address, options.ephemeral_ports ? 0 : flags.api_port);
    api_options.verbose = flags.verbose;
  }
  if (flags.dns) {
    boost::system::error_code ec;
    dns_options.address = asio::ip::make_address(flags.dns_host, ec);
    if (ec) return Usage("--dns: " + flags.dns_host + " is not an IP address");
    dns_options.port = options.ephemeral_ports ? 0 : flags.dns_port;
  }
  // Prepare writes the TLS files, so the directory comes first; Create
  // removes one it made when starting fails.
  if (tls_dir.empty()) {
    absl::StatusOr<std::string> made = MakeTemporaryDirectory("fakemx-tls");
    if (!made.ok()) return made.status();
    tls_dir = *made;
    made_tls_dir = true;
  }
  absl::StatusOr<std::unique_ptr<Generation>> prepared = Prepare(options.scenario, "");
  if (!prepared.ok()) return prepared.status();
  std::unique_ptr<Generation> g = *std::move(prepared);

  // Without --maildir, messages live in the capture only: no disk, no fsync.
  if (!flags.maildir.empty()) {
    auto opened = Maildir::Open(flags.maildir, {.hostname = g->scenario.receivers.front().hostname});
    if (!opened.ok()) return Prefixed("--maildir: ", opened.status());
    maildir = *std::move(opened);
  }
  g->server = std::make_unique<Server>(*io, g->server_options, maildir.get());
  if (absl::Status s = g->server->Listen(); !s.ok()) return Prefixed("listen: ", s);

  // DNS and the MTA-STS policy host listen before anything is announced, so
  // a sender started on the "listening on smtp" line finds them up.
  if (g->responder) {
    absl::StatusOr<std::unique_ptr<DnsListener>> listening =
        DnsListener::Listen(*io, *std::move(g->responder), dns_options);
    g->responder.reset();
    if (!listening.ok()) {
      return absl::Status(
          listening.status().code(),
          StatusText(listening.status()) +
              "; give --dns=off to run without a DNS server, or another --dns=HOST:PORT such "
              "as --dns=127.0.0.1:5354 (port 0 picks a free one)");
    }
    dns = *std::move(listening);
  }
  if (!g->world.policy_sites.empty()) {
    absl::StatusOr<std::unique_ptr<MtaStsHost>> listening =
        MtaStsHost::Listen(*io, g->world.policy_sites);
    if (!listening.ok()) {
      return absl::Status(listening.status().code(),
                          "MTA-STS policy host: " + StatusText(listening.status()) +
                              (flags.mta_sts_port_given
                                   ? ""
                                   : "; --mta-sts-port=N moves every policy host to port N (0 "
                                     "picks a free one)"));
    }
    mta_sts = *std::move(listening);
    const std::vector<tcp::endpoint> at = mta_sts->endpoints();
    for (size_t i = 0; i < at.size() && i < g->world.policy_sites.size(); ++i) {
      g->world.policy_sites[i].port = at[i].port();
    }
  }
  current = std::move(g);
  // The API last: it serves what the others bound.
  if (flags.api) {
    absl::StatusOr<std::unique_ptr<ApiServer>> listening =
        ApiServer::Listen(*io, backend, api_options);
    if (!listening.ok()) {
      return absl::Status(listening.status().code(),
                          StatusText(listening.status()) +
                              "; give --api=off to run without the HTTP API, or another "
                              "--api=HOST:PORT (port 0 picks a free one)");
    }
    api = *std::move(listening);
  }
  RefreshFacts();
  return absl::OkStatus();
}

void Instance::Impl::RefreshFacts() {
  Facts f;
  f.smtp = current->server->listeners();
  if (dns) f.dns = dns->udp_endpoint();
  if (api) f.api = api->endpoint();
  if (mta_sts) {
    const std::vector<tcp::endpoint> at = mta_sts->endpoints();
    for (size_t i = 0; i < at.size() && i < current->world.policy_sites.size(); ++i) {
      f.mta_sts.emplace_back(current->world.policy_sites[i].domain, at[i]);
    }
  }
  f.tls_dir = current->tls.dir;
  f.dkim_keys = current->world.dkim_keys;
  f.first_receiver = current->scenario.receivers.front().name;
  f.scenario = current->meta;
  f.scenario.generation = generation;
  for (const BoundListener& l : f.smtp) {
    f.scenario.listeners.push_back(
        {l.receiver, l.implicit_tls ? "smtps" : "smtp", FormatEndpoint(l.endpoint)});
  }
  if (dns) {
    f.scenario.listeners.push_back({"", "dns-udp", FormatUdp(dns->udp_endpoint())});
    f.scenario.listeners.push_back({"", "dns-tcp", FormatEndpoint(dns->tcp_endpoint())});
  }
  for (const auto& [domain, at] : f.mta_sts) {
    f.scenario.listeners.push_back({domain, "mta-sts", FormatEndpoint(at)});
  }
  if (api) f.scenario.listeners.push_back({"", "api", FormatEndpoint(api->endpoint())});
  std::lock_guard<std::mutex> lock(facts_mu);
  facts = std::move(f);
}

void Instance::Impl::CollectRetired() {
  for (auto it = retired.begin(); it != retired.end();) {
    const ServerStats s = (*it)->stats();
    if (s.connections_open != 0) {
      ++it;
      continue;
    }
    Add(retired_stats, s);
    it = retired.erase(it);
  }
}

void Instance::Impl::Switch(const ScenarioSource& source, std::string api_source,
                            std::function<void(absl::StatusOr<ApiScenario>)> done) {
  if (shutting_down) {
    done(absl::FailedPreconditionError("fakemx is shutting down; the scenario stays"));
    return;
  }
  CollectRetired();
  // Everything that can fail on the scenario's account happens before a
  // listener is touched: a bad scenario changes nothing.
  absl::StatusOr<std::unique_ptr<Generation>> prepared = Prepare(source, std::move(api_source));
  if (!prepared.ok()) {
    done(prepared.status());
    return;
  }
  std::unique_ptr<Generation> next = *std::move(prepared);
  Generation& old = *current;

  // The old listeners close first, so the new scenario may bind the same
  // fixed ports; their open connections carry on under the old server.
  const std::vector<BoundListener> old_bound = old.server->listeners();
  old.server->StopAccepting();
  if (mta_sts) {
    mta_sts->Stop();
    mta_sts.reset();
  }
  auto server = std::make_unique<Server>(*io, next->server_options, maildir.get());
  absl::Status bound = Prefixed("listen: ", server->Listen());
  std::unique_ptr<MtaStsHost> next_mta_sts;
  if (bound.ok() && !next->world.policy_sites.empty()) {
    absl::StatusOr<std::unique_ptr<MtaStsHost>> listening =
        MtaStsHost::Listen(*io, next->world.policy_sites);
    if (listening.ok()) {
      next_mta_sts = *std::move(listening);
    } else {
      bound = Prefixed("MTA-STS policy host: ", listening.status());
    }
  }
  if (!bound.ok()) {
    // Back to the old scenario on the ports it had (its policy sites'
    // ports were recorded as bound).
    server.reset();
    ServerOptions again = old.server_options;
    size_t k = 0;
    for (ReceiverOptions& r : again.receivers) {
      for (ListenerOptions& l : r.listeners) {
        if (k < old_bound.size()) l.endpoint = old_bound[k].endpoint;
        ++k;
      }
    }
    auto rebuilt = std::make_unique<Server>(*io, std::move(again), maildir.get());
    if (absl::Status s = rebuilt->Listen(); s.ok()) {
      if (serving) rebuilt->Start();
      retired.push_back(std::move(old.server));
      old.server = std::move(rebuilt);
    } else {
      bound = Prefixed(StatusText(bound) + "; and the old scenario's listeners could not be "
                                           "bound again: ",
                       s);
    }
    if (!old.world.policy_sites.empty()) {
      absl::StatusOr<std::unique_ptr<MtaStsHost>> listening =
          MtaStsHost::Listen(*io, old.world.policy_sites);
      if (listening.ok()) {
        mta_sts = *std::move(listening);
      } else {
        bound = Prefixed(StatusText(bound) + "; and the old MTA-STS policy host could not be "
                                             "bound again: ",
                         listening.status());
      }
    }
    RefreshFacts();
    done(bound);
    return;
  }

  // Commit.
  if (serving) server->Start();
  next->server = std::move(server);
  retired.push_back(std::move(old.server));
  if (dns && next->responder) dns->SetResponder(*std::move(next->responder));
  next->responder.reset();
  if (next_mta_sts) {
    mta_sts = std::move(next_mta_sts);
    const std::vector<tcp::endpoint> at = mta_sts->endpoints();
    for (size_t i = 0; i < at.size() && i < next->world.policy_sites.size(); ++i) {
      next->world.policy_sites[i].port = at[i].port();
    }
  }
  current = std::move(next);
  ++generation;
  CollectRetired();
  RefreshFacts();
  std::lock_guard<std::mutex> lock(facts_mu);
  ApiScenario now = facts.scenario;
  done(std::move(now));
}

void Instance::Impl::Shutdown(std::function<void()> done) {
  if (shutting_down) return;
  shutting_down = true;
  // Waiters learn at once that nothing more will come.
  for (auto& w : message_waits) w->Finish(std::nullopt);
  for (auto& w : session_waits) w->Finish(std::nullopt);
  message_waits.clear();
  session_waits.clear();
  // DNS and the policy host have nothing in flight worth finishing.
  if (dns) dns->Stop();
  if (mta_sts) mta_sts->Stop();
  // Open long-polls are closed: the capture they wait on is going.
  if (api) api->Stop();
  std::vector<Server*> servers;
  servers.push_back(current->server.get());
  for (auto& s : retired) servers.push_back(s.get());
  auto left = std::make_shared<size_t>(servers.size());
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  for (Server* s : servers) {
    s->Shutdown([left, finish] {
      if (--*left == 0 && *finish) (*finish)();
    });
  }
}

std::vector<MetricFamily> Instance::Impl::Metrics() const {
  ServerStats s = retired_stats;
  Add(s, current->server->stats());
  for (const auto& r : retired) Add(s, r->stats());
  const CaptureStats c = capture.stats();
  const auto d = [](uint64_t v) { return static_cast<double>(v); };
  std::vector<MetricFamily> out = {
      {"fakemx_connections_total", "SMTP connections accepted.", "counter",
       {{"", d(s.connections_accepted)}}},
      {"fakemx_connections_open", "SMTP connections open now.", "gauge",
       {{"", d(s.connections_open)}}},
      {"fakemx_messages_total", "Messages answered 250 (stored).", "counter",
       {{"", d(s.messages_stored)}}},
      {"fakemx_storage_failures_total", "Messages answered 451 4.3.0 (Maildir write failed).",
       "counter", {{"", d(s.storage_failures)}}},
      {"fakemx_tls_handshakes_total", "TLS handshakes on SMTP connections, by outcome.",
       "counter",
       {{"outcome=\"established\"", d(s.tls_established)}, {"outcome=\"failed\"", d(s.tls_failed)}}},
      {"fakemx_plaintext_discarded_bytes_total",
       "Plaintext pipelined behind STARTTLS and discarded (CVE-2011-0411).", "counter",
       {{"", d(s.plaintext_discarded_bytes)}}},
      {"fakemx_capture_sessions", "Sessions in the capture now.", "gauge", {{"", d(c.sessions)}}},
      {"fakemx_capture_messages", "Messages in the capture now.", "gauge", {{"", d(c.messages)}}},
      {"fakemx_capture_bytes", "Bytes the capture accounts for now.", "gauge", {{"", d(c.bytes)}}},
      {"fakemx_capture_sessions_total", "Sessions ever captured.", "counter",
       {{"", d(c.sessions_total)}}},
      {"fakemx_capture_evictions_total", "Sessions and messages evicted from the capture.",
       "counter",
       {{"kind=\"session\"", d(c.sessions_evicted)}, {"kind=\"message\"", d(c.messages_evicted)}}},
      {"fakemx_capture_messages_deleted_total", "Messages deleted through the API.", "counter",
       {{"", d(c.messages_deleted)}}},
      {"fakemx_verdicts_total",
       "Accepted messages' verdicts by check and result (docs/verdicts.md): lock, sender, "
       "spf_mail_from, spf_helo, dkim (per signature), dmarc, disposition.",
       "counter", {}},
      {"fakemx_replies_total", "SMTP replies sent, by code (0: raw bytes, not a reply).",
       "counter", {}},
      {"fakemx_tls_handshake_timeouts_total",
       "TLS handshakes that hit the idle timeout (counted in outcome=\"failed\" too).", "counter",
       {{"", d(s.tls_timed_out)}}},
      {"fakemx_scenario_generation", "Scenario switches since start.", "gauge",
       {{"", d(generation)}}},
  };
  for (MetricFamily& family : out) {
    if (family.name == "fakemx_verdicts_total") {
      // Check and result are fakemx's own words (no quotes or backslashes).
      s.verdicts.ForEach([&](std::string_view check, std::string_view result, uint64_t n) {
        family.samples.emplace_back(std::string(check) + "=\"" + std::string(result) + "\"", d(n));
      });
    } else if (family.name == "fakemx_replies_total") {
      for (const auto& [code, n] : s.replies_by_code) {
        family.samples.emplace_back("code=\"" + std::to_string(code) + "\"", d(n));
      }
    }
  }
  if (dns) {
    const DnsListenerStats q = dns->stats();
    out.push_back({"fakemx_dns_queries_total", "DNS queries received, by transport.", "counter",
                   {{"transport=\"udp\"", d(q.udp_queries)},
                    {"transport=\"tcp\"", d(q.tcp_queries)}}});
    out.push_back({"fakemx_dns_unanswered_total",
                   "DNS queries not answered (timeout faults, non-queries).", "counter",
                   {{"", d(q.unanswered)}}});
    out.push_back({"fakemx_dns_tcp_connections_refused_total",
                   "DNS TCP connections refused over the bound.", "counter",
                   {{"", d(q.tcp_connections_refused)}}});
  }
  return out;
}

Banner Instance::Impl::MakeBanner() const {
  Banner b;
  const Generation& g = *current;
  const Receiver& first = g.scenario.receivers.front();
  const ReceiverTls& first_tls = g.tls.receivers.front();
  b.facts.push_back("fakemx: scenario " + g.scenario.name);
  b.facts.push_back("fakemx: hostname " + first.hostname);
  b.facts.push_back(maildir ? "fakemx: maildir " + maildir->root()
                            : std::string("fakemx: maildir none (capture in memory only)"));
  b.facts.push_back("fakemx: tls-dir " + g.tls.dir);
  if (first_tls.context != nullptr) {
    b.facts.push_back("fakemx: certificate " + first_tls.certificate_variant + " for " +
                      first_tls.certificate_hostname);
    b.facts.push_back("fakemx: starttls " + std::string(FlagValue(first.tls.profile.starttls)));
  } else {
    b.facts.push_back("fakemx: certificate none (TLS off)");
    b.facts.push_back("fakemx: starttls off (TLS off)");
  }
  const std::vector<BoundListener> bound = g.server->listeners();
  for (const BoundListener& l : bound) {
    b.facts.push_back("fakemx: receiver " + l.receiver + " " + (l.implicit_tls ? "smtps" : "smtp") +
                      " " + FormatEndpoint(l.endpoint));
  }
  if (dns) {
    b.facts.push_back("fakemx: dns udp " + FormatUdp(dns->udp_endpoint()));
    b.facts.push_back("fakemx: dns tcp " + FormatEndpoint(dns->tcp_endpoint()));
  } else {
    b.facts.push_back("fakemx: dns off");
  }
  if (mta_sts) {
    const std::vector<tcp::endpoint> at = mta_sts->endpoints();
    for (size_t i = 0; i < at.size() && i < g.world.policy_sites.size(); ++i) {
      b.facts.push_back("fakemx: mta-sts " + g.world.policy_sites[i].domain + " https " +
                        FormatEndpoint(at[i]));
    }
  }
  for (const DkimKey& key : g.world.dkim_keys) {
    b.facts.push_back("fakemx: dkim-key " + key.domain + " " + key.selector + " " + key.key_file);
  }
  for (const std::string& warning : ScenarioWarnings(options.flags, g.scenario)) {
    b.warnings.push_back("fakemx: warning: " + warning);
  }
  for (const ReceiverTls& rt : g.tls.receivers) {
    const std::string& host = rt.certificate_hostname;
    if (rt.context == nullptr || rt.certificate_variant != "wildcard" ||
        std::count(host.begin(), host.end(), '.') >= 2) {
      continue;
    }
    // RFC 6125 §6.4.3 leaves it to clients; OpenSSL (and so s_client, swaks,
    // curl and Python) never matches a star with fewer than two labels after it.
    b.warnings.push_back("fakemx: warning: --cert=wildcard for " + host + " issues *." +
                         host.substr(host.find('.') + 1) +
                         ", which clients refuse (no wildcard over a single label); give "
                         "--hostname three or more labels, e.g. mx.example.test, to test a "
                         "wildcard they accept");
  }
  // The first receiver's first listener of each kind; the plain one last
  // (a test waits for it), or the implicit-TLS one when there is no plain.
  b.listening.push_back(api ? "fakemx: api http " + FormatEndpoint(api->endpoint())
                           : std::string("fakemx: api off"));
  std::optional<tcp::endpoint> smtp, smtps;
  for (const BoundListener& l : bound) {
    if (l.receiver != first.name) continue;
    std::optional<tcp::endpoint>& slot = l.implicit_tls ? smtps : smtp;
    if (!slot) slot = l.endpoint;
  }
  if (smtps) b.listening.push_back("fakemx: listening on smtps " + FormatEndpoint(*smtps));
  if (smtp) b.listening.push_back("fakemx: listening on smtp " + FormatEndpoint(*smtp));
  return b;
}

// --- Instance ---

Instance::Instance(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Instance::~Instance() {
  if (impl_->own_io) Stop();
}

absl::StatusOr<std::unique_ptr<Instance>> Instance::Create(asio::io_context& io,
                                                           InstanceOptions options) {
  std::unique_ptr<Instance> instance(
      new Instance(std::make_unique<Impl>(io, std::move(options))));
  if (absl::Status s = instance->impl_->Init(*instance); !s.ok()) {
    // Nothing of a failed start is left behind, as before a scenario error.
    instance->impl_->options.remove_temporary_tls_dir = true;
    return s;
  }
  return instance;
}

absl::StatusOr<std::unique_ptr<Instance>> Instance::Start(InstanceOptions options) {
  auto io = std::make_unique<asio::io_context>(1);
  asio::io_context& ref = *io;
  // Nothing runs on `io` yet, so Create's work on this thread is alone.
  absl::StatusOr<std::unique_ptr<Instance>> created = Create(ref, std::move(options));
  if (!created.ok()) return created.status();
  std::unique_ptr<Instance> instance = *std::move(created);
  Impl& impl = *instance->impl_;
  impl.own_io = std::move(io);
  impl.Serve();
  impl.work.emplace(ref.get_executor());
  impl.io_thread = std::thread([&ref] { ref.run(); });
  return instance;
}

void Instance::Serve() { impl_->Serve(); }

void Instance::Shutdown(std::function<void()> done) { impl_->Shutdown(std::move(done)); }

void Instance::ForceClose() {
  impl_->current->server->ForceClose();
  for (auto& s : impl_->retired) s->ForceClose();
}

Banner Instance::banner() const { return impl_->MakeBanner(); }

ServerStats Instance::server_stats() const {
  ServerStats s = impl_->retired_stats;
  Add(s, impl_->current->server->stats());
  for (const auto& r : impl_->retired) Add(s, r->stats());
  return s;
}

std::optional<DnsListenerStats> Instance::dns_stats() const {
  if (!impl_->dns) return std::nullopt;
  return impl_->dns->stats();
}

void Instance::Stop() {
  Impl& impl = *impl_;
  if (impl.stopped) return;
  if (impl.OnIoThread()) {  // cannot wait for ourselves
    impl.Shutdown(nullptr);
    return;
  }
  if (!impl.io_thread_gone) {
    std::promise<void> drained;
    std::future<void> drained_future = drained.get_future();
    asio::post(*impl.io, [&impl, &drained] {
      if (impl.shutting_down) {
        drained.set_value();  // Shutdown was called before; its `done` is someone else's
        return;
      }
      impl.Shutdown([&drained] { drained.set_value(); });
    });
    drained_future.wait();
  }
  if (impl.own_io) {
    impl.work.reset();
    impl.own_io->stop();
    if (impl.io_thread.joinable()) impl.io_thread.join();
    impl.io_thread_gone = true;
  }
  impl.stopped = true;
}

std::vector<BoundListener> Instance::smtp_listeners() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.smtp;
}

namespace {

std::optional<tcp::endpoint> FirstOf(const std::vector<BoundListener>& listeners,
                                     std::string_view receiver, bool implicit_tls) {
  for (const BoundListener& l : listeners) {
    if (l.receiver == receiver && l.implicit_tls == implicit_tls) return l.endpoint;
  }
  return std::nullopt;
}

}  // namespace

std::optional<tcp::endpoint> Instance::smtp_endpoint(std::string_view receiver) const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return FirstOf(impl_->facts.smtp, receiver.empty() ? impl_->facts.first_receiver : receiver,
                 false);
}

std::optional<tcp::endpoint> Instance::smtps_endpoint(std::string_view receiver) const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return FirstOf(impl_->facts.smtp, receiver.empty() ? impl_->facts.first_receiver : receiver,
                 true);
}

std::optional<udp::endpoint> Instance::dns_endpoint() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.dns;
}

std::optional<tcp::endpoint> Instance::api_endpoint() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.api;
}

std::vector<std::pair<std::string, tcp::endpoint>> Instance::mta_sts_endpoints() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.mta_sts;
}

std::string Instance::tls_dir() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.tls_dir;
}

std::vector<DkimKey> Instance::dkim_keys() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.dkim_keys;
}

ApiScenario Instance::current_scenario() const {
  std::lock_guard<std::mutex> lock(impl_->facts_mu);
  return impl_->facts.scenario;
}

std::optional<ReceivedMessage> Instance::WaitForMessage(const MessageFilter& filter,
                                                        std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  auto wait = std::make_shared<MessageWait>();
  wait->filter = filter;
  const auto scan = [&impl, wait]() -> bool {
    for (const auto& session : impl.capture.Sessions()) {
      for (const CapturedMessage& m : session->messages) {
        if (wait->filter(*session, m)) return wait->Finish(Received(*session, m));
      }
    }
    return false;
  };
  return impl.Await(wait, impl.message_waits, scan, timeout);
}

std::optional<CapturedSession> Instance::WaitForSession(const SessionFilter& filter,
                                                        std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  auto wait = std::make_shared<SessionWait>();
  wait->filter = filter;
  const auto scan = [&impl, wait]() -> bool {
    for (const auto& session : impl.capture.Sessions()) {
      if (session->ended_at_us && wait->filter(*session)) {
        return wait->Finish(SessionFacts(*session));
      }
    }
    return false;
  };
  return impl.Await(wait, impl.session_waits, scan, timeout);
}

std::vector<ReceivedMessage> Instance::Messages() const {
  return impl_->RunOnIo([this] {
    std::vector<ReceivedMessage> out;
    for (const auto& session : impl_->capture.Sessions()) {
      for (const CapturedMessage& m : session->messages) out.push_back(Received(*session, m));
    }
    return out;
  });
}

std::vector<CapturedSession> Instance::Sessions() const {
  return impl_->RunOnIo([this] {
    std::vector<CapturedSession> out;
    for (const auto& session : impl_->capture.Sessions()) out.push_back(*session);
    return out;
  });
}

absl::StatusOr<ApiScenario> Instance::SwitchScenario(ScenarioSource source) {
  Impl& impl = *impl_;
  if (impl.io_thread_gone) return absl::FailedPreconditionError("fakemx has stopped");
  if (impl.OnIoThread()) {
    return absl::FailedPreconditionError(
        "SwitchScenario(ScenarioSource) waits for the io thread; on it, use the ApiBackend "
        "overload");
  }
  std::promise<absl::StatusOr<ApiScenario>> result;
  std::future<absl::StatusOr<ApiScenario>> future = result.get_future();
  asio::post(*impl.io, [&impl, &source, &result] {
    impl.Switch(source, "", [&result](absl::StatusOr<ApiScenario> r) {
      result.set_value(std::move(r));
    });
  });
  return future.get();
}

void Instance::RunOnIoThread(const std::function<void()>& fn) {
  impl_->RunOnIo([&fn] {
    fn();
    return 0;
  });
}

CaptureStore& Instance::capture() { return impl_->capture; }

ApiScenario Instance::scenario() const { return current_scenario(); }

void Instance::SwitchScenario(std::string spec,
                              std::function<void(absl::StatusOr<ApiScenario>)> done) {
  // From the API: YAML text, or a catalogue name; never a path, so an HTTP
  // client cannot make fakemx read files of its choosing.
  const bool is_yaml = spec.find('\n') != std::string::npos || spec.find(':') != std::string::npos;
  if (!is_yaml) {
    bool known = false;
    for (const CatalogueEntry& e : ScenarioCatalogue()) known = known || e.name == spec;
    if (!known) {
      absl::StatusOr<Scenario> missing = CatalogueScenario(spec);  // its NotFound lists the names
      done(Usage(missing.ok() ? absl::NotFoundError("no scenario named " + spec)
                              : absl::InvalidArgumentError(StatusText(missing.status()))));
      return;
    }
    impl_->Switch(ScenarioSource::Named(spec), "catalogue", std::move(done));
    return;
  }
  impl_->Switch(ScenarioSource::Yaml(std::move(spec), "api"), "api", std::move(done));
}

std::vector<MetricFamily> Instance::Metrics() const { return impl_->Metrics(); }

}  // namespace mxkit::fakemx
