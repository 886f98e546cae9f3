// fakemx's SMTP server: Boost.Asio acceptors, one per listener of each
// receiver (plain SMTP with STARTTLS, or implicit TLS), and, per connection,
// a driver that moves bytes between a Transport (fakemx/transport.h: TCP,
// plain or TLS) and an smtp::ServerSession, asking the receiver's Behaviour
// (fakemx/behaviour.h) what to answer, and recording the session in a
// CaptureStore (fakemx/capture.h) when one is given.
//
// Everything runs on one io_context (one thread), except storage: with a
// Maildir, a message's final reply is deferred (Decision::Defer) while a
// small thread pool writes and fsyncs it, and the 250 is sent only once
// Deliver() returned OK (451 4.3.0 otherwise). A slow disk therefore never
// stalls the other connections, and no 250 is ever sent for a message that
// is not in new/. Without a Maildir there are no storage threads: the
// message is captured in memory and answered at once.
//
// Scenarios (greylisting, tarpitting, dropping after DATA) are Behaviours;
// the driver carries out what they decide: refusals, disconnects, drops and
// resets (RST), delayed replies, replies trickled a byte at a time, stalls
// (no reply ever; closed at the idle timeout without a 421), a drop after N
// octets of DATA content; it stops reading while a decision is pending.

#ifndef MXKIT_FAKEMX_SERVER_H_
#define MXKIT_FAKEMX_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "fakemx/behaviour.h"
#include "fakemx/capture.h"
#include "fakemx/flags.h"
#include "fakemx/maildir.h"
#include "fakemx/verdict.h"
#include "smtp/server_session.h"
#include "tls/engine.h"

namespace mxkit::fakemx {

// Bytes read from a socket at once. It bounds our per-connection input
// buffer; the session buffers at most one command line or its own bounded
// DATA state beyond it.
inline constexpr size_t kReadBufferSize = 64 * 1024;
// How long a 421 sent while closing (timeout, shutdown) may take to write.
inline constexpr std::chrono::seconds kFinalReplyTimeout{5};

// "address:port", an IPv6 address in brackets ("[::1]:25", RFC 3986
// §3.2.2), as fakemx writes endpoints in its messages and errors.
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// One listening socket of a receiver.
struct ListenerOptions {
  boost::asio::ip::tcp::endpoint endpoint;  // port 0 = ephemeral
  bool implicit_tls = false;                // RFC 8314 §3.3 (465-style)
};

// One receiver (a fake MX host for one domain): its listeners and how its
// connections are answered. A scenario (fakemx/scenario.h) becomes one of
// these per receiver (fakemx/scenario_behaviour.h makes the factory).
struct ReceiverOptions {
  std::string name;  // the domain it plays, for captures and --verbose
  std::vector<ListenerOptions> listeners;
  // The base session config; the driver sets extensions.starttls and
  // implicit_tls per connection as for ServerOptions::session.
  smtp::ServerSessionConfig session;
  BehaviourFactory behaviour;  // empty = ReceiverBehaviour offering STARTTLS
  std::shared_ptr<const tls::ServerContext> tls_context;  // null = no TLS
  std::string tls_certificate;  // the variant tls_context presents
  std::optional<std::chrono::seconds> idle_timeout;  // unset = ServerOptions::idle_timeout
  // Judges each accepted message (fakemx/verdict.h) before its 250; null =
  // no verdicts (the message's verdict says only encrypted or not, and the
  // server behaves exactly as without verdicts). See ServerOptions::verdicts.
  std::shared_ptr<VerdictEngine> verdicts;
};

struct ServerOptions {
  boost::asio::ip::tcp::endpoint endpoint{boost::asio::ip::make_address("127.0.0.1"), 2525};
  // The caller's leniencies, limits and extensions; the driver sets
  // extensions.starttls (TLS available and the behaviour advertises it; on
  // the implicit-TLS listener the session, TLS being active, neither
  // advertises it nor takes it: 503) and implicit_tls per connection.
  smtp::ServerSessionConfig session;
  // RFC 5321 §4.5.3.2.7: waiting for a command (or DATA bytes) this long
  // ends the connection with 421. Also bounds a write the client never reads.
  std::chrono::seconds idle_timeout{kDefaultIdleTimeoutSeconds};
  // Any connection older than this is ended with 421 (after a pending
  // storage, so no acknowledged message is lost).
  std::chrono::seconds session_timeout{kDefaultSessionTimeoutSeconds};
  // After Shutdown(): how long transactions in progress may take.
  std::chrono::seconds shutdown_grace{kDefaultShutdownGraceSeconds};
  // Threads writing messages into the Maildir (see kDefaultStorageThreads);
  // 0 = store synchronously on the io_context thread.
  size_t storage_threads = kDefaultStorageThreads;
  // One line on stderr per connection (accepted, closed) and per reply sent,
  // each with the time and the client's address and port: the transcript a
  // user needs when their client misbehaves.
  bool verbose = false;

