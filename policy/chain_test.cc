#include "policy/chain.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "policy/internal/test_cert.h"
#include "testing/conformance.h"
#include "tls/cert_factory.h"

namespace mxkit::policy {
namespace {

const tls::CertificateSet& Set() { return testing::FactorySet(); }

// Inside the factory's fixed validity windows (tls/cert_factory.h).
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 0, 0, 0), absl::UTCTimeZone());

class ChainTest : public ::testing::Test {
 protected:
  static std::vector<std::string> Chain(tls::CertVariant variant) {
    return testing::FactoryChainDer(variant);
  }
  static std::string Der(const std::string& pem) {
    auto der = PemCertificatesToDer(pem);
    EXPECT_TRUE(der.ok() && der->size() == 1);
    return der->front();
  }

};

TEST_F(ChainTest, FactoryVariantsVerifyToTheRootAsOpensslWould) {
  struct Row {
    tls::CertVariant variant;
    long x509_error;
    TlsResultType type;
  };
  const Row rows[] = {
      {tls::CertVariant::kGood, 0, TlsResultType::kValidationFailure},
      {tls::CertVariant::kWrongHost, 0, TlsResultType::kValidationFailure},  // no name check here
      {tls::CertVariant::kExpired, 10, TlsResultType::kCertificateExpired},
      {tls::CertVariant::kNotYetValid, 9, TlsResultType::kValidationFailure},
      {tls::CertVariant::kSelfSigned, 18, TlsResultType::kCertificateNotTrusted},
      {tls::CertVariant::kUnknownCa, 20, TlsResultType::kCertificateNotTrusted},
      {tls::CertVariant::kMissingIntermediate, 20, TlsResultType::kCertificateNotTrusted},
      // OpenSSL security level 2, which BoringSSL alone does not apply.
      {tls::CertVariant::kRsa1024, 66, TlsResultType::kCertificateNotTrusted},
      {tls::CertVariant::kSha1Signature, 68, TlsResultType::kCertificateNotTrusted},
      {tls::CertVariant::kRsa2048, 0, TlsResultType::kValidationFailure},
      {tls::CertVariant::kEcdsaP256, 0, TlsResultType::kValidationFailure},
  };
  for (const Row& row : rows) {
    const ChainVerification v = VerifyChainToRoots(Chain(row.variant), Set().root_pem(), kNow);
    EXPECT_EQ(v.ok, row.x509_error == 0) << tls::CertVariantName(row.variant) << ": " << v.detail;
    EXPECT_EQ(v.x509_error, row.x509_error) << tls::CertVariantName(row.variant) << ": " << v.detail;
    if (!v.ok) {
      EXPECT_EQ(ResultTypeForX509Error(v.x509_error), row.type);
    }
  }
}

// `openssl verify` (Debian's OpenSSL 3, not BoringSSL) at security level 2
// (-auth_level 2, what libssl applies at Debian's default SECLEVEL=2) reaches
// the same X.509 error for every factory variant at the same time.
TEST_F(ChainTest, AgreesWithOpensslVerify) {
  if (access("/usr/bin/openssl", X_OK) != 0) {
    MXKIT_SKIP_OR_FAIL("/usr/bin/openssl (Debian's openssl) for openssl verify");
  }
  const char* tmp_env = std::getenv("TEST_TMPDIR");
  const std::string tmp = tmp_env != nullptr ? tmp_env : "/tmp";
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(tmp + "/" + name, std::ios::trunc) << text;
    return tmp + "/" + name;
  };
  const std::string root = write("root.pem", Set().root_pem());
  for (tls::CertVariant variant : tls::AllCertVariants()) {
    auto served = Set().Get(variant);
    ASSERT_TRUE(served.ok());
    const std::string chain = write("chain.pem", (*served)->chain_pem);
    const std::string command = "openssl verify -auth_level 2 -purpose sslserver -attime " +
                                std::to_string(absl::ToUnixSeconds(kNow)) + " -CAfile " + root +
                                " -untrusted " + chain + " " + chain + " 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
    pclose(pipe);
    long openssl_error = -1;
    if (output.find(": OK") != std::string::npos) {
      openssl_error = 0;
    } else if (const size_t at = output.find("error "); at != std::string::npos) {
      openssl_error = std::atol(output.c_str() + at + 6);
    }
    const ChainVerification ours =
        VerifyChainToRoots(*PemCertificatesToDer((*served)->chain_pem), Set().root_pem(), kNow);
    EXPECT_EQ(ours.x509_error, openssl_error)
        << tls::CertVariantName(variant) << ": ours " << ours.detail << "; openssl " << output;
  }
}

