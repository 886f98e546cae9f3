#include "auth/spf/macro.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::spf {
namespace {

struct ParseRow {
  std::string text;
  MacroContext context;
  bool ok;
  SyntaxErrorCode code = SyntaxErrorCode::kBadPercent;
  size_t offset = 0;
};

TEST(MacroParser, AcceptsAndRejectsPerRfc7208Grammar) {
  const MacroContext D = MacroContext::kDomainSpec, E = MacroContext::kExplainString;
  const std::vector<ParseRow> rows = {
      {"", D, true},
      {"example.com", D, true},
      {"%{d}", D, true},
      {"%{D2r-+}", D, true},
      {"%{ir}.%{v}._spf.%{d2}", D, true},
      {"%%%_%-", D, true},
      {"%{l1r-}.lp", D, true},
      {"%{d99999999999999999999}", D, true},  // saturates, no overflow
      {"%{c} and %{r} at %{t}", E, true},
      {"%{c}", D, false, SyntaxErrorCode::kLetterOnlyInExp, 2},
      {"x.%{r}", D, false, SyntaxErrorCode::kLetterOnlyInExp, 4},
      {"%{T}", D, false, SyntaxErrorCode::kLetterOnlyInExp, 2},
      {"%", D, false, SyntaxErrorCode::kBadPercent, 0},
      {"foo%", D, false, SyntaxErrorCode::kBadPercent, 3},
      {"%(ir)", D, false, SyntaxErrorCode::kBadPercent, 0},
      {"foo%.bar", D, false, SyntaxErrorCode::kBadPercent, 3},
      {"%abc", D, false, SyntaxErrorCode::kBadPercent, 0},
      {"%{", D, false, SyntaxErrorCode::kUnterminatedMacro, 0},
      {"%{d", D, false, SyntaxErrorCode::kUnterminatedMacro, 0},
      {"ab%{d2r.", D, false, SyntaxErrorCode::kUnterminatedMacro, 2},
      {"%{x}", D, false, SyntaxErrorCode::kUnknownMacroLetter, 2},
      {"%{a}", E, false, SyntaxErrorCode::kUnknownMacroLetter, 2},
      {"%{}", D, false, SyntaxErrorCode::kUnknownMacroLetter, 2},
      {"%{d0}", D, false, SyntaxErrorCode::kZeroTransformer, 3},
      {"%{d2x}", D, false, SyntaxErrorCode::kBadTransformer, 4},
      {"%{dr2}", D, false, SyntaxErrorCode::kBadTransformer, 4},
      {"a b", D, false, SyntaxErrorCode::kBadCharacter, 1},
      {"a b", E, true},
      {"a\tb", E, false, SyntaxErrorCode::kBadCharacter, 1},
      {"caf\xc3\xa9", E, false, SyntaxErrorCode::kBadCharacter, 3},
      {std::string("a\0b", 3), D, false, SyntaxErrorCode::kBadCharacter, 1},
  };
  for (const ParseRow& row : rows) {
    ParseResult<MacroString> r = ParseMacroString(row.text, row.context);
    ASSERT_EQ(r.ok(), row.ok) << "\"" << row.text << "\" "
                              << (r.ok() ? "" : r.error().message);
    if (!row.ok) {
      EXPECT_EQ(r.error().code, row.code) << row.text << ": " << r.error().message;
      EXPECT_EQ(r.error().offset, row.offset) << row.text << ": " << r.error().message;
      EXPECT_NE(r.error().message.find("offset"), std::string::npos);
    }
  }
}

TEST(DomainSpecParser, RequiresDotTopLabelOrMacroAtTheEnd) {
  struct Row {
    std::string text;
    bool ok;
    SyntaxErrorCode code = SyntaxErrorCode::kBadDomainEnd;
    size_t offset = 0;
  };
  const std::vector<Row> rows = {
      {"example.com", true},
      {"example.com.", true},
      {"foo.example.xn--zckzah", true},
      {"foo:bar/baz.example.com", true},
      {"%{d}", true},
      {"_spf.%{d2}", true},
      {"x.%{d}m.com", true},
      {"macro%%percent%_%_space%-url-space.example.com", true},
      {"a.1-2", true},
      {"", false, SyntaxErrorCode::kEmptyDomainSpec, 0},
      {"museum", false, SyntaxErrorCode::kBadDomainEnd, 0},
      {"museum.", false, SyntaxErrorCode::kBadDomainEnd, 0},
      {"111.222.33.44", false, SyntaxErrorCode::kBadDomainEnd, 11},
      {"abc.123", false, SyntaxErrorCode::kBadDomainEnd, 4},
      {"example.-com", false, SyntaxErrorCode::kBadDomainEnd, 8},
      {"example.com-", false, SyntaxErrorCode::kBadDomainEnd, 8},
      {"example.com:8080", false, SyntaxErrorCode::kBadDomainEnd, 8},
      {"foo-bar", false, SyntaxErrorCode::kBadDomainEnd, 0},
      {"%{d}.", false, SyntaxErrorCode::kBadDomainEnd, 4},
      {"%{d}com", false, SyntaxErrorCode::kBadDomainEnd, 4},
      {"mail.example.com/24", false, SyntaxErrorCode::kBadDomainEnd, 13},
      {"%{c}.example.com", false, SyntaxErrorCode::kLetterOnlyInExp, 2},
  };
  for (const Row& row : rows) {
    ParseResult<MacroString> r = ParseDomainSpec(row.text);
    ASSERT_EQ(r.ok(), row.ok) << "\"" << row.text << "\" " << (r.ok() ? "" : r.error().message);
    if (!row.ok) {
      EXPECT_EQ(r.error().code, row.code) << row.text << ": " << r.error().message;
      EXPECT_EQ(r.error().offset, row.offset) << row.text << ": " << r.error().message;
    }
  }
}

MacroValues Rfc7208Section74Values() {
  MacroValues v;
  v.sender = "strong-bad@email.example.com";
  v.local_part = "strong-bad";
  v.sender_domain = "email.example.com";
  v.domain = "email.example.com";
  v.ip = "192.0.2.3";
  v.client_ip = "192.0.2.3";
  v.ip_version = "in-addr";
  v.helo = "mx.example.org";
  v.receiver = "receiver.example.net";
  v.timestamp = "1700000000";
  v.validated_domain = [] { return std::string("mx.example.org"); };
  return v;
}

std::string Expand(std::string_view text, const MacroValues& v, bool for_domain = true,
                   MacroContext context = MacroContext::kDomainSpec) {
  ParseResult<MacroString> parsed = ParseMacroString(text, context);
  EXPECT_TRUE(parsed.ok()) << text;
  if (!parsed.ok()) return "<error>";
  return ExpandMacroString(*parsed, v, for_domain);
}

// RFC 7208 §7.4, every IPv4 example.
TEST(MacroExpansion, MatchesRfc7208Section74Examples) {
  MacroValues v = Rfc7208Section74Values();
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
      {"%{p2}.trusted-domains.example.net.", "example.org.trusted-domains.example.net"},
      {"%{h}", "mx.example.org"},
  };
  for (const auto& [text, want] : rows) EXPECT_EQ(Expand(text, v), want) << text;
}

