#include "policy/hostname.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "base/absl_interop.h"
#include "gtest/gtest.h"
#include "policy/internal/test_cert.h"
#include "tls/cert_factory.h"

namespace mxkit::policy {
namespace {

struct MatchRow {
  const char* presented;
  const char* reference;
  bool matches;
  // Where we deliberately part from BoringSSL's X509_check_host: why.
  const char* boringssl_differs = nullptr;
};

// RFC 6125 §6.4.1-§6.4.3 with the choices documented in hostname.h.
const MatchRow kMatchRows[] = {
    {"mx.example.com", "mx.example.com", true},
    {"MX.Example.COM", "mx.example.com", true},       // §6.4.1 case-insensitive
    {"mx.example.com", "mx.example.com.", true,
     "an MX exchange from DNS may carry the root dot; BoringSSL refuses it"},
    {"mx.example.com", "mx.example.net", false},
    {"mx.example.com", "example.com", false},
    {"*.example.com", "mx.example.com", true},        // §6.4.3 leftmost label
    {"*.EXAMPLE.com", "Mx.example.COM", true},
    {"*.example.com", "example.com", false},          // one label, not zero
    {"*.example.com", "a.b.example.com", false},      // exactly one label
    {"*.example.com", ".example.com", false},
    {"*.com", "example.com", false},                  // §7.2: two labels under "*"
    {"*.test", "mx.test", false},
    {"*", "localhost", false},
    {"f*.example.com", "foo.example.com", false},     // partial wildcards refused
    {"*o.example.com", "foo.example.com", false},
    {"mx.*.example.com", "mx.a.example.com", false},  // not leftmost
    {"*.*.example.com", "a.b.example.com", false},
    {"*.example.com", "xn--bcher-kva.example.com", false,
     "RFC 6125 §6.4.3: no wildcard over an IDN label; BoringSSL matches it"},
    {"*.example.com", "XN--bcher-kva.example.com", false, "as above, case-insensitive prefix"},
    {"xn--bcher-kva.example.com", "xn--bcher-kva.example.com", true},
    {"*.xn--bcher-kva.example", "mx.xn--bcher-kva.example", true},  // A-label in the suffix is fine
    {"", "mx.example.com", false},
    {"mx.example.com", "", false},
    {"mx.example.com", ".", false},
    {"*.example.com", "*.example.com", false,
     "a reference name is never a pattern; BoringSSL compares it as text"},
    {"mx..example.com", "mx..example.com", false,
     "an empty label is no DNS name; BoringSSL compares it as text"},
};

TEST(DnsIdMatches, FollowsRfc6125Rules) {
  for (const MatchRow& row : kMatchRows) {
    EXPECT_EQ(DnsIdMatches(row.presented, row.reference), row.matches)
        << "presented " << row.presented << " reference " << row.reference;
  }
}

// The same table through real certificates: our matcher and BoringSSL's
// X509_check_host (no partial wildcards, never the subject) agree.
TEST(DnsIdMatches, AgreesWithBoringSslCheckHost) {
  for (const MatchRow& row : kMatchRows) {
    if (std::string(row.presented).empty() || std::string(row.reference).empty()) continue;
    testing::TestCertSpec spec;
    spec.dns_names = {row.presented};
    const testing::TestCert cert = testing::MakeTestCert(spec);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(cert.der.data());
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(cert.der.size()));
    ASSERT_NE(x, nullptr);
    const std::string reference = row.reference;
    const int boring =
        X509_check_host(x, reference.data(), reference.size(),
                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                        nullptr);
    X509_free(x);
    auto ours = MatchCertificateNames(cert.der, {reference});
    ASSERT_TRUE(ours.ok());
    const bool expect_agreement = row.boringssl_differs == nullptr;
    EXPECT_EQ(ours->matched == (boring == 1), expect_agreement)
        << "presented " << row.presented << " reference " << row.reference << " boringssl "
        << boring;
  }
}

TEST(ReadCertificateNames, ReadsSansAndCommonName) {
  testing::TestCertSpec spec;
  spec.dns_names = {"mx1.example.test", "*.example.test"};
  spec.common_name = "cn.example.test";
  const auto cert = testing::MakeTestCert(spec);
  auto names = ReadCertificateNames(cert.der);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(names->dns_names, (std::vector<std::string>{"mx1.example.test", "*.example.test"}));
  EXPECT_EQ(names->subject_common_names, (std::vector<std::string>{"cn.example.test"}));
}

TEST(ReadCertificateNames, RefusesWhatIsNotDer) {
  for (std::string bad : {std::string(), std::string("\x30\x03\x02\x01", 4),
                          std::string("-----BEGIN CERTIFICATE-----")}) {
    auto names = ReadCertificateNames(bad);
    ASSERT_FALSE(names.ok());
    EXPECT_EQ(names.status().code(), absl::StatusCode::kInvalidArgument);
  }
  testing::TestCertSpec spec;
  spec.dns_names = {"mx.test.example"};
  auto der = testing::MakeTestCert(spec).der;
  auto trailing = ReadCertificateNames(der + "x");
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(base::StatusText(trailing.status()).find("trailing"), std::string::npos);
}

TEST(MatchCertificateNames, FirstMatchingReferenceWins) {
  testing::TestCertSpec spec;
  spec.dns_names = {"*.mx.example.test"};
  const auto cert = testing::MakeTestCert(spec);
  auto match = MatchCertificateNames(
      cert.der, {"example.test", "a.mx.example.test", "b.mx.example.test"});
  ASSERT_TRUE(match.ok());
  EXPECT_TRUE(match->matched);
  EXPECT_EQ(match->reference, "a.mx.example.test");
  EXPECT_EQ(match->presented, "*.mx.example.test");
  EXPECT_FALSE(match->via_common_name);
}

TEST(MatchCertificateNames, MismatchSaysWhatWasPresentedAndWanted) {
  testing::TestCertSpec spec;
  spec.dns_names = {"mx.other.test"};
  const auto cert = testing::MakeTestCert(spec);
  auto match = MatchCertificateNames(cert.der, {"mx.example.test"});
  ASSERT_TRUE(match.ok());
  EXPECT_FALSE(match->matched);
  EXPECT_EQ(match->reason, "certificate names \"mx.other.test\"; wanted \"mx.example.test\"");
}

TEST(MatchCertificateNames, CommonNameOnlyUnderTheLeniencyAndOnlyWithoutSans) {
  testing::TestCertSpec cn_only;
  cn_only.common_name = "mx.example.test";
  const auto cert = testing::MakeTestCert(cn_only);
  auto strict = MatchCertificateNames(cert.der, {"mx.example.test"});
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->matched);
  EXPECT_NE(strict->reason.find("CN fallback is off"), std::string::npos) << strict->reason;

