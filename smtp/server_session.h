// ServerSession: the receiving side of one SMTP connection (RFC 5321) as a
// sans-IO state machine. The caller owns the socket, the clock and TLS; the
// session owns the protocol:
//
//   ServerSession s(config, &policy);
//   s.Start();                        // queues the 220 greeting
//   loop {
//     send(s.TakeOutput());           // replies, batched per RFC 2920
//     while (auto e = s.NextEvent()) handle(*e);
//     if (s.state() == ServerState::kClosed) break;
//     if (s.wants_input()) s.Feed(read());
//     // a deferred decision is answered later with s.Decide(...)
//   }
//
// What it implements: HELO/EHLO, MAIL/RCPT/DATA/RSET/NOOP/VRFY/EXPN/HELP/QUIT,
// PIPELINING (RFC 2920: every complete command of a read is handled in order,
// bytes after DATA/BDAT in the same read are message content), CHUNKING and
// BINARYMIME (RFC 3030), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
// (RFC 6531), DSN parameters (RFC 3461, carried, not acted upon),
// ENHANCEDSTATUSCODES (RFC 2034/3463), STARTTLS (RFC 3207) with the plaintext
// injection of CVE-2011-0411 discarded, and a bounded error count after which
// the session answers 421 and closes.
//
// No clocks: state() tells the caller which RFC 5321 §4.5.3.2 timeout applies.

#ifndef MXKIT_SMTP_SERVER_SESSION_H_
#define MXKIT_SMTP_SERVER_SESSION_H_

#include <chrono>
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
#include "smtp/data.h"
#include "smtp/limits.h"

namespace mxkit::smtp {

// Commands with a protocol error (syntax, sequence, unknown verb, line too
// long) a client may make before the session answers 421 and closes. Postfix's
// smtpd_hard_error_limit defaults to 20 (10 before 3.x); RFC 5321 §4.3.2 lets a
// server close with 421 at any time.
inline constexpr int kDefaultMaxProtocolErrors = 10;
inline constexpr int kMaxProtocolErrorsCeiling = 1000;

// Bytes a caller may Feed() while the session does not want input (a decision
// is deferred): a pipelining client may keep sending BDAT chunks while a
// decision is pending. Beyond this the session answers 421 and closes rather
// than buffer without bound.
inline constexpr size_t kMaxBufferedInputWhileBlocked = 1u << 20;

// Extensions the server offers in its EHLO reply. An extension not offered is
// also not accepted: e.g. BDAT without CHUNKING is answered 502, BODY=8BITMIME
// without 8BITMIME 555.
struct ServerExtensions {
  bool pipelining = true;           // RFC 2920
  bool size = true;                 // RFC 1870, advertises limits.max_message_size
  bool eight_bit_mime = true;       // RFC 6152
  bool smtputf8 = false;            // RFC 6531
  bool starttls = false;            // RFC 3207 (only offered before TLS is active)
  bool chunking = false;            // RFC 3030 BDAT
  bool binarymime = false;          // RFC 3030 BODY=BINARYMIME; requires chunking
  bool dsn = false;                 // RFC 3461 NOTIFY/ORCPT/RET/ENVID
  bool enhanced_status_codes = true;  // RFC 2034
  // SASL mechanisms listed in "AUTH ..."; empty = AUTH not offered.
  // The AUTH exchange itself is decided by ServerPolicy::OnAuth.
  std::vector<std::string> auth_mechanisms;
  // Further EHLO keyword lines, advertised exactly as given ("X-EXPS
  // GSSAPI", "DELIVERBY 60") after the ones above and not implemented: a
  // receiver that advertises more than it does. Each must be printable
  // ASCII without CR/LF (RFC 5321 §4.1.1.1 ehlo-line); others are dropped.
  std::vector<std::string> extra_keywords;
  // AUTH must succeed before MAIL (RFC 4954 §6: "530 5.7.0 Authentication
  // required"); only meaningful with auth_mechanisms.
  bool auth_required = false;
};

struct ServerSessionConfig {
  // Our name in the greeting, the EHLO reply and 221/421 replies.
  std::string hostname = "localhost";
  // Text after "220 <hostname> " in the greeting.
  std::string greeting = "ESMTP mxkit";
  // What EHLO offers; a policy may offer something else before and after TLS
  // (ServerPolicy::Extensions).
  ServerExtensions extensions;
  SessionLimits limits;
  // The command parser's leniencies (smtp/command.h), all off by default.
  // The session sets the rest of CommandParseOptions itself: the extensions
  // from `extensions` and the HELO/EHLO state, the line limit from `limits`,
  // UTF-8 paths from the transaction's SMTPUTF8 (RFC 6531 §3.4). With
  // allow_long_auth_line, any command line may be framed up to
  // kMaxAuthResponseLine before the parser refuses a non-AUTH one as too long.
  CommandLeniencies command_leniencies;
  // Where DATA content ends and whether bare CR/LF may appear in it (RFC 5321
  // §2.3.8). Every policy but kReject emulates a receiver that is either a
  // smuggling relay or VULNERABLE to SMTP smuggling (CVE-2023-51764/5/6);
  // see smtp/data.h.
  BareLineEndingPolicy data_bare_line_endings = BareLineEndingPolicy::kReject;
  // Whether DATA content may hold NUL (RFC 5321 §4.1.1.4, §2.3.1).
  NulPolicy data_nul = NulPolicy::kReject;
  // BDAT content (RFC 3030) is not DATA: it is framed by its octet count,
  // not by a line ending, and taken as sent (no dot-unstuffing, no bare CR/LF
  // or NUL check, no line length check), so neither data_ policy applies to it
  // and no line ending can end it early.

