// A client Engine wired to a server Engine in memory: every byte one writes
// is fed to the other, so each handshake, failure and alert here is real
// BoringSSL on both sides with no socket in between.

#include "tls/engine.h"

#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tls/testdata/certs.h"

namespace mxkit::tls {
namespace {

namespace td = testdata;

struct Leaf {
  const char* chain_pem;
  const char* key_pem;
};
constexpr Leaf kEcdsa{td::k_ecdsa_pem, td::k_ecdsa_key};
constexpr Leaf kRsa{td::k_rsa_pem, td::k_rsa_key};
constexpr Leaf kExpired{td::k_expired_pem, td::k_expired_key};
constexpr Leaf kSelfSigned{td::k_self_signed_pem, td::k_self_signed_key};
constexpr Leaf kUnknownCa{td::k_unknown_ca_pem, td::k_unknown_ca_key};

ServerContextOptions ServerOptions(const Leaf& leaf, VersionRange versions = {}) {
  ServerContextOptions o;
  o.versions = versions;
  o.certificate_chain_pem = leaf.chain_pem;
  o.private_key_pem = leaf.key_pem;
  return o;
}

ClientContextOptions ClientOptions(ClientVerify verify = ClientVerify::kRequire,
                                   VersionRange versions = {}) {
  ClientContextOptions o;
  o.versions = versions;
  o.verify = verify;
  o.trusted_roots_pem = td::k_ca_pem;
  return o;
}

std::shared_ptr<const ServerContext> MakeServerContext(const ServerContextOptions& options) {
  auto ctx = ServerContext::Create(options);
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

std::shared_ptr<const ClientContext> MakeClientContext(const ClientContextOptions& options) {
  auto ctx = ClientContext::Create(options);
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

// Moves ciphertext both ways until neither side has any to send. Checks on
// every step that no plaintext appears before the handshake completes.
void Pump(Engine& client, Engine& server) {
  for (int round = 0; round < 100; ++round) {
    bool moved = false;
    if (client.has_ciphertext()) {
      server.FeedCiphertext(client.TakeCiphertext());
      moved = true;
    }
    if (server.state() == EngineState::kHandshaking) {
      EXPECT_FALSE(server.has_plaintext());
    }
    if (server.has_ciphertext()) {
      client.FeedCiphertext(server.TakeCiphertext());
      moved = true;
    }
    if (client.state() == EngineState::kHandshaking) {
      EXPECT_FALSE(client.has_plaintext());
    }
    if (!moved) return;
  }
  ADD_FAILURE() << "engines still talking after 100 rounds";
}

struct Pair {
  Engine client;
  Engine server;
};

Pair Connect(const ServerContextOptions& server_options, const ClientContextOptions& client_options,
             ClientConnectionOptions connection = {"mx.test", "mx.test"}) {
  auto server = Engine::NewServer(MakeServerContext(server_options));
  auto client = Engine::NewClient(MakeClientContext(client_options), connection);
  EXPECT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(client.ok()) << client.status();
  Pair pair{std::move(*client), std::move(*server)};
  EXPECT_TRUE(pair.client.has_ciphertext()) << "no ClientHello after NewClient";
  Pump(pair.client, pair.server);
  return pair;
}

std::string ErrorText(const Engine& e) { return e.error() ? e.error()->ToString() : "no error"; }

std::string DerOf(const char* pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem, -1));
  bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  std::string out(reinterpret_cast<char*>(der), len > 0 ? len : 0);
  OPENSSL_free(der);
  return out;
}

// Every certificate of a PEM chain, DER, in order.
std::vector<std::string> ChainDerOf(const char* pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem, -1));
  std::vector<std::string> out;
  while (bssl::UniquePtr<X509> cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    uint8_t* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    out.emplace_back(reinterpret_cast<char*>(der), len > 0 ? len : 0);
    OPENSSL_free(der);
  }
  ERR_clear_error();  // the PEM reader's end-of-data
  return out;
}

// --- Handshakes that succeed -------------------------------------------------

struct HandshakeRow {
  const char* name;
  Leaf leaf;
  VersionRange server_versions;
  VersionRange client_versions;
  TlsVersion version;
  const char* cipher;
};