  // TLS for STARTTLS and the implicit-TLS listener; null = no TLS at all
  // (STARTTLS not advertised, no smtps listener allowed).
  std::shared_ptr<const tls::ServerContext> tls_context;
  // The certificate variant tls_context presents ("good"), for the sidecar.
  std::string tls_certificate;
  // An implicit-TLS listener (RFC 8314 §3.3, port 465): connections
  // handshake first, then get the greeting. Requires tls_context.
  std::optional<boost::asio::ip::tcp::endpoint> smtps_endpoint;
  // Makes the behaviour of each connection; empty = a ReceiverBehaviour
  // offering STARTTLS normally.
  BehaviourFactory behaviour;

  // Several receivers in one process (a scenario). When not empty, these
  // replace endpoint, smtps_endpoint, session, tls_context,
  // tls_certificate and behaviour above, which otherwise make the one
  // receiver (named after session.hostname).
  std::vector<ReceiverOptions> receivers;
  // The scenario's name, for captures.
  std::string scenario;
  // Where every session is recorded (fakemx/capture.h); null = nowhere.
  // Must outlive the server.
  CaptureStore* capture = nullptr;
  // The verdict engine of the single receiver above (with `receivers`,
  // each ReceiverOptions::verdicts instead). With an engine, each message
  // the behaviour accepts is judged before it is stored and answered: the
  // verdict goes into the capture (CapturedMessage::verdict) and the
  // sidecar ("verdict"); with the engine's add_authentication_results the
  // stored copy (capture and Maildir) starts with the Authentication-Results
  // field. The engine must complete inline (VerdictEngine does: fakemx's
  // DNS is in process); one that does not gets the message refused with
  // 451 4.3.0, never a 250 without a verdict.
  std::shared_ptr<VerdictEngine> verdicts;
};

// A bound listener, after Listen().
struct BoundListener {
  std::string receiver;
  boost::asio::ip::tcp::endpoint endpoint;  // with the real port
  bool implicit_tls = false;
};

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;
  uint64_t messages_stored = 0;    // each answered 250
  uint64_t storage_failures = 0;   // each answered 451 4.3.0
  uint64_t tls_established = 0;    // handshakes completed (STARTTLS and implicit)
  uint64_t tls_failed = 0;         // handshakes failed or timed out
  uint64_t tls_timed_out = 0;      // of tls_failed: hit the idle timeout
  uint64_t plaintext_discarded_bytes = 0;  // pipelined behind STARTTLS (CVE-2011-0411)
  // Replies sent, by code (each reply of a pipelined write counted); 0
  // counts writes that are not replies at all (a scenario's raw bytes).
  std::map<int, uint64_t> replies_by_code;
  // Every accepted message's verdict, by check and result (CountVerdict);
  // without an engine only its lock is counted.
  VerdictCounts verdicts;
};

class Server {
 public:
  // `maildir` must outlive the server; null = no spooling (messages are
  // captured in memory only and answered 250 at once). Nothing happens
  // until Listen/Start.
  Server(boost::asio::io_context& io, ServerOptions options, Maildir* maildir);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on every receiver's listeners (port 0 = ephemeral):
  // all of them or, on an error, none. Errors name the endpoint and the
  // receiver; an implicit-TLS listener without a tls_context is
  // FailedPrecondition, a receiver without listeners InvalidArgument. Every
  // connection is a descriptor: the caller raises RLIMIT_NOFILE as it needs
  // (fakemx's main does, for 10,000 connections).
  absl::Status Listen();
  // The first receiver's first plain-SMTP listener, with the real port
  // after Listen() (options.endpoint for the single-receiver fields).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Every bound listener, receivers in order, each receiver's in order.
  std::vector<BoundListener> listeners() const;
  // The first receiver's first implicit-TLS listener's bound address;
  // nullopt when it has none.
  std::optional<boost::asio::ip::tcp::endpoint> smtps_local_endpoint() const;
  // Starts accepting connections. Call after Listen().
  void Start();

  // Graceful stop: no new connections; a connection between transactions
  // gets "421 4.3.2 ... shutting down" and is closed; one inside a
  // transaction may finish it (its 250 included) and is then closed with
  // 421. After options.shutdown_grace the remaining ones get 421 and are
  // closed, except a connection waiting for its message to be stored, which
  // is answered first. `done` runs on the io_context once no connection is
  // left. Calling it again is ignored.
  void Shutdown(std::function<void()> done);

  // Ends the grace period now (e.g. a second SIGINT).
  void ForceClose();

  // Closes every listener and accepts nothing more; open connections go on
  // as before, under this server's behaviours, until they end (stats()
  // counts them). A scenario switch (fakemx/instance.h) does this so the
  // next scenario can bind the same ports.
  void StopAccepting();

  ServerStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_SERVER_H_