  // Protocol errors before 421 and close; clamped to [1, kMaxProtocolErrorsCeiling].
  int max_protocol_errors = kDefaultMaxProtocolErrors;

  // Emit a CommandReceivedEvent for every command line (the transcript a
  // capture records). Off by default: it copies each line. SASL secrets are
  // not copied: an AUTH exchange's response lines are recorded as "(AUTH
  // response, N octets)" and an AUTH command's initial response as "AUTH
  // PLAIN (initial response, N octets)"; a line too long for the session is
  // recorded as its first limits.max_command_line octets.
  bool command_events = false;

  // The connection is TLS from its first byte (implicit TLS, RFC 8314 §3.3,
  // the "submissions"/465 model): the caller finished the handshake before
  // Start(). tls_active() is true from the start, STARTTLS is not advertised,
  // and a STARTTLS command is answered as it is after a STARTTLS handshake.
  bool implicit_tls = false;
};

// ---- What the session tells the policy and the caller ----------------------

// An ESMTP parameter as received ("SIZE=1000" -> {"SIZE", "1000"}; "BODY" with
// no value -> {"BODY", ""}). Keywords keep the client's case.
using EsmtpParam = std::pair<std::string, std::string>;

struct Recipient {
  std::string forward_path;  // without the angle brackets
  std::vector<EsmtpParam> params;
};

// One mail transaction as it stands.
struct Envelope {
  std::string reverse_path;  // without the angle brackets; "" is the null path <>
  std::vector<EsmtpParam> mail_params;
  BodyType body = BodyType::k7Bit;
  bool smtputf8 = false;
  std::optional<uint64_t> declared_size;  // MAIL FROM SIZE=
  std::vector<Recipient> recipients;     // accepted recipients only
  // The message data came (or is coming) by BDAT (RFC 3030), not DATA.
  bool via_bdat = false;
};

struct HelloRequest {
  bool extended = false;  // EHLO rather than HELO
  std::string domain;     // the argument as sent (domain or address literal)
};

// One decision the policy makes. The session supplies the RFC 5321 reply for
// kAccept; kReject and kDisconnect send the given reply.
//
// What goes on the wire for a decision that sends a reply: `raw` when it is
// not empty, sent exactly as given (not even a CRLF is added: a garbage or
// truncated reply to test a client's parser); otherwise `code` with
// `enhanced` and `lines` (a multi-line reply, RFC 5321 §4.2.1, one element
// per line) or else `text`. Text is sanitized as always (printable ASCII).
// With ENHANCEDSTATUSCODES offered, every line of a 2xx/4xx/5xx reply but
// the greeting's and HELO/EHLO's carries the enhanced code (RFC 2034 §4):
// `enhanced` when it matches the reply code's class, else X.0.0.
// `lines` are whole line texts: the session adds nothing to them (not the
// hostname it puts before a greeting's or an EHLO reply's `text`); at most
// kMaxReplyLines (smtp/reply.h) of them are sent, so that a client's parser
// can take the reply whole.
//
// The same action means the same at every hook:
//   kAccept      the hook's step goes ahead with the session's reply (its
//                `text`, `lines` or `raw` replacing the session's words);
//   kReject      the step is refused with `code` (a 4yz/5yz reply code,
//                see IsReplyCode in smtp/reply.h, else 451; else 554 at
//                OnConnect, after which only QUIT is served) and the session
//                goes on; not counted as a protocol error;
//   kDisconnect  `code` (4yz/5yz, else 421) is sent, then the session closes;
//   kDrop        the session closes without a reply;
//   kReset       as kDrop, with CloseRequestedEvent::reset set;
//   kStall       no reply and no more processing, ever (kStalled);
//   kDefer       pending until ServerSession::Decide() (which may also defer);
//   kReply       OnCommand and OnConnect only (see below); elsewhere it is
//                outside the contract and handled as kReject (with its code
//                when that is 4yz/5yz), as is a kReply with neither `raw`
//                nor a valid reply code;
//   kUnknown     OnCommand only; elsewhere handled as kReject.
// A `delay` applies to any action but kDefer, at any hook, and also to the
// decision given to Decide().
struct Decision {
  enum class Action {
    kAccept,      // the session's default positive reply (250, 354, ...)
    kReject,      // send `code` (4xx or 5xx) and refuse this step
    kDisconnect,  // send `code` (normally 421), then close
    kDrop,        // close without any reply (simulates a crashed peer)
    kDefer,       // answer later with ServerSession::Decide()
    // Only from OnCommand and OnConnect: send this reply (any RFC 5321 §4.2
    // reply code, 200-559 with a second digit of 0-5, or `raw`) instead of what the session would have done; the command
    // has no other effect (a MAIL answered 250 this way starts no
    // transaction); `text` is sent as given. From OnConnect: the greeting
    // ("<code> <hostname> <text>", or `lines`/`raw` as given), after which
    // the session serves commands as after a 220, whatever the code.
    kReply,
    // Only from OnCommand: answer the command exactly as the session
    // answers a verb it does not know (the command parser's 500 5.5.1
    // "command not recognized", counted as a protocol error, so enough of
    // them end in the 421): a receiver that does not implement it, e.g.
    // EHLO on an RFC 821-only server.
    kUnknown,
    // No reply, now or ever: the session processes no more input (what is
    // buffered and what Feed() gets later is discarded unread, not counted)
    // and state() is kStalled. A receiver that hangs; the caller closes at
    // its idle timeout, without a 421 (a hung server sends none: Abort()
    // then closes without writing).
    kStall,
    // Like kDrop, but the caller should reset the TCP connection (RST, via
    // SO_LINGER 0) instead of closing it (CloseRequestedEvent::reset).
    kReset,
  };
  Action action = Action::kAccept;
  int code = 0;              // for kReject/kDisconnect/kReply
  std::string enhanced;      // "4.7.1"; empty = the session picks one when offered
  std::string text;          // reply text; for kAccept, replaces the default text if non-empty
  // Replaces `text` when not empty: one reply line each ("250-a", "250 b").
  // For kAccept of EHLO, the lines after the first (greeting) line replace
  // the keyword lines the session would list.
  std::vector<std::string> lines;
  // Sent verbatim instead of a formatted reply when not empty (any action
  // that sends a reply).
  std::string raw;
  // Hold the reply back this long before the session acts on the decision
  // (a tarpit). The session has no clock: it treats the decision as
  // deferred, emits DecisionDelayedEvent, and applies it when the caller
  // calls ReleaseDelayedDecision().
  std::chrono::milliseconds delay{0};

