// One running fakemx: the scenario, its TLS set-up, its DNS world and DNS
// server, its MTA-STS policy host, the capture, an optional Maildir, the
// SMTP server and the HTTP API server (serving this object as its
// ApiBackend), as one object. fakemx's main is flags -> InstanceOptions ->
// Instance on its io_context; a C++ test embeds the same object with its own
// io thread (Instance::Start), asks it for the addresses it bound (port 0
// everywhere by default), waits for a message without sleeping and reads
// the message's verdicts. fakemx/testing/gtest_fixture.h puts a GoogleTest
// fixture on top.
//
// Threads. Every component runs on one io_context thread. The ApiBackend
// methods (capture(), scenario(), SwitchScenario(spec, done), Metrics()) are
// called on that thread, as the HTTP API does. The accessors below marked
// "any thread" may be called from any other thread (a test's): they read a
// snapshot kept under a lock, or run their work on the io thread and wait
// for it, so they must not be called from the io thread itself (they would
// wait for themselves), and with Create() someone else must be running the
// io_context meanwhile.
//
// Scenario switching (SwitchScenario) parses and builds everything first (a
// bad scenario changes nothing), then closes the old SMTP listeners and
// binds the new ones (so a scenario may reuse the same fixed ports);
// connections already open finish under the old scenario's behaviour. The
// DNS server answers from the new zones at once; the MTA-STS policy host is
// replaced. If a new listener cannot be bound, the old listeners are bound
// again and the old scenario keeps running.

#ifndef MXKIT_FAKEMX_INSTANCE_H_
#define MXKIT_FAKEMX_INSTANCE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fakemx/api_backend.h"
#include "fakemx/capture.h"
#include "fakemx/dns_listener.h"
#include "fakemx/flags.h"
#include "fakemx/scenario.h"
#include "fakemx/scenario_dns.h"
#include "fakemx/server.h"

namespace mxkit::fakemx {

// Which scenario to run: a catalogue name or a file (as --scenario takes
// them), YAML text, or a Scenario built in C++.
class ScenarioSource {
 public:
  enum class Kind { kNameOrPath, kYaml, kBuilt };

  // A catalogue name ("good"), or a path (contains '/' or ends in .yaml/.yml).
  static ScenarioSource Named(std::string name_or_path);
  // Scenario YAML; `source` names it in errors ("<yaml>:3:7: ...").
  static ScenarioSource Yaml(std::string text, std::string source = "<yaml>");
  // A scenario built in C++ (fakemx/scenario.h); it is not validated beyond
  // what building its TLS and DNS world checks, as the parser would have.
  static ScenarioSource Built(Scenario scenario);

  Kind kind() const { return kind_; }
  // The name, path or YAML text; empty for kBuilt.
  const std::string& text() const { return text_; }

 private:
  friend class Instance;
  Kind kind_ = Kind::kNameOrPath;
  std::string text_;
  std::string source_;
  std::shared_ptr<const Scenario> built_;
};

struct InstanceOptions {
  ScenarioSource scenario = ScenarioSource::Named(std::string(kDefaultScenario));
  // Everything else, as fakemx's command line gives it (--maildir, --dns,
  // --tls-dir, the timeouts, the per-receiver overrides ...). flags.scenario
  // is not read: `scenario` above is.
  FakemxFlags flags;
  // Every SMTP, DNS, MTA-STS and API listener on port 0 of its address, whatever
  // the scenario and the flags say, so tests running in parallel never
  // collide. Embedded() sets it.
  bool ephemeral_ports = false;
  // Removes the TLS directory at destruction when the instance made it (no
  // --tls-dir). fakemx's main leaves it, for the client that was given it.
  bool remove_temporary_tls_dir = false;

  // The options a C++ test wants: `scenario`, ephemeral ports, DNS and the
  // HTTP API on 127.0.0.1:0, MTA-STS policy hosts on port 0, capture only (no Maildir),
  // a temporary TLS directory removed afterwards, a 2 s shutdown grace.
  static InstanceOptions Embedded(ScenarioSource scenario = ScenarioSource::Named(
                                      std::string(kDefaultScenario)));
};

// A stored message, copied out of the capture, with the facts of the session
// that carried it (`session.messages` is left empty).
struct ReceivedMessage {
  CapturedMessage message;
  CapturedSession session;
};

// Decides whether a message is the one waited for. Runs on the io thread.
using MessageFilter = std::function<bool(const CapturedSession&, const CapturedMessage&)>;
// Decides whether a closed session is the one waited for. Runs on the io thread.
using SessionFilter = std::function<bool(const CapturedSession&)>;

// Filters for the usual questions: any message; one with this envelope
// recipient (ASCII case-insensitive, as mailbox domains compare); one from
// this envelope sender; one that a given receiver took.
MessageFilter AnyMessage();
MessageFilter ToRecipient(std::string address);
MessageFilter FromSender(std::string address);
MessageFilter AtReceiver(std::string receiver);

// A line of fakemx's start-up banner (tests parse "fakemx: ..." lines).
struct Banner {
  std::vector<std::string> facts;      // stdout: scenario, hostname, ..., dkim-key
  std::vector<std::string> warnings;   // stderr
  std::vector<std::string> listening;  // stdout, last: "listening on smtp(s) ..."
};

class Instance : public ApiBackend {
 public:
  // Builds and binds everything on `io` (nothing is accepted until Serve()).
  // Errors are what fakemx prints after "fakemx: "; IsUsageError() tells a
  // bad scenario or setting (exit code 2) from a failure to start (1).
  static absl::StatusOr<std::unique_ptr<Instance>> Create(boost::asio::io_context& io,
                                                          InstanceOptions options);
  // Embedded: Create() on an io_context of its own, Serve(), and a thread
  // running it. Stop() or the destructor ends it.
  static absl::StatusOr<std::unique_ptr<Instance>> Start(InstanceOptions options);