TEST(MacroExpansion, Ipv6ReverseNibblesPerRfc7208Section74) {
  MacroValues v = Rfc7208Section74Values();
  v.ip = "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1";
  v.ip_version = "ip6";
  EXPECT_EQ(Expand("%{ir}.%{v}._spf.%{d2}", v),
            "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
}

TEST(MacroExpansion, RejoinsWithDotsWhateverTheDelimiters) {
  MacroValues v = Rfc7208Section74Values();
  v.local_part = "foo-bar+zip+quux";
  EXPECT_EQ(Expand("%{l2r+-}", v), "bar.foo");
  EXPECT_EQ(Expand("%{l+}", v), "foo-bar.zip.quux");
  v.local_part = "philip-gladstone-test";
  EXPECT_EQ(Expand("%{l2r-}", v), "gladstone.philip");
}

TEST(MacroExpansion, EscapesUpperCaseMacrosAndSpecials) {
  MacroValues v = Rfc7208Section74Values();
  v.local_part = "~jack&jill=up-a_b3.c";
  EXPECT_EQ(Expand("l=%{L}", v, false, MacroContext::kExplainString), "l=~jack%26jill%3Dup-a_b3.c");
  EXPECT_EQ(Expand("%%%_%-", v, false), "% %20");
  EXPECT_EQ(UrlEscape("a b/\xff"), "a%20b%2F%FF");
}

TEST(MacroExpansion, KeepsTrailingDotInExplanationOnly) {
  MacroValues v = Rfc7208Section74Values();
  EXPECT_EQ(Expand("This is a test.", v, false, MacroContext::kExplainString), "This is a test.");
  EXPECT_EQ(Expand("%{d}.", v, true, MacroContext::kExplainString), "email.example.com");
}

TEST(MacroExpansion, AsksForPOnlyWhenUsed) {
  MacroValues v = Rfc7208Section74Values();
  int calls = 0;
  v.validated_domain = [&calls] {
    ++calls;
    return std::string("mx.example.org");
  };
  EXPECT_EQ(Expand("%{d}", v), "email.example.com");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Expand("%{p}.%{p1}", v), "mx.example.org.org");
  EXPECT_EQ(calls, 1);
}