  static Decision Accept(std::string text = {}) {
    return {Action::kAccept, 0, {}, std::move(text), {}, {}, {}};
  }
  static Decision Reject(int code, std::string enhanced, std::string text) {
    return {Action::kReject, code, std::move(enhanced), std::move(text), {}, {}, {}};
  }
  static Decision Disconnect(int code = 421, std::string enhanced = "4.3.2",
                             std::string text = "Service not available, closing channel") {
    return {Action::kDisconnect, code, std::move(enhanced), std::move(text), {}, {}, {}};
  }
  static Decision Drop() { return {Action::kDrop, 0, {}, {}, {}, {}, {}}; }
  static Decision Defer() { return {Action::kDefer, 0, {}, {}, {}, {}, {}}; }
  static Decision Reply(int code, std::string enhanced, std::string text) {
    return {Action::kReply, code, std::move(enhanced), std::move(text), {}, {}, {}};
  }
  static Decision Raw(std::string bytes) {
    return {Action::kReply, 0, {}, {}, {}, std::move(bytes), {}};
  }
  static Decision Unknown() { return {Action::kUnknown, 0, {}, {}, {}, {}, {}}; }
  static Decision Stall() { return {Action::kStall, 0, {}, {}, {}, {}, {}}; }
  static Decision Reset() { return {Action::kReset, 0, {}, {}, {}, {}, {}}; }
};

// Which policy hook a deferred decision belongs to.
enum class DecisionPoint {
  kConnect,      // greeting: accept -> 220, reject -> 554 (then only QUIT is served)
  kHello,        // HELO/EHLO
  kMailFrom,     // MAIL FROM
  kRcptTo,       // RCPT TO
  kDataStart,    // DATA (before 354) or the first BDAT chunk
  kMessage,      // end of message data (before the final 250)
  kAuth,         // AUTH exchange step
  kStartTls,     // STARTTLS (before the 220)
  kCommand,      // OnCommand, any command line
};

// A command line as received, before the session interprets it.
struct CommandRequest {
  // The first word, upper-cased ASCII ("MAIL", "EHLO", "XYZZY"); empty for
  // an empty line.
  std::string_view verb;
  // The whole line without its CRLF, as sent (at most the command line
  // limit; a longer line is refused before any hook sees it).
  std::string_view line;
  bool tls_active = false;
  bool in_transaction = false;
  bool authenticated = false;
};

// The SASL exchange state handed to OnAuth. The policy answers kAccept (235),
// kReject (535, 504, ...), or a kReject with code 334 to send a challenge
// (`text` is the base64 challenge); the client's answer comes back as the
// next entry of `responses`. "*" from the client cancels (501) without
// consulting the policy.
struct AuthRequest {
  std::string mechanism;                 // upper-cased
  std::vector<std::string> responses;    // base64-decoded; the initial response first (if any)
};

// The decision hook. Every method defaults to accepting; a subclass overrides
// what it wants to judge. A method may return Decision::Defer() and the
// caller answers later through ServerSession::Decide(); until then the
// session processes no further input. References are valid only during the
// call; copy what a deferred decision needs.
class ServerPolicy {
 public:
  virtual ~ServerPolicy() = default;
  virtual Decision OnConnect() { return Decision::Accept(); }
  virtual Decision OnHello(const HelloRequest&) { return Decision::Accept(); }
  virtual Decision OnMailFrom(const Envelope&) { return Decision::Accept(); }
  // `envelope.recipients` holds the recipients accepted before this one.
  virtual Decision OnRcptTo(const Envelope&, const Recipient&) { return Decision::Accept(); }
  virtual Decision OnDataStart(const Envelope&) { return Decision::Accept(); }
  // `message` is the message as received (dot-unstuffed, CRLF line ends).
  virtual Decision OnMessage(const Envelope&, std::string_view /*message*/) {
    return Decision::Accept();
  }
  // The default refuses: offering AUTH without a policy that checks
  // credentials would be fake success.
  virtual Decision OnAuth(const AuthRequest&) {
    return Decision::Reject(535, "5.7.8", "Authentication credentials invalid");
  }
  // STARTTLS that the session would accept (offered, after EHLO, outside a
  // transaction, TLS not yet active). Accept -> "220 Ready to start TLS";
  // a kReject answers with its code (RFC 3207 §4: 454 4.7.0 "TLS not
  // available due to temporary reason"; a receiver that advertises STARTTLS
  // and then refuses it with 502 is a real misconfiguration worth
  // reproducing) and the session continues in plaintext.
  virtual Decision OnStartTls() { return Decision::Accept(); }

