#include "policy/tls_policy.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tls/cert_factory.h"

namespace mxkit::policy {
namespace {

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 0, 0, 0), absl::UTCTimeZone());
constexpr char kMx[] = "mx.example.test";

class TlsPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tls::CertFactoryOptions options;
    options.hostname = kMx;
    auto set = tls::CertificateSet::Generate(options);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new tls::CertificateSet(std::move(*set));
  }
  static void TearDownTestSuite() { delete set_; }

  // A hop that completed STARTTLS with `variant`'s chain, checked against
  // the factory's root.
  static HopObservation TlsHop(tls::CertVariant variant) {
    HopObservation hop;
    hop.mx_host = kMx;
    hop.starttls_offered = hop.starttls_accepted = hop.handshake_ok = true;
    hop.tls_version = "TLSv1.3";
    hop.cipher = "TLS_AES_128_GCM_SHA256";
    auto served = set_->Get(variant);
    EXPECT_TRUE(served.ok());
    hop.chain_der = *PemCertificatesToDer((*served)->chain_pem);
    hop.chain_verification = VerifyChainToRoots(hop.chain_der, set_->root_pem(), kNow);
    hop.now = kNow;
    return hop;
  }
  static HopObservation PlainHop() {
    HopObservation hop;
    hop.mx_host = kMx;
    hop.now = kNow;
    return hop;
  }
  static StsPolicy Sts(StsMode mode, std::vector<std::string> mx) {
    StsPolicy policy;
    policy.mode = mode;
    policy.max_age = 86400;
    policy.mx = std::move(mx);
    return policy;
  }
  static void WithSts(HopObservation& hop, StsPolicy policy) {
    hop.mta_sts.state = MtaStsObservation::State::kPolicy;
    hop.mta_sts.policy = std::move(policy);
  }
  static void WithTlsa(HopObservation& hop, TlsaLookup lookup, std::vector<TlsaRecord> records) {
    hop.tlsa_lookup = lookup;
    hop.tlsa_records = std::move(records);
  }
  static TlsaRecord EeRecord(tls::CertVariant variant) {
    auto served = set_->Get(variant);
    EXPECT_TRUE(served.ok());
    return TlsaRecord{3, 1, 1, *TlsaAssociationData((*served)->leaf_der, 1, 1)};
  }

  static tls::CertificateSet* set_;
};
tls::CertificateSet* TlsPolicyTest::set_ = nullptr;

struct Expect {
  SenderPolicy policy;
  bool deliver;
  bool encrypted;
  bool authenticated;
  std::optional<TlsResultType> failure;
};

void Check(const HopObservation& hop, const std::vector<Expect>& rows, const char* scenario) {
  for (const Expect& row : rows) {
    const PolicyVerdict v = EvaluatePolicy(row.policy, hop);
    SCOPED_TRACE(::testing::Message() << scenario << " / " << SenderPolicyName(row.policy) << ": "
                                      << v.reason);
    EXPECT_EQ(v.policy, row.policy);
    EXPECT_EQ(v.deliver, row.deliver);
    EXPECT_EQ(v.encrypted, row.encrypted);
    EXPECT_EQ(v.authenticated, row.authenticated);
    EXPECT_EQ(v.failure, row.failure);
    EXPECT_FALSE(v.reason.empty());
  }
}

using P = SenderPolicy;
using R = TlsResultType;

TEST_F(TlsPolicyTest, NoStarttlsIsClearTextOrRefused) {
  Check(PlainHop(),
        {{P::kNone, true, false, false, std::nullopt},
         {P::kMay, true, false, false, R::kStarttlsNotSupported},
         {P::kEncrypt, false, false, false, R::kStarttlsNotSupported},
         {P::kVerify, false, false, false, R::kStarttlsNotSupported},
         {P::kMtaSts, true, false, false, R::kStarttlsNotSupported},
         {P::kDane, true, false, false, R::kStarttlsNotSupported},
         {P::kDaneOnly, false, false, false, R::kDaneRequired}},
        "no STARTTLS");
}

TEST_F(TlsPolicyTest, GoodCertificatePassesEveryPolicyThatChecks) {
  Check(TlsHop(tls::CertVariant::kGood),
        {{P::kNone, true, false, false, std::nullopt},
         {P::kMay, true, true, false, std::nullopt},
         {P::kEncrypt, true, true, false, std::nullopt},
         {P::kVerify, true, true, true, std::nullopt},
         {P::kMtaSts, true, true, false, std::nullopt},
         {P::kDane, true, true, false, std::nullopt}},
        "good");
}

