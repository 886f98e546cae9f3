#include "auth/authentication_results_builder.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/authentication_results.h"
#include "gtest/gtest.h"

namespace mxkit::auth {
namespace {

TEST(AuthResBuild, FromSpfDkimAndDmarcResults) {
  AuthResInput in;
  in.authserv_id = "mx.example.net";
  in.spf.push_back({spf::Result::kPass, "mailfrom", "alice@example.com", "ignored for pass"});
  in.spf.push_back({spf::Result::kFail, "helo", "mail.example.com", "helo: -all matched"});
  dkim::SignatureResult sig;
  sig.result = dkim::DkimResult::kPass;
  sig.signature.emplace();
  sig.signature->domain = "example.com";
  sig.signature->selector = "s1";
  sig.signature->identity = "@example.com";
  sig.signature->algorithm = dkim::SignatureAlgorithm::kEd25519Sha256;
  sig.signature->signature = std::string("\xfe\x00\xa2\x8a\xc2", 5) + "morebytes";
  dkim::SignatureResult bad;
  bad.result = dkim::DkimResult::kPermError;
  bad.reason = "no key\tfor selector";
  in.dkim = std::vector<dkim::SignatureResult>{sig, bad};
  dmarc::Evaluation ev;
  ev.result = dmarc::DmarcResult::kPass;
  ev.author_domain = "example.com";
  ev.record.emplace();
  in.dmarc = ev;

  AuthenticationResults ar = BuildAuthenticationResults(in);
  absl::StatusOr<std::string> field = FormatAuthenticationResultsField(ar);
  ASSERT_TRUE(field.ok()) << field.status();
  EXPECT_EQ(*field,
            "Authentication-Results: mx.example.net;\r\n"
            "\tspf=pass smtp.mailfrom=alice@example.com;\r\n"
            "\tspf=fail reason=\"helo: -all matched\" smtp.helo=mail.example.com;\r\n"
            "\tdkim=pass header.d=example.com header.i=@example.com header.s=s1"
            " header.a=ed25519-sha256 header.b=\"/gCiisJt\";\r\n"
            "\tdkim=permerror reason=\"no key for selector\";\r\n"
            "\tdmarc=pass header.from=example.com policy.dmarc=none\r\n");
  // What we generate is strictly valid and parses back to what we built.
  AuthResParseResult back = ParseAuthenticationResults(
      field->substr(std::string("Authentication-Results:").size(),
                    field->size() - std::string("Authentication-Results:").size() - 2));
  ASSERT_TRUE(back.ok()) << back.message;
  EXPECT_EQ(back.value, ar);
}

TEST(AuthResBuild, NothingCheckedIsTheNoneForm) {
  AuthResInput in;
  in.authserv_id = "mx.example.net";
  EXPECT_EQ(*FormatAuthenticationResults(BuildAuthenticationResults(in)), " mx.example.net; none");
  in.dkim.emplace();
  EXPECT_EQ(*FormatAuthenticationResults(BuildAuthenticationResults(in)),
            " mx.example.net;\r\n\tdkim=none");
}

}  // namespace
}  // namespace mxkit::auth