  // Every command line, in any state, before the session interprets it
  // (not DATA/BDAT content or an AUTH exchange's responses, which are not
  // commands; not a line too long for the session, refused before any hook;
  // yes after a refused greeting, where kAccept gets the 503/QUIT handling).
  // kAccept lets the session handle it as usual (its other hooks still
  // apply; its text is not used); kReply, kUnknown, kReject, kStall,
  // kDisconnect, kDrop and kReset answer it instead, and the command has no
  // other effect (a BDAT answered so starts no chunk: the bytes that follow
  // it are read as commands, as by a server that does not know BDAT). kDefer (DecisionPoint::kCommand) and a delay hold it and
  // everything after it; a kAccept through Decide() or after the delay then
  // hands the command to the session as usual. A kReply to HELO/EHLO
  // carries no enhanced code (RFC 2034 §4). Called on the hot path: the
  // default answer costs the session no allocation. (`{}` is kAccept, built
  // without Accept()'s string argument: this runs for every command.)
  virtual Decision OnCommand(const CommandRequest&) { return {}; }

  // The extensions EHLO offers (and the session then accepts) before
  // (tls_active false) and after TLS; nullopt = the config's. Asked at
  // Start() (what is accepted before any EHLO), at each accepted EHLO and
  // after the TLS handshake. Decision::lines or raw on an accepted EHLO
  // change only what the reply says, not what the session accepts.
  virtual std::optional<ServerExtensions> Extensions(bool /*tls_active*/) { return std::nullopt; }
};

// ---- Events ----------------------------------------------------------------

struct GreetingSentEvent { int code = 220; };
struct HelloEvent { HelloRequest hello; };
struct MailFromEvent { Envelope envelope; };            // transaction started
struct RecipientAcceptedEvent { Recipient recipient; };
struct MessageCompleteEvent {
  Envelope envelope;
  std::string message;  // dot-unstuffed (DATA) or the concatenated chunks (BDAT)
  bool via_bdat = false;
  bool accepted = false;  // the final reply was 2xx
};
struct ResetEvent {};
// The session sent "220 Ready to start TLS". The caller must now run the TLS
// handshake on the socket and then call OnTlsEstablished(). Bytes Feed()s
// before that are discarded (CVE-2011-0411).
struct StartTlsRequestedEvent {};
// Plaintext the client pipelined after STARTTLS (or sent before the
// handshake finished) was discarded, never processed (CVE-2011-0411).
struct PlaintextInjectionEvent { size_t bytes = 0; };
struct AuthenticatedEvent { std::string mechanism; };
// The client sent bytes before the greeting (an "early talker", RFC 5321 §4.3.1
// lets a client send nothing before it). They are processed after the greeting.
struct EarlyTalkerEvent { size_t bytes = 0; };
// The session wants the connection closed once TakeOutput() has been sent
// (QUIT, 421, a kDisconnect/kDrop decision).
struct CloseRequestedEvent {
  enum class Reason { kQuit, kTooManyErrors, kPolicy, kBufferOverflow, kServiceUnavailable };
  Reason reason = Reason::kQuit;
  bool reset = false;  // a kReset decision: abort the TCP connection (RST)
};
// A command line was received (only with ServerSessionConfig::command_events).
struct CommandReceivedEvent { std::string line; };  // without CRLF
// A decision carried a delay: the caller waits `delay`, then calls
// ServerSession::ReleaseDelayedDecision().
struct DecisionDelayedEvent { std::chrono::milliseconds delay{0}; };
// The session stalled (a kStall decision): no reply will ever come.
struct StalledEvent {};
// Every command answered with an error, for logs and tests.
struct ProtocolErrorEvent {
  int code = 0;               // the reply code sent
  std::string command_line;   // the offending line (truncated to the command line limit)
  std::string detail;         // what was wrong
};

using ServerEvent =
    std::variant<GreetingSentEvent, HelloEvent, MailFromEvent, RecipientAcceptedEvent,
                 MessageCompleteEvent, ResetEvent, StartTlsRequestedEvent,
                 PlaintextInjectionEvent, AuthenticatedEvent, EarlyTalkerEvent,
                 CloseRequestedEvent, ProtocolErrorEvent, CommandReceivedEvent,
                 DecisionDelayedEvent, StalledEvent>;

// Where the session is, so the caller can pick a timeout (RFC 5321 §4.5.3.2:
// the server waits 5 minutes for a command, 3 for a DATA block) and know
// whether to read.
enum class ServerState {
  kNotStarted,       // Start() not yet called
  kAwaitingDecision, // a deferred (or delayed) Decision is pending; no input is processed
  kCommand,          // waiting for a command line
  kDataContent,      // receiving DATA content until <CRLF>.<CRLF>
  kBdatContent,      // receiving the bytes of a BDAT chunk
  kAwaitingTls,      // STARTTLS accepted; caller must handshake, then OnTlsEstablished()
  kStalled,          // a kStall decision: input is discarded, nothing is ever sent;
                     // wants_input() is false
  kClosed,           // nothing more will be processed
};

class ServerSession {
 public:
  // `policy` may be null (accept everything) and must outlive the session.
  explicit ServerSession(ServerSessionConfig config, ServerPolicy* policy = nullptr);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Consults OnConnect and queues the greeting. Call once.
  void Start();