TEST_F(TlsPolicyTest, ExpiredFailsVerifyButStaysEncryptedUnderMay) {
  Check(TlsHop(tls::CertVariant::kExpired),
        {{P::kMay, true, true, false, std::nullopt},
         {P::kEncrypt, true, true, false, std::nullopt},
         {P::kVerify, false, false, false, R::kCertificateExpired}},
        "expired");
  Check(TlsHop(tls::CertVariant::kWrongHost),
        {{P::kVerify, false, false, false, R::kCertificateHostMismatch}}, "wrong-host");
  Check(TlsHop(tls::CertVariant::kUnknownCa),
        {{P::kVerify, false, false, false, R::kCertificateNotTrusted}}, "unknown-ca");
  Check(TlsHop(tls::CertVariant::kWildcard), {{P::kVerify, true, true, true, std::nullopt}},
        "wildcard");
}

TEST_F(TlsPolicyTest, UncheckedChainCannotPassVerify) {
  HopObservation hop = TlsHop(tls::CertVariant::kGood);
  hop.chain_verification.reset();
  Check(hop, {{P::kVerify, false, false, false, R::kValidationFailure}}, "unchecked");
}

TEST_F(TlsPolicyTest, FailedHandshakeFallsBackUnderMayOnly) {
  HopObservation hop = PlainHop();
  hop.starttls_offered = hop.starttls_accepted = true;
  hop.handshake_error = "handshake failed: NO_SHARED_CIPHER";
  Check(hop,
        {{P::kMay, true, false, false, R::kValidationFailure},
         {P::kEncrypt, false, false, false, R::kValidationFailure}},
        "handshake failed");
  hop.starttls_accepted = false;
  Check(hop, {{P::kEncrypt, false, false, false, R::kStarttlsNotSupported}}, "STARTTLS refused");
}

TEST_F(TlsPolicyTest, MtaStsEnforceRefusesAnMxOutsideThePolicy) {
  HopObservation hop = TlsHop(tls::CertVariant::kGood);
  WithSts(hop, Sts(StsMode::kEnforce, {"*.other.test"}));
  Check(hop, {{P::kMtaSts, false, false, false, R::kValidationFailure}}, "enforce, MX outside");
  WithSts(hop, Sts(StsMode::kTesting, {"*.other.test"}));
  Check(hop, {{P::kMtaSts, true, true, false, R::kValidationFailure}}, "testing, MX outside");
  WithSts(hop, Sts(StsMode::kEnforce, {"*.example.test"}));
  Check(hop, {{P::kMtaSts, true, true, true, std::nullopt}}, "enforce, MX inside");
  WithSts(hop, Sts(StsMode::kNone, {}));
  Check(hop, {{P::kMtaSts, true, true, false, std::nullopt}}, "mode none");
}

TEST_F(TlsPolicyTest, MtaStsEnforceNeedsTlsAndPkix) {
  HopObservation expired = TlsHop(tls::CertVariant::kExpired);
  WithSts(expired, Sts(StsMode::kEnforce, {kMx}));
  Check(expired, {{P::kMtaSts, false, false, false, R::kCertificateExpired}}, "enforce, expired");
  HopObservation plain = PlainHop();
  WithSts(plain, Sts(StsMode::kEnforce, {kMx}));
  Check(plain, {{P::kMtaSts, false, false, false, R::kStarttlsNotSupported}}, "enforce, no TLS");
  WithSts(plain, Sts(StsMode::kTesting, {kMx}));
  Check(plain, {{P::kMtaSts, true, false, false, R::kStarttlsNotSupported}}, "testing, no TLS");
}

TEST_F(TlsPolicyTest, MtaStsFetchFailureDeliversAndReports) {
  HopObservation hop = TlsHop(tls::CertVariant::kGood);
  hop.mta_sts.state = MtaStsObservation::State::kFailed;
  hop.mta_sts.failure = R::kStsWebpkiInvalid;
  hop.mta_sts.detail = "certificate has expired";
  Check(hop, {{P::kMtaSts, true, true, false, R::kStsWebpkiInvalid}}, "fetch failed");
}

