#include "tls/receiver_profile.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace mxkit::tls {
namespace {

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

TEST(StartTlsBehaviour, NamesRoundTripInEnumOrder) {
  const std::vector<std::string> expected = {
      "offer",           "hide",           "refuse-454",      "refuse-502",
      "abort-after-220", "alert-after-220", "stall-handshake", "inject-after-220"};
  std::vector<std::string> names;
  for (StartTlsBehaviour b : AllStartTlsBehaviours()) {
    names.emplace_back(StartTlsBehaviourName(b));
    absl::StatusOr<StartTlsBehaviour> parsed = ParseStartTlsBehaviour(StartTlsBehaviourName(b));
    ASSERT_TRUE(parsed.ok()) << Message(parsed.status());
    EXPECT_EQ(*parsed, b);
  }
  EXPECT_EQ(names, expected);
}

TEST(StartTlsBehaviour, RejectsUnknownNamesQuotingThemSafelyAndListingTheValidOnes) {
  struct Row {
    std::string input;
    std::string quoted;  // how the error shows the input
  };
  const std::vector<Row> rows = {
      {"", "\"\""},
      {"Offer", "\"Offer\""},  // exact and case-sensitive, like --cert
      {"offer ", "\"offer \""},
      {"refuse454", "\"refuse454\""},
      {std::string("hi\x01\n\xff", 5), "\"hi\\x01\\n\\xff\""},
      {std::string(100, 'a'), "\"" + std::string(64, 'a') + "\"... (100 octets)"},
  };
  for (const Row& row : rows) {
    absl::StatusOr<StartTlsBehaviour> parsed = ParseStartTlsBehaviour(row.input);
    ASSERT_FALSE(parsed.ok()) << row.input;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Message(parsed.status()),
              "STARTTLS behaviour " + row.quoted +
                  " is not one of offer, hide, refuse-454, refuse-502, abort-after-220, "
                  "alert-after-220, stall-handshake, inject-after-220");
  }
}

// A client and a server engine wired together in memory until neither
// moves; returns the client (its state and info tell what was agreed).
struct Handshake {
  absl::StatusOr<Engine> client = absl::UnknownError("not run");
  absl::StatusOr<Engine> server = absl::UnknownError("not run");
};

Handshake RunHandshake(std::shared_ptr<const ServerContext> server_context, const CertificateSet& certs,
              VersionRange client_versions = {TlsVersion::kTls10, TlsVersion::kTls13}) {
  Handshake h;
  ClientContextOptions client_options;
  client_options.versions = client_versions;
  client_options.trusted_roots_pem = certs.root_pem();
  client_options.verify = ClientVerify::kRequire;
  auto client_context = ClientContext::Create(client_options);
  if (!client_context.ok()) {
    h.client = client_context.status();
    return h;
  }
  h.client = Engine::NewClient(*client_context, {.sni = "mx.test", .verify_hostname = "mx.test"});
  h.server = Engine::NewServer(std::move(server_context));
  if (!h.client.ok() || !h.server.ok()) return h;
  for (int round = 0; round < 20; ++round) {
    bool moved = false;
    if (h.client->has_ciphertext()) {
      h.server->FeedCiphertext(h.client->TakeCiphertext());
      moved = true;
    }
    if (h.server->has_ciphertext()) {
      h.client->FeedCiphertext(h.server->TakeCiphertext());
      moved = true;
    }
    if (!moved) break;
  }
  return h;
}

CertificateSet Certs(std::vector<CertVariant> variants) {
  absl::StatusOr<CertificateSet> certs = CertificateSet::Generate(CertFactoryOptions{}, variants);
  EXPECT_TRUE(certs.ok()) << Message(certs.status());
  return std::move(*certs);
}

TEST(BuildServerContext, ServesTheProfilesCertificateWithinItsVersions) {
  const CertificateSet certs = Certs({CertVariant::kGood, CertVariant::kRsa2048});
  struct Row {
    ReceiverProfile profile;
    TlsVersion version;
  };
  ReceiverProfile tls12_only;
  tls12_only.versions = {TlsVersion::kTls12, TlsVersion::kTls12};
  ReceiverProfile tls10_rsa;
  tls10_rsa.versions = {TlsVersion::kTls10, TlsVersion::kTls10};
  tls10_rsa.certificate = CertVariant::kRsa2048;
  const std::vector<Row> rows = {
      {ReceiverProfile{}, TlsVersion::kTls13},
      {tls12_only, TlsVersion::kTls12},
      {tls10_rsa, TlsVersion::kTls10},
  };
  for (const Row& row : rows) {
    auto context = BuildServerContext(row.profile, certs);
    ASSERT_TRUE(context.ok()) << Message(context.status());
    Handshake h = RunHandshake(*context, certs);
    ASSERT_TRUE(h.client.ok() && h.server.ok());
    ASSERT_EQ(h.client->state(), EngineState::kEstablished)
        << (h.client->error() ? h.client->error()->ToString() : "");
    EXPECT_EQ(h.client->info().version, row.version);
    const ServedCertificate* served = *certs.Get(row.profile.certificate);
    EXPECT_EQ(h.client->info().peer_certificate_der, served->leaf_der);
  }
}

TEST(BuildServerContext, RestrictsCiphersAndGroups) {
  const CertificateSet certs = Certs({CertVariant::kGood});
  ReceiverProfile profile;
  profile.versions = {TlsVersion::kTls12, TlsVersion::kTls12};
  profile.cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384";
  profile.groups = "P-256";
  auto context = BuildServerContext(profile, certs);
  ASSERT_TRUE(context.ok()) << Message(context.status());
  Handshake h = RunHandshake(*context, certs);
  ASSERT_EQ(h.client->state(), EngineState::kEstablished)
      << (h.client->error() ? h.client->error()->ToString() : "");
  EXPECT_EQ(h.client->info().cipher, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(h.client->info().group, "P-256");
}

TEST(BuildServerContext, ErrorsNameTheProfileField) {
  const CertificateSet certs = Certs({CertVariant::kGood});
  struct Row {
    const char* what;
    ReceiverProfile profile;
    absl::StatusCode code;
    std::string prefix;
  };
  ReceiverProfile bad_ciphers;
  bad_ciphers.cipher_list = "NOT-A-CIPHER";
  ReceiverProfile bad_groups;
  bad_groups.groups = "P-999";
  ReceiverProfile missing_variant;
  missing_variant.certificate = CertVariant::kExpired;
  const std::vector<Row> rows = {
      {"cipher", bad_ciphers, absl::StatusCode::kInvalidArgument, "cipher_list: "},
      {"group", bad_groups, absl::StatusCode::kInvalidArgument, "groups: "},
      {"variant not generated", missing_variant, absl::StatusCode::kFailedPrecondition,
       "certificate: variant expired was not generated"},
  };
  for (const Row& row : rows) {
    auto context = BuildServerContext(row.profile, certs);
    ASSERT_FALSE(context.ok()) << row.what;
    EXPECT_EQ(context.status().code(), row.code) << row.what;
    EXPECT_EQ(Message(context.status()).substr(0, row.prefix.size()), row.prefix)
        << row.what << ": " << Message(context.status());
  }
}

}  // namespace
}  // namespace mxkit::tls
