#include "policy/dane.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "base/absl_interop.h"
#include "gtest/gtest.h"
#include "policy/chain.h"
#include "policy/internal/test_cert.h"
#include "testing/conformance.h"
#include "tls/cert_factory.h"

namespace mxkit::policy {
namespace {

const tls::CertificateSet& Set() { return testing::FactorySet(); }

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 0, 0, 0), absl::UTCTimeZone());

TEST(ParseTlsaRdata, ChecksLengthsAgainstTheMatchingType) {
  struct Row {
    std::string rdata;
    bool ok;
    const char* error_part;
  };
  const std::string h32(32, '\xab'), h64(64, '\xcd');
  const Row rows[] = {
      {std::string("\x03\x01\x01", 3) + h32, true, nullptr},
      {std::string("\x02\x00\x02", 3) + h64, true, nullptr},
      {std::string("\x03\x00\x00", 3) + "anything", true, nullptr},
      {std::string("\x07\x09\x09", 3) + "x", true, nullptr},  // unknown values parse
      {std::string("\x03\x01\x01", 3) + h64, false, "needs 32 octets"},
      {std::string("\x03\x01\x02", 3) + h32, false, "needs 64 octets"},
      {std::string("\x03\x01\x01", 3) + h32.substr(1), false, "got 31"},
      {std::string("\x03\x01\x00", 3), false, "empty"},
      {std::string("\x03\x01", 2), false, "shorter"},
      {std::string(), false, "shorter"},
      {std::string("\x03\x00\x00", 3) + std::string(kMaxTlsaRdataSize, 'x'), false, "exceeds"},
  };
  for (const Row& row : rows) {
    auto record = ParseTlsaRdata(row.rdata);
    ASSERT_EQ(record.ok(), row.ok) << absl::BytesToHexString(row.rdata.substr(0, 8)) << " "
                                   << record.status();
    if (row.ok) {
      EXPECT_EQ(SerializeTlsaRdata(*record), row.rdata);
      auto from_dns = TlsaRecordFromDns(
          dns::TlsaData{record->usage, record->selector, record->matching_type, record->data});
      ASSERT_TRUE(from_dns.ok());
      EXPECT_EQ(*from_dns, *record);
    } else {
      EXPECT_NE(base::StatusText(record.status()).find(row.error_part), std::string::npos)
          << record.status();
    }
  }
}

TEST(TlsaRecordToString, IsPresentationFormat) {
  EXPECT_EQ(TlsaRecordToString(TlsaRecord{3, 1, 1, std::string("\x01\xab", 2)}), "3 1 1 01ab");
}

TEST(TlsaUnusableReason, PkixUsagesAndUnknownValuesAreUnusableForSmtp) {
  const std::string h32(32, 'x');
  EXPECT_EQ(TlsaUnusableReason({3, 1, 1, h32}), std::nullopt);
  EXPECT_EQ(TlsaUnusableReason({2, 0, 0, "der"}), std::nullopt);
  for (const TlsaRecord& r : {TlsaRecord{0, 1, 1, h32}, TlsaRecord{1, 1, 1, h32},
                              TlsaRecord{4, 1, 1, h32}, TlsaRecord{3, 2, 1, h32},
                              TlsaRecord{3, 1, 3, h32}, TlsaRecord{3, 1, 1, "short"}}) {
    EXPECT_NE(TlsaUnusableReason(r), std::nullopt) << TlsaRecordToString(r);
  }
  EXPECT_NE(TlsaUnusableReason({1, 1, 1, h32})->find("RFC 7672 §3.1.3"), std::string::npos);
}

class DaneTest : public ::testing::Test {
 protected:
  static std::vector<std::string> Chain(tls::CertVariant variant) {
    return testing::FactoryChainDer(variant);
  }
  static std::string RootDer() { return PemCertificatesToDer(Set().root_pem())->front(); }
  static TlsaRecord Record(uint8_t usage, uint8_t selector, uint8_t matching,
                           const std::string& cert_der) {
    auto data = TlsaAssociationData(cert_der, selector, matching);
    EXPECT_TRUE(data.ok()) << data.status();
    return TlsaRecord{usage, selector, matching, *data};
  }
  static DaneInput Input(std::vector<TlsaRecord> records, std::vector<std::string> chain,
                         TlsaLookup lookup = TlsaLookup::kAuthenticated) {
    DaneInput input;
    input.lookup = lookup;
    input.records = std::move(records);
    input.chain_der = std::move(chain);
    input.reference_names = {"mx.example.test"};
    input.now = kNow;
    return input;
  }

};

