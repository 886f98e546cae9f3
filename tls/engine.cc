#include "tls/engine.h"

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "tls/boringssl_error.h"

namespace mxkit::tls {
namespace {

using base::Av;




// BoringSSL's largest record plaintext (RFC 8446 §5.1: 2^14); one SSL_read
// never returns more, so this is the step in which plaintext is drained.
constexpr size_t kMaxRecordPlaintext = 16384;

// RFC 8446 §6 (and RFC 5246 §7.2) alert names, as the RFCs spell them: the
// names a TLS implementer greps for, unlike SSL_alert_desc_string_long's.
std::string_view AlertNameOrEmpty(int alert) {
  switch (alert) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 100: return "no_renegotiation";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return "";
  }
}

std::string QueuedOr(std::string_view fallback) {
  std::string reason = TakeQueuedReason();
  return reason.empty() ? std::string(fallback) : reason;
}

bssl::UniquePtr<BIO> MemBio(std::string_view pem) {
  if (pem.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return bssl::UniquePtr<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM text, in order; "" or no certificate is an
// error naming `option`.
absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> ReadCertificates(std::string_view pem,
                                                                   std::string_view option) {
  ErrorQueueScope errors;
  std::vector<bssl::UniquePtr<X509>> certs;
  bssl::UniquePtr<BIO> bio = MemBio(pem);
  if (!bio) return absl::InvalidArgumentError(absl::StrCat(Av(option), ": too large"));
  while (true) {
    bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  // Reading stops with PEM_R_NO_START_LINE at the end of the text; anything
  // else means a certificate block that did not parse.
  const uint32_t last = ERR_peek_last_error();
  if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM &&
                     ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    return absl::InvalidArgumentError(absl::StrCat(
        Av(option), ": certificate ", certs.size() + 1, " does not parse (", ReasonOf(last), ")"));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(option), ": no PEM \"CERTIFICATE\" block found"));
  }
  return certs;
}

absl::Status ApplyVersions(SSL_CTX* ctx, const VersionRange& versions) {
  if (static_cast<uint16_t>(versions.min) > static_cast<uint16_t>(versions.max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "versions: minimum ", Av(VersionName(versions.min)), " is above maximum ",
        Av(VersionName(versions.max))));
  }
  if (!SSL_CTX_set_min_proto_version(ctx, static_cast<uint16_t>(versions.min)) ||
      !SSL_CTX_set_max_proto_version(ctx, static_cast<uint16_t>(versions.max))) {
    return absl::InvalidArgumentError(
        absl::StrCat("versions: refused by BoringSSL (", QueuedOr("no reason given"), ")"));
  }
  return absl::OkStatus();
}

// An option handed to BoringSSL as a C string: what the user wrote, quoted
// and bounded for the error message (base::QuoteForMessage). A NUL inside
// would silently cut the string BoringSSL sees, so it is refused here.
constexpr size_t kMaxQuotedOption = 256;

std::string QuoteOption(std::string_view value) {
  return base::QuoteForMessage(value, kMaxQuotedOption);
}

absl::Status RefuseNul(std::string_view option, std::string_view value) {
  if (value.find('\0') == std::string_view::npos) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(Av(option), ": ", QuoteOption(value),
                                                 " contains a NUL octet"));
}

absl::Status ApplyCipherList(SSL_CTX* ctx, const std::string& cipher_list) {
  if (cipher_list.empty()) return absl::OkStatus();
  if (absl::Status s = RefuseNul("cipher_list", cipher_list); !s.ok()) return s;
  // The strict variant: a typo in one name is an error, not silently dropped.
  if (!SSL_CTX_set_strict_cipher_list(ctx, cipher_list.c_str())) {
    return absl::InvalidArgumentError(absl::StrCat("cipher_list: ", QuoteOption(cipher_list),
                                                   " refused (", QueuedOr("no reason given"),
                                                   ")"));
  }
  return absl::OkStatus();
}

absl::Status ApplyGroups(SSL_CTX* ctx, const std::string& groups) {
  if (groups.empty()) return absl::OkStatus();
  if (absl::Status s = RefuseNul("groups", groups); !s.ok()) return s;
  if (!SSL_CTX_set1_curves_list(ctx, groups.c_str())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "groups: ", QuoteOption(groups), " refused (", QueuedOr("unknown group name"),
        "); BoringSSL knows X25519, P-256, P-384, P-521"));
  }
  return absl::OkStatus();
}

