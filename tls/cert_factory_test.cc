#include "tls/cert_factory.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/utf8.h"
#include "gtest/gtest.h"
#include "testing/conformance.h"
#include "tls/internal/rfc6979.h"

namespace mxkit::tls {
namespace {

using base::Av;
using base::StatusText;

// 2026-11-29T00:00:00Z: inside the CAs' and good leaves' window (2025-2049),
// after expired's end (2021) and before not-yet-valid's start (2049).
constexpr int64_t kVerifyTime = 1795910400;

// The X.509 verification results the variants cause (OpenSSL's and
// BoringSSL's numbering, x509.h / x509_vfy.h).
constexpr int kOk = X509_V_OK;                                       // 0
constexpr int kNotYetValid = X509_V_ERR_CERT_NOT_YET_VALID;          // 9
constexpr int kExpired = X509_V_ERR_CERT_HAS_EXPIRED;                // 10
constexpr int kSelfSigned = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;  // 18
constexpr int kNoLocalIssuer = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;  // 20
constexpr int kHostnameMismatch = X509_V_ERR_HOSTNAME_MISMATCH;      // 62
// OpenSSL 3's security-level results, which BoringSSL does not define
// (OpenSSL's x509_vfy.h).
constexpr int kOpenSslEeKeyTooSmall = 66;  // X509_V_ERR_EE_KEY_TOO_SMALL
constexpr int kOpenSslCaMdTooWeak = 68;    // X509_V_ERR_CA_MD_TOO_WEAK

std::vector<bssl::UniquePtr<X509>> ParsePemCerts(const std::string& pem) {
  std::vector<bssl::UniquePtr<X509>> out;
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the PEM stream leaves a "no start line" error
  return out;
}

bssl::UniquePtr<X509> ParseDer(const std::string& der) {
  const uint8_t* in = reinterpret_cast<const uint8_t*>(der.data());
  return bssl::UniquePtr<X509>(d2i_X509(nullptr, &in, static_cast<long>(der.size())));
}

// What a client that trusts `trusted_pem` and checks `host` at kVerifyTime
// concludes about a server sending `chain_pem`: BoringSSL's verifier, as the
// TLS engine's client role will run it.
int VerifyChain(const std::string& trusted_pem, const std::string& chain_pem,
                std::string_view host) {
  std::vector<bssl::UniquePtr<X509>> chain = ParsePemCerts(chain_pem);
  std::vector<bssl::UniquePtr<X509>> trusted = ParsePemCerts(trusted_pem);
  if (chain.empty() || trusted.empty()) return -1;
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  for (auto& t : trusted) X509_STORE_add_cert(store.get(), t.get());
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (std::size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get())) return -1;
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, kVerifyTime);
  X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
  X509_verify_cert(ctx.get());
  ERR_clear_error();
  return X509_STORE_CTX_get_error(ctx.get());
}

CertificateSet GenerateOrDie(const CertFactoryOptions& options,
                             absl::Span<const CertVariant> variants = AllCertVariants()) {
  absl::StatusOr<CertificateSet> set = CertificateSet::Generate(options, variants);
  if (!set.ok()) {
    ADD_FAILURE() << set.status();
    std::abort();
  }
  return *std::move(set);
}

const CertificateSet& DefaultSet() {
  static const CertificateSet* set = new CertificateSet(GenerateOrDie(CertFactoryOptions()));
  return *set;
}

const ServedCertificate& Served(const CertificateSet& set, CertVariant v) {
  absl::StatusOr<const ServedCertificate*> served = set.Get(v);
  if (!served.ok()) {
    ADD_FAILURE() << served.status();
    std::abort();
  }
  return **served;
}

