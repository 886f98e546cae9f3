#include "policy/tls_report_types.h"

#include <set>
#include <string>

#include "base/absl_interop.h"
#include "gtest/gtest.h"

namespace mxkit::policy {
namespace {

TEST(TlsResultType, NamesAreRfc8460Section43Names) {
  struct Row {
    TlsResultType type;
    const char* name;
  };
  const Row rows[] = {
      {TlsResultType::kStarttlsNotSupported, "starttls-not-supported"},
      {TlsResultType::kCertificateHostMismatch, "certificate-host-mismatch"},
      {TlsResultType::kCertificateExpired, "certificate-expired"},
      {TlsResultType::kCertificateNotTrusted, "certificate-not-trusted"},
      {TlsResultType::kValidationFailure, "validation-failure"},
      {TlsResultType::kTlsaInvalid, "tlsa-invalid"},
      {TlsResultType::kDnssecInvalid, "dnssec-invalid"},
      {TlsResultType::kDaneRequired, "dane-required"},
      {TlsResultType::kStsPolicyFetchError, "sts-policy-fetch-error"},
      {TlsResultType::kStsPolicyInvalid, "sts-policy-invalid"},
      {TlsResultType::kStsWebpkiInvalid, "sts-webpki-invalid"},
  };
  ASSERT_EQ(AllTlsResultTypes().size(), std::size(rows));
  for (const Row& row : rows) {
    EXPECT_EQ(TlsResultTypeName(row.type), row.name);
    auto parsed = ParseTlsResultType(row.name);
    ASSERT_TRUE(parsed.ok()) << row.name;
    EXPECT_EQ(*parsed, row.type);
  }
}

TEST(TlsResultType, EveryTypeRoundTripsAndNamesAreDistinct) {
  std::set<std::string> names;
  for (TlsResultType type : AllTlsResultTypes()) {
    auto parsed = ParseTlsResultType(TlsResultTypeName(type));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, type);
    names.insert(std::string(TlsResultTypeName(type)));
  }
  EXPECT_EQ(names.size(), AllTlsResultTypes().size());
}

TEST(TlsResultType, ParseIsExactAndCaseSensitive) {
  for (const char* bad : {"", "STARTTLS-NOT-SUPPORTED", "certificate-expired ",
                          "certificate_expired", "sts-policy-fetch", "x\n"}) {
    auto parsed = ParseTlsResultType(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
  }
}

TEST(TlsResultType, ParseErrorQuotesInputAndListsNames) {
  auto parsed = ParseTlsResultType("bogus\x01");
  ASSERT_FALSE(parsed.ok());
  const std::string message = base::StatusText(parsed.status());
  EXPECT_NE(message.find("\"bogus\\x01\""), std::string::npos) << message;
  EXPECT_NE(message.find("sts-webpki-invalid"), std::string::npos) << message;
}

}  // namespace
}  // namespace mxkit::policy