bssl::UniquePtr<SSL_CTX> NewContext() {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  return ctx;
}

// Loads a chain (leaf first) and the leaf's key into `ctx`. Errors name the
// option, after `where` (which entry of sni_certificates, or nothing).
absl::Status UseChainAndKey(SSL_CTX* ctx, std::string_view chain_pem, std::string_view key_pem,
                            std::string_view where) {
  auto chain = ReadCertificates(chain_pem, absl::StrCat(Av(where), "certificate_chain_pem"));
  if (!chain.ok()) return chain.status();
  if (!SSL_CTX_use_certificate(ctx, (*chain)[0].get())) {
    return absl::InvalidArgumentError(absl::StrCat(
        Av(where), "certificate_chain_pem: leaf refused (", QueuedOr("no reason given"), ")"));
  }
  for (size_t i = 1; i < chain->size(); ++i) {
    if (!SSL_CTX_add1_chain_cert(ctx, (*chain)[i].get())) {
      return absl::InvalidArgumentError(absl::StrCat(Av(where), "certificate_chain_pem: certificate ",
                                                     i + 1, " refused (",
                                                     QueuedOr("no reason given"), ")"));
    }
  }
  bssl::UniquePtr<BIO> key_bio = MemBio(key_pem);
  bssl::UniquePtr<EVP_PKEY> key(
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return absl::InvalidArgumentError(absl::StrCat(
        Av(where), "private_key_pem: no private key read (", QueuedOr("empty"), ")"));
  }
  if (!SSL_CTX_use_PrivateKey(ctx, key.get()) || !SSL_CTX_check_private_key(ctx)) {
    return absl::InvalidArgumentError(absl::StrCat(Av(where),
                                                   "private_key_pem: does not match the certificate (",
                                                   QueuedOr("no reason given"), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string AlertName(int alert) {
  const std::string_view name = AlertNameOrEmpty(alert);
  return name.empty() ? absl::StrCat("alert_", alert) : std::string(name);
}

bool IsCertificateAlert(int alert) {
  // RFC 8446 §6.2: the alerts a peer sends about the certificate it was
  // shown (bad_certificate .. certificate_unknown, unknown_ca).
  return (alert >= 42 && alert <= 46) || alert == 48;
}

std::string EngineError::ToString() const {
  if (kind == Kind::kPeerAlert && IsCertificateAlert(alert)) {
    return absl::StrCat(peer_is_client ? "client" : "server",
                        " refused the certificate: alert ", AlertName(alert), " (", alert, ")");
  }
  std::string out;
  switch (kind) {
    case Kind::kProtocol: out = "TLS protocol error: "; break;
    case Kind::kPeerAlert: out = "peer sent alert: "; break;
    case Kind::kCertificate: out = "handshake failed: "; break;
    case Kind::kTruncated: out = "connection truncated: "; break;
    case Kind::kUsage: out = "engine misuse: "; break;
  }
  absl::StrAppend(&out, reason.empty() ? "no reason given" : reason);
  if (kind == Kind::kCertificate) {
    absl::StrAppend(&out, " (", X509_verify_cert_error_string(verify_result), ", X.509 error ",
                    verify_result, ")");
  }
  if (alert >= 0) {
    absl::StrAppend(&out, " [alert ", alert, " ", SSL_alert_desc_string_long(alert), "]");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Contexts

struct ServerContext::Impl {
  bssl::UniquePtr<SSL_CTX> ctx;
  // ServerContextOptions::sni_certificates: lower-cased name, its context.
  std::vector<std::pair<std::string, bssl::UniquePtr<SSL_CTX>>> by_server_name;

  // Switches the connection to the named certificate; an unknown name keeps
  // the default one and the handshake goes on, as a web server's default
  // virtual host answers (RFC 6066 §3 leaves the choice to the server).
  static int SelectByServerName(SSL* ssl, int* /*out_alert*/, void* arg) {
    const auto* self = static_cast<const Impl*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) return SSL_TLSEXT_ERR_OK;
    for (const auto& [server_name, named_ctx] : self->by_server_name) {
      if (base::EqualsIgnoreCase(server_name, name)) {
        SSL_set_SSL_CTX(ssl, named_ctx.get());
        break;
      }
    }
    return SSL_TLSEXT_ERR_OK;
  }
};

ServerContext::ServerContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerContext::~ServerContext() = default;

absl::StatusOr<std::shared_ptr<const ServerContext>> ServerContext::Create(
    const ServerContextOptions& options) {
  ErrorQueueScope errors;
  auto impl = std::make_unique<Impl>();
  impl->ctx = NewContext();
  if (!impl->ctx) return absl::ResourceExhaustedError("SSL_CTX_new failed");
  SSL_CTX* ctx = impl->ctx.get();
  if (absl::Status s = ApplyVersions(ctx, options.versions); !s.ok()) return s;
  if (absl::Status s = ApplyCipherList(ctx, options.cipher_list); !s.ok()) return s;
  if (absl::Status s = ApplyGroups(ctx, options.groups); !s.ok()) return s;

  if (absl::Status s = UseChainAndKey(ctx, options.certificate_chain_pem,
                                      options.private_key_pem, "");
      !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < options.sni_certificates.size(); ++i) {
    const ServerContextOptions::NamedCertificate& named = options.sni_certificates[i];
    const std::string where = absl::StrCat("sni_certificates[", i, "] ",
                                           QuoteOption(named.server_name), ": ");
    if (named.server_name.empty() || named.server_name.back() == '.' ||
        !base::IsPrintableAscii(named.server_name) ||
        named.server_name.find(' ') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "server_name must be a host name (printable ASCII, no space, no trailing dot)"));
    }
    std::string key = base::AsciiLower(named.server_name);
    for (const auto& [name, unused] : impl->by_server_name) {
      if (name == key) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "server_name given twice (names are case-insensitive)"));
      }
    }
    // A context of its own per name: SSL_set_SSL_CTX in the servername
    // callback takes only its certificate settings (BoringSSL ssl.h), the
    // versions, ciphers and session cache stay the listener's.
    bssl::UniquePtr<SSL_CTX> named_ctx = NewContext();
    if (!named_ctx) return absl::ResourceExhaustedError("SSL_CTX_new failed");
    if (absl::Status s = UseChainAndKey(named_ctx.get(), named.certificate_chain_pem,
                                        named.private_key_pem, where);
        !s.ok()) {
      return s;
    }
    impl->by_server_name.emplace_back(std::move(key), std::move(named_ctx));
  }
  if (!impl->by_server_name.empty()) {
    SSL_CTX_set_tlsext_servername_callback(ctx, &ServerContext::Impl::SelectByServerName);
    SSL_CTX_set_tlsext_servername_arg(ctx, impl.get());
  }
  return std::shared_ptr<const ServerContext>(new ServerContext(std::move(impl)));
}

