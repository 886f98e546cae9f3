// The TLS engine: BoringSSL behind memory BIOs, sans-IO. The caller owns the
// socket: it feeds the ciphertext it read, sends the ciphertext the engine
// produces, and exchanges plaintext with the engine once the handshake is
// done. Nothing here blocks, reads a clock or touches a file descriptor, so
// the same engine runs under Asio (tls/asio_stream.h), in a fuzzer, and in a
// test that wires a client engine to a server engine in memory.
//
//   auto ctx = ServerContext::Create(options);          // once, shared
//   auto engine = Engine::NewServer(*ctx);               // per connection
//   engine->FeedCiphertext(bytes_read);
//   send(engine->TakeCiphertext());                      // handshake replies
//   if (engine->state() == EngineState::kEstablished)
//     session.Feed(engine->TakePlaintext());
//
// Errors are values: a failed handshake leaves the engine in kFailed with an
// EngineError carrying BoringSSL's reason, the alert, and on the client side
// the X.509 verification result (X509_V_ERR_*, the numbers openssl
// s_client prints: 10 expired, 18 self-signed, 20 unknown issuer, 62
// hostname mismatch).

#ifndef MXKIT_TLS_ENGINE_H_
#define MXKIT_TLS_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tls/version.h"

namespace mxkit::tls {

// Ciphertext the engine buffers between FeedCiphertext and BoringSSL
// consuming it is at most what one Feed hands in; the caller bounds that by
// its read size. Plaintext produced is never larger than the ciphertext fed.
// The outgoing ciphertext buffer grows by what WritePlaintext is given plus
// record overhead, and by the handshake's own flights and alerts; it shrinks
// only through TakeCiphertext, so a caller that stops sending must stop
// writing.

enum class EngineState {
  kHandshaking,  // no plaintext in or out yet
  kEstablished,  // plaintext both ways
  kClosed,       // the peer sent close_notify (or Close() was called); no more plaintext in
  kFailed,       // see error(); sticky
};

struct EngineError {
  enum class Kind {
    kProtocol,     // the peer's bytes are not TLS or break it (BoringSSL's reason says how)
    kPeerAlert,    // the peer sent a fatal alert (alert holds its number)
    kCertificate,  // client: the server's certificate failed verification (verify_result)
    kTruncated,    // EOF (FeedEof) before the handshake finished or without close_notify
    kUsage,        // the caller broke the contract (e.g. WritePlaintext while handshaking)
  };
  Kind kind = Kind::kProtocol;
  // BoringSSL's reason, "WRONG_VERSION_NUMBER", "NO_SHARED_CIPHER",
  // "CERTIFICATE_VERIFY_FAILED", "TLSV1_ALERT_PROTOCOL_VERSION", ...
  std::string reason;
  // The TLS alert (RFC 8446 §6) we sent or received; -1 for none.
  int alert = -1;
  // kCertificate: X509_V_ERR_* (BoringSSL keeps OpenSSL's numbers).
  long verify_result = 0;
  // The engine that failed is a server, so the peer is the client: only
  // for naming the peer in ToString.
  bool peer_is_client = false;
  // "handshake failed: CERTIFICATE_VERIFY_FAILED (certificate has expired,
  // X.509 error 10)"; a peer's alert about our certificate (RFC 8446 §6.2:
  // bad_certificate .. certificate_unknown, unknown_ca) reads "client
  // refused the certificate: alert certificate_expired (45)" (or "server"
  // on a client engine).
  std::string ToString() const;
};

// The RFC 8446 §6 name of an alert ("certificate_expired"), or "alert_N".
std::string AlertName(int alert);
// The alert is one a peer sends to refuse the certificate it was shown.
bool IsCertificateAlert(int alert);

// What the handshake agreed on. Valid once the engine reached kEstablished.
struct HandshakeInfo {
  TlsVersion version = TlsVersion::kTls13;
  std::string cipher;  // IANA name, "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
  std::string group;   // key exchange group, "X25519", "P-256"; "" when none (TLS 1.0-1.2 RSA kx)
  std::string sni;     // server: the name the client asked for ("" = none); client: what it sent
  // Client: the result of verifying the server's chain (X509_V_OK = 0), also
  // when ClientVerify::kRecord let the handshake go on despite it. Under
  // ClientVerify::kNone nothing is verified and this stays 0.
  long verify_result = 0;
  // Client: the server's leaf certificate, DER. Server: empty.
  std::string peer_certificate_der;
  // Client: every certificate the server sent, in the order it sent them
  // (leaf first, RFC 8446 §4.4.2), DER; what a probe reports as the served
  // chain, which is not the chain verification built. Server: empty.
  std::vector<std::string> peer_chain_der;
};

struct ServerContextOptions {
  VersionRange versions;
  // TLS 1.0-1.2 cipher suites, in BoringSSL's cipher list syntax
  // ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA"); "" keeps
  // BoringSSL's default. TLS 1.3 suites are not configurable in BoringSSL.
  std::string cipher_list;
  // Key exchange groups, "X25519:P-256"; "" keeps the default.
  std::string groups;
  // The chain the server sends, leaf first (PEM), and the leaf's private key
  // (PEM, PKCS#8 or traditional).
  std::string certificate_chain_pem;
  std::string private_key_pem;
  // A shared host's further names (a web server's virtual hosts; fakemx's
  // MTA-STS policy hosts, RFC 8461 §3.3, several behind one address): each
  // entry's chain is presented when the client's server_name (RFC 6066 §3)
  // equals its name, ASCII case-insensitively (RFC 4343). A ClientHello
  // without server_name, or naming none of them, gets the chain above.
  struct NamedCertificate {
    std::string server_name;  // a host name, no trailing dot; unique among the entries
    std::string certificate_chain_pem;
    std::string private_key_pem;
  };
  std::vector<NamedCertificate> sni_certificates;
};

// Immutable after Create; share one among all connections of a listener.
class ServerContext {
 public:
  // Errors name the option that BoringSSL refused ("cipher_list: no cipher
  // matched 'FOO'", "private_key_pem: does not match the certificate").
  static absl::StatusOr<std::shared_ptr<const ServerContext>> Create(
      const ServerContextOptions& options);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit ServerContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class ClientVerify {
  kNone,     // do not verify (opportunistic SMTP, RFC 7435)
  kRecord,   // verify, record the result in HandshakeInfo, but complete the handshake
  kRequire,  // verify; a failure fails the handshake (kCertificate)
};

struct ClientContextOptions {
  VersionRange versions;
  std::string cipher_list;  // as in ServerContextOptions
  ClientVerify verify = ClientVerify::kRequire;
  // Roots to trust, PEM (concatenated). Empty trusts nothing: every chain
  // then fails with X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY (20).
  std::string trusted_roots_pem;
};

class ClientContext {
 public:
  static absl::StatusOr<std::shared_ptr<const ClientContext>> Create(
      const ClientContextOptions& options);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit ClientContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ClientConnectionOptions {
  std::string sni;              // sent as server_name (RFC 6066 §3); "" sends none
  std::string verify_hostname;  // checked against the leaf (RFC 6125); "" checks no name
};

class Engine {
 public:
  static absl::StatusOr<Engine> NewServer(std::shared_ptr<const ServerContext> context);
  // The ClientHello is ready in TakeCiphertext() right after this returns.
  static absl::StatusOr<Engine> NewClient(std::shared_ptr<const ClientContext> context,
                                          const ClientConnectionOptions& options);
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  // Ciphertext received from the peer. Processes all of it at once: advances
  // the handshake (its replies appear in TakeCiphertext), decrypts records
  // into the plaintext buffer, handles alerts and close_notify. Bytes fed
  // after kFailed or kClosed are ignored.
  void FeedCiphertext(std::string_view bytes);
  // The transport reached EOF. While handshaking this fails the engine
  // (kTruncated); once established the engine closes, recording a
  // truncation unless the peer's close_notify came first: state() is then
  // kClosed and error() holds kind kTruncated (RFC 8446 §6.1).
  void FeedEof();

  // Encrypts `bytes` into the ciphertext buffer. Only in kEstablished;
  // otherwise FailedPrecondition and nothing is written.
  absl::Status WritePlaintext(std::string_view bytes);
  // Queues close_notify (once); the engine then takes no more plaintext.
  // Before the handshake completed there is no session to close: nothing is
  // queued and the engine just closes.
  void Close();

  bool has_ciphertext() const;
  std::string TakeCiphertext();  // to send to the peer, in order
  bool has_plaintext() const;
  std::string TakePlaintext();   // received from the peer; always empty before kEstablished

  EngineState state() const;
  const std::optional<EngineError>& error() const;
  const HandshakeInfo& info() const;
  // True when the peer closed with close_notify (as opposed to a bare EOF).
  bool peer_sent_close_notify() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_ENGINE_H_
