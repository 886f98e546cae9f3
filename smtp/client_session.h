// ClientSession: the sending side of one SMTP connection (RFC 5321) as a
// sans-IO state machine. The caller owns the socket and TLS:
//
//   ClientSession c(config);
//   c.AddTransaction(message);
//   loop {
//     c.Feed(read());                 // server bytes (after TLS decryption)
//     send(c.TakeOutput());
//     while (auto e = c.NextEvent()) handle(*e);  // StartTlsEvent: handshake, then
//                                                 // c.OnTlsEstablished()
//     if (c.done()) break;
//   }
//
// It waits for the greeting, sends EHLO (HELO when EHLO is refused with 5xx),
// runs STARTTLS when offered and wanted (and re-EHLOs, RFC 3207 §4.2), then
// runs each transaction: MAIL, RCPT..., DATA or BDAT (RFC 3030) when CHUNKING
// is offered and asked for, pipelined per RFC 2920 when PIPELINING is offered,
// and QUIT at the end. Reply bytes the server sent after its STARTTLS 220
// in plaintext are discarded, never parsed (the reply-side twin of
// CVE-2011-0411), and reported.

#ifndef MXKIT_SMTP_CLIENT_SESSION_H_
#define MXKIT_SMTP_CLIENT_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "smtp/command.h"  // BodyType
#include "smtp/ehlo.h"
#include "smtp/reply.h"