struct ClientContext::Impl {
  bssl::UniquePtr<SSL_CTX> ctx;
  ClientVerify verify = ClientVerify::kRequire;
};

ClientContext::ClientContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientContext::~ClientContext() = default;

absl::StatusOr<std::shared_ptr<const ClientContext>> ClientContext::Create(
    const ClientContextOptions& options) {
  ErrorQueueScope errors;
  auto impl = std::make_unique<Impl>();
  impl->ctx = NewContext();
  impl->verify = options.verify;
  if (!impl->ctx) return absl::ResourceExhaustedError("SSL_CTX_new failed");
  SSL_CTX* ctx = impl->ctx.get();
  if (absl::Status s = ApplyVersions(ctx, options.versions); !s.ok()) return s;
  if (absl::Status s = ApplyCipherList(ctx, options.cipher_list); !s.ok()) return s;
  if (!options.trusted_roots_pem.empty()) {
    auto roots = ReadCertificates(options.trusted_roots_pem, "trusted_roots_pem");
    if (!roots.ok()) return roots.status();
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (const auto& root : *roots) {
      if (!X509_STORE_add_cert(store, root.get())) {
        return absl::InvalidArgumentError(absl::StrCat("trusted_roots_pem: refused (",
                                                       QueuedOr("no reason given"), ")"));
      }
    }
  }
  return std::shared_ptr<const ClientContext>(new ClientContext(std::move(impl)));
}