  // Hands received bytes (plaintext, i.e. after TLS decryption) to the
  // session. All complete commands are processed in order. Bytes fed while
  // wants_input() is false are buffered (bounded by
  // kMaxBufferedInputWhileBlocked) or, in kAwaitingTls, discarded. Otherwise
  // the bytes are processed in place: only a trailing partial command line
  // (or what follows a command that deferred its decision) is copied, so
  // DATA and BDAT content is never buffered on its way to the message.
  void Feed(std::string_view bytes);

  // Answers the pending deferred decision (see decision_point()) and resumes
  // processing the buffered input. Deferring again is allowed, and a
  // decision with a delay is held as any other. Ignored when no decision is
  // pending or the pending one is a delayed one (decision_delayed()).
  void Decide(Decision decision);

  // The delay of the pending decision (DecisionDelayedEvent) is over: apply
  // it and resume processing the buffered input. Ignored when none is held.
  void ReleaseDelayedDecision();

  // The TLS handshake after StartTlsRequestedEvent succeeded. The session is
  // reset to the state right after the greeting (RFC 3207 §4.2: forget
  // EHLO/HELO and any transaction); the client must EHLO again.
  void OnTlsEstablished();

  // Bytes to send to the client, in order, since the last call.
  std::string TakeOutput();
  bool has_output() const;