TEST(Engine, CompletesHandshakesAndReportsWhatWasAgreed) {
  const HandshakeRow rows[] = {
      {"tls13-ecdsa", kEcdsa, {}, {}, TlsVersion::kTls13, "TLS_AES_128_GCM_SHA256"},
      {"tls13-rsa", kRsa, {}, {}, TlsVersion::kTls13, "TLS_AES_128_GCM_SHA256"},
      {"tls12-ecdsa", kEcdsa, {TlsVersion::kTls12, TlsVersion::kTls12}, {},
       TlsVersion::kTls12, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
      {"tls12-rsa", kRsa, {TlsVersion::kTls12, TlsVersion::kTls12}, {}, TlsVersion::kTls12,
       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
      // BoringSSL still speaks 1.0 when both ends ask for it; without
      // AES-GCM (TLS 1.2 only) the default list picks a CBC-SHA1 suite.
      {"tls10-ecdsa", kEcdsa, {TlsVersion::kTls10, TlsVersion::kTls10},
       {TlsVersion::kTls10, TlsVersion::kTls10}, TlsVersion::kTls10,
       "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
      {"tls11-rsa", kRsa, {TlsVersion::kTls11, TlsVersion::kTls11},
       {TlsVersion::kTls10, TlsVersion::kTls13}, TlsVersion::kTls11,
       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
  };
  for (const HandshakeRow& row : rows) {
    SCOPED_TRACE(row.name);
    Pair p = Connect(ServerOptions(row.leaf, row.server_versions),
                     ClientOptions(ClientVerify::kRequire, row.client_versions));
    ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
    ASSERT_EQ(p.server.state(), EngineState::kEstablished) << ErrorText(p.server);
    for (const Engine* e : {&p.client, &p.server}) {
      EXPECT_EQ(e->info().version, row.version);
      EXPECT_EQ(e->info().cipher, row.cipher);
      EXPECT_EQ(e->info().group, "X25519");
      EXPECT_EQ(e->info().sni, "mx.test");
      EXPECT_FALSE(e->error().has_value());
    }
    EXPECT_EQ(p.client.info().verify_result, X509_V_OK);
    EXPECT_EQ(p.client.info().peer_certificate_der, DerOf(row.leaf.chain_pem));
    EXPECT_EQ(p.client.info().peer_chain_der, ChainDerOf(row.leaf.chain_pem));
    EXPECT_TRUE(p.server.info().peer_certificate_der.empty());
    EXPECT_TRUE(p.server.info().peer_chain_der.empty());
  }
}

TEST(Engine, ServerCapturesSniAndClientMaySendNone) {
  Pair with = Connect(ServerOptions(kEcdsa), ClientOptions(), {"other.mx.test", "mx.test"});
  ASSERT_EQ(with.server.state(), EngineState::kEstablished) << ErrorText(with.server);
  EXPECT_EQ(with.server.info().sni, "other.mx.test");
  EXPECT_EQ(with.client.info().sni, "other.mx.test");

  Pair without = Connect(ServerOptions(kEcdsa), ClientOptions(), {"", "mx.test"});
  ASSERT_EQ(without.server.state(), EngineState::kEstablished) << ErrorText(without.server);
  EXPECT_EQ(without.server.info().sni, "");
  EXPECT_EQ(without.client.info().sni, "");
}

TEST(Engine, GroupsAndCipherListRestrictWhatIsNegotiated) {
  ServerContextOptions server = ServerOptions(kEcdsa, {TlsVersion::kTls12, TlsVersion::kTls12});
  server.groups = "P-256";
  server.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384";
  Pair p = Connect(server, ClientOptions());
  ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
  EXPECT_EQ(p.client.info().group, "P-256");
  EXPECT_EQ(p.client.info().cipher, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
}

TEST(Engine, NoSharedCipherFailsWithBoringSslReason) {
  ServerContextOptions server = ServerOptions(kEcdsa, {TlsVersion::kTls12, TlsVersion::kTls12});
  server.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384";
  ClientContextOptions client = ClientOptions();
  client.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
  Pair p = Connect(server, client);
  ASSERT_EQ(p.server.state(), EngineState::kFailed);
  EXPECT_EQ(p.server.error()->kind, EngineError::Kind::kProtocol);
  EXPECT_EQ(p.server.error()->reason, "NO_SHARED_CIPHER");
  EXPECT_EQ(p.server.error()->alert, SSL_AD_HANDSHAKE_FAILURE);
  ASSERT_EQ(p.client.state(), EngineState::kFailed);
  EXPECT_EQ(p.client.error()->kind, EngineError::Kind::kPeerAlert);
  EXPECT_EQ(p.client.error()->alert, SSL_AD_HANDSHAKE_FAILURE);
  EXPECT_EQ(p.client.error()->reason, "SSLV3_ALERT_HANDSHAKE_FAILURE");
}

// --- Versions ------------------------------------------------------------------

TEST(Engine, Tls10OnlyServerAndModernClientBothSeeProtocolVersion) {
  Pair p = Connect(ServerOptions(kEcdsa, {TlsVersion::kTls10, TlsVersion::kTls10}),
                   ClientOptions());
  ASSERT_EQ(p.client.state(), EngineState::kFailed);
  ASSERT_EQ(p.server.state(), EngineState::kFailed);
  // The ClientHello's supported_versions (RFC 8446 §4.2.1) lists 1.3 and 1.2
  // only, so the server finds no common version and says so...
  EXPECT_EQ(p.server.error()->kind, EngineError::Kind::kProtocol) << ErrorText(p.server);
  EXPECT_EQ(p.server.error()->reason, "UNSUPPORTED_PROTOCOL");
  EXPECT_EQ(p.server.error()->alert, SSL_AD_PROTOCOL_VERSION);
  // ...and the client hears it as a protocol_version alert (70).
  EXPECT_EQ(p.client.error()->kind, EngineError::Kind::kPeerAlert) << ErrorText(p.client);
  EXPECT_EQ(p.client.error()->reason, "TLSV1_ALERT_PROTOCOL_VERSION");
  EXPECT_EQ(p.client.error()->alert, SSL_AD_PROTOCOL_VERSION);
  EXPECT_FALSE(p.client.has_plaintext() || p.server.has_plaintext());
}

TEST(Engine, ModernServerAndTls10ClientBothSeeProtocolVersion) {
  Pair p = Connect(ServerOptions(kEcdsa),
                   ClientOptions(ClientVerify::kRequire, {TlsVersion::kTls10, TlsVersion::kTls10}));
  ASSERT_EQ(p.server.state(), EngineState::kFailed);
  EXPECT_EQ(p.server.error()->kind, EngineError::Kind::kProtocol) << ErrorText(p.server);
  EXPECT_EQ(p.server.error()->reason, "UNSUPPORTED_PROTOCOL");
  EXPECT_EQ(p.server.error()->alert, SSL_AD_PROTOCOL_VERSION);
  ASSERT_EQ(p.client.state(), EngineState::kFailed);
  EXPECT_EQ(p.client.error()->kind, EngineError::Kind::kPeerAlert) << ErrorText(p.client);
  EXPECT_EQ(p.client.error()->reason, "TLSV1_ALERT_PROTOCOL_VERSION");
  EXPECT_EQ(p.client.error()->alert, SSL_AD_PROTOCOL_VERSION);
}

// --- Certificate verification ----------------------------------------------------

struct VerifyRow {
  const char* name;
  Leaf leaf;
  std::string verify_hostname;
  long verify_result;
};

const VerifyRow kVerifyRows[] = {
    {"good", kEcdsa, "mx.test", X509_V_OK},
    {"good-any-name", kEcdsa, "", X509_V_OK},
    {"expired", kExpired, "mx.test", X509_V_ERR_CERT_HAS_EXPIRED},                    // 10
    {"self-signed", kSelfSigned, "mx.test", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},  // 18
    {"unknown-ca", kUnknownCa, "mx.test", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},  // 20
    {"wrong-host", kEcdsa, "other.test", X509_V_ERR_HOSTNAME_MISMATCH},               // 62
};

TEST(Engine, RequireFailsTheHandshakeWithTheX509Result) {
  for (const VerifyRow& row : kVerifyRows) {
    SCOPED_TRACE(row.name);
    Pair p = Connect(ServerOptions(row.leaf), ClientOptions(ClientVerify::kRequire),
                     {"mx.test", row.verify_hostname});
    if (row.verify_result == X509_V_OK) {
      EXPECT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
      EXPECT_EQ(p.client.info().verify_result, X509_V_OK);
      continue;
    }
    ASSERT_EQ(p.client.state(), EngineState::kFailed);
    EXPECT_EQ(p.client.error()->kind, EngineError::Kind::kCertificate) << ErrorText(p.client);
    EXPECT_EQ(p.client.error()->reason, "CERTIFICATE_VERIFY_FAILED");
    EXPECT_EQ(p.client.error()->verify_result, row.verify_result);
    EXPECT_EQ(p.client.error()->alert, SSL_alert_from_verify_result(row.verify_result));
    // The server hears the client's alert.
    ASSERT_EQ(p.server.state(), EngineState::kFailed);
    EXPECT_EQ(p.server.error()->kind, EngineError::Kind::kPeerAlert) << ErrorText(p.server);
    EXPECT_EQ(p.server.error()->alert, SSL_alert_from_verify_result(row.verify_result));
  }
}

TEST(EngineError, ToStringSaysWhatFailedAndTheX509Number) {
  Pair p = Connect(ServerOptions(kExpired), ClientOptions());
  ASSERT_TRUE(p.client.error().has_value());
  EXPECT_EQ(p.client.error()->ToString(),
            "handshake failed: CERTIFICATE_VERIFY_FAILED (certificate has expired, X.509 error "
            "10) [alert 45 certificate expired]");
}

TEST(Engine, RecordCompletesAndRecordsWhatRequireWouldFailWith) {
  for (const VerifyRow& row : kVerifyRows) {
    SCOPED_TRACE(row.name);
    Pair p = Connect(ServerOptions(row.leaf), ClientOptions(ClientVerify::kRecord),
                     {"mx.test", row.verify_hostname});
    ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
    ASSERT_EQ(p.server.state(), EngineState::kEstablished) << ErrorText(p.server);
    EXPECT_EQ(p.client.info().verify_result, row.verify_result);
    EXPECT_EQ(p.client.info().peer_certificate_der, DerOf(row.leaf.chain_pem));
  }
}

TEST(Engine, NoneCompletesWithoutVerifying) {
  Pair p = Connect(ServerOptions(kSelfSigned), ClientOptions(ClientVerify::kNone),
                   {"mx.test", "other.test"});
  ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
  EXPECT_EQ(p.client.info().verify_result, X509_V_OK);
  EXPECT_EQ(p.client.info().peer_certificate_der, DerOf(kSelfSigned.chain_pem));
}

TEST(Engine, EmptyTrustStoreFailsEveryChainWithUnknownIssuer) {
  ClientContextOptions client = ClientOptions();
  client.trusted_roots_pem.clear();
  Pair p = Connect(ServerOptions(kEcdsa), client);
  ASSERT_EQ(p.client.state(), EngineState::kFailed);
  EXPECT_EQ(p.client.error()->verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_NE(p.client.error()->ToString().find("X.509 error 20"), std::string::npos)
      << ErrorText(p.client);
}

// --- Bad input -------------------------------------------------------------------

TEST(Engine, PlaintextSmtpAsCiphertextIsAProtocolError) {
  auto server = Engine::NewServer(MakeServerContext(ServerOptions(kEcdsa)));
  ASSERT_TRUE(server.ok());
  server->FeedCiphertext("EHLO x\r\n");
  ASSERT_EQ(server->state(), EngineState::kFailed);
  EXPECT_EQ(server->error()->kind, EngineError::Kind::kProtocol);
  EXPECT_EQ(server->error()->reason, "WRONG_VERSION_NUMBER");
  EXPECT_FALSE(server->has_plaintext());
  // Sticky: more input changes nothing.
  server->FeedCiphertext("\x16\x03\x01");
  EXPECT_EQ(server->state(), EngineState::kFailed);
  EXPECT_EQ(server->error()->reason, "WRONG_VERSION_NUMBER");

  auto client = Engine::NewClient(MakeClientContext(ClientOptions()), {"mx.test", "mx.test"});
  ASSERT_TRUE(client.ok());
  client->TakeCiphertext();
  client->FeedCiphertext("220 mx.test ESMTP\r\n");
  ASSERT_EQ(client->state(), EngineState::kFailed);
  EXPECT_EQ(client->error()->kind, EngineError::Kind::kProtocol);
  EXPECT_EQ(client->error()->reason, "WRONG_VERSION_NUMBER");
}

TEST(Engine, EofDuringHandshakeIsTruncated) {
  // Server side: half a ClientHello, then EOF.
  auto client = Engine::NewClient(MakeClientContext(ClientOptions()), {"mx.test", "mx.test"});
  ASSERT_TRUE(client.ok());
  const std::string hello = client->TakeCiphertext();
  auto server = Engine::NewServer(MakeServerContext(ServerOptions(kEcdsa)));
  ASSERT_TRUE(server.ok());
  server->FeedCiphertext(std::string_view(hello).substr(0, hello.size() / 2));
  EXPECT_EQ(server->state(), EngineState::kHandshaking);
  server->FeedEof();
  ASSERT_EQ(server->state(), EngineState::kFailed);
  EXPECT_EQ(server->error()->kind, EngineError::Kind::kTruncated) << ErrorText(*server);
  EXPECT_FALSE(server->error()->reason.empty());

  // Client side: EOF before any reply.
  client->FeedEof();
  ASSERT_EQ(client->state(), EngineState::kFailed);
  EXPECT_EQ(client->error()->kind, EngineError::Kind::kTruncated) << ErrorText(*client);
}

TEST(Engine, WritePlaintextBeforeHandshakeIsRefusedAndWritesNothing) {
  auto client = Engine::NewClient(MakeClientContext(ClientOptions()), {"mx.test", "mx.test"});
  ASSERT_TRUE(client.ok());
  client->TakeCiphertext();
  absl::Status s = client->WritePlaintext("MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(client->has_ciphertext());
  EXPECT_EQ(client->state(), EngineState::kHandshaking);
}

// --- Plaintext after the handshake -------------------------------------------------

TEST(Engine, PlaintextRoundTripsBothWaysIncludingMoreThanOneRecord) {
  Pair p = Connect(ServerOptions(kEcdsa), ClientOptions());
  ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
  std::string big(70000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
  for (const std::string& message : {std::string("EHLO client.test\r\n"), big}) {
    ASSERT_TRUE(p.client.WritePlaintext(message).ok());
    const std::string ciphertext = p.client.TakeCiphertext();
    EXPECT_GT(ciphertext.size(), message.size());
    p.server.FeedCiphertext(ciphertext);
    EXPECT_EQ(p.server.TakePlaintext(), message);

    ASSERT_TRUE(p.server.WritePlaintext(message).ok());
    p.client.FeedCiphertext(p.server.TakeCiphertext());
    EXPECT_EQ(p.client.TakePlaintext(), message);
  }
}

TEST(Engine, PlaintextArrivesWhateverTheCiphertextChunking) {
  Pair p = Connect(ServerOptions(kEcdsa), ClientOptions());
  ASSERT_EQ(p.server.state(), EngineState::kEstablished) << ErrorText(p.server);
  const std::string message(40000, 'x');
  ASSERT_TRUE(p.client.WritePlaintext(message).ok());
  const std::string ciphertext = p.client.TakeCiphertext();
  std::string got;
  for (size_t i = 0; i < ciphertext.size(); i += 1000) {
    p.server.FeedCiphertext(std::string_view(ciphertext).substr(i, 1000));
    got += p.server.TakePlaintext();
  }
  EXPECT_EQ(got, message);
}

// Every split point of a whole handshake: the client's first flight cut in
// two at each byte, then every flight fed byte by byte; the outcome must not
// depend on how the transport chunked the bytes.
TEST(Engine, HandshakeCompletesAtEverySplitPoint) {
  auto server_ctx = MakeServerContext(ServerOptions(kEcdsa));
  auto client_ctx = MakeClientContext(ClientOptions());
  auto probe = Engine::NewClient(client_ctx, {"mx.test", "mx.test"});
  ASSERT_TRUE(probe.ok());
  const size_t hello_size = probe->TakeCiphertext().size();
  for (size_t cut = 0; cut <= hello_size; ++cut) {
    SCOPED_TRACE(cut);
    auto client = Engine::NewClient(client_ctx, {"mx.test", "mx.test"});
    auto server = Engine::NewServer(server_ctx);
    ASSERT_TRUE(client.ok() && server.ok());
    const std::string hello = client->TakeCiphertext();
    ASSERT_EQ(hello.size(), hello_size);
    server->FeedCiphertext(std::string_view(hello).substr(0, cut));
    EXPECT_EQ(server->state(), EngineState::kHandshaking);
    if (cut < hello_size) {
      EXPECT_FALSE(server->has_ciphertext());
    }
    server->FeedCiphertext(std::string_view(hello).substr(cut));
    Pump(*client, *server);
    ASSERT_EQ(client->state(), EngineState::kEstablished) << ErrorText(*client);
    ASSERT_EQ(server->state(), EngineState::kEstablished) << ErrorText(*server);
  }

  // Byte by byte both ways, with application data riding in the client's
  // last flight.
  auto client = Engine::NewClient(client_ctx, {"mx.test", "mx.test"});
  auto server = Engine::NewServer(server_ctx);
  ASSERT_TRUE(client.ok() && server.ok());
  bool wrote = false;
  std::string received;
  for (int round = 0; round < 10; ++round) {
    if (client->state() == EngineState::kEstablished && !wrote) {
      ASSERT_TRUE(client->WritePlaintext("EHLO split.test\r\n").ok());
      wrote = true;
    }
    for (char c : client->TakeCiphertext()) {
      server->FeedCiphertext(std::string_view(&c, 1));
      if (server->state() == EngineState::kHandshaking) {
        ASSERT_FALSE(server->has_plaintext());
      }
    }
    received += server->TakePlaintext();
    for (char c : server->TakeCiphertext()) {
      client->FeedCiphertext(std::string_view(&c, 1));
      if (client->state() == EngineState::kHandshaking) {
        ASSERT_FALSE(client->has_plaintext());
      }
    }
  }
  EXPECT_EQ(server->state(), EngineState::kEstablished) << ErrorText(*server);
  EXPECT_EQ(received, "EHLO split.test\r\n");
}

// --- Closing ---------------------------------------------------------------------

TEST(Engine, CloseNotifyClosesThePeerCleanly) {
  Pair p = Connect(ServerOptions(kEcdsa), ClientOptions());
  ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
  ASSERT_TRUE(p.client.WritePlaintext("QUIT\r\n").ok());
  p.client.Close();
  EXPECT_EQ(p.client.state(), EngineState::kClosed);
  EXPECT_EQ(p.client.WritePlaintext("more").code(), absl::StatusCode::kFailedPrecondition);
  p.server.FeedCiphertext(p.client.TakeCiphertext());
  EXPECT_EQ(p.server.TakePlaintext(), "QUIT\r\n");
  EXPECT_EQ(p.server.state(), EngineState::kClosed);
  EXPECT_TRUE(p.server.peer_sent_close_notify());
  EXPECT_FALSE(p.server.error().has_value());
  p.server.FeedEof();
  EXPECT_FALSE(p.server.error().has_value());
  // A second Close sends nothing more.
  p.client.Close();
  EXPECT_FALSE(p.client.has_ciphertext());
}

TEST(Engine, EofWithoutCloseNotifyIsRecordedAsTruncation) {
  Pair p = Connect(ServerOptions(kEcdsa), ClientOptions());
  ASSERT_EQ(p.server.state(), EngineState::kEstablished) << ErrorText(p.server);
  ASSERT_TRUE(p.client.WritePlaintext("DATA\r\n").ok());
  p.server.FeedCiphertext(p.client.TakeCiphertext());
  p.server.FeedEof();
  EXPECT_EQ(p.server.TakePlaintext(), "DATA\r\n");
  EXPECT_EQ(p.server.state(), EngineState::kClosed);
  EXPECT_FALSE(p.server.peer_sent_close_notify());
  ASSERT_TRUE(p.server.error().has_value());
  EXPECT_EQ(p.server.error()->kind, EngineError::Kind::kTruncated);
}

TEST(Engine, TamperedRecordFailsWithBadRecordMac) {
  Pair p = Connect(ServerOptions(kEcdsa), ClientOptions());
  ASSERT_EQ(p.server.state(), EngineState::kEstablished) << ErrorText(p.server);
  ASSERT_TRUE(p.client.WritePlaintext("RCPT TO:<a@mx.test>\r\n").ok());
  std::string ciphertext = p.client.TakeCiphertext();
  ciphertext[ciphertext.size() - 3] ^= 1;
  p.server.FeedCiphertext(ciphertext);
  ASSERT_EQ(p.server.state(), EngineState::kFailed);
  EXPECT_EQ(p.server.error()->kind, EngineError::Kind::kProtocol);
  // BoringSSL's reason when an AEAD record fails to open.
  EXPECT_EQ(p.server.error()->reason, "BAD_DECRYPT");
  EXPECT_EQ(p.server.error()->alert, SSL_AD_BAD_RECORD_MAC);
  EXPECT_FALSE(p.server.has_plaintext());
}

TEST(Engine, ServerPresentsTheCertificateNamedByServerNameElseTheDefault) {
  ServerContextOptions options = ServerOptions(kEcdsa);
  options.sni_certificates.push_back({"rsa.mx.test", kRsa.chain_pem, kRsa.key_pem});
  options.sni_certificates.push_back({"expired.mx.test", kExpired.chain_pem, kExpired.key_pem});
  struct Row {
    const char* sni;
    Leaf expected;
  };
  const Row rows[] = {
      {"rsa.mx.test", kRsa},
      {"RSA.Mx.Test", kRsa},  // RFC 4343: DNS names compare case-insensitively
      {"expired.mx.test", kExpired},
      {"", kEcdsa},
      {"other.mx.test", kEcdsa},
      {"rsa.mx.test.example", kEcdsa},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.sni);
    Pair p = Connect(options, ClientOptions(ClientVerify::kRecord), {row.sni, "mx.test"});
    ASSERT_EQ(p.server.state(), EngineState::kEstablished) << ErrorText(p.server);
    ASSERT_EQ(p.client.state(), EngineState::kEstablished) << ErrorText(p.client);
    EXPECT_EQ(p.client.info().peer_certificate_der, DerOf(row.expected.chain_pem));
    EXPECT_EQ(p.server.info().sni, row.sni);
  }
}

TEST(ServerContext, SniCertificateErrorsNameTheEntry) {
  struct Row {
    const char* name;
    std::vector<ServerContextOptions::NamedCertificate> entries;
    const char* mentions;
  };
  const Row rows[] = {
      {"mismatched key",
       {{"rsa.mx.test", kRsa.chain_pem, kEcdsa.key_pem}},
       "sni_certificates[0] \"rsa.mx.test\": private_key_pem: does not match"},
      {"no chain",
       {{"a.mx.test", kRsa.chain_pem, kRsa.key_pem}, {"b.mx.test", "", kRsa.key_pem}},
       "sni_certificates[1] \"b.mx.test\": certificate_chain_pem: no PEM"},
      {"duplicate",
       {{"a.mx.test", kRsa.chain_pem, kRsa.key_pem}, {"A.mx.test", kRsa.chain_pem, kRsa.key_pem}},
       "sni_certificates[1] \"A.mx.test\": server_name given twice"},
      {"empty name", {{"", kRsa.chain_pem, kRsa.key_pem}}, "server_name must be a host name"},
      {"trailing dot", {{"a.mx.test.", kRsa.chain_pem, kRsa.key_pem}},
       "server_name must be a host name"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ServerContextOptions options = ServerOptions(kEcdsa);
    options.sni_certificates = row.entries;
    auto ctx = ServerContext::Create(options);
    ASSERT_FALSE(ctx.ok());
    EXPECT_EQ(ctx.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ctx.status().message().find(row.mentions), absl::string_view::npos)
        << ctx.status();
  }
}


// --- Contexts ----------------------------------------------------------------------

TEST(ServerContext, ErrorsNameTheOptionBoringSslRefused) {
  struct Row {
    const char* name;
    ServerContextOptions options;
    const char* mentions;
  };
  ServerContextOptions bad_cipher = ServerOptions(kEcdsa);
  bad_cipher.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:FOO";
  ServerContextOptions bad_group = ServerOptions(kEcdsa);
  bad_group.groups = "X25519:P-999";
  ServerContextOptions mismatched = ServerOptions(kEcdsa);
  mismatched.private_key_pem = td::k_rsa_key;
  ServerContextOptions no_chain = ServerOptions(kEcdsa);
  no_chain.certificate_chain_pem = "";
  ServerContextOptions garbage_chain = ServerOptions(kEcdsa);
  garbage_chain.certificate_chain_pem =
      "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
  ServerContextOptions no_key = ServerOptions(kEcdsa);
  no_key.private_key_pem = "";
  ServerContextOptions inverted = ServerOptions(kEcdsa);
  inverted.versions = {TlsVersion::kTls13, TlsVersion::kTls12};
  // A NUL would cut the C string BoringSSL sees to "AES128-SHA": refused,
  // and the message shows the octet escaped.
  ServerContextOptions nul_cipher = ServerOptions(kEcdsa);
  nul_cipher.cipher_list = std::string("AES128-SHA\0:NULL-MD5", 20);
  const Row rows[] = {
      {"cipher", bad_cipher, "cipher_list:"},
      {"group", bad_group, "groups:"},
      {"mismatched key", mismatched, "private_key_pem: does not match the certificate"},
      {"no chain", no_chain, "certificate_chain_pem: no PEM"},
      {"garbage chain", garbage_chain, "certificate_chain_pem: certificate 1 does not parse"},
      {"no key", no_key, "private_key_pem:"},
      {"inverted versions", inverted, "versions: minimum TLSv1.3 is above maximum TLSv1.2"},
      {"NUL in cipher list", nul_cipher,
       "cipher_list: \"AES128-SHA\\x00:NULL-MD5\" contains a NUL octet"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    auto ctx = ServerContext::Create(row.options);
    ASSERT_FALSE(ctx.ok());
    EXPECT_EQ(ctx.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ctx.status().message().find(row.mentions), absl::string_view::npos)
        << ctx.status();
  }
}

TEST(Engine, ClientRefusesSniWithNulInsteadOfSendingLessThanAsked) {
  auto client = Engine::NewClient(MakeClientContext(ClientOptions()),
                                  {std::string("mx.test\0evil", 12), "mx.test"});
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("sni: \"mx.test\\x00evil\" contains a NUL octet"),
            absl::string_view::npos)
      << client.status();
}

TEST(ClientContext, RejectsRootsThatAreNotCertificates) {
  ClientContextOptions o = ClientOptions();
  o.trusted_roots_pem = "hello";
  auto ctx = ClientContext::Create(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("trusted_roots_pem"), absl::string_view::npos)
      << ctx.status();
}

}  // namespace
}  // namespace mxkit::tls

namespace mxkit::tls {
namespace {

// What OpenSSL 3's TLS 1.3 client sends when it refuses the certificate
// (captured with `openssl s_client -msg -verify_return_error` against
// fakemx --cert=expired): a plaintext alert record, because it switches its
// writes to the handshake keys only after the server's Finished.
std::string PlaintextAlert(int description) {
  return std::string("\x15\x03\x03\x00\x02\x02", 6) + static_cast<char>(description);
}

// Runs a server engine to the point where it waits for the client's second
// flight, then feeds it `tail` cut at `split` (the whole of it when split
// is past the end).
Engine ServerAfterFlight(VersionRange versions, const std::string& tail, size_t split) {
  auto server = Engine::NewServer(MakeServerContext(ServerOptions(kExpired)));
  // kNone: the client goes on, but only its ClientHello is used here.
  auto client = Engine::NewClient(MakeClientContext(ClientOptions(ClientVerify::kNone, versions)),
                                  {"mx.test", "mx.test"});
  EXPECT_TRUE(server.ok() && client.ok());
  server->FeedCiphertext(client->TakeCiphertext());
  EXPECT_TRUE(server->has_ciphertext()) << "no server flight";
  EXPECT_EQ(server->state(), EngineState::kHandshaking) << ErrorText(*server);
  server->TakeCiphertext();
  split = std::min(split, tail.size());
  server->FeedCiphertext(tail.substr(0, split));
  server->FeedCiphertext(tail.substr(split));
  return std::move(*server);
}

struct PlaintextAlertRow {
  const char* name;
  int alert;
  std::string text;
};

TEST(Engine, ServerNamesAClientsPlaintextAlertRefusingTheCertificateInTls13) {
  const PlaintextAlertRow rows[] = {
      {"expired", 45, "client refused the certificate: alert certificate_expired (45)"},
      {"unknown-ca", 48, "client refused the certificate: alert unknown_ca (48)"},
      {"bad-certificate", 42, "client refused the certificate: alert bad_certificate (42)"},
      {"unknown", 46, "client refused the certificate: alert certificate_unknown (46)"},
  };
  for (const PlaintextAlertRow& row : rows) {
    const std::string alert = PlaintextAlert(row.alert);
    for (size_t split = 0; split <= alert.size(); ++split) {
      SCOPED_TRACE(std::string(row.name) + " split " + std::to_string(split));
      Engine server = ServerAfterFlight({TlsVersion::kTls13, TlsVersion::kTls13}, alert, split);
      ASSERT_EQ(server.state(), EngineState::kFailed);
      EXPECT_EQ(server.error()->kind, EngineError::Kind::kPeerAlert) << ErrorText(server);
      EXPECT_EQ(server.error()->alert, row.alert);
      EXPECT_EQ(server.error()->ToString(), row.text);
    }
  }
}

TEST(Engine, ServerNamesAClientsAlertRefusingTheCertificateInTls12) {
  const std::string alert = PlaintextAlert(45);
  for (size_t split = 0; split <= alert.size(); ++split) {
    SCOPED_TRACE(split);
    Engine server = ServerAfterFlight({TlsVersion::kTls12, TlsVersion::kTls12}, alert, split);
    ASSERT_EQ(server.state(), EngineState::kFailed);
    EXPECT_EQ(server.error()->kind, EngineError::Kind::kPeerAlert) << ErrorText(server);
    EXPECT_EQ(server.error()->ToString(),
              "client refused the certificate: alert certificate_expired (45)");
  }
}

TEST(Engine, UndecryptableRecordThatIsNoAlertKeepsItsProtocolError) {
  // A two-byte record of another type, and a plaintext alert followed by
  // more bytes in the same record length: neither is the client's alert.
  const std::string rows[] = {
      std::string("\x16\x03\x03\x00\x02\x02\x2d", 7),
      std::string("\x15\x03\x03\x00\x03\x02\x2d\x00", 8),
  };
  for (const std::string& tail : rows) {
    Engine server = ServerAfterFlight({TlsVersion::kTls13, TlsVersion::kTls13}, tail, tail.size());
    ASSERT_EQ(server.state(), EngineState::kFailed);
    EXPECT_EQ(server.error()->kind, EngineError::Kind::kProtocol) << ErrorText(server);
  }
}

TEST(Engine, AlertRefusingTheCertificateFromBoringSslClientNamesIt) {
  // BoringSSL's client encrypts its alert (it has the handshake keys); the
  // server reads it and says the same as for OpenSSL's plaintext one.
  Pair p = Connect(ServerOptions(kExpired), ClientOptions());
  ASSERT_EQ(p.server.state(), EngineState::kFailed);
  EXPECT_EQ(p.server.error()->ToString(),
            "client refused the certificate: alert certificate_expired (45)");
}

}  // namespace
}  // namespace mxkit::tls