// ---------------------------------------------------------------------------
// Engine

struct Engine::Impl {
  bool is_client = false;
  // Keeps the SSL_CTX alive as long as the SSL that points into it.
  std::shared_ptr<const void> context;
  ClientVerify verify = ClientVerify::kNone;
  bssl::UniquePtr<SSL> ssl;
  // Not owned: SSL_set_bio hands both to `ssl`. `network_in` holds
  // ciphertext fed and not yet consumed (at most one FeedCiphertext's worth
  // beyond a partial record); `network_out` holds ciphertext BoringSSL wrote
  // and TakeCiphertext has not taken (what was fed or written, plus record
  // overhead).
  BIO* network_in = nullptr;
  BIO* network_out = nullptr;

  EngineState state = EngineState::kHandshaking;
  std::optional<EngineError> error;
  HandshakeInfo info;
  std::string plaintext;
  bool peer_close_notify = false;
  bool close_sent = false;
  // From the info callback: the last alert we sent, RFC 8446 §6 number. (A
  // received fatal alert is in the error's reason, SSL_AD_REASON_OFFSET + n.)
  int alert_sent = -1;

  // The record framing of the ciphertext fed while handshaking (record
  // headers are never encrypted, RFC 8446 §5.1), to find a peer's alert
  // that BoringSSL cannot read. OpenSSL's TLS 1.3 client refuses a
  // certificate before it has switched its writes to the handshake keys
  // (it does so only after the server's Finished, RFC 8446 §7.3), so its
  // alert goes out as a plaintext record; BoringSSL's server already reads
  // under the client's handshake keys and fails to decrypt it
  // (BAD_PACKET_LENGTH, answering bad_record_mac), which would hide why
  // the client left.
  struct RecordScanner {
    uint64_t fed = 0;        // bytes scanned so far
    uint8_t header[5] = {};  // type, version (2), length (2)
    size_t header_len = 0;
    uint64_t body_left = 0;  // of the current record
    bool in_alert = false;   // the current record is type alert(21), length 2
    uint8_t alert_body[2] = {};
    size_t alert_len = 0;
    // The last complete two-byte alert record: where it ends, its description.
    uint64_t alert_end = 0;
    int alert = -1;

    void Scan(std::string_view bytes) {
      while (!bytes.empty()) {
        if (body_left == 0 && header_len < sizeof header) {
          header[header_len++] = static_cast<uint8_t>(bytes.front());
          bytes.remove_prefix(1);
          ++fed;
          if (header_len == sizeof header) {
            header_len = 0;
            body_left = static_cast<uint64_t>(header[3]) << 8 | header[4];
            in_alert = header[0] == SSL3_RT_ALERT && body_left == 2;
            alert_len = 0;
          }
          continue;
        }
        const size_t n = bytes.size() < body_left ? bytes.size() : static_cast<size_t>(body_left);
        for (size_t i = 0; in_alert && i < n && alert_len < 2; ++i) {
          alert_body[alert_len++] = static_cast<uint8_t>(bytes[i]);
        }
        bytes.remove_prefix(n);
        body_left -= n;
        fed += n;
        if (body_left == 0 && in_alert) {
          alert_end = fed;
          alert = alert_body[1];
          in_alert = false;
        }
      }
    }
  };
  RecordScanner scanner;

  // The peer's plaintext alert is the record BoringSSL failed on: it ends
  // exactly where BoringSSL stopped reading (it reads a record's header,
  // then exactly its body, never ahead).
  int UnreadablePeerAlert() const {
    if (state != EngineState::kHandshaking || scanner.alert < 0) return -1;
    const uint64_t consumed = scanner.fed - BIO_pending(network_in);
    return consumed == scanner.alert_end ? scanner.alert : -1;
  }

  void Fail(EngineError::Kind kind, std::string reason, int alert) {
    EngineError e;
    e.kind = kind;
    e.peer_is_client = !is_client;
    e.reason = std::move(reason);
    e.alert = alert;
    if (kind == EngineError::Kind::kCertificate) e.verify_result = SSL_get_verify_result(ssl.get());
    error = std::move(e);
    state = EngineState::kFailed;
  }