std::string GeneralName(const GENERAL_NAME* name) {
  if (name->type != GEN_DNS) return "(not a dNSName)";
  const ASN1_STRING* s = name->d.dNSName;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> DnsNames(X509* cert) {
  std::vector<std::string> out;
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (const GENERAL_NAME* n : names.get()) out.push_back(GeneralName(n));
  return out;
}

std::string CommonName(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

// ---------------------------------------------------------------------------
// What a verifying client sees, per variant.

struct VerifyRow {
  CertVariant variant;
  std::string_view host;
  int expected;
};

// rsa-1024 and sha1-signature: BoringSSL's X.509 verifier has no security
// level, so both chains verify; a TLS stack refuses them in the handshake
// (OpenSSL 3 at its default level 1+ for SHA-1, level 2 for RSA-1024;
// BoringSSL's TLS code refuses SHA-1 in TLS 1.3 signature_algorithms).
// no-san: BoringSSL at API 17 still falls back to the subject CN when a
// certificate has no dNSName SAN (RFC 6125 §6.4.4 permits it; browsers and
// Go refuse), so the name matches.
const VerifyRow kVerifyRows[] = {
    {CertVariant::kGood, "mx.test", kOk},
    {CertVariant::kEcdsaP256, "mx.test", kOk},
    {CertVariant::kRsa2048, "mx.test", kOk},
    {CertVariant::kExpired, "mx.test", kExpired},
    {CertVariant::kNotYetValid, "mx.test", kNotYetValid},
    {CertVariant::kSelfSigned, "mx.test", kSelfSigned},
    {CertVariant::kUnknownCa, "mx.test", kNoLocalIssuer},
    {CertVariant::kMissingIntermediate, "mx.test", kNoLocalIssuer},
    {CertVariant::kWrongHost, "mx.test", kHostnameMismatch},
    // wrong-host is a good certificate for the host it does name.
    {CertVariant::kWrongHost, "wrong-host.invalid", kOk},
    {CertVariant::kNoSan, "mx.test", kOk},
    {CertVariant::kRsa1024, "mx.test", kOk},
    {CertVariant::kSha1Signature, "mx.test", kOk},
    // "*.test": a wildcard over a single-label parent is no wildcard to
    // BoringSSL (it needs two labels after the star), so it matches nothing.
    {CertVariant::kWildcard, "mx.test", kHostnameMismatch},
    {CertVariant::kGood, "other.test", kHostnameMismatch},
};

TEST(CertFactoryVerify, EachVariantGivesItsVerificationResult) {
  const CertificateSet& set = DefaultSet();
  for (const VerifyRow& row : kVerifyRows) {
    SCOPED_TRACE(absl::StrCat(Av(CertVariantName(row.variant)), " for ", Av(row.host)));
    EXPECT_EQ(VerifyChain(set.root_pem(), Served(set, row.variant).chain_pem, row.host),
              row.expected);
  }
}

TEST(CertFactoryVerify, WildcardMatchesOneLabelUnderAThreeLabelHostnamesParent) {
  CertFactoryOptions options;
  options.hostname = "mx.example.test";
  const CertificateSet set = GenerateOrDie(options, {CertVariant::kWildcard});
  const std::string& chain = Served(set, CertVariant::kWildcard).chain_pem;
  EXPECT_EQ(VerifyChain(set.root_pem(), chain, "mx.example.test"), kOk);
  EXPECT_EQ(VerifyChain(set.root_pem(), chain, "other.example.test"), kOk);
  // RFC 6125 §6.4.3: the star stands for exactly one label.
  EXPECT_EQ(VerifyChain(set.root_pem(), chain, "example.test"), kHostnameMismatch);
  EXPECT_EQ(VerifyChain(set.root_pem(), chain, "a.mx.example.test"), kHostnameMismatch);
}

TEST(CertFactoryVerify, UnknownCaVerifiesOnlyAgainstTheUnknownRoot) {
  const CertificateSet& set = DefaultSet();
  const std::string& chain = Served(set, CertVariant::kUnknownCa).chain_pem;
  EXPECT_EQ(VerifyChain(set.unknown_root_pem(), chain, "mx.test"), kOk);
}

TEST(CertFactoryVerify, MissingIntermediateVerifiesWhenTheClientHasTheIntermediate) {
  const CertificateSet& set = DefaultSet();
  const std::string chain =
      Served(set, CertVariant::kMissingIntermediate).chain_pem + set.intermediate_pem();
  EXPECT_EQ(VerifyChain(set.root_pem(), chain, "mx.test"), kOk);
}

TEST(CertFactoryVerify, NoSanIsRefusedWhenTheClientNeverChecksTheSubject) {
  const CertificateSet& set = DefaultSet();
  std::vector<bssl::UniquePtr<X509>> chain =
      ParsePemCerts(Served(set, CertVariant::kNoSan).chain_pem);
  ASSERT_FALSE(chain.empty());
  EXPECT_EQ(X509_check_host(chain[0].get(), "mx.test", 7, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(chain[0].get(), "mx.test", 7, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                            nullptr),
            0);
}

// ---------------------------------------------------------------------------
// What each variant is made of.

struct ShapeRow {
  CertVariant variant;
  std::size_t chain_length;  // certificates in chain_pem
  int key_type;              // EVP_PKEY_EC or EVP_PKEY_RSA
  int key_bits;
  int signature_nid;
};

const ShapeRow kShapeRows[] = {
    {CertVariant::kGood, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kExpired, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kNotYetValid, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kWrongHost, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kSelfSigned, 1, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kUnknownCa, 1, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kMissingIntermediate, 1, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kRsa1024, 2, EVP_PKEY_RSA, 1024, NID_ecdsa_with_SHA256},
    {CertVariant::kSha1Signature, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA1},
    {CertVariant::kEcdsaP256, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kRsa2048, 2, EVP_PKEY_RSA, 2048, NID_ecdsa_with_SHA256},
    {CertVariant::kWildcard, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
    {CertVariant::kNoSan, 2, EVP_PKEY_EC, 256, NID_ecdsa_with_SHA256},
};

TEST(CertFactoryShape, EveryVariantHasAShapeRow) {
  EXPECT_EQ(AllCertVariants().size(), std::size(kShapeRows));
  for (std::size_t i = 0; i < std::size(kShapeRows); ++i) {
    EXPECT_EQ(kShapeRows[i].variant, AllCertVariants()[i]);
  }
}

TEST(CertFactoryShape, ChainKeyAndSignatureAlgorithmMatchTheVariant) {
  const CertificateSet& set = DefaultSet();
  for (const ShapeRow& row : kShapeRows) {
    SCOPED_TRACE(CertVariantName(row.variant));
    const ServedCertificate& served = Served(set, row.variant);
    EXPECT_EQ(served.variant, row.variant);
    std::vector<bssl::UniquePtr<X509>> chain = ParsePemCerts(served.chain_pem);
    ASSERT_EQ(chain.size(), row.chain_length);
    bssl::UniquePtr<X509> leaf = ParseDer(served.leaf_der);
    ASSERT_TRUE(leaf);
    EXPECT_EQ(X509_cmp(leaf.get(), chain[0].get()), 0) << "leaf_der is the chain's first";
    if (row.chain_length == 2) {
      EXPECT_EQ(served.chain_pem.substr(served.chain_pem.size() - set.intermediate_pem().size()),
                set.intermediate_pem());
    }
    EXPECT_EQ(X509_get_version(leaf.get()), X509_VERSION_3);
    EXPECT_EQ(X509_get_signature_nid(leaf.get()), row.signature_nid);

    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(served.key_pem.data(),
                                             static_cast<int>(served.key_pem.size())));
    bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(key);
    EXPECT_TRUE(absl::StartsWith(Av(served.key_pem), "-----BEGIN PRIVATE KEY-----"))
        << "PKCS#8";
    EXPECT_EQ(EVP_PKEY_id(key.get()), row.key_type);
    EXPECT_EQ(EVP_PKEY_bits(key.get()), row.key_bits);
    EXPECT_EQ(X509_check_private_key(leaf.get(), key.get()), 1);
    if (row.key_type == EVP_PKEY_RSA) {
      EXPECT_EQ(RSA_check_key(EVP_PKEY_get0_RSA(key.get())), 1);
    }
    // A server certificate, not a CA (self-signed included).
    EXPECT_EQ(X509_check_ca(leaf.get()), 0);
    EXPECT_EQ(X509_check_purpose(leaf.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  }
}

TEST(CertFactoryShape, NamesFollowTheOptions) {
  const CertificateSet& set = DefaultSet();
  struct Row {
    CertVariant variant;
    std::vector<std::string> sans;
    std::string cn;
  };
  const Row rows[] = {
      {CertVariant::kGood, {"mx.test"}, "mx.test"},
      {CertVariant::kWrongHost, {"wrong-host.invalid"}, "wrong-host.invalid"},
      {CertVariant::kWildcard, {"*.test"}, "*.test"},
      {CertVariant::kNoSan, {}, "mx.test"},
      {CertVariant::kSelfSigned, {"mx.test"}, "mx.test"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(CertVariantName(row.variant));
    bssl::UniquePtr<X509> leaf = ParseDer(Served(set, row.variant).leaf_der);
    ASSERT_TRUE(leaf);
    EXPECT_EQ(DnsNames(leaf.get()), row.sans);
    EXPECT_EQ(CommonName(leaf.get()), row.cn);
  }
  CertFactoryOptions options;
  options.hostname = "smtp.mail.example.org";
  options.wrong_hostname = "elsewhere.example.net";
  const CertificateSet custom = GenerateOrDie(
      options, {CertVariant::kGood, CertVariant::kWrongHost, CertVariant::kWildcard});
  EXPECT_EQ(DnsNames(ParseDer(Served(custom, CertVariant::kGood).leaf_der).get()),
            std::vector<std::string>{"smtp.mail.example.org"});
  EXPECT_EQ(DnsNames(ParseDer(Served(custom, CertVariant::kWrongHost).leaf_der).get()),
            std::vector<std::string>{"elsewhere.example.net"});
  EXPECT_EQ(DnsNames(ParseDer(Served(custom, CertVariant::kWildcard).leaf_der).get()),
            std::vector<std::string>{"*.mail.example.org"});
}

TEST(CertFactoryShape, CasAreCasWithPathLengths) {
  const CertificateSet& set = DefaultSet();
  struct Row {
    const std::string* pem;
    long path_len;
  };
  for (const Row& row : {Row{&set.root_pem(), 1}, Row{&set.intermediate_pem(), 0},
                         Row{&set.unknown_root_pem(), 1}}) {
    std::vector<bssl::UniquePtr<X509>> certs = ParsePemCerts(*row.pem);
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(X509_check_ca(certs[0].get()), 1);
    bssl::UniquePtr<BASIC_CONSTRAINTS> bc(static_cast<BASIC_CONSTRAINTS*>(
        X509_get_ext_d2i(certs[0].get(), NID_basic_constraints, nullptr, nullptr)));
    ASSERT_TRUE(bc);
    EXPECT_EQ(ASN1_INTEGER_get(bc->pathlen), row.path_len);
  }
}

TEST(CertFactoryShape, GetSaysWhichVariantsWereMade) {
  const CertificateSet set = GenerateOrDie(CertFactoryOptions(), {CertVariant::kExpired});
  EXPECT_TRUE(set.Get(CertVariant::kExpired).ok());
  absl::StatusOr<const ServedCertificate*> missing = set.Get(CertVariant::kGood);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "good was not generated"));
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "expired"));
}

TEST(CertFactoryShape, RepeatedVariantsAreMadeOnceAndNoneMeansOnlyTheCas) {
  const CertificateSet twice =
      GenerateOrDie(CertFactoryOptions(), {CertVariant::kGood, CertVariant::kGood});
  EXPECT_EQ(Served(twice, CertVariant::kGood).chain_pem,
            Served(DefaultSet(), CertVariant::kGood).chain_pem);
  const CertificateSet none = GenerateOrDie(CertFactoryOptions(), {});
  EXPECT_EQ(none.root_pem(), DefaultSet().root_pem());
  EXPECT_EQ(none.intermediate_pem(), DefaultSet().intermediate_pem());
  absl::StatusOr<const ServedCertificate*> missing = none.Get(CertVariant::kGood);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "this set has: none"))
      << missing.status();
}

