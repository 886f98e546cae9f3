#include "auth/authentication_results_builder.h"

#include <string>
#include <utility>
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


// FormatBuiltAuthenticationResults is Format(Build(...)) without the value in
// between: the same bytes, or the same error, for every kind of input.
TEST(AuthResBuild, FormattingStraightFromTheInputEqualsBuildThenFormat) {
  auto sig = [](dkim::DkimResult result, std::string domain, std::string identity,
                std::string reason, std::string bytes) {
    dkim::SignatureResult s;
    s.result = result;
    s.reason = std::move(reason);
    s.signature.emplace();
    s.signature->domain = std::move(domain);
    s.signature->selector = "sel";
    s.signature->identity = std::move(identity);
    s.signature->algorithm = dkim::SignatureAlgorithm::kRsaSha256;
    s.signature->signature = std::move(bytes);
    return s;
  };
  std::vector<AuthResInput> rows;
  AuthResInput base;
  base.authserv_id = "mx.example.net";
  rows.push_back(base);  // the none form
  {
    AuthResInput in = base;
    in.authserv_id = "";  // no authserv-id: an error either way
    rows.push_back(in);
    in.spf.push_back({spf::Result::kNone, "mailfrom", "a@b.example", ""});
    rows.push_back(in);  // a result without an authserv-id
  }
  {
    AuthResInput in = base;
    in.authserv_id = "bad id";  // quoted
    in.dkim.emplace();
    rows.push_back(in);
    in.authserv_id = "bad\nid";  // no quoted-string carries it
    rows.push_back(in);
  }
  {
    AuthResInput in = base;
    in.spf.push_back({spf::Result::kTempError, "mailfrom", "perf@example.org",
                      "TXT lookup for example.org failed: REFUSED (RFC 7208 \xc2\xa7" "4.4)"});
    in.spf.push_back({spf::Result::kNone, "helo", "client.example.test", "no \"TXT\" \\ records"});
    in.spf.push_back({spf::Result::kPass, "mailfrom", "", "ignored"});
    in.spf.push_back({spf::Result::kFail, "mailfrom", "odd local@x.example", "ctl\x01" "\x7f\tin it"});
    in.spf.push_back({spf::Result::kSoftFail, "helo", "[192.0.2.1]", ""});
    in.spf.push_back({spf::Result::kNeutral, "mailfrom", "\"q u\"@x.example", "r"});
    in.dkim.emplace();
    dmarc::Evaluation ev;
    ev.result = dmarc::DmarcResult::kPermError;
    ev.reason = "RFC5322.From: the message has no From field";
    in.dmarc = ev;
    rows.push_back(in);
    in.policy_dmarc = false;
    in.dmarc->record.emplace();
    in.dmarc->author_domain = "example.org";
    rows.push_back(in);
    in.policy_dmarc = true;
    in.dmarc->result = dmarc::DmarcResult::kFail;
    in.dmarc->disposition = dmarc::Policy::kReject;
    rows.push_back(in);
    in.dmarc->author_domain = "bad domain";  // a property value quoted
    rows.push_back(in);
  }
  {
    AuthResInput in = base;
    in.dkim = std::vector<dkim::SignatureResult>{
        sig(dkim::DkimResult::kPass, "example.com", "@example.com", "", "0123456789"),
        sig(dkim::DkimResult::kFail, "example.com", "u\x02@example.com", "body hash", "ab"),
        sig(dkim::DkimResult::kNeutral, "", "", "", ""),
        sig(dkim::DkimResult::kPermError, "d\ro.example", "", "x", "abcdef"),  // d= cannot be carried
    };
    dkim::SignatureResult unparsed;
    unparsed.result = dkim::DkimResult::kPermError;
    unparsed.reason = "no d=";
    in.dkim->push_back(unparsed);
    rows.push_back(in);
    in.dkim->erase(in.dkim->begin() + 3);
    rows.push_back(in);
  }
  for (const AuthResInput& in : rows) {
    absl::StatusOr<std::string> want = FormatAuthenticationResults(BuildAuthenticationResults(in));
    absl::StatusOr<std::string> got = FormatBuiltAuthenticationResults(in);
    ASSERT_EQ(got.ok(), want.ok()) << (want.ok() ? *want : want.status().ToString());
    if (want.ok()) {
      EXPECT_EQ(*got, *want);
    } else {
      EXPECT_EQ(got.status(), want.status());
    }
  }
}

// The header.b prefix is the first characters of the whole signature's
// base64, however short the signature.
TEST(AuthResBuild, HeaderBIsThePrefixOfTheWholeSignaturesBase64) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"", ""},  // no header.b
      {"a", "header.b=\"YQ==\""},
      {"abcde", "header.b=\"YWJjZGU=\""},
      {"abcdef", "header.b=YWJjZGVm"},
      {"abcdefghijklmnop", "header.b=YWJjZGVm"},
  };
  for (const auto& [bytes, want] : rows) {
    AuthResInput in;
    in.authserv_id = "mx.example.net";
    dkim::SignatureResult s;
    s.result = dkim::DkimResult::kPass;
    s.signature.emplace();
    s.signature->domain = "example.com";
    s.signature->selector = "s";
    s.signature->signature = bytes;
    in.dkim = std::vector<dkim::SignatureResult>{s};
    absl::StatusOr<std::string> got = FormatBuiltAuthenticationResults(in);
    ASSERT_TRUE(got.ok()) << got.status();
    if (want.empty()) {
      EXPECT_EQ(got->find("header.b"), std::string::npos) << *got;
    } else {
      EXPECT_NE(got->find(want), std::string::npos) << *got;
    }
  }
}

}  // namespace
}  // namespace mxkit::auth