  // After an SSL call returned `ret` <= 0: either "wants more input" (true)
  // or the engine has failed (false).
  bool HandleResult(int ret) {
    const int code = SSL_get_error(ssl.get(), ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return true;
    }
    if (code == SSL_ERROR_ZERO_RETURN) {
      ERR_clear_error();
      peer_close_notify = true;
      if (state == EngineState::kHandshaking) {
        Fail(EngineError::Kind::kTruncated, "CLOSE_NOTIFY_DURING_HANDSHAKE", 0);
        return false;
      }
      state = EngineState::kClosed;
      return false;
    }
    const uint32_t packed = ERR_peek_error();
    std::string reason = TakeQueuedReason();
    const int lib = ERR_GET_LIB(packed), code_reason = ERR_GET_REASON(packed);
    if (packed != 0 && lib == ERR_LIB_SSL && code_reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      Fail(EngineError::Kind::kCertificate, std::move(reason), alert_sent);
    } else if (packed != 0 && lib == ERR_LIB_SSL && code_reason > SSL_AD_REASON_OFFSET &&
               code_reason < SSL_AD_REASON_OFFSET + 256) {
      // A fatal alert from the peer is reported as SSL_AD_REASON_OFFSET + its
      // number (close_notify, 0, is SSL_ERROR_ZERO_RETURN above).
      Fail(EngineError::Kind::kPeerAlert, std::move(reason), code_reason - SSL_AD_REASON_OFFSET);
    } else if (code == SSL_ERROR_SYSCALL) {
      // A memory BIO fails only at the EOF FeedEof put there.
      Fail(EngineError::Kind::kTruncated,
           reason.empty() ? std::string("UNEXPECTED_EOF") : std::move(reason), alert_sent);
    } else if (const int peer_alert = UnreadablePeerAlert(); peer_alert >= 0) {
      Fail(EngineError::Kind::kPeerAlert,
           ReasonOf(ERR_PACK(ERR_LIB_SSL, SSL_AD_REASON_OFFSET + peer_alert)), peer_alert);
    } else {
      Fail(EngineError::Kind::kProtocol,
           reason.empty() ? absl::StrCat("SSL_get_error ", code) : std::move(reason), alert_sent);
    }
    return false;
  }

  void FillInfo() {
    SSL* s = ssl.get();
    TlsVersion version;
    if (VersionFromWire(static_cast<uint16_t>(SSL_version(s)), &version)) info.version = version;
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(s)) {
      info.cipher = SSL_CIPHER_standard_name(cipher);
    }
    const uint16_t group = SSL_get_curve_id(s);
    if (group != 0) {
      const char* name = SSL_get_curve_name(group);
      info.group = name != nullptr ? name : absl::StrCat("group ", group);
    }
    if (!is_client) {
      const char* sni = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
      info.sni = sni != nullptr ? sni : "";
      return;
    }
    info.verify_result = verify == ClientVerify::kNone ? X509_V_OK : SSL_get_verify_result(s);
    const STACK_OF(CRYPTO_BUFFER)* chain = SSL_get0_peer_certificates(s);
    if (chain != nullptr && sk_CRYPTO_BUFFER_num(chain) > 0) {
      const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(chain, 0);
      info.peer_certificate_der.assign(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(leaf)),
                                       CRYPTO_BUFFER_len(leaf));
      info.peer_chain_der.clear();
      for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(chain); ++i) {
        const CRYPTO_BUFFER* cert = sk_CRYPTO_BUFFER_value(chain, i);
        info.peer_chain_der.emplace_back(reinterpret_cast<const char*>(CRYPTO_BUFFER_data(cert)),
                                         CRYPTO_BUFFER_len(cert));
      }
    }
  }

  // Runs BoringSSL over whatever ciphertext is buffered until it needs more.
  void Advance() {
    if (state == EngineState::kHandshaking) {
      const int ret = SSL_do_handshake(ssl.get());
      if (ret != 1) {
        HandleResult(ret);
        return;
      }
      state = EngineState::kEstablished;
      FillInfo();
    }
    // Application data (and TLS 1.3 post-handshake messages) may follow the
    // handshake in the same flight.
    char buffer[kMaxRecordPlaintext];
    while (state == EngineState::kEstablished) {
      const int ret = SSL_read(ssl.get(), buffer, sizeof buffer);
      if (ret > 0) {
        plaintext.append(buffer, static_cast<size_t>(ret));
        continue;
      }
      if (HandleResult(ret)) return;
    }
  }

  static void InfoCallback(const SSL* s, int where, int value) {
    auto* self = static_cast<Impl*>(SSL_get_app_data(s));
    if (self == nullptr) return;
    // value = level << 8 | description (RFC 8446 §6).
    if (where == SSL_CB_WRITE_ALERT) self->alert_sent = value & 0xff;
  }
};