// ---------------------------------------------------------------------------
// Determinism.

TEST(CertFactoryDeterminism, SameSeedGivesTheSameBytes) {
  const CertificateSet again = GenerateOrDie(CertFactoryOptions());
  const CertificateSet& first = DefaultSet();
  EXPECT_EQ(again.root_pem(), first.root_pem());
  EXPECT_EQ(again.intermediate_pem(), first.intermediate_pem());
  EXPECT_EQ(again.unknown_root_pem(), first.unknown_root_pem());
  for (const CertVariant v : AllCertVariants()) {
    SCOPED_TRACE(CertVariantName(v));
    EXPECT_EQ(Served(again, v).chain_pem, Served(first, v).chain_pem);
    EXPECT_EQ(Served(again, v).key_pem, Served(first, v).key_pem);
    EXPECT_EQ(Served(again, v).leaf_der, Served(first, v).leaf_der);
  }
}

std::string Sha256Hex(const std::string& bytes) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

// Golden digests for seed 1: users may keep a ca.pem from one fakemx run and
// expect the next run's certificates to chain to it. A change to the
// derivation labels, names, extensions or the RFC 6979 signer shows up here;
// if it is intended, update the digests and say so in the change.
TEST(CertFactoryDeterminism, SeedOneGivesTheSameBytesAcrossRunsAndBuilds) {
  const CertificateSet& set = DefaultSet();
  std::string everything = set.root_pem() + set.intermediate_pem() + set.unknown_root_pem();
  for (const CertVariant v : AllCertVariants()) {
    everything += Served(set, v).chain_pem + Served(set, v).key_pem;
  }
  EXPECT_EQ(Sha256Hex(set.root_pem()),
            "b5c2f29308c82925161110d4fafe23827717329fe8cf544c86f3cf212e861a3c");
  EXPECT_EQ(Sha256Hex(everything),
            "c4b149e5a6b877505d2f327b4d9e04dab8c1b02f0b23d4c17efd46fb74454c2a");
}

