#include "auth/spf/record.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::spf {
namespace {

TEST(SpfVersion, RequiresExactTermBoundaryIgnoringCase) {
  EXPECT_TRUE(IsSpfRecord("v=spf1"));
  EXPECT_TRUE(IsSpfRecord("v=spf1 -all"));
  EXPECT_TRUE(IsSpfRecord("V=sPf1 +all"));
  EXPECT_FALSE(IsSpfRecord("v=spf10"));
  EXPECT_FALSE(IsSpfRecord("v=spf1mx"));
  EXPECT_FALSE(IsSpfRecord("v=spf1\t-all"));
  EXPECT_FALSE(IsSpfRecord(" v=spf1"));
  EXPECT_FALSE(IsSpfRecord("v=spf"));
  EXPECT_FALSE(IsSpfRecord("spf2.0/pra"));
}

struct Row {
  std::string record;
  bool ok;
  SyntaxErrorCode code = SyntaxErrorCode::kUnknownMechanism;
  size_t offset = 0;
};

TEST(RecordParser, AcceptsAndRejectsPerRfc7208Grammar) {
  const std::vector<Row> rows = {
      {"v=spf1", true},
      {"v=spf1 ", true},
      {"v=spf1 a  -all ", true},
      {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all", true},
      {"v=spf1 a/24//64 mx:example.com//0 ptr ptr:example.org exists:%{i}.x.example.com", true},
      {"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", true},
      {"v=spf1 default=+ foo= -all", true},
      {"v=spf1 a:foo:bar/baz.example.com", true},
      {"v=spf1 ip6:::1.1.1.1/0", true},
      {"v=spf1 ip6:Cafe:Babe:8000::/33", true},
      {"v=spf1 INCLUDE:_spf.example.com Redirect=_spf.example.net", true},
      {"v=spf1 ip4:1.2.3.4 -all moo", false, SyntaxErrorCode::kUnknownMechanism, 24},
      {"v=spf1 moo.cow/far_out=man:dog/cat", false, SyntaxErrorCode::kUnknownMechanism, 7},
      {"v=spf1 1up=foo", false, SyntaxErrorCode::kUnknownMechanism, 7},
      {"v=spf1 =all", false, SyntaxErrorCode::kUnknownMechanism, 7},
      {"v=spf1 redirect:t2.example.com", false, SyntaxErrorCode::kUnknownMechanism, 7},
      {"v=spf1 -all.", false, SyntaxErrorCode::kBadMechanismArgument, 11},
      {"v=spf1 -all:foobar", false, SyntaxErrorCode::kBadMechanismArgument, 11},
      {"v=spf1 -all/8", false, SyntaxErrorCode::kBadMechanismArgument, 11},
      {"v=spf1 ptr/0 -all", false, SyntaxErrorCode::kBadMechanismArgument, 10},
      {"v=spf1 ptr:", false, SyntaxErrorCode::kEmptyDomainSpec, 11},
      {"v=spf1 a:", false, SyntaxErrorCode::kEmptyDomainSpec, 9},
      {"v=spf1 exists", false, SyntaxErrorCode::kBadMechanismArgument, 13},
      {"v=spf1 include +all", false, SyntaxErrorCode::kBadMechanismArgument, 14},
      {"v=spf1 include:ip5.example.com/24", false, SyntaxErrorCode::kBadDomainEnd, 27},
      {"v=spf1 a/33", false, SyntaxErrorCode::kBadCidr, 9},
      {"v=spf1 a//129", false, SyntaxErrorCode::kBadCidr, 10},
      {"v=spf1 a/24/64", false, SyntaxErrorCode::kBadCidr, 12},
      {"v=spf1 ip4:1.2.3.4/33", false, SyntaxErrorCode::kBadCidr, 18},
      {"v=spf1 ip4:1.2.3.4/032", false, SyntaxErrorCode::kBadCidr, 18},
      {"v=spf1 ip4:1.2.3.4//32", false, SyntaxErrorCode::kBadCidr, 18},
      {"v=spf1 ip4", false, SyntaxErrorCode::kBadMechanismArgument, 10},
      {"v=spf1 ip4:1.2.3", false, SyntaxErrorCode::kBadIp4, 11},
      {"v=spf1 ip4:1.2.3.4:8080", false, SyntaxErrorCode::kBadIp4, 11},
      {"v=spf1 ip4:1.2.03.4", false, SyntaxErrorCode::kBadIp4, 11},
      {"v=spf1 ip6::CAFE::BABE", false, SyntaxErrorCode::kBadIp6, 11},
      {"v=spf1 ip6:::1.1.1.1//33", false, SyntaxErrorCode::kBadCidr, 20},
      {"v=spf1 ip6:1.2.3.4", false, SyntaxErrorCode::kBadIp6, 11},
      {"v=spf1 a:111.222.33.44", false, SyntaxErrorCode::kBadDomainEnd, 20},
      {"v=spf1 a:museum", false, SyntaxErrorCode::kBadDomainEnd, 9},
      {"v=spf1 a:%{a}.example.com", false, SyntaxErrorCode::kUnknownMacroLetter, 11},
      {"v=spf1 -all exp=%{r}.example.com", false, SyntaxErrorCode::kLetterOnlyInExp, 18},
      {"v=spf1 exp= -all", false, SyntaxErrorCode::kEmptyDomainSpec, 11},
      {"v=spf1 exp=-all", false, SyntaxErrorCode::kBadDomainEnd, 11},
      {"v=spf1 ?all redirect=", false, SyntaxErrorCode::kEmptyDomainSpec, 21},
      {"v=spf1 exp=a.example.com -all exp=b.example.com", false,
       SyntaxErrorCode::kDuplicateModifier, 30},
      {"v=spf1 redirect=a.example.com REDIRECT=a.example.com", false,
       SyntaxErrorCode::kDuplicateModifier, 30},
      {"v=spf1 -all foo=%abc", false, SyntaxErrorCode::kBadPercent, 16},
      {"v=spf1 a:ctrl.example.com\rptr -all", false, SyntaxErrorCode::kBadCharacter, 25},
      {"v=spf1 ip4:192.0.2.5\n include:x.example.com", false, SyntaxErrorCode::kBadIp4, 11},
      {"v=spf1 \x80" "a:example.net -all", false, SyntaxErrorCode::kBadCharacter, 7},
      {"v=spf1 a:example.net \x96" "all", false, SyntaxErrorCode::kBadCharacter, 21},
      {std::string("v=spf1 a:foo.example.com\0", 25), false, SyntaxErrorCode::kBadCharacter, 24},
      {"v=spf10", false, SyntaxErrorCode::kNotSpfRecord, 0},
      {"spf2.0/pra -all", false, SyntaxErrorCode::kNotSpfRecord, 0},
  };
  for (const Row& row : rows) {
    ParseResult<Record> r = ParseRecord(row.record);
    ASSERT_EQ(r.ok(), row.ok) << "\"" << row.record << "\" " << (r.ok() ? "" : r.error().message);
    if (!row.ok) {
      EXPECT_EQ(r.error().code, row.code) << row.record << ": " << r.error().message;
      EXPECT_EQ(r.error().offset, row.offset) << row.record << ": " << r.error().message;
    }
  }
}

TEST(RecordParser, ReadsQualifiersCidrsAndModifiers) {
  ParseResult<Record> r = ParseRecord(
      "v=spf1 ~a/24//64 -mx:%{d}//48 ?ip4:192.0.2.1/16 +ip6:2001:DB8::/32 ptr exists:x.%{d} "
      "include:_spf.example.com -all redirect=r.example.com exp=e.%{d} foo.bar=baz");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Record& rec = *r;
  ASSERT_EQ(rec.mechanisms.size(), 8u);
  EXPECT_EQ(rec.mechanisms[0].kind, MechanismKind::kA);
  EXPECT_EQ(rec.mechanisms[0].qualifier, Qualifier::kSoftFail);
  EXPECT_FALSE(rec.mechanisms[0].domain_spec.has_value());
  EXPECT_EQ(rec.mechanisms[0].ip4_cidr, 24);
  EXPECT_EQ(rec.mechanisms[0].ip6_cidr, 64);
  EXPECT_EQ(rec.mechanisms[1].kind, MechanismKind::kMx);
  EXPECT_EQ(rec.mechanisms[1].qualifier, Qualifier::kFail);
  EXPECT_TRUE(rec.mechanisms[1].domain_spec.has_value());
  EXPECT_EQ(rec.mechanisms[1].ip4_cidr, 32);
  EXPECT_EQ(rec.mechanisms[1].ip6_cidr, 48);
  EXPECT_EQ(rec.mechanisms[2].kind, MechanismKind::kIp4);
  EXPECT_EQ(rec.mechanisms[2].qualifier, Qualifier::kNeutral);
  EXPECT_EQ(rec.mechanisms[2].ip4_cidr, 16);
  EXPECT_EQ(rec.mechanisms[2].network, *IpAddress::Parse("192.0.2.1"));
  EXPECT_EQ(rec.mechanisms[3].kind, MechanismKind::kIp6);
  EXPECT_EQ(rec.mechanisms[3].ip6_cidr, 32);
  EXPECT_EQ(rec.mechanisms[3].network, *IpAddress::Parse("2001:db8::"));
  EXPECT_EQ(rec.mechanisms[4].kind, MechanismKind::kPtr);
  EXPECT_EQ(rec.mechanisms[5].kind, MechanismKind::kExists);
  EXPECT_EQ(rec.mechanisms[6].kind, MechanismKind::kInclude);
  EXPECT_EQ(rec.mechanisms[6].offset, 85u);
  EXPECT_EQ(rec.mechanisms[6].text, "include:_spf.example.com");
  EXPECT_EQ(rec.mechanisms[7].kind, MechanismKind::kAll);
  EXPECT_TRUE(rec.redirect.has_value());
  EXPECT_TRUE(rec.exp.has_value());
  ASSERT_EQ(rec.unknown_modifiers.size(), 1u);
  EXPECT_EQ(rec.unknown_modifiers[0].name, "foo.bar");
}

TEST(RecordParser, BoundsTheNumberOfTerms) {
  std::string record = "v=spf1";
  for (size_t i = 0; i <= kMaxTerms; ++i) record += " a";
  ParseResult<Record> r = ParseRecord(record);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SyntaxErrorCode::kTooManyTerms);
  EXPECT_EQ(r.error().offset, 6 + 2 * kMaxTerms + 1);
}

TEST(IpAddress, ParsesStrictIpv4AndRfc4291Ipv6) {
  EXPECT_TRUE(IpAddress::Parse("0.0.0.0").has_value());
  EXPECT_TRUE(IpAddress::Parse("255.255.255.255").has_value());
  EXPECT_FALSE(IpAddress::Parse("256.1.1.1").has_value());
  EXPECT_FALSE(IpAddress::Parse("01.1.1.1").has_value());
  EXPECT_FALSE(IpAddress::Parse("1.1.1").has_value());
  EXPECT_FALSE(IpAddress::Parse("1.1.1.1.").has_value());
  EXPECT_FALSE(IpAddress::Parse("1111.1.1.1").has_value());
  auto v6 = IpAddress::Parse("CAFE:BABE::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->is_v6);
  EXPECT_EQ(v6->ToString(), "cafe:babe::1");
  EXPECT_EQ(IpAddress::Parse("::FFFF:1.2.3.4")->ToString(), "::ffff:1.2.3.4");
  EXPECT_FALSE(IpAddress::Parse("::1%eth0").has_value());
  EXPECT_FALSE(IpAddress::Parse(std::string(100, ':')).has_value());
}

TEST(PrefixMatch, ComparesLeadingBitsOfTheSameFamily) {
  IpAddress a = *IpAddress::Parse("192.0.2.3");
  EXPECT_TRUE(PrefixMatch(a, *IpAddress::Parse("192.0.2.2"), 31));
  EXPECT_FALSE(PrefixMatch(a, *IpAddress::Parse("192.0.2.2"), 32));
  EXPECT_TRUE(PrefixMatch(a, *IpAddress::Parse("1.1.1.1"), 0));
  EXPECT_FALSE(PrefixMatch(a, *IpAddress::Parse("::"), 0));
  EXPECT_TRUE(PrefixMatch(*IpAddress::Parse("cafe:babe:8000::"), *IpAddress::Parse("cafe:babe::"), 32));
  EXPECT_FALSE(PrefixMatch(*IpAddress::Parse("cafe:babe:8000::"), *IpAddress::Parse("cafe:babe::"), 33));
}

}  // namespace
}  // namespace mxkit::auth::spf