  // The next event, oldest first; nullopt when none.
  std::optional<ServerEvent> NextEvent();

  ServerState state() const;
  // False while a decision is pending or the session is closed/awaiting TLS:
  // the caller should stop reading (backpressure) until it turns true.
  bool wants_input() const;
  // The hook whose deferred (or delayed) decision is pending, if any.
  std::optional<DecisionPoint> decision_point() const;
  // The pending decision is a delayed one (DecisionDelayedEvent): it ends
  // with ReleaseDelayedDecision(), and Decide() ignores it.
  bool decision_delayed() const;
  bool tls_active() const;
  // The transaction in progress (empty reverse path and no recipients when none).
  const Envelope& envelope() const;
  int protocol_errors() const;
  // Bytes Feed() has copied into the session's own input buffer since
  // construction (see Feed); for tests and memory accounting.
  uint64_t input_bytes_buffered() const;
  // A MAIL FROM was accepted and the transaction has not ended yet (by the
  // final reply to its data, RSET, HELO/EHLO, or STARTTLS).
  bool in_transaction() const;

  // Ends the session from the caller's side: queues `code` (421 for a
  // timeout or shutdown, RFC 5321 §3.8 and §4.5.3.2) with `enhanced` and
  // `text` (sanitized like policy text), discards pending input and a pending
  // decision, and closes (CloseRequestedEvent kPolicy). No-op once closed;
  // a stalled session closes without writing anything.
  void Abort(int code = 421, std::string_view enhanced = "4.4.2",
             std::string_view text = "Error: timeout exceeded");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxkit::smtp

#endif  // MXKIT_SMTP_SERVER_SESSION_H_