TEST(CertFactoryDeterminism, AnotherSeedGivesOtherKeysAndCertificates) {
  CertFactoryOptions options;
  options.seed = 2;
  const CertificateSet other = GenerateOrDie(options);
  const CertificateSet& first = DefaultSet();
  EXPECT_NE(other.root_pem(), first.root_pem());
  EXPECT_NE(other.intermediate_pem(), first.intermediate_pem());
  EXPECT_NE(other.unknown_root_pem(), first.unknown_root_pem());
  for (const CertVariant v : AllCertVariants()) {
    SCOPED_TRACE(CertVariantName(v));
    EXPECT_NE(Served(other, v).key_pem, Served(first, v).key_pem);
    EXPECT_NE(Served(other, v).leaf_der, Served(first, v).leaf_der);
  }
  // The new set is a PKI of its own: seed 1's root does not vouch for it.
  EXPECT_EQ(VerifyChain(first.root_pem(), Served(other, CertVariant::kGood).chain_pem, "mx.test"),
            kNoLocalIssuer);
  EXPECT_EQ(VerifyChain(other.root_pem(), Served(other, CertVariant::kGood).chain_pem, "mx.test"),
            kOk);
}

TEST(CertFactoryDeterminism, AVariantIsTheSameAloneOrWithAllTheOthers) {
  const CertificateSet& all = DefaultSet();
  for (const CertVariant v : AllCertVariants()) {
    SCOPED_TRACE(CertVariantName(v));
    const CertificateSet alone = GenerateOrDie(CertFactoryOptions(), {v});
    EXPECT_EQ(alone.root_pem(), all.root_pem());
    EXPECT_EQ(Served(alone, v).chain_pem, Served(all, v).chain_pem);
    EXPECT_EQ(Served(alone, v).key_pem, Served(all, v).key_pem);
  }
}

