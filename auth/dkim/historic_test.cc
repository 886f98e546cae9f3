// The historic corpus (testdata/historic, made by dkimpy with openssl keys):
// rsa-sha1 and short-key signatures are `policy` by default, with the reason,
// and pass once the caller opts in; a tampered copy then fails.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dkim/verifier.h"
#include "dns/static_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

constexpr char kDir[] = "auth/dkim/testdata/historic/";
// After every t= in the corpus; no signature has x=.
constexpr int64_t kNow = 1800000000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class HistoricTest : public ::testing::Test {
 protected:
  HistoricTest() {
    absl::Status s = resolver_.LoadZone(ReadFile(std::string(kDir) + "historic.zone"),
                                        "historic.zone");
    EXPECT_TRUE(s.ok()) << s;
  }

  SignatureResult VerifyOnly(const std::string& message, const VerifierOptions& options) {
    absl::StatusOr<Verifier> verifier = Verifier::Create(&resolver_, options);
    EXPECT_TRUE(verifier.ok()) << verifier.status();
    if (!verifier.ok()) return {};
    auto results = verifier->VerifyMessage(message, kNow);
    EXPECT_TRUE(results.ok()) << results.status();
    if (!results.ok() || results->size() != 1) {
      ADD_FAILURE() << "want exactly one signature result";
      return {};
    }
    return (*results)[0];
  }

  dns::StaticResolver resolver_;
};

VerifierOptions Options(bool allow_rsa_sha1, unsigned min_rsa_bits) {
  VerifierOptions o;
  o.allow_rsa_sha1 = allow_rsa_sha1;
  o.min_rsa_bits = min_rsa_bits;
  return o;
}

struct CorpusRow {
  std::string file;
  std::string algorithm;
  unsigned key_bits;
  // Keyword and a part of the reason under: the defaults; allow_rsa_sha1
  // alone; min_rsa_bits=512 alone; both.
  std::string by_default, by_default_reason;
  std::string sha1_allowed, sha1_allowed_reason;
  std::string min_512, min_512_reason;
  std::string both;
};

const std::vector<CorpusRow>& Corpus() {
  static const auto* rows = new std::vector<CorpusRow>{
      {"sha1-1024.eml", "rsa-sha1", 1024,
       "policy", "rsa-sha1 refused: RFC 8301 §3.1",
       "pass", "verified",
       "policy", "rsa-sha1 refused",
       "pass"},
      {"sha1-2048.eml", "rsa-sha1", 2048,
       "policy", "rsa-sha1 refused",
       "pass", "verified",
       "policy", "rsa-sha1 refused",
       "pass"},
      {"sha256-512.eml", "rsa-sha256", 512,
       "policy", "RSA key of 512 bits below the 1024-bit minimum, RFC 8301 §3.2",
       "policy", "RSA key of 512 bits below the 1024-bit minimum",
       "pass", "verified",
       "pass"},
      {"sha256-768.eml", "rsa-sha256", 768,
       "policy", "RSA key of 768 bits below the 1024-bit minimum, RFC 8301 §3.2",
       "policy", "RSA key of 768 bits below",
       "pass", "verified",
       "pass"},
      {"sha1-768.eml", "rsa-sha1", 768,
       "policy", "rsa-sha1 refused: RFC 8301 §3.1; RSA key of 768 bits below the 1024-bit minimum",
       "policy", "RSA key of 768 bits below",
       "policy", "rsa-sha1 refused",
       "pass"},
  };
  return *rows;
}

TEST_F(HistoricTest, RefusedByDefaultAndEvaluatedOnlyUnderTheMatchingOptIn) {
  for (const CorpusRow& row : Corpus()) {
    const std::string message = ReadFile(kDir + row.file);
    struct Column {
      const char* name;
      VerifierOptions options;
      const std::string& keyword;
      std::string reason;
    };
    const std::vector<Column> columns = {
        {"default", VerifierOptions{}, row.by_default, row.by_default_reason},
        {"allow_rsa_sha1", Options(true, kMinRsaKeyBits), row.sha1_allowed,
         row.sha1_allowed_reason},
        {"min_rsa_bits=512", Options(false, 512), row.min_512, row.min_512_reason},
        {"both", Options(true, 512), row.both, "verified"},
    };
    for (const Column& c : columns) {
      SignatureResult r = VerifyOnly(message, c.options);
      EXPECT_EQ(DkimResultKeyword(r.result), c.keyword) << row.file << " " << c.name << ": "
                                                        << r.reason;
      EXPECT_NE(r.reason.find(c.reason), std::string::npos)
          << row.file << " " << c.name << ": " << r.reason;
      ASSERT_TRUE(r.signature.has_value()) << row.file;
      EXPECT_EQ(SignatureAlgorithmName(r.signature->algorithm), row.algorithm) << row.file;
      EXPECT_EQ(r.signature->domain, "archive.example") << row.file;
      EXPECT_EQ(r.key_bits, row.key_bits) << row.file << " " << c.name;
    }
  }
}

// With the opt-ins the signatures are really checked: a changed body fails
// on bh=, a changed signed header on b=.
TEST_F(HistoricTest, TamperedCopiesFailUnderTheOptIns) {
  for (const CorpusRow& row : Corpus()) {
    const std::string message = ReadFile(kDir + row.file);
    const std::size_t body = message.find("\r\n\r\n") + 4;
    ASSERT_LT(body, message.size()) << row.file;

    std::string body_changed = message;
    body_changed.insert(body, "P.S. added in transit.\r\n");
    SignatureResult r = VerifyOnly(body_changed, Options(true, 512));
    EXPECT_EQ(r.result, DkimResult::kFail) << row.file << ": " << r.reason;
    EXPECT_NE(r.reason.find("body hash did not verify"), std::string::npos)
        << row.file << ": " << r.reason;

    std::string subject_changed = message;
    const std::size_t subject = subject_changed.find("\r\nSubject: ") + 11;
    subject_changed.insert(subject, "Fwd: ");
    r = VerifyOnly(subject_changed, Options(true, 512));
    EXPECT_EQ(r.result, DkimResult::kFail) << row.file << ": " << r.reason;
    EXPECT_NE(r.reason.find("signature did not verify"), std::string::npos)
        << row.file << ": " << r.reason;

    // Without the opt-ins the tampering is never looked at: still policy.
    EXPECT_EQ(VerifyOnly(body_changed, VerifierOptions{}).result, DkimResult::kPolicy)
        << row.file;
  }
}

}  // namespace
}  // namespace mxkit::auth::dkim