namespace {

// BIO_s_mem reports "retry" instead of EOF while empty, which is what makes
// an SSL over it non-blocking; FeedEof turns that into a real EOF.
BIO* NewNetworkBio() {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr) BIO_set_mem_eof_return(bio, -1);
  return bio;
}

absl::StatusOr<std::unique_ptr<Engine::Impl>> NewImpl(SSL_CTX* ctx) {
  ErrorQueueScope errors;
  auto impl = std::make_unique<Engine::Impl>();
  impl->ssl.reset(SSL_new(ctx));
  if (!impl->ssl) return absl::ResourceExhaustedError("SSL_new failed");
  impl->network_in = NewNetworkBio();
  impl->network_out = NewNetworkBio();
  if (impl->network_in == nullptr || impl->network_out == nullptr) {
    BIO_free(impl->network_in);
    BIO_free(impl->network_out);
    return absl::ResourceExhaustedError("BIO_new failed");
  }
  SSL_set_bio(impl->ssl.get(), impl->network_in, impl->network_out);
  // The Impl is heap-allocated and never moves, so the callback can find it.
  SSL_set_app_data(impl->ssl.get(), impl.get());
  SSL_set_info_callback(impl->ssl.get(), &Engine::Impl::InfoCallback);
  // Renegotiation stays refused (BoringSSL's default, ssl_renegotiate_never):
  // a HelloRequest fails the connection with NO_RENEGOTIATION.
  return impl;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

absl::StatusOr<Engine> Engine::NewServer(std::shared_ptr<const ServerContext> context) {
  if (!context) return absl::InvalidArgumentError("NewServer: no ServerContext");
  auto impl = NewImpl(context->impl().ctx.get());
  if (!impl.ok()) return impl.status();
  (*impl)->context = context;
  SSL_set_accept_state((*impl)->ssl.get());
  return Engine(std::move(*impl));
}

absl::StatusOr<Engine> Engine::NewClient(std::shared_ptr<const ClientContext> context,
                                         const ClientConnectionOptions& options) {
  if (!context) return absl::InvalidArgumentError("NewClient: no ClientContext");
  auto made = NewImpl(context->impl().ctx.get());
  if (!made.ok()) return made.status();
  std::unique_ptr<Impl> impl = std::move(*made);
  ErrorQueueScope errors;
  impl->context = context;
  impl->is_client = true;
  impl->verify = context->impl().verify;
  SSL* ssl = impl->ssl.get();
  SSL_set_connect_state(ssl);
  if (!options.sni.empty()) {
    if (absl::Status s = RefuseNul("sni", options.sni); !s.ok()) return s;
    if (!SSL_set_tlsext_host_name(ssl, options.sni.c_str())) {
      return absl::InvalidArgumentError(absl::StrCat("sni: ", QuoteOption(options.sni),
                                                     " refused (", QueuedOr("no reason given"),
                                                     ")"));
    }
    impl->info.sni = options.sni;
  }
  if (!options.verify_hostname.empty() &&
      !X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl), options.verify_hostname.data(),
                                   options.verify_hostname.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "verify_hostname: ", QuoteOption(options.verify_hostname), " refused (",
        QueuedOr("no reason given"), ")"));
  }
  switch (impl->verify) {
    case ClientVerify::kNone:
      // Opportunistic (RFC 7435): the chain is not even built.
      SSL_set_custom_verify(ssl, SSL_VERIFY_PEER,
                            [](SSL*, uint8_t*) { return ssl_verify_ok; });
      break;
    case ClientVerify::kRecord:
      // BoringSSL still verifies under SSL_VERIFY_NONE and keeps the result
      // for SSL_get_verify_result, the very number kRequire would fail with.
      SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientVerify::kRequire:
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
      break;
  }
  impl->Advance();  // writes the ClientHello
  return Engine(std::move(impl));
}