TEST(CertFactoryDeterminism, LeavesHaveDistinctKeysAndSerials) {
  const CertificateSet& set = DefaultSet();
  std::set<std::string> keys;
  std::set<std::string> serials;
  for (const CertVariant v : AllCertVariants()) {
    keys.insert(Served(set, v).key_pem);
    bssl::UniquePtr<X509> leaf = ParseDer(Served(set, v).leaf_der);
    bssl::UniquePtr<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.get()), nullptr));
    char* hex = BN_bn2hex(serial.get());
    serials.insert(hex);
    OPENSSL_free(hex);
  }
  EXPECT_EQ(keys.size(), AllCertVariants().size());
  EXPECT_EQ(serials.size(), AllCertVariants().size());
}

// ---------------------------------------------------------------------------
// RFC 6979 against the RFC's own vectors (Appendix A.2.5, P-256).

std::vector<uint8_t> Unhex(std::string_view hex) {
  const std::string bytes = absl::HexStringToBytes(Av(hex));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::string Hex(const uint8_t* data, std::size_t len) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(data), len));
}

TEST(Rfc6979, MatchesAppendixA25Vectors) {
  struct Row {
    const EVP_MD* md;
    std::string_view message;
    std::string_view k, r, s;
  };
  const Row rows[] = {
      {EVP_sha1(), "sample", "882905f1227fd620fbf2abf21244f0ba83d0dc3a9103dbbee43a1fb858109db4",
       "61340c88c3aaebeb4f6d667f672ca9759a6ccaa9fa8811313039ee4a35471d32",
       "6d7f147dac089441bb2e2fe8f7a3fa264b9c475098fdcf6e00d7c996e1b8b7eb"},
      {EVP_sha256(), "sample", "a6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60",
       "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716",
       "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"},
      {EVP_sha256(), "test", "d16b6ae827f17175e040871a1c7ec3500192c4c92677336ec2537acaee0008e0",
       "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367",
       "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"},
  };
  bssl::UniquePtr<EC_KEY> key(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  const std::vector<uint8_t> x =
      Unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
  bssl::UniquePtr<BIGNUM> priv(BN_bin2bn(x.data(), x.size(), nullptr));
  ASSERT_TRUE(EC_KEY_set_private_key(key.get(), priv.get()));
  bssl::UniquePtr<EC_POINT> pub(EC_POINT_new(EC_KEY_get0_group(key.get())));
  ASSERT_TRUE(EC_POINT_mul(EC_KEY_get0_group(key.get()), pub.get(), priv.get(), nullptr, nullptr,
                           nullptr));
  ASSERT_TRUE(EC_KEY_set_public_key(key.get(), pub.get()));

  for (const Row& row : rows) {
    SCOPED_TRACE(absl::StrCat(Av(row.message), " with ", EVP_MD_size(row.md) * 8, "-bit hash"));
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    ASSERT_TRUE(EVP_Digest(row.message.data(), row.message.size(), digest, &digest_len, row.md,
                           nullptr));
    absl::StatusOr<std::vector<uint8_t>> k =
        internal::Rfc6979Nonce(key.get(), row.md, absl::MakeConstSpan(digest, digest_len));
    ASSERT_TRUE(k.ok()) << k.status();
    EXPECT_EQ(Hex(k->data(), k->size()), row.k);

    absl::StatusOr<std::string> der =
        internal::SignEcdsaRfc6979(key.get(), row.md, absl::MakeConstSpan(digest, digest_len));
    ASSERT_TRUE(der.ok()) << der.status();
    bssl::UniquePtr<ECDSA_SIG> sig(
        ECDSA_SIG_from_bytes(reinterpret_cast<const uint8_t*>(der->data()), der->size()));
    ASSERT_TRUE(sig);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    uint8_t rb[32], sb[32];
    ASSERT_TRUE(BN_bn2bin_padded(rb, 32, r));
    ASSERT_TRUE(BN_bn2bin_padded(sb, 32, s));
    EXPECT_EQ(Hex(rb, 32), row.r);
    EXPECT_EQ(Hex(sb, 32), row.s);
    EXPECT_EQ(ECDSA_verify(0, digest, digest_len, reinterpret_cast<const uint8_t*>(der->data()),
                           der->size(), key.get()),
              1);
  }
}

// RFC 6979 Appendix A.1: q of 163 bits (qlen not a multiple of 8, so
// bits2int truncates SHA-256's 256 bits), and the first candidate
// (0x04982D236F3FFC758838CA6F5E9FEA455106AF3B2B) is not below q, so §3.2
// step h redraws.
TEST(Rfc6979, AppendixA1RedrawsWhenTheFirstCandidateIsNotBelowQ) {
  BIGNUM* q_raw = nullptr;
  BIGNUM* x_raw = nullptr;
  ASSERT_TRUE(BN_hex2bn(&q_raw, "4000000000000000000020108A2E0CC0D99F8A5EF"));
  ASSERT_TRUE(BN_hex2bn(&x_raw, "09A4D6792295A7F730FC3F2B49CBC0F62E862272F"));
  bssl::UniquePtr<BIGNUM> q(q_raw), x(x_raw);
  uint8_t digest[32];
  unsigned digest_len = 0;
  ASSERT_TRUE(EVP_Digest("sample", 6, digest, &digest_len, EVP_sha256(), nullptr));
  absl::StatusOr<std::vector<uint8_t>> k = internal::Rfc6979NonceForOrder(
      q.get(), x.get(), EVP_sha256(), absl::MakeConstSpan(digest, digest_len));
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(Hex(k->data(), k->size()), "023af4074c90a02b3fe61d286d5c87f425e6bdd81b");
}

TEST(Rfc6979, RefusesAPrivateScalarOutsideTheGroup) {
  BIGNUM* q_raw = nullptr;
  ASSERT_TRUE(BN_hex2bn(&q_raw, "4000000000000000000020108A2E0CC0D99F8A5EF"));
  bssl::UniquePtr<BIGNUM> q(q_raw), zero(BN_new());
  BN_zero(zero.get());
  const uint8_t digest[32] = {};
  EXPECT_FALSE(internal::Rfc6979NonceForOrder(q.get(), zero.get(), EVP_sha256(), digest).ok());
  EXPECT_FALSE(internal::Rfc6979NonceForOrder(q.get(), q.get(), EVP_sha256(), digest).ok());
}

// ---------------------------------------------------------------------------
// Names of variants.

TEST(ParseCertVariant, EveryNameRoundTrips) {
  const std::vector<std::string_view> expected = {
      "good",           "expired",    "not-yet-valid", "wrong-host", "self-signed",
      "unknown-ca",     "missing-intermediate",        "rsa-1024",   "sha1-signature",
      "ecdsa-p256",     "rsa-2048",   "wildcard",      "no-san"};
  ASSERT_EQ(AllCertVariants().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const CertVariant v = AllCertVariants()[i];
    EXPECT_EQ(CertVariantName(v), expected[i]);
    absl::StatusOr<CertVariant> parsed = ParseCertVariant(expected[i]);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, v);
  }
}

