#include "tls/x509_der.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tls/cert_factory.h"

namespace mxkit::tls {
namespace {

CertificateSet Certificates() {
  CertFactoryOptions options;
  options.hostname = "mx.test";
  return *CertificateSet::Generate(options, {CertVariant::kGood});
}

TEST(ParseCertificateDer, ParsesOneCertificateAndRefusesAnythingElse) {
  const CertificateSet set = Certificates();
  const std::string der = (*set.Get(CertVariant::kGood))->leaf_der;
  absl::StatusOr<bssl::UniquePtr<X509>> cert = ParseCertificateDer(der);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_NE(cert->get(), nullptr);

  struct Row {
    std::string input;
    const char* error_part;
  };
  const Row rows[] = {
      {"", "not a DER certificate"},
      {"not der", "not a DER certificate"},
      {der.substr(0, der.size() - 1), "not a DER certificate"},
      {der + "x", "trailing bytes after the DER certificate"},
      {der + der, "trailing bytes after the DER certificate"},
  };
  for (const Row& row : rows) {
    absl::StatusOr<bssl::UniquePtr<X509>> r = ParseCertificateDer(row.input);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(r.status().message(), row.error_part)) << r.status();
    EXPECT_EQ(ERR_peek_error(), 0u);  // the queue is left empty
  }
}

}  // namespace
}  // namespace mxkit::tls