void Engine::FeedCiphertext(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.state == EngineState::kFailed || s.state == EngineState::kClosed) return;
  ErrorQueueScope errors;
  if (!bytes.empty()) {
    // BIO_write takes an int; feed in pieces so any size is accepted.
    while (!bytes.empty()) {
      const size_t n = bytes.size() < static_cast<size_t>(INT_MAX) ? bytes.size() : INT_MAX;
      if (BIO_write(s.network_in, bytes.data(), static_cast<int>(n)) != static_cast<int>(n)) {
        s.Fail(EngineError::Kind::kUsage, "out of memory buffering ciphertext", -1);
        return;
      }
      if (s.state == EngineState::kHandshaking) s.scanner.Scan(bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
  }
  s.Advance();
}

void Engine::FeedEof() {
  Impl& s = *impl_;
  if (s.state == EngineState::kFailed || s.state == EngineState::kClosed) return;
  ErrorQueueScope errors;
  BIO_set_mem_eof_return(s.network_in, 0);
  if (s.state == EngineState::kHandshaking) {
    // Every byte fed before was processed then, so whatever fails now
    // failed for want of the rest of the handshake.
    s.Advance();
    if (s.state != EngineState::kFailed) {
      s.Fail(EngineError::Kind::kTruncated, "UNEXPECTED_EOF", -1);
    } else {
      s.error->kind = EngineError::Kind::kTruncated;
    }
    return;
  }
  // Established: whatever is still buffered has been read by Advance
  // already, so this EOF came without close_notify (RFC 8446 §6.1: a
  // truncation attack is indistinguishable from this).
  EngineError e;
  e.kind = EngineError::Kind::kTruncated;
  e.reason = "EOF_WITHOUT_CLOSE_NOTIFY";
  s.error = std::move(e);
  s.state = EngineState::kClosed;
}

absl::Status Engine::WritePlaintext(std::string_view bytes) {
  Impl& s = *impl_;
  if (s.state != EngineState::kEstablished) {
    return absl::FailedPreconditionError(
        s.state == EngineState::kHandshaking
            ? "WritePlaintext before the TLS handshake completed"
            : "WritePlaintext after the TLS connection closed or failed");
  }
  ErrorQueueScope errors;
  while (!bytes.empty()) {
    const size_t n = bytes.size() < static_cast<size_t>(INT_MAX) ? bytes.size() : INT_MAX;
    const int ret = SSL_write(s.ssl.get(), bytes.data(), static_cast<int>(n));
    if (ret <= 0) {
      s.HandleResult(ret);
      return absl::InternalError(
          absl::StrCat("SSL_write failed: ", s.error ? s.error->ToString() : "no reason"));
    }
    bytes.remove_prefix(static_cast<size_t>(ret));
  }
  return absl::OkStatus();
}

void Engine::Close() {
  Impl& s = *impl_;
  if (s.close_sent || s.state == EngineState::kFailed) return;
  s.close_sent = true;
  ErrorQueueScope errors;
  // Before the handshake finished there is no session to close: BoringSSL
  // refuses SSL_shutdown then, and the transport close says it all.
  if (s.state != EngineState::kHandshaking) SSL_shutdown(s.ssl.get());
  s.state = EngineState::kClosed;
}

bool Engine::has_ciphertext() const { return BIO_pending(impl_->network_out) > 0; }

std::string Engine::TakeCiphertext() {
  std::string out;
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (BIO_mem_contents(impl_->network_out, &data, &len) && len > 0) {
    out.assign(reinterpret_cast<const char*>(data), len);
    BIO_reset(impl_->network_out);
  }
  return out;
}

bool Engine::has_plaintext() const { return !impl_->plaintext.empty(); }

std::string Engine::TakePlaintext() { return std::exchange(impl_->plaintext, std::string()); }

EngineState Engine::state() const { return impl_->state; }
const std::optional<EngineError>& Engine::error() const { return impl_->error; }
const HandshakeInfo& Engine::info() const { return impl_->info; }
bool Engine::peer_sent_close_notify() const { return impl_->peer_close_notify; }

}  // namespace mxkit::tls