TEST(ParseCertVariant, RejectsNearMissesQuotingTheInputAndListingTheNames) {
  struct Row {
    std::string input;
    std::string_view quoted;  // how the message shows the input
  };
  const Row rows[] = {
      {"", "\"\""},
      {"Good", "\"Good\""},
      {"good ", "\"good \""},
      {" good", "\" good\""},
      {"self_signed", "\"self_signed\""},
      {"rsa1024", "\"rsa1024\""},
      {"expired\n", "\"expired\\n\""},
      {std::string("good\0", 5), "\"good\\x00\""},
      {"\"quoted\"", "\"\\\"quoted\\\"\""},
      {"caf\xc3\xa9", "\"caf\\xc3\\xa9\""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(absl::CHexEscape(row.input));
    absl::StatusOr<CertVariant> parsed = ParseCertVariant(row.input);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message = StatusText(parsed.status());
    EXPECT_TRUE(absl::StrContains(message, Av(row.quoted))) << message;
    EXPECT_TRUE(absl::StrContains(message, "good, expired, not-yet-valid")) << message;
    EXPECT_TRUE(absl::StrContains(message, "wildcard, no-san")) << message;
  }
}

TEST(ParseCertVariant, BoundsTheQuotedInput) {
  const std::string long_input(100000, '\xff');
  absl::StatusOr<CertVariant> parsed = ParseCertVariant(long_input);
  ASSERT_FALSE(parsed.ok());
  const std::string message = StatusText(parsed.status());
  EXPECT_LT(message.size(), 600u);
  EXPECT_TRUE(absl::StrContains(message, "(100000 octets)")) << message;
  EXPECT_EQ(base::FindInvalidUtf8(message), message.size());
}

// ---------------------------------------------------------------------------
// Hostnames.

TEST(CertFactoryOptions, RejectsHostnamesThatAreNoLowerCaseLdhNames) {
  struct Row {
    std::string hostname;
    std::string why;  // a fragment of the message
  };
  const std::string label63(63, 'a');
  const Row rows[] = {
      {"", "hostname is empty"},
      {"localhost", "has one label"},
      {"Mx.test", "label 1 \"Mx\" has upper-case 'M' at offset 0"},
      {"mx.TEST", "label 2 \"TEST\" has upper-case 'T'"},
      {"mx.test.", "ends with a dot"},
      {".mx.test", "label 1 is empty"},
      {"mx..test", "label 2 is empty"},
      {"mx_1.test", "label 1 \"mx_1\" has octet '_' at offset 2"},
      {"mx test.test", "has octet 0x20"},
      {"mx.te\nst", "has octet 0x0a"},
      {"-mx.test", "starts with a hyphen"},
      {"mx-.test", "ends with a hyphen"},
      {"*.test", "label 1 \"*\" has octet '*'"},
      {"m\xc3\xa9l.test", "has octet 0xc3"},
      {label63 + "a.test", "label 1 \"" + label63 + "a\" is 64 octets long; at most 63"},
      {"192.0.2.1", "the last label \"1\" is all digits"},
      {std::string(250, 'a') + ".test", "is 255 octets long; a DNS name has at most 253"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(absl::CHexEscape(row.hostname));
    CertFactoryOptions options;
    options.hostname = row.hostname;
    absl::StatusOr<CertificateSet> set = CertificateSet::Generate(options, {CertVariant::kGood});
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message = StatusText(set.status());
    EXPECT_TRUE(absl::StrContains(message, Av(row.why))) << message;
    EXPECT_EQ(base::FindInvalidUtf8(message), message.size()) << message;
    // The public check is the one Generate runs.
    EXPECT_EQ(ValidateCertHostname(row.hostname), set.status());
  }
}

TEST(CertFactoryOptions, AcceptsLdhNamesAtTheLimits) {
  const std::string label63(63, 'a');
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets.
  const std::string longest = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  for (const std::string& hostname :
       {std::string("mx.test"), std::string("a.b"), std::string("xn--bcher-kva.example"),
        std::string("1mx-2.example.test"), std::string("mx.1test"), label63 + ".test", longest}) {
    SCOPED_TRACE(hostname);
    EXPECT_TRUE(ValidateCertHostname(hostname).ok());
    CertFactoryOptions options;
    options.hostname = hostname;
    absl::StatusOr<CertificateSet> set = CertificateSet::Generate(options, {CertVariant::kGood});
    ASSERT_TRUE(set.ok()) << set.status();
    bssl::UniquePtr<X509> leaf = ParseDer(Served(*set, CertVariant::kGood).leaf_der);
    EXPECT_EQ(DnsNames(leaf.get()), std::vector<std::string>{hostname});
    // X.520 ub-common-name is 64: a longer name is in the SAN only.
    EXPECT_EQ(CommonName(leaf.get()), hostname.size() <= 64 ? hostname : "");
  }
}

TEST(CertFactoryOptions, NoSanNeedsAHostnameThatFitsACommonName) {
  CertFactoryOptions options;
  options.hostname = std::string(61, 'a') + ".test";  // 66 octets
  absl::StatusOr<CertificateSet> set = CertificateSet::Generate(options, {CertVariant::kNoSan});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(set.status().message(), "no-san carries it in the subject CN"))
      << set.status();
  options.hostname = std::string(59, 'a') + ".test";  // 64 octets
  set = CertificateSet::Generate(options, {CertVariant::kNoSan});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(CommonName(ParseDer(Served(*set, CertVariant::kNoSan).leaf_der).get()),
            options.hostname);
}

TEST(CertFactoryOptions, ChecksTheWrongHostnameToo) {
  CertFactoryOptions options;
  options.wrong_hostname = "Wrong.invalid";
  absl::StatusOr<CertificateSet> set = CertificateSet::Generate(options);
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(absl::StrContains(set.status().message(), "wrong_hostname \"Wrong.invalid\""))
      << set.status();
  options.wrong_hostname = options.hostname;
  set = CertificateSet::Generate(options);
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(absl::StrContains(set.status().message(), "wrong_hostname equals hostname"))
      << set.status();
}

TEST(CertFactoryOptions, RejectsAnEnumValueThatIsNoVariant) {
  absl::StatusOr<CertificateSet> set =
      CertificateSet::Generate(CertFactoryOptions(), {static_cast<CertVariant>(99)});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(set.status().message(), "99")) << set.status();
}