namespace mxkit::smtp {

// Largest BDAT chunk the client sends (RFC 3030 sets no bound; 64 KiB keeps a
// chunk's bytes and a pipelined reply window small).
inline constexpr size_t kDefaultBdatChunkSize = 64 * 1024;
inline constexpr size_t kMaxBdatChunkSize = 16u << 20;

enum class StartTlsMode {
  kNever,          // never send STARTTLS
  kOpportunistic,  // STARTTLS when offered; continue in plaintext otherwise
  kRequired,       // STARTTLS or give up (QUIT) before any MAIL
};

struct ClientSessionConfig {
  std::string helo_domain = "localhost";  // argument of EHLO/HELO
  StartTlsMode starttls = StartTlsMode::kOpportunistic;
  bool use_pipelining = true;  // pipeline when the server offers PIPELINING
  bool use_chunking = false;   // BDAT instead of DATA when CHUNKING is offered
  size_t bdat_chunk_size = kDefaultBdatChunkSize;  // clamped to [1, kMaxBdatChunkSize]
  // Add SIZE=<octets> to MAIL FROM when the server offers SIZE (RFC 1870 §6),
  // and refuse locally a message above the server's advertised limit.
  bool declare_size = true;
  ReplyParserOptions reply_options;
};

struct OutgoingRecipient {
  std::string forward_path;  // without angle brackets ("user@example.com")
  std::vector<std::pair<std::string, std::string>> params;  // e.g. {"NOTIFY","NEVER"}
};

struct OutgoingMessage {
  std::string reverse_path;  // without angle brackets; "" sends MAIL FROM:<>
  // Further ESMTP parameters ({"RET","HDRS"}, {"ENVID","x"}, {"AUTH","<>"}).
  // The MAIL and RCPT lines are checked with ParseCommand against the
  // server's EHLO before they are sent; a line it refuses fails the
  // transaction (or recipient) locally, so no parameter can inject bytes.
  std::vector<std::pair<std::string, std::string>> mail_params;
  // Adds BODY=8BITMIME / BINARYMIME; BINARYMIME is always sent with BDAT
  // (RFC 3030 §3), so it needs CHUNKING and BINARYMIME offered.
  BodyType body = BodyType::k7Bit;
  bool smtputf8 = false;                  // adds SMTPUTF8 (RFC 6531)
  std::vector<OutgoingRecipient> recipients;
  // The message (header and body) with CRLF line endings; dot-stuffing and
  // the final "." are added by the session.
  std::string content;
};

// One reply and the command it answers ("GREETING" for the 220 banner,
// "DATA-END" for the reply after the message content).
struct ReplyEvent {
  std::string command;  // the command line sent, without CRLF (or a label above)
  Reply reply;
};
struct CapabilitiesEvent { bool extended = true; EhloCapabilities capabilities; };
// The server accepted STARTTLS: handshake now, then call OnTlsEstablished().
struct StartTlsEvent {};
// Plaintext bytes after the server's STARTTLS 220 were discarded unparsed.
struct ResponseInjectionEvent { size_t bytes = 0; };

struct RecipientResult {
  std::string forward_path;
  // The server's reply to RCPT. Code 0 (no RFC 5321 class) when the RCPT was
  // never sent: refused locally (the text says why) or the session ended first.
  Reply reply;
  bool accepted() const { return reply.is_positive_completion(); }
};

enum class TransactionStatus {
  kDelivered,           // every recipient accepted, message accepted
  kPartiallyDelivered,  // message accepted for some recipients only
  kTemporaryFailure,    // 4xx on MAIL/DATA/end of data, or all recipients 4xx
  kPermanentFailure,    // 5xx, or not attempted for a local reason
};

struct TransactionResult {
  size_t index = 0;  // order of AddTransaction
  TransactionStatus status = TransactionStatus::kPermanentFailure;
  std::optional<Reply> mail_reply;
  std::vector<RecipientResult> recipients;
  std::optional<Reply> final_reply;  // the reply that decided the outcome
  std::string detail;                // why, for humans
};
struct TransactionCompleteEvent { TransactionResult result; };

enum class SessionOutcome {
  kInProgress,
  kCompleted,          // QUIT answered (or closed after QUIT)
  kGreetingRefused,    // non-220 greeting
  kHelloRefused,       // EHLO and HELO both refused
  kTlsUnavailable,     // kRequired, but STARTTLS not offered or refused
  kServiceClosing,     // the server sent 421
  kProtocolError,      // a malformed reply or a reply where none was due
  kConnectionClosed,   // OnConnectionClosed() before the session ended
};
// "in-progress", "completed", "greeting-refused", "hello-refused",
// "tls-unavailable", "service-closing", "protocol-error",
// "connection-closed": the names tools print (mxkit probe's JSON,
// testing/smtp_send).
std::string_view SessionOutcomeName(SessionOutcome outcome);
struct SessionCompleteEvent {
  SessionOutcome outcome = SessionOutcome::kCompleted;
  std::string detail;
};

using ClientEvent = std::variant<ReplyEvent, CapabilitiesEvent, StartTlsEvent,
                                 ResponseInjectionEvent, TransactionCompleteEvent,
                                 SessionCompleteEvent>;

enum class ClientState {
  kAwaitingGreeting,
  kAwaitingReply,     // replies to sent commands are outstanding
  kAwaitingTls,       // StartTlsEvent sent; call OnTlsEstablished()
  kIdle,              // nothing to do until AddTransaction() or Quit()
  kDone,
};

class ClientSession {
 public:
  explicit ClientSession(ClientSessionConfig config);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Queues a transaction; they run in order. Allowed until Quit().
  void AddTransaction(OutgoingMessage message);
  // QUIT once the queued transactions are done. Without it the session waits
  // in kIdle after the last one.
  void Quit();

  // Server bytes. Replies are parsed with ReplyParser; a parse error ends the
  // session with kProtocolError.
  void Feed(std::string_view bytes);
  // The TLS handshake after StartTlsEvent succeeded; the session re-EHLOs.
  void OnTlsEstablished();
  // The server closed the connection.
  void OnConnectionClosed();

  std::string TakeOutput();
  bool has_output() const;
  std::optional<ClientEvent> NextEvent();

  ClientState state() const;
  bool done() const;
  SessionOutcome outcome() const;
  bool tls_active() const;
  // The capabilities of the last EHLO reply (empty after HELO).
  const EhloCapabilities& capabilities() const;
  const std::vector<TransactionResult>& results() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_CLIENT_SESSION_H_