TEST_F(ChainTest, WeakLeafKeyFailsAfterAValidChainWithOpensslsNumber) {
  const ChainVerification v = VerifyChainToRoots(Chain(tls::CertVariant::kRsa1024), Set().root_pem(), kNow);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.x509_error, kX509ErrorEeKeyTooSmall);
  EXPECT_EQ(v.detail, "EE certificate key too weak (RSA 1024 bits < 2048)");
  // DANE-TA: the anchor vouches for the chain, not for the leaf's key size.
  const auto chain = Chain(tls::CertVariant::kRsa1024);
  const ChainVerification ta = VerifyChainToAnchor(chain, chain.back(), kNow);
  EXPECT_EQ(ta.x509_error, kX509ErrorEeKeyTooSmall) << ta.detail;
  EXPECT_EQ(CheckLeafStrength(chain.front()).x509_error, kX509ErrorEeKeyTooSmall);
  // A chain error comes first: the strength check runs only on a valid chain.
  EXPECT_EQ(VerifyChainToRoots(chain, Set().unknown_root_pem(), kNow).x509_error, 20);
  for (tls::CertVariant ok : {tls::CertVariant::kRsa2048, tls::CertVariant::kEcdsaP256}) {
    const auto c = Chain(ok);
    EXPECT_TRUE(CheckLeafStrength(c.front()).ok) << tls::CertVariantName(ok);
    EXPECT_TRUE(VerifyChainToAnchor(c, c.back(), kNow).ok) << tls::CertVariantName(ok);
  }
  EXPECT_EQ(CheckLeafStrength("not der").x509_error, -1);
}

TEST_F(ChainTest, TimeIsTheCallersNotTheClock) {
  const auto chain = Chain(tls::CertVariant::kGood);
  EXPECT_TRUE(VerifyChainToRoots(chain, Set().root_pem(), kNow).ok);
  const auto later = absl::FromCivil(absl::CivilSecond(2051, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  EXPECT_EQ(VerifyChainToRoots(chain, Set().root_pem(), later).x509_error, 10);
  // The expired leaf is fine before its notAfter (2021-01-01).
  const auto before = absl::FromCivil(absl::CivilSecond(2020, 6, 1, 0, 0, 0), absl::UTCTimeZone());
  const auto expired = Chain(tls::CertVariant::kExpired);
  const auto v = VerifyChainToRoots(expired, Set().root_pem(), before);
  // The CAs are valid from 2025 only, so the chain still fails, on the CA's dates.
  EXPECT_EQ(v.x509_error, 9) << v.detail;
}

TEST_F(ChainTest, NoRootsTrustsNothing) {
  const ChainVerification v = VerifyChainToRoots(Chain(tls::CertVariant::kGood), "", kNow);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.x509_error, 20);
}

TEST_F(ChainTest, UnusableInputIsMinusOneWithAReason) {
  EXPECT_EQ(VerifyChainToRoots({}, Set().root_pem(), kNow).x509_error, -1);
  const ChainVerification bad_der =
      VerifyChainToRoots({std::string("\x30\x00", 2)}, Set().root_pem(), kNow);
  EXPECT_EQ(bad_der.x509_error, -1);
  EXPECT_NE(bad_der.detail.find("certificate 0"), std::string::npos) << bad_der.detail;
  std::string broken_root = Set().root_pem();
  broken_root[broken_root.size() / 2] = '!';
  const ChainVerification bad_root =
      VerifyChainToRoots(Chain(tls::CertVariant::kGood), broken_root, kNow);
  EXPECT_EQ(bad_root.x509_error, -1) << bad_root.detail;
  EXPECT_NE(bad_root.detail.find("trusted roots"), std::string::npos) << bad_root.detail;
  EXPECT_EQ(ResultTypeForX509Error(-1), TlsResultType::kValidationFailure);
}

TEST_F(ChainTest, AnchorMayBeTheIntermediateOrTheLeaf) {
  const auto chain = Chain(tls::CertVariant::kGood);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_TRUE(VerifyChainToAnchor(chain, chain[1], kNow).ok);            // intermediate
  EXPECT_TRUE(VerifyChainToAnchor(chain, Der(Set().root_pem()), kNow).ok);  // root, not served
  EXPECT_TRUE(VerifyChainToAnchor(chain, chain[0], kNow).ok);            // the leaf itself
}

TEST_F(ChainTest, AnchorElsewhereOrExpiredLeafFails) {
  const auto chain = Chain(tls::CertVariant::kGood);
  const ChainVerification other =
      VerifyChainToAnchor(chain, Der(Set().unknown_root_pem()), kNow);
  EXPECT_FALSE(other.ok);
  EXPECT_EQ(ResultTypeForX509Error(other.x509_error), TlsResultType::kCertificateNotTrusted)
      << other.detail;
  const auto expired = Chain(tls::CertVariant::kExpired);
  const ChainVerification v = VerifyChainToAnchor(expired, expired[1], kNow);
  EXPECT_EQ(v.x509_error, 10) << v.detail;
  EXPECT_EQ(VerifyChainToAnchor(chain, "not der", kNow).x509_error, -1);
}

TEST(PemCertificatesToDer, ReadsEveryBlockAndRefusesGarbage) {
  testing::TestCertSpec spec;
  spec.dns_names = {"a.example.test"};
  const auto a = testing::MakeTestCert(spec);
  const auto b = testing::MakeTestCert(spec);
  auto both = PemCertificatesToDer(a.pem + b.pem);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(*both, (std::vector<std::string>{a.der, b.der}));
  EXPECT_FALSE(PemCertificatesToDer("").ok());
  EXPECT_FALSE(PemCertificatesToDer("hello").ok());
  std::string broken = a.pem;
  broken[40] = '*';
  EXPECT_FALSE(PemCertificatesToDer(broken).ok());
}

}  // namespace
}  // namespace mxkit::policy