// ---------------------------------------------------------------------------
// The same certificates through the system's OpenSSL 3 command line: a
// parser and verifier nobody here wrote.

constexpr char kOpenSsl[] = "/usr/bin/openssl";

// A fresh directory under $TEST_TMPDIR (Bazel's, removed after the test)
// or /tmp when the binary is run by hand; "" when it cannot be made.
std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/cert_factory_test.XXXXXX");
  return mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The verification error `openssl verify` reports ("error N at D depth
// lookup: ..."), 0 for "OK", -1 when the output is neither.
int OpenSslVerifyError(const CommandResult& result) {
  if (result.exit_code == 0 && absl::StrContains(result.output, ": OK")) return 0;
  const std::size_t at = result.output.find("error ");
  if (at == std::string::npos) return -1;
  return std::atoi(result.output.c_str() + at + 6);
}

std::string CertPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  const uint8_t* data = nullptr;
  std::size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

TEST(CertFactoryOpenSslCli, VerifyReportsTheVariantsErrors) {
  if (access(kOpenSsl, X_OK) != 0) {
    MXKIT_SKIP_OR_FAIL(absl::StrCat(kOpenSsl, " not found (Debian package openssl)"));
  }
  const CertificateSet& set = DefaultSet();
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty()) << "mkdtemp: " << std::strerror(errno);
  const std::string root = dir + "/ca.pem";
  WriteFile(root, set.root_pem());
  struct Row {
    CertVariant variant;
    int auth_level;  // openssl verify -auth_level; -1 checks no key or digest strength
    int expected;
  };
  // OpenSSL 3's security levels (SSL_CTX_set_security_level(3)): level 1
  // refuses SHA-1 signatures (X509_V_ERR_CA_MD_TOO_WEAK, 68), level 2 (the
  // default of Debian's OpenSSL clients) also RSA keys under 2048 bits
  // (X509_V_ERR_EE_KEY_TOO_SMALL, 66).
  const Row rows[] = {
      {CertVariant::kGood, 2, kOk},
      {CertVariant::kExpired, -1, kExpired},
      {CertVariant::kNotYetValid, -1, kNotYetValid},
      {CertVariant::kSelfSigned, -1, kSelfSigned},
      {CertVariant::kUnknownCa, -1, kNoLocalIssuer},
      {CertVariant::kMissingIntermediate, -1, kNoLocalIssuer},
      {CertVariant::kWrongHost, -1, kHostnameMismatch},
      {CertVariant::kEcdsaP256, 2, kOk},
      {CertVariant::kRsa2048, 2, kOk},
      {CertVariant::kRsa1024, 1, kOk},
      {CertVariant::kRsa1024, 2, kOpenSslEeKeyTooSmall},
      {CertVariant::kSha1Signature, -1, kOk},
      {CertVariant::kSha1Signature, 1, kOpenSslCaMdTooWeak},
      // OpenSSL, like BoringSSL, reads the CN when there is no dNSName SAN.
      {CertVariant::kNoSan, 2, kOk},
      {CertVariant::kWildcard, -1, kHostnameMismatch},
  };
  for (const Row& row : rows) {
    const std::string name(CertVariantName(row.variant));
    SCOPED_TRACE(absl::StrCat(name, " at auth_level ", row.auth_level));
    const ServedCertificate& served = Served(set, row.variant);
    std::vector<bssl::UniquePtr<X509>> chain = ParsePemCerts(served.chain_pem);
    ASSERT_FALSE(chain.empty());
    const std::string leaf = dir + "/" + name + "-leaf.pem";
    const std::string rest = dir + "/" + name + "-rest.pem";
    WriteFile(leaf, CertPem(chain[0].get()));
    std::string rest_pem;
    for (std::size_t i = 1; i < chain.size(); ++i) rest_pem += CertPem(chain[i].get());
    std::string command =
        absl::StrCat(kOpenSsl, " verify -CAfile '", root, "' -verify_hostname mx.test -attime ",
                     kVerifyTime, " -auth_level ", row.auth_level);
    if (!rest_pem.empty()) {
      WriteFile(rest, rest_pem);
      absl::StrAppend(&command, " -untrusted '", rest, "'");
    }
    absl::StrAppend(&command, " '", leaf, "'");
    const CommandResult result = RunCommand(command);
    EXPECT_EQ(OpenSslVerifyError(result), row.expected) << command << "\n" << result.output;
  }
}