TEST_F(DaneTest, DaneEeMatchesTheLeafForEverySelectorAndMatchingType) {
  const auto chain = Chain(tls::CertVariant::kGood);
  for (uint8_t selector : {0, 1}) {
    for (uint8_t matching : {0, 1, 2}) {
      const DaneVerdict v = EvaluateDane(Input({Record(3, selector, matching, chain[0])}, chain));
      EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMatch) << int(selector) << int(matching)
                                                         << ": " << v.reason;
      EXPECT_EQ(v.matched_record, 0u);
      EXPECT_EQ(v.failure, std::nullopt);
    }
  }
}

TEST_F(DaneTest, DaneEeIgnoresNamesAndDates) {
  // RFC 7672 §3.1.1.
  for (tls::CertVariant variant : {tls::CertVariant::kExpired, tls::CertVariant::kWrongHost,
                                   tls::CertVariant::kSelfSigned, tls::CertVariant::kUnknownCa}) {
    const auto chain = Chain(variant);
    const DaneVerdict v = EvaluateDane(Input({Record(3, 1, 1, chain[0])}, chain));
    EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMatch) << tls::CertVariantName(variant) << ": "
                                                       << v.reason;
  }
}

TEST_F(DaneTest, DaneTaMatchesAnAnchorInOrBeyondTheChain) {
  const auto chain = Chain(tls::CertVariant::kGood);
  struct Row {
    TlsaRecord record;
    const char* reason_part;
  };
  const Row rows[] = {
      {Record(2, 0, 1, chain[1]), "depth 1"},   // the intermediate, by certificate
      {Record(2, 1, 1, chain[1]), "depth 1"},   // the intermediate, by key
      {Record(2, 1, 2, chain[1]), "depth 1"},
      {Record(2, 0, 0, RootDer()), "depth 2"},  // the root, not served: a full record
  };
  for (const Row& row : rows) {
    const DaneVerdict v = EvaluateDane(Input({row.record}, chain));
    EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMatch) << TlsaRecordToString(row.record).substr(0, 8)
                                                       << ": " << v.reason;
    EXPECT_NE(v.reason.find(row.reason_part), std::string::npos) << v.reason;
  }
  // A digest of the root cannot stand in for a root the server does not send.
  const DaneVerdict digest_of_absent = EvaluateDane(Input({Record(2, 0, 1, RootDer())}, chain));
  EXPECT_EQ(digest_of_absent.outcome, DaneVerdict::Outcome::kMismatch);
  EXPECT_EQ(digest_of_absent.failure, TlsResultType::kTlsaInvalid);
}

TEST_F(DaneTest, DaneTaChecksNamesAndDatesOfTheChain) {
  // RFC 7672 §3.1.2 and §3.2: the name and the chain count under DANE-TA.
  const auto wrong = Chain(tls::CertVariant::kWrongHost);
  DaneVerdict v = EvaluateDane(Input({Record(2, 1, 1, wrong[1])}, wrong));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMismatch);
  EXPECT_EQ(v.failure, TlsResultType::kCertificateHostMismatch) << v.reason;

  const auto expired = Chain(tls::CertVariant::kExpired);
  v = EvaluateDane(Input({Record(2, 1, 1, expired[1])}, expired));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMismatch);
  EXPECT_EQ(v.failure, TlsResultType::kCertificateExpired) << v.reason;

  // Either reference name will do (TLSA base domain or MX host name, §3.2.3).
  DaneInput input = Input({Record(2, 1, 1, wrong[1])}, wrong);
  input.reference_names = {"mx.example.test", "wrong-host.invalid"};
  EXPECT_EQ(EvaluateDane(input).outcome, DaneVerdict::Outcome::kMatch);
}

TEST_F(DaneTest, NoMatchingRecordIsTlsaInvalid) {
  const auto chain = Chain(tls::CertVariant::kGood);
  const auto other = Chain(tls::CertVariant::kRsa2048);
  const DaneVerdict v = EvaluateDane(
      Input({Record(3, 1, 1, other[0]), Record(2, 0, 1, chain[0] + "x")}, chain));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMismatch);
  EXPECT_EQ(v.failure, TlsResultType::kTlsaInvalid);
  EXPECT_EQ(v.usable_records, 2u);
  const DaneVerdict no_chain = EvaluateDane(Input({Record(3, 1, 1, chain[0])}, {}));
  EXPECT_EQ(no_chain.outcome, DaneVerdict::Outcome::kMismatch);
  EXPECT_EQ(no_chain.failure, TlsResultType::kTlsaInvalid);
}