  ~Instance() override;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // --- On the caller's io_context (fakemx's main) ---
  // Starts accepting connections.
  void Serve();
  // Graceful stop (Server::Shutdown) of every generation's server, DNS and
  // the policy host stopped at once; `done` runs on the io_context once no
  // SMTP connection is left. Again: ignored.
  void Shutdown(std::function<void()> done);
  // Ends the grace period now (a second SIGINT).
  void ForceClose();
  // The start-up banner of the running scenario.
  Banner banner() const;
  // Summed over every generation's server.
  ServerStats server_stats() const;
  // Nullopt with --dns=off.
  std::optional<DnsListenerStats> dns_stats() const;

  // --- Any thread ---
  // Embedded: graceful stop, then the io thread is joined. Idempotent; the
  // destructor calls it. With Create(): Shutdown and wait, the caller's io
  // thread must be running.
  void Stop();
  // Every bound SMTP listener, receivers in scenario order.
  std::vector<BoundListener> smtp_listeners() const;
  // The first plain-SMTP (or implicit-TLS) listener of `receiver`, the first
  // receiver when empty; nullopt when it has none.
  std::optional<boost::asio::ip::tcp::endpoint> smtp_endpoint(std::string_view receiver = "") const;
  std::optional<boost::asio::ip::tcp::endpoint> smtps_endpoint(
      std::string_view receiver = "") const;
  // The DNS server (UDP and TCP on the same port); nullopt with --dns=off.
  std::optional<boost::asio::ip::udp::endpoint> dns_endpoint() const;
  // The HTTP API (fakemx/api_server.h); nullopt with --api=off.
  std::optional<boost::asio::ip::tcp::endpoint> api_endpoint() const;
  // Each MTA-STS policy site and where it listens.
  std::vector<std::pair<std::string, boost::asio::ip::tcp::endpoint>> mta_sts_endpoints() const;
  // The TLS directory (ca.pem to trust, chain and key files) and the DKIM
  // keys the scenario's domains publish (their key files are in it).
  std::string tls_dir() const;
  std::vector<DkimKey> dkim_keys() const;
  // The running scenario (ApiScenario is plain data).
  ApiScenario current_scenario() const;

  // The first stored message `filter` accepts, oldest first, messages
  // already stored included; else the first to arrive within `timeout`;
  // nullopt at the timeout. Wakes on the capture's observer, never polls.
  std::optional<ReceivedMessage> WaitForMessage(const MessageFilter& filter,
                                                std::chrono::milliseconds timeout);
  // The same for closed sessions (those that never delivered included).
  std::optional<CapturedSession> WaitForSession(const SessionFilter& filter,
                                                std::chrono::milliseconds timeout);
  // Copies of every stored message and session, oldest first.
  std::vector<ReceivedMessage> Messages() const;
  std::vector<CapturedSession> Sessions() const;
  // SwitchScenario on the io thread, waited for.
  absl::StatusOr<ApiScenario> SwitchScenario(ScenarioSource source);
  // Runs `fn` on the io thread and waits for it (inline on the io thread,
  // or once an embedded instance has stopped): how a test calls the
  // ApiBackend methods, or reads the capture, from its own thread.
  void RunOnIoThread(const std::function<void()>& fn);

  // --- ApiBackend: on the io thread ---
  CaptureStore& capture() override;
  ApiScenario scenario() const override;
  void SwitchScenario(std::string spec,
                      std::function<void(absl::StatusOr<ApiScenario>)> done) override;
  std::vector<MetricFamily> Metrics() const override;

  struct Impl;

 private:
  explicit Instance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether an error of Instance::Create is the user's (a bad scenario, flag
// or setting: fakemx exits 2) rather than a failure to start (exits 1).
bool IsUsageError(const absl::Status& status);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_INSTANCE_H_