TEST(CertFactoryOpenSslCli, KeyPemIsTheLeafsKeyToOpenSsl) {
  if (access(kOpenSsl, X_OK) != 0) {
    MXKIT_SKIP_OR_FAIL(absl::StrCat(kOpenSsl, " not found (Debian package openssl)"));
  }
  const CertificateSet& set = DefaultSet();
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty()) << "mkdtemp: " << std::strerror(errno);
  for (const CertVariant v : AllCertVariants()) {
    const std::string name(CertVariantName(v));
    SCOPED_TRACE(name);
    const std::string key = dir + "/" + name + "-key.pem";
    const std::string chain = dir + "/" + name + "-chain.pem";
    WriteFile(key, Served(set, v).key_pem);
    WriteFile(chain, Served(set, v).chain_pem);
    // `openssl pkey -check` validates the private key (for RSA, its primes and
    // CRT values); the public halves must be the same bytes.
    const CommandResult check = RunCommand(absl::StrCat(kOpenSsl, " pkey -check -noout -in '", key, "'"));
    EXPECT_EQ(check.exit_code, 0) << check.output;
    const CommandResult from_key =
        RunCommand(absl::StrCat(kOpenSsl, " pkey -pubout -in '", key, "'"));
    const CommandResult from_cert =
        RunCommand(absl::StrCat(kOpenSsl, " x509 -pubkey -noout -in '", chain, "'"));
    EXPECT_EQ(from_key.exit_code, 0) << from_key.output;
    EXPECT_EQ(from_cert.exit_code, 0) << from_cert.output;
    EXPECT_TRUE(absl::StartsWith(from_key.output, "-----BEGIN PUBLIC KEY-----")) << from_key.output;
    EXPECT_EQ(from_key.output, from_cert.output);
  }
}

}  // namespace
}  // namespace mxkit::tls