TEST_F(DaneTest, OnlyAuthenticatedRecordsApply) {
  const auto chain = Chain(tls::CertVariant::kGood);
  const auto other = Chain(tls::CertVariant::kRsa2048);
  // A mismatching record that is not authenticated is ignored (RFC 7672 §2.2).
  DaneVerdict v =
      EvaluateDane(Input({Record(3, 1, 1, other[0])}, chain, TlsaLookup::kUnauthenticated));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kNotApplicable);
  EXPECT_FALSE(v.tls_required);
  EXPECT_EQ(v.failure, std::nullopt);
  v = EvaluateDane(Input({}, chain, TlsaLookup::kNoRecords));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kNotApplicable);
  v = EvaluateDane(Input({}, chain, TlsaLookup::kFailed));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kLookupFailed);
  EXPECT_EQ(v.failure, TlsResultType::kDnssecInvalid);
}

TEST_F(DaneTest, AllUnusableRequiresTlsWithoutAuthentication) {
  const auto chain = Chain(tls::CertVariant::kGood);
  const DaneVerdict v = EvaluateDane(
      Input({Record(1, 1, 1, chain[0]), Record(0, 0, 1, chain[1])}, chain));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kNotApplicable);
  EXPECT_TRUE(v.tls_required);
  EXPECT_EQ(v.usable_records, 0u);
  EXPECT_NE(v.reason.find("unusable"), std::string::npos) << v.reason;
}

TEST_F(DaneTest, AnyUsableMatchWinsOverUnusableAndMismatchingRecords) {
  const auto chain = Chain(tls::CertVariant::kGood);
  const auto other = Chain(tls::CertVariant::kRsa2048);
  const DaneVerdict v = EvaluateDane(Input(
      {Record(1, 1, 1, chain[0]), Record(3, 1, 1, other[0]), Record(3, 1, 2, chain[0])}, chain));
  EXPECT_EQ(v.outcome, DaneVerdict::Outcome::kMatch);
  EXPECT_EQ(v.matched_record, 2u);
  EXPECT_EQ(v.usable_records, 2u);
}

std::string RunShell(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  pclose(pipe);
  return output;
}

// Our association data against the openssl CLI's (Debian's openssl, the
// pipeline RFC 6698 §A.1 / RFC 7671 practice uses to make TLSA records).
TEST_F(DaneTest, AssociationDataAgreesWithOpensslCli) {
  if (access("/usr/bin/openssl", X_OK) != 0) {
    MXKIT_SKIP_OR_FAIL("/usr/bin/openssl (Debian's openssl) to compute TLSA digests");
  }
  auto served = Set().Get(tls::CertVariant::kRsa2048);
  ASSERT_TRUE(served.ok());
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string pem = std::string(tmp != nullptr ? tmp : "/tmp") + "/dane-leaf.pem";
  {
    std::ofstream out(pem, std::ios::trunc);
    out << (*served)->chain_pem;  // openssl x509 reads the first block, the leaf
  }
  struct Row {
    uint8_t selector, matching;
    std::string command;
  };
  const std::string spki = "openssl x509 -in " + pem + " -noout -pubkey | openssl pkey -pubin -outform DER";
  const std::string cert = "openssl x509 -in " + pem + " -outform DER";
  const Row rows[] = {
      {1, 1, spki + " | openssl dgst -sha256 -hex"},
      {1, 2, spki + " | openssl dgst -sha512 -hex"},
      {0, 1, cert + " | openssl dgst -sha256 -hex"},
      {0, 2, cert + " | openssl dgst -sha512 -hex"},
  };
  const std::string leaf = (*served)->leaf_der;
  for (const Row& row : rows) {
    const std::string output = RunShell(row.command);
    const size_t eq = output.rfind("= ");
    ASSERT_NE(eq, std::string::npos) << row.command << ": " << output;
    std::string hex = output.substr(eq + 2);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    auto ours = TlsaAssociationData(leaf, row.selector, row.matching);
    ASSERT_TRUE(ours.ok());
    EXPECT_EQ(absl::BytesToHexString(*ours), hex) << row.command;
  }
}

TEST(TlsaAssociationData, RefusesUnknownValuesAndBadDer) {
  EXPECT_FALSE(TlsaAssociationData("x", 2, 0).ok());
  EXPECT_FALSE(TlsaAssociationData("x", 0, 3).ok());
  EXPECT_FALSE(TlsaAssociationData("not der", 1, 1).ok());
  auto full = TlsaAssociationData("anything", 0, 0);  // selector 0: the bytes as served
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, "anything");
}

}  // namespace
}  // namespace mxkit::policy