  auto lenient = MatchCertificateNames(cert.der, {"mx.example.test"},
                                       {.allow_subject_cn_fallback = true});
  ASSERT_TRUE(lenient.ok());
  EXPECT_TRUE(lenient->matched);
  EXPECT_TRUE(lenient->via_common_name);

  // §6.4.4: with any dNSName present, the CN is not consulted.
  testing::TestCertSpec both;
  both.common_name = "mx.example.test";
  both.dns_names = {"other.example.test"};
  auto with_san = MatchCertificateNames(testing::MakeTestCert(both).der, {"mx.example.test"},
                                        {.allow_subject_cn_fallback = true});
  ASSERT_TRUE(with_san.ok());
  EXPECT_FALSE(with_san->matched);
}

// The factory's variants, as fakemx serves them.
TEST(MatchCertificateNames, FactoryVariantsMatchAsDocumented) {
  tls::CertFactoryOptions options;
  options.hostname = "mx.example.test";
  auto set = tls::CertificateSet::Generate(options);
  ASSERT_TRUE(set.ok()) << set.status();
  struct Row {
    tls::CertVariant variant;
    bool matched;
  };
  for (const Row& row : {Row{tls::CertVariant::kGood, true}, Row{tls::CertVariant::kExpired, true},
                         Row{tls::CertVariant::kWrongHost, false},
                         Row{tls::CertVariant::kWildcard, true},
                         Row{tls::CertVariant::kNoSan, false}}) {
    auto served = set->Get(row.variant);
    ASSERT_TRUE(served.ok());
    auto match = MatchCertificateNames((*served)->leaf_der, {"mx.example.test"});
    ASSERT_TRUE(match.ok());
    EXPECT_EQ(match->matched, row.matched) << tls::CertVariantName(row.variant);
  }
}

}  // namespace
}  // namespace mxkit::policy