TEST_F(TlsPolicyTest, TlsaMismatchRefusesUnderDaneOnlyWhenAuthenticated) {
  HopObservation hop = TlsHop(tls::CertVariant::kGood);
  WithTlsa(hop, TlsaLookup::kAuthenticated, {EeRecord(tls::CertVariant::kRsa2048)});
  Check(hop,
        {{P::kDane, false, false, false, R::kTlsaInvalid},
         {P::kDaneOnly, false, false, false, R::kTlsaInvalid},
         {P::kMay, true, true, false, std::nullopt}},
        "TLSA mismatch with AD");
  WithTlsa(hop, TlsaLookup::kUnauthenticated, {EeRecord(tls::CertVariant::kRsa2048)});
  Check(hop,
        {{P::kDane, true, true, false, std::nullopt},
         {P::kDaneOnly, false, false, false, R::kDaneRequired}},
        "TLSA mismatch without AD");
  WithTlsa(hop, TlsaLookup::kAuthenticated, {EeRecord(tls::CertVariant::kGood)});
  Check(hop,
        {{P::kDane, true, true, true, std::nullopt}, {P::kDaneOnly, true, true, true, std::nullopt}},
        "TLSA match with AD");
  WithTlsa(hop, TlsaLookup::kFailed, {});
  Check(hop, {{P::kDane, false, false, false, R::kDnssecInvalid}}, "TLSA lookup failed");
}

TEST_F(TlsPolicyTest, UsableTlsaMakesTlsMandatory) {
  HopObservation hop = PlainHop();
  WithTlsa(hop, TlsaLookup::kAuthenticated, {EeRecord(tls::CertVariant::kGood)});
  Check(hop, {{P::kDane, false, false, false, R::kStarttlsNotSupported}}, "usable TLSA, no TLS");
  // All records unusable: still TLS, unauthenticated (RFC 7672 §2.2).
  WithTlsa(hop, TlsaLookup::kAuthenticated, {TlsaRecord{1, 1, 1, std::string(32, 'x')}});
  Check(hop, {{P::kDane, false, false, false, R::kStarttlsNotSupported}}, "unusable, no TLS");
  HopObservation tls_hop = TlsHop(tls::CertVariant::kExpired);
  WithTlsa(tls_hop, TlsaLookup::kAuthenticated, {TlsaRecord{1, 1, 1, std::string(32, 'x')}});
  Check(tls_hop,
        {{P::kDane, true, true, false, std::nullopt},
         {P::kDaneOnly, false, false, false, R::kDaneRequired}},
        "unusable, TLS");
}

TEST_F(TlsPolicyTest, DaneTaUsesTheTlsaBaseDomainAndTheMxName) {
  HopObservation hop = TlsHop(tls::CertVariant::kGood);
  const TlsaRecord ta{2, 1, 1, *TlsaAssociationData(hop.chain_der[1], 1, 1)};
  WithTlsa(hop, TlsaLookup::kAuthenticated, {ta});
  hop.tlsa_base_domain = "mx.cname-target.test";
  Check(hop, {{P::kDane, true, true, true, std::nullopt}}, "base domain differs, MX matches");
  hop.mx_host = "alias.example.test";
  Check(hop, {{P::kDane, false, false, false, R::kCertificateHostMismatch}}, "neither name");
}

TEST(SenderPolicy, NamesRoundTripAndUnknownIsAnError) {
  const std::vector<std::string> names = {"none",    "may",  "encrypt",  "verify",
                                          "mta-sts", "dane", "dane-only"};
  ASSERT_EQ(AllSenderPolicies().size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(SenderPolicyName(AllSenderPolicies()[i]), names[i]);
    auto parsed = ParseSenderPolicy(names[i]);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, AllSenderPolicies()[i]);
  }
  EXPECT_FALSE(ParseSenderPolicy("Verify").ok());
  EXPECT_FALSE(ParseSenderPolicy("").ok());
}

TEST_F(TlsPolicyTest, EvaluateAllIsEveryPolicyInOrder) {
  const auto verdicts = EvaluateAllPolicies(TlsHop(tls::CertVariant::kGood));
  ASSERT_EQ(verdicts.size(), AllSenderPolicies().size());
  for (size_t i = 0; i < verdicts.size(); ++i) {
    EXPECT_EQ(verdicts[i].policy, AllSenderPolicies()[i]);
  }
}

}  // namespace
}  // namespace mxkit::policy
