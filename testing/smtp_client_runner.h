// Runs an smtp::ClientSession over a connected, blocking socket, with STARTTLS
// through a tls::Engine: our own sending side for end-to-end tests and
// benchmarks, where a real client (swaks, smtplib) cannot report what it saw
// at the protocol level (e.g. reply bytes injected after the STARTTLS 220).
//
// Blocking on purpose: a test or a benchmark thread runs one session at a
// time; each wait for the server, to read or to write, is bounded by
// `timeout` (poll), so a server that stalls ends the run with an error
// instead of hanging the test.

#ifndef MXKIT_TESTING_SMTP_CLIENT_RUNNER_H_
#define MXKIT_TESTING_SMTP_CLIENT_RUNNER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "smtp/client_session.h"
#include "tls/engine.h"

namespace mxkit::testing {

struct SmtpClientRunOptions {
  smtp::ClientSessionConfig session;
  std::vector<smtp::OutgoingMessage> messages;
  // Needed when session.starttls is not kNever and the server offers it.
  std::shared_ptr<const tls::ClientContext> tls_context;
  tls::ClientConnectionOptions tls_connection;
  // Implicit TLS (RFC 8314): handshake before the greeting.
  bool implicit_tls = false;
  // Bounds each wait for the server (one read or one write; a handshake of
  // several flights may take a few of them).
  std::chrono::milliseconds timeout{10000};
};

struct SmtpClientRun {
  smtp::SessionOutcome outcome = smtp::SessionOutcome::kInProgress;
  std::string detail;
  std::vector<smtp::TransactionResult> results;
  std::vector<smtp::ReplyEvent> replies;  // in order, for assertions
  bool tls_established = false;
  std::optional<tls::HandshakeInfo> tls_info;
  std::optional<tls::EngineError> tls_error;
  // Plaintext reply bytes the server sent after its STARTTLS 220, discarded
  // by the session (ResponseInjectionEvent).
  size_t injected_reply_bytes = 0;
};

// Runs the session on `fd` (connected; not closed here) until it is done,
// the server closes, TLS fails, or a wait times out. Returns an error only
// for an I/O failure or a timeout (saying which wait); protocol outcomes are
// in the result.
absl::StatusOr<SmtpClientRun> RunSmtpClient(int fd, SmtpClientRunOptions options);

// Connects to 127.0.0.1:`port` (blocking, TCP_NODELAY) and returns the fd.
absl::StatusOr<int> ConnectLoopback(uint16_t port);

}  // namespace mxkit::testing

#endif  // MXKIT_TESTING_SMTP_CLIENT_RUNNER_H_
