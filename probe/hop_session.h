// HopSession: one SMTP hop as a sending MTA probes it, sans-IO. It runs
// smtp::ClientSession with no transaction (greeting, EHLO with the HELO
// fallback, STARTTLS when offered, the TLS handshake through a client
// tls::Engine, EHLO again, QUIT; no mail is sent) and records what a sender
// sees on the way: banner, keywords before and after TLS, the STARTTLS
// reply, the negotiated TLS parameters, the served chain and its
// verification under the given roots, and reply bytes injected after the
// STARTTLS 220 (the reply-side twin of CVE-2011-0411).
//
//   HopSession hop(options);                // the greeting is awaited
//   loop {
//     send(hop.TakeOutput());              // raw bytes: plaintext, then TLS records
//     if (hop.done()) break;
//     bytes = read();                       // raw bytes from the socket
//     bytes.empty() ? hop.FeedEof() : hop.Feed(bytes);
//   }
//   hop.report();
//
// The caller owns the socket and the clock; a wait that times out is
// reported with Abort(). The TLS context should verify with
// tls::ClientVerify::kRecord: the chain is checked and the result recorded,
// but the handshake goes on, as an opportunistic sender's does (RFC 7435).

#ifndef MXKIT_PROBE_HOP_SESSION_H_
#define MXKIT_PROBE_HOP_SESSION_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/certificate_info.h"
#include "smtp/client_session.h"
#include "smtp/reply.h"
#include "tls/engine.h"

namespace mxkit::probe {

struct HopOptions {
  std::string helo_domain = "localhost";  // argument of EHLO/HELO
  // The client context for STARTTLS; when null the probe never sends
  // STARTTLS and reports only whether it was offered.
  std::shared_ptr<const tls::ClientContext> tls_context;
  // SNI and the name verified against the certificate (RFC 6125): the MX
  // host name. "" for an IP literal: no SNI (RFC 6066 §3 forbids one) and
  // no name check.
  std::string tls_name;
  smtp::ReplyParserOptions reply_options;
};

// Where the hop stands; a driver times each stage apart.
enum class HopStage {
  kGreeting,      // waiting for the 220 banner
  kSmtp,          // EHLO/HELO/STARTTLS/QUIT in the clear
  kTlsHandshake,  // STARTTLS answered 220; the handshake is running
  kSmtpOverTls,   // EHLO and QUIT inside TLS
  kDone,
};

struct HopReport {
  std::optional<smtp::Reply> greeting;
  // The EHLO (or HELO, when EHLO was refused 5xx) reply before TLS and the
  // EHLO reply inside TLS. Keyword lines are lines[1..] of an EHLO reply.
  std::optional<smtp::Reply> hello_before_tls;
  std::optional<smtp::Reply> hello_after_tls;
  bool helo_fallback = false;  // EHLO refused, HELO used (no extensions, no STARTTLS)
  bool starttls_offered = false;
  std::optional<smtp::Reply> starttls_reply;  // nullopt: STARTTLS never sent
  bool tls_established = false;
  std::optional<tls::HandshakeInfo> tls;  // when established
  std::vector<CertificateInfo> chain;     // served chain, leaf first
  std::string chain_error;                // a certificate that could not be described
  std::optional<tls::EngineError> tls_error;  // handshake failure
  // Plaintext reply bytes after the STARTTLS 220, discarded unparsed.
  size_t injected_bytes = 0;
  smtp::SessionOutcome outcome = smtp::SessionOutcome::kInProgress;
  std::string detail;   // why the session ended, for humans
  bool timed_out = false;
  std::vector<smtp::ReplyEvent> transcript;  // every reply, in order

  // EHLO or HELO answered 250: a sender could have sent mail on this hop.
  bool hello_accepted() const;
  // Mail on this hop would travel unencrypted: the hop took EHLO/HELO but
  // STARTTLS was not offered, was refused, or its handshake failed, and a
  // sender under `may` (RFC 7435; Gmail, Postfix's default) falls back to
  // plaintext. What Gmail shows as a red open lock.
  bool red_lock() const;
  bool verified() const;  // established and the chain verified (X509_V_OK)
};

class HopSession {
 public:
  explicit HopSession(HopOptions options);
  ~HopSession();
  HopSession(HopSession&&) noexcept;
  HopSession& operator=(HopSession&&) noexcept;

  // Bytes read from the socket: plaintext before STARTTLS, TLS records after.
  void Feed(std::string_view bytes);
  // The server closed the connection.
  void FeedEof();
  // The caller gave up waiting (a timeout) or the socket failed; `detail`
  // says which wait. Ends the session.
  void Abort(std::string detail, bool timed_out);

  // Bytes to write to the socket, in order.
  std::string TakeOutput();
  bool has_output() const;
  bool done() const;
  HopStage stage() const;
  const HopReport& report() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxkit::probe

#endif  // MXKIT_PROBE_HOP_SESSION_H_