TEST(MacroExpansion, TruncatesLongDomainsFromTheLeftByLabels) {
  MacroValues v = Rfc7208Section74Values();
  std::string label(60, 'a');
  const std::string domain =
      label + "." + label + "." + label + "." + label + "." + label + ".example.com";
  v.domain = domain;
  std::string out = Expand("%{d}", v);
  EXPECT_LE(out.size(), kMaxDomainLength);
  EXPECT_EQ(out, label + "." + label + "." + label + ".example.com");
  // Explanations are not names: no truncation.
  EXPECT_EQ(Expand("%{d}", v, false).size(), v.domain.size());
}

TEST(MacroExpansion, BoundsTheOutputOfHostileRecords) {
  MacroValues v = Rfc7208Section74Values();
  const std::string sender(1000, 's');
  v.sender = sender;
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "%{s}";
  ParseResult<MacroString> parsed = ParseMacroString(text, MacroContext::kExplainString);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(ExpandMacroString(*parsed, v, false).size(), kMaxExpansionLength);
  EXPECT_EQ(ExpandMacroString(*parsed, v, true), "");
  // Just under the bound, a name is truncated as usual.
  EXPECT_EQ(Expand("%{d}.%{d}", v), "email.example.com.email.example.com");
}

TEST(TruncateDomain, LeavesShortNamesAndDotlessNamesAlone) {
  EXPECT_EQ(TruncateDomain("example.com"), "example.com");
  std::string dotless(300, 'x');
  EXPECT_EQ(TruncateDomain(dotless), dotless);
  std::string exact = std::string(249, 'x') + ".com";
  EXPECT_EQ(TruncateDomain(exact), exact);
  EXPECT_EQ(TruncateDomain("y." + exact), exact);
}

// Found by spf_macro_fuzzer: "5{." followed by 270 'B's came back whole (with
// its dot and over 253 characters) instead of cut down to its last label.
TEST(TruncateDomain, CutsDownToTheLastLabelWhenThatIsAllThatIsLeft) {
  std::string last(270, 'B');
  EXPECT_EQ(TruncateDomain("5{." + last), last);
  EXPECT_EQ(TruncateDomain("a.b." + last), last);
}

TEST(TopLabel, FollowsRfc7208Grammar) {
  EXPECT_TRUE(IsTopLabel("com"));
  EXPECT_TRUE(IsTopLabel("xn--zckzah"));
  EXPECT_TRUE(IsTopLabel("a1"));
  EXPECT_TRUE(IsTopLabel("1-2"));
  EXPECT_FALSE(IsTopLabel("123"));
  EXPECT_FALSE(IsTopLabel("-com"));
  EXPECT_FALSE(IsTopLabel("com-"));
  EXPECT_FALSE(IsTopLabel(""));
  EXPECT_FALSE(IsTopLabel("co_m"));
}

}  // namespace
}  // namespace mxkit::auth::spf
