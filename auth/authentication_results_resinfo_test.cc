#include "auth/authentication_results_resinfo.h"

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "auth/authentication_results.h"
#include "gtest/gtest.h"

namespace mxkit::auth {
namespace {

std::string Finished(AuthResWriter&& w) {
  absl::StatusOr<std::string> body = std::move(w).Finish();
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : "";
}

TEST(HeaderBPrefix, IsTheFirstEightCharactersOfTheWholeBase64) {
  const std::pair<std::string, std::string> rows[] = {
      {"", ""},          {"a", "YQ=="},           {"abcde", "YWJjZGU="},
      {"abcdef", "YWJjZGVm"}, {"abcdefg", "YWJjZGVm"}, {"abcdefghijklmnop", "YWJjZGVm"},
  };
  for (const auto& [bytes, want] : rows) EXPECT_EQ(HeaderBPrefix(bytes), want) << bytes;
}

TEST(AuthResResinfo, ReasonOnlyForResultsOtherThanPassWithControlsAsSpaces) {
  AuthResWriter w("mx.example.net");
  WriteSpfResinfo(w, "pass", "a pass's reason", "mailfrom", "a@example.com");
  WriteSpfResinfo(w, "fail", "helo:\t-all", "helo", "");
  WriteDmarcResinfo(w, "fail", "", "example.com", std::nullopt);
  EXPECT_EQ(Finished(std::move(w)),
            " mx.example.net;\r\n\tspf=pass smtp.mailfrom=a@example.com;\r\n"
            "\tspf=fail reason=\"helo: -all\";\r\n\tdmarc=fail header.from=example.com");
}

TEST(AuthResResinfo, DkimReportsTheParsedSignatureOrNone) {
  AuthResWriter w("mx.example.net");
  const DkimResinfoSignature parsed{"example.com", "@example.com\r\n", "s1", "ed25519-sha256",
                                    "YWJjZGVm"};
  WriteDkimResinfo(w, "pass", "", &parsed);
  WriteDkimResinfo(w, "permerror", "no key", nullptr);
  WriteDkimNoneResinfo(w);
  EXPECT_EQ(Finished(std::move(w)),
            " mx.example.net;\r\n\tdkim=pass header.d=example.com header.i=\"@example.com  \""
            " header.s=s1 header.a=ed25519-sha256 header.b=YWJjZGVm;\r\n"
            "\tdkim=permerror reason=\"no key\";\r\n\tdkim=none");
}

TEST(AuthResResinfo, PolicyDmarcOnlyWhenGiven) {
  AuthResWriter w("mx.example.net");
  WriteDmarcResinfo(w, "pass", "", "", "none");
  EXPECT_EQ(Finished(std::move(w)), " mx.example.net;\r\n\tdmarc=pass policy.dmarc=none");
}

}  // namespace
}  // namespace mxkit::auth
