#include "smtp/address.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::smtp {
namespace {

struct ValidPathRow {
  std::string input;
  PathRole role;
  bool utf8;
  std::string canonical;  // FormatPath of the result
};

class ValidPathTest : public testing::TestWithParam<ValidPathRow> {};

TEST_P(ValidPathTest, ParsesAndRoundTrips) {
  const ValidPathRow& row = GetParam();
  AddressParseOptions options;
  options.allow_utf8 = row.utf8;
  PathResult r = ParsePath(row.input, row.role, options);
  ASSERT_TRUE(r.ok()) << row.input << ": " << r.error.message;
  EXPECT_EQ(r.consumed, row.input.size());
  const std::string formatted = FormatPath(r.path);
  EXPECT_EQ(formatted, row.canonical);
  PathResult again = ParsePath(formatted, row.role, options);
  ASSERT_TRUE(again.ok()) << formatted << ": " << again.error.message;
  EXPECT_EQ(again.path, r.path);
}

INSTANTIATE_TEST_SUITE_P(
    AddressParser, ValidPathTest,
    testing::Values(
        // §4.1.1.2 null reverse-path.
        ValidPathRow{"<>", PathRole::kReverse, false, "<>"},
        ValidPathRow{"<user@example.com>", PathRole::kReverse, false, "<user@example.com>"},
        // Appendix D.1 scenario addresses.
        ValidPathRow{"<Smith@bar.com>", PathRole::kReverse, false, "<Smith@bar.com>"},
        ValidPathRow{"<Jones@foo.com>", PathRole::kForward, false, "<Jones@foo.com>"},
        // Case is preserved in both parts (§2.4).
        ValidPathRow{"<User.Name+tag@Example.COM>", PathRole::kForward, false,
                     "<User.Name+tag@Example.COM>"},
        // Every atext character (RFC 5322 §3.2.3).
        ValidPathRow{"<!#$%&'*+-/=?^_`{|}~@example.com>", PathRole::kForward, false,
                     "<!#$%&'*+-/=?^_`{|}~@example.com>"},
        // Quoted-string: kept quoted only when it must be (§4.1.2).
        ValidPathRow{"<\"john doe\"@example.com>", PathRole::kForward, false,
                     "<\"john doe\"@example.com>"},
        ValidPathRow{"<\"abc\"@example.com>", PathRole::kForward, false, "<abc@example.com>"},
        ValidPathRow{"<\"a.b\"@example.com>", PathRole::kForward, false, "<a.b@example.com>"},
        ValidPathRow{"<\"a..b\"@example.com>", PathRole::kForward, false,
                     "<\"a..b\"@example.com>"},
        ValidPathRow{"<\"a\\b\"@example.com>", PathRole::kForward, false, "<ab@example.com>"},
        ValidPathRow{"<\"a\\\"b\\\\c\"@example.com>", PathRole::kForward, false,
                     "<\"a\\\"b\\\\c\"@example.com>"},
        ValidPathRow{"<\"\"@example.com>", PathRole::kForward, false, "<\"\"@example.com>"},
        ValidPathRow{"<\"@\"@example.com>", PathRole::kForward, false, "<\"@\"@example.com>"},
        // Domains: single label, digits, inner hyphens, 63-octet label.
        ValidPathRow{"<a@b>", PathRole::kForward, false, "<a@b>"},
        ValidPathRow{"<a@123.example>", PathRole::kForward, false, "<a@123.example>"},
        ValidPathRow{"<a@x--y.example>", PathRole::kForward, false, "<a@x--y.example>"},
        ValidPathRow{"<a@" + std::string(63, 'l') + ".example>", PathRole::kForward, false,
                     "<a@" + std::string(63, 'l') + ".example>"},
        ValidPathRow{"<" + std::string(64, 'l') + "@example.com>", PathRole::kForward, false,
                     "<" + std::string(64, 'l') + "@example.com>"},
        // Address literals (§4.1.3).
        ValidPathRow{"<user@[192.0.2.1]>", PathRole::kForward, false, "<user@[192.0.2.1]>"},
        ValidPathRow{"<user@[IPv6:2001:db8::1]>", PathRole::kForward, false,
                     "<user@[IPv6:2001:db8::1]>"},
        ValidPathRow{"<user@[x-400:c=us;a=;p=x]>", PathRole::kForward, false,
                     "<user@[x-400:c=us;a=;p=x]>"},
        // Source routes are recorded (§4.1.2, Appendix C).
        ValidPathRow{"<@a.example,@b.example:user@c.example>", PathRole::kReverse, false,
                     "<@a.example,@b.example:user@c.example>"},
        ValidPathRow{"<@hosta.int,@jkl.org:userc@d.bar.org>", PathRole::kForward, false,
                     "<@hosta.int,@jkl.org:userc@d.bar.org>"},
        // §4.1.1.3 "<Postmaster>" (local part case-insensitive, kept as sent).
        ValidPathRow{"<Postmaster>", PathRole::kForward, false, "<Postmaster>"},
        ValidPathRow{"<postMASTER>", PathRole::kForward, false, "<postMASTER>"},
        ValidPathRow{"<Postmaster@example.com>", PathRole::kForward, false,
                     "<Postmaster@example.com>"},
        // RFC 6531 §3.3: UTF-8 local parts and U-labels.
        ValidPathRow{"<\xCE\xB4\xCE\xBF\xCE\xBA@\xCF\x80\xCE\xB1.example>", PathRole::kReverse,
                     true, "<\xCE\xB4\xCE\xBF\xCE\xBA@\xCF\x80\xCE\xB1.example>"},
        ValidPathRow{"<\"\xE6\x97\xA5 \xE6\x9C\xAC\"@example.jp>", PathRole::kForward, true,
                     "<\"\xE6\x97\xA5 \xE6\x9C\xAC\"@example.jp>"},
        ValidPathRow{"<\xF0\x9F\x98\x80@example.com>", PathRole::kForward, true,
                     "<\xF0\x9F\x98\x80@example.com>"}));

struct InvalidPathRow {
  std::string input;
  PathRole role;
  bool utf8;
  AddressErrorKind kind;
  std::size_t offset;
};

class InvalidPathTest : public testing::TestWithParam<InvalidPathRow> {};

TEST_P(InvalidPathTest, RejectsWithKindAndOffset) {
  const InvalidPathRow& row = GetParam();
  AddressParseOptions options;
  options.allow_utf8 = row.utf8;
  PathResult r = ParsePath(row.input, row.role, options);
  ASSERT_FALSE(r.ok()) << row.input;
  EXPECT_EQ(AddressErrorKindName(r.error.kind), AddressErrorKindName(row.kind))
      << row.input << ": " << r.error.message;
  EXPECT_EQ(r.error.offset, row.offset) << row.input << ": " << r.error.message;
  EXPECT_FALSE(r.error.message.empty());
  EXPECT_EQ(r.path, MailPath());
}

const std::string k250Domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                               std::string(63, 'c') + "." + std::string(59, 'd');

INSTANTIATE_TEST_SUITE_P(
    AddressParser, InvalidPathTest,
    testing::Values(
        InvalidPathRow{"", PathRole::kReverse, false, AddressErrorKind::kEmpty, 0},
        InvalidPathRow{"user@example.com", PathRole::kReverse, false,
                       AddressErrorKind::kExpectedOpenAngle, 0},
        InvalidPathRow{"<user@example.com", PathRole::kReverse, false,
                       AddressErrorKind::kExpectedCloseAngle, 17},
        InvalidPathRow{"<user@example.com x>", PathRole::kReverse, false,
                       AddressErrorKind::kExpectedCloseAngle, 17},
        InvalidPathRow{"<user@example.com>x", PathRole::kReverse, false,
                       AddressErrorKind::kTrailingCharacters, 18},
        InvalidPathRow{"<>", PathRole::kForward, false, AddressErrorKind::kNullPathNotAllowed, 0},
        InvalidPathRow{"<user>", PathRole::kReverse, false, AddressErrorKind::kExpectedAt, 5},
        InvalidPathRow{"<Postmaster>", PathRole::kReverse, false, AddressErrorKind::kExpectedAt, 11},
        InvalidPathRow{"<@a:Postmaster>", PathRole::kForward, false, AddressErrorKind::kExpectedAt,
                       14},
        InvalidPathRow{"<@a.example user@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidSourceRoute, 11},
        InvalidPathRow{"<@a.example,b.example:u@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidSourceRoute, 12},
        InvalidPathRow{"<@[1.2.3.4]:u@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidDomain, 2},
        InvalidPathRow{"<@a.example:>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidLocalPart, 12},
        InvalidPathRow{"<.user@x>", PathRole::kReverse, false, AddressErrorKind::kInvalidLocalPart,
                       1},
        InvalidPathRow{"<user.@x>", PathRole::kReverse, false, AddressErrorKind::kInvalidLocalPart,
                       6},
        InvalidPathRow{"<us..er@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidLocalPart, 4},
        InvalidPathRow{"<us er@x>", PathRole::kReverse, false, AddressErrorKind::kExpectedAt, 3},
        InvalidPathRow{"<us(er)@x>", PathRole::kReverse, false, AddressErrorKind::kExpectedAt, 3},
        InvalidPathRow{"<\"abc@x>", PathRole::kReverse, false,
                       AddressErrorKind::kUnterminatedQuotedString, 8},
        InvalidPathRow{"<\"a\\\x01\"@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidQuotedPair, 3},
        InvalidPathRow{"<\"a\\", PathRole::kReverse, false, AddressErrorKind::kInvalidQuotedPair, 3},
        InvalidPathRow{"<\"a\x01\"@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidLocalPart, 3},
        InvalidPathRow{"<\"a\tb\"@x>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidLocalPart, 3},
        InvalidPathRow{"<" + std::string(65, 'l') + "@x>", PathRole::kReverse, false,
                       AddressErrorKind::kLocalPartTooLong, 65},
        InvalidPathRow{"<\"" + std::string(63, 'l') + "\"@x>", PathRole::kReverse, false,
                       AddressErrorKind::kLocalPartTooLong, 65},
        InvalidPathRow{"<a@-x.com>", PathRole::kReverse, false, AddressErrorKind::kInvalidDomain, 3},
        InvalidPathRow{"<a@x-.com>", PathRole::kReverse, false, AddressErrorKind::kInvalidDomain, 4},
        InvalidPathRow{"<a@x..com>", PathRole::kReverse, false, AddressErrorKind::kInvalidDomain, 5},
        InvalidPathRow{"<a@x.com.>", PathRole::kReverse, false, AddressErrorKind::kInvalidDomain, 9},
        InvalidPathRow{"<a@x_y.com>", PathRole::kReverse, false,
                       AddressErrorKind::kExpectedCloseAngle, 4},
        InvalidPathRow{"<a@>", PathRole::kReverse, false, AddressErrorKind::kInvalidDomain, 3},
        InvalidPathRow{"<a@" + std::string(64, 'l') + ".com>", PathRole::kReverse, false,
                       AddressErrorKind::kLabelTooLong, 66},
        InvalidPathRow{"<a@" + k250Domain + "." + std::string(6, 'e') + ">", PathRole::kReverse,
                       false, AddressErrorKind::kDomainTooLong, 258},
        // 1 + "a@" + 253 + ">" = 257 octets (§4.5.3.1.3).
        InvalidPathRow{"<a@" + k250Domain + ".ee>", PathRole::kReverse, false,
                       AddressErrorKind::kPathTooLong, 256},
        InvalidPathRow{"<a@[1.2.3]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidIPv4Literal, 9},
        InvalidPathRow{"<a@[256.1.1.1]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidIPv4Literal, 4},
        InvalidPathRow{"<a@[1.2.3.4.5]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidIPv4Literal, 11},
        InvalidPathRow{"<a@[1.2.3.1234]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidIPv4Literal, 13},
        InvalidPathRow{"<a@[1.2.3.4", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidAddressLiteral, 11},
        InvalidPathRow{"<a@[1.2.3.4]", PathRole::kReverse, false,
                       AddressErrorKind::kExpectedCloseAngle, 12},
        InvalidPathRow{"<a@[]>", PathRole::kReverse, false, AddressErrorKind::kInvalidAddressLiteral,
                       4},
        InvalidPathRow{"<a@[x:]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidAddressLiteral, 6},
        InvalidPathRow{"<a@[:x]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidAddressLiteral, 4},
        InvalidPathRow{"<a@[x-:y]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidAddressLiteral, 5},
        InvalidPathRow{"<a@[a b]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidAddressLiteral, 5},
        InvalidPathRow{"<a@[IPv6:1::2::3]>", PathRole::kReverse, false,
                       AddressErrorKind::kInvalidIPv6Literal, 13},
        // RFC 6531 §3.3: UTF-8 only with SMTPUTF8, and then well-formed.
        InvalidPathRow{"<\xC3\xA9@x>", PathRole::kReverse, false,
                       AddressErrorKind::kUtf8NotAllowed, 1},
        InvalidPathRow{"<a@\xC3\xA9.example>", PathRole::kReverse, false,
                       AddressErrorKind::kUtf8NotAllowed, 3},
        InvalidPathRow{"<\xC3\x28@x>", PathRole::kReverse, true, AddressErrorKind::kInvalidUtf8, 1},
        InvalidPathRow{"<\xC0\xAF@x>", PathRole::kReverse, true, AddressErrorKind::kInvalidUtf8, 1},
        InvalidPathRow{"<\xED\xA0\x80@x>", PathRole::kReverse, true,
                       AddressErrorKind::kInvalidUtf8, 1},
        InvalidPathRow{"<\xF4\x90\x80\x80@x>", PathRole::kReverse, true,
                       AddressErrorKind::kInvalidUtf8, 1},
        InvalidPathRow{"<a\x80@x>", PathRole::kReverse, true, AddressErrorKind::kInvalidUtf8, 2},
        InvalidPathRow{"<a@x\xE2\x82>", PathRole::kReverse, true, AddressErrorKind::kInvalidUtf8, 4},
        InvalidPathRow{"<a@[\xC3\xA9]>", PathRole::kReverse, true,
                       AddressErrorKind::kInvalidAddressLiteral, 4}));

struct HostRow {
  std::string input;
  bool ok;
  DomainKind kind;            // when ok
  AddressErrorKind error;     // when !ok
  std::size_t offset;         // when !ok
};

class HostTest : public testing::TestWithParam<HostRow> {};

TEST_P(HostTest, ClassifiesOrRejects) {
  const HostRow& row = GetParam();
  HostResult r = ParseHost(row.input, /*allow_literal=*/true);
  if (row.ok) {
    ASSERT_TRUE(r.ok()) << row.input << ": " << r.error.message;
    EXPECT_EQ(r.kind, row.kind) << row.input;
  } else {
    ASSERT_FALSE(r.ok()) << row.input;
    EXPECT_EQ(AddressErrorKindName(r.error.kind), AddressErrorKindName(row.error))
        << row.input << ": " << r.error.message;
    EXPECT_EQ(r.error.offset, row.offset) << row.input << ": " << r.error.message;
  }
}

constexpr DomainKind k6 = DomainKind::kIPv6Literal;
constexpr AddressErrorKind kBad6 = AddressErrorKind::kInvalidIPv6Literal;
constexpr AddressErrorKind kNone = AddressErrorKind::kOk;

INSTANTIATE_TEST_SUITE_P(
    AddressParser, HostTest,
    testing::Values(
        HostRow{"example.com", true, DomainKind::kName, kNone, 0},
        HostRow{"[192.0.2.1]", true, DomainKind::kIPv4Literal, kNone, 0},
        HostRow{"[0.0.0.0]", true, DomainKind::kIPv4Literal, kNone, 0},
        HostRow{"[255.255.255.255]", true, DomainKind::kIPv4Literal, kNone, 0},
        // §4.1.3 IPv6-full.
        HostRow{"[IPv6:1:2:3:4:5:6:7:8]", true, k6, kNone, 0},
        HostRow{"[IPv6:2001:0db8:0000:0000:0000:ff00:0042:8329]", true, k6, kNone, 0},
        // IPv6-comp: at most 6 groups besides "::".
        HostRow{"[IPv6:2001:db8::1]", true, k6, kNone, 0},
        HostRow{"[IPv6:::1]", true, k6, kNone, 0},
        HostRow{"[IPv6:::]", true, k6, kNone, 0},
        HostRow{"[IPv6:1::]", true, k6, kNone, 0},
        HostRow{"[IPv6:1:2:3::4:5:6]", true, k6, kNone, 0},
        HostRow{"[ipv6:FE80::1]", true, k6, kNone, 0},
        // IPv6v4-full and IPv6v4-comp.
        HostRow{"[IPv6:1:2:3:4:5:6:192.0.2.1]", true, k6, kNone, 0},
        HostRow{"[IPv6:::ffff:192.0.2.1]", true, k6, kNone, 0},
        HostRow{"[IPv6:::192.0.2.1]", true, k6, kNone, 0},
        HostRow{"[IPv6:1:2:3:4::192.0.2.1]", true, k6, kNone, 0},
        HostRow{"[IPv6:1::2:3:4:192.0.2.1]", true, k6, kNone, 0},
        // General-address-literal.
        HostRow{"[x:y]", true, DomainKind::kGeneralLiteral, kNone, 0},
        HostRow{"[-x:y]", true, DomainKind::kGeneralLiteral, kNone, 0},
        // Invalid IPv6 forms; offsets are into the host string.
        HostRow{"[IPv6:1:2:3:4:5:6:7]", false, k6, kBad6, 19},
        HostRow{"[IPv6:1:2:3:4:5:6:7:8:9]", false, k6, kBad6, 23},
        HostRow{"[IPv6:1:2:3:4:5:6:7::]", false, k6, kBad6, 6},
        HostRow{"[IPv6:1:2:3:4:5:6::7]", false, k6, kBad6, 6},
        HostRow{"[IPv6:1::2::3]", false, k6, kBad6, 10},
        HostRow{"[IPv6:12345::]", false, k6, kBad6, 10},
        HostRow{"[IPv6::1]", false, k6, kBad6, 6},
        HostRow{"[IPv6:1:]", false, k6, kBad6, 8},
        HostRow{"[IPv6:]", false, k6, kBad6, 6},
        HostRow{"[IPv6:g::1]", false, k6, kBad6, 6},
        HostRow{"[IPv6:1:2:3:4:5:192.0.2.1]", false, k6, kBad6, 25},
        HostRow{"[IPv6:1:2:3:4:5::192.0.2.1]", false, k6, kBad6, 6},
        HostRow{"[IPv6:192.0.2.1]", false, k6, kBad6, 15},
        HostRow{"[IPv6:::1.2.3]", false, k6, AddressErrorKind::kInvalidIPv4Literal, 13},
        HostRow{"[IPv6:::1.2.3.4:5]", false, k6, AddressErrorKind::kInvalidIPv4Literal, 15},
        HostRow{"example.com ", false, k6, AddressErrorKind::kTrailingCharacters, 11},
        HostRow{"", false, k6, AddressErrorKind::kEmpty, 0}));

// Every group count around "::", with and without an IPv4 tail, against the
// §4.1.3 rules: IPv6-full has 8 groups, IPv6-comp at most 6 besides "::",
// IPv6v4-full 6 groups and the tail, IPv6v4-comp at most 4 besides "::".
TEST(AddressParser, IPv6GroupCountsFollowSection413Exactly) {
  const auto groups = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? ":" : "") + std::string("a") + std::to_string(i);
    return s;
  };
  for (int v4 = 0; v4 < 2; ++v4) {
    for (int before = 0; before <= 9; ++before) {
      // Uncompressed: groups, then the tail after a ":".
      std::string full = groups(before);
      if (v4) full += (before ? ":" : "") + std::string("192.0.2.1");
      const bool full_ok = before == (v4 ? 6 : 8);
      EXPECT_EQ(ParseHost("[IPv6:" + full + "]", true).ok(), full_ok) << full;
      for (int after = 0; before + after <= 10; ++after) {
        std::string comp = groups(before) + "::" + groups(after);
        if (v4) comp += (after ? ":" : "") + std::string("192.0.2.1");
        const bool comp_ok = before + after <= (v4 ? 4 : 6);
        EXPECT_EQ(ParseHost("[IPv6:" + comp + "]", true).ok(), comp_ok) << comp;
      }
    }
  }
}

TEST(AddressParser, HostWithoutLiteralRejectsBrackets) {
  HostResult r = ParseHost("[192.0.2.1]", /*allow_literal=*/false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.kind, AddressErrorKind::kInvalidDomain);
  EXPECT_EQ(r.error.offset, 0u);
}

TEST(AddressParser, RecordsSourceRouteAndMailbox) {
  PathResult r = ParseForwardPath("<@hosta.int,@jkl.org:userc@d.bar.org>");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.path.source_route, (std::vector<std::string>{"hosta.int", "jkl.org"}));
  EXPECT_EQ(r.path.mailbox.local_part, "userc");
  EXPECT_EQ(r.path.mailbox.domain, "d.bar.org");
  EXPECT_EQ(r.path.mailbox.domain_kind, DomainKind::kName);
  EXPECT_FALSE(r.path.is_null);
  EXPECT_FALSE(r.path.is_postmaster());
}

TEST(AddressParser, UnquotesQuotedLocalPart) {
  PathResult r = ParseReversePath("<\"a\\\"b c\"@example.com>");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.path.mailbox.local_part, "a\"b c");
}

TEST(AddressParser, NullAndPostmasterFlags) {
  PathResult null_path = ParseReversePath("<>");
  ASSERT_TRUE(null_path.ok());
  EXPECT_TRUE(null_path.path.is_null);
  EXPECT_FALSE(null_path.path.is_postmaster());
  PathResult postmaster = ParseForwardPath("<POSTMASTER>");
  ASSERT_TRUE(postmaster.ok());
  EXPECT_TRUE(postmaster.path.is_postmaster());
  EXPECT_EQ(postmaster.path.mailbox.local_part, "POSTMASTER");
}

TEST(AddressParser, LiteralDomainKeepsBrackets) {
  PathResult r = ParseForwardPath("<u@[IPv6:::1]>");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.path.mailbox.domain, "[IPv6:::1]");
  EXPECT_EQ(r.path.mailbox.domain_kind, DomainKind::kIPv6Literal);
}

TEST(AddressParser, PrefixStopsAfterClosingBracket) {
  PathResult r = ParsePathPrefix("<a@b.example> SIZE=10", PathRole::kReverse);
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.consumed, 13u);
}

TEST(AddressParser, MissingBracketsNeedTheLeniency) {
  AddressParseOptions lenient;
  lenient.allow_missing_angle_brackets = true;
  PathResult r = ParsePathPrefix("a@b.example SIZE=10", PathRole::kReverse, lenient);
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.consumed, 11u);
  EXPECT_EQ(FormatPath(r.path), "<a@b.example>");
  PathResult postmaster = ParsePath("postmaster", PathRole::kForward, lenient);
  ASSERT_TRUE(postmaster.ok()) << postmaster.error.message;
  EXPECT_TRUE(postmaster.path.is_postmaster());
  PathResult junk = ParsePath("a@b.example>", PathRole::kForward, lenient);
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error.kind, AddressErrorKind::kTrailingCharacters);
  EXPECT_EQ(junk.error.offset, 11u);
  PathResult strict = ParsePath("a@b.example", PathRole::kForward);
  EXPECT_EQ(strict.error.kind, AddressErrorKind::kExpectedOpenAngle);
}

TEST(AddressParser, MailboxWithoutBrackets) {
  MailboxResult ok = ParseMailbox("\"x y\"@[10.0.0.1]");
  ASSERT_TRUE(ok.ok()) << ok.error.message;
  EXPECT_EQ(ok.mailbox.local_part, "x y");
  EXPECT_EQ(ok.mailbox.domain_kind, DomainKind::kIPv4Literal);
  EXPECT_EQ(FormatMailbox(ok.mailbox), "\"x y\"@[10.0.0.1]");
  MailboxResult bad = ParseMailbox("<a@b>");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error.kind, AddressErrorKind::kInvalidLocalPart);
  EXPECT_EQ(bad.error.offset, 0u);
  MailboxResult trailing = ParseMailbox("a@b c");
  EXPECT_EQ(trailing.error.kind, AddressErrorKind::kTrailingCharacters);
  EXPECT_EQ(trailing.error.offset, 3u);
}

TEST(AddressParser, DotStringClassification) {
  EXPECT_TRUE(IsDotString("a.b.c"));
  EXPECT_TRUE(IsDotString("\xC3\xA9t\xC3\xA9"));
  EXPECT_FALSE(IsDotString(""));
  EXPECT_FALSE(IsDotString(".a"));
  EXPECT_FALSE(IsDotString("a."));
  EXPECT_FALSE(IsDotString("a..b"));
  EXPECT_FALSE(IsDotString("a b"));
  EXPECT_EQ(FormatLocalPart("a b\"\\"), "\"a b\\\"\\\\\"");
}

// RFC 5890 §2.3.2.1: a U-label is limited by the length of its A-label.
// Expected lengths are from Python's RFC 3492 "punycode" codec.
TEST(AddressParser, ULabelLengthIsItsALabelLength) {
  AddressParseOptions utf8;
  utf8.allow_utf8 = true;
  std::string u57, u58;
  for (int i = 0; i < 57; ++i) u57 += "\xC3\xBC";  // xn--tda... is 63 octets
  u58 = u57 + "\xC3\xBC";                          // 64 octets
  EXPECT_TRUE(ParseHost(u57 + ".example", false, utf8).ok());
  HostResult long_u = ParseHost(u58 + ".example", false, utf8);
  EXPECT_EQ(long_u.error.kind, AddressErrorKind::kLabelTooLong);
  EXPECT_EQ(long_u.error.offset, 0u);
  // 59 octets of UTF-8, but xn--aaa...-89289c is 66 octets.
  const std::string emoji = std::string(55, 'a') + "\xF0\x9F\x98\x80";
  HostResult long_a = ParseHost("x." + emoji, false, utf8);
  EXPECT_EQ(long_a.error.kind, AddressErrorKind::kLabelTooLong);
  EXPECT_EQ(long_a.error.offset, 2u);
  // xn--aaa...-rueaa is 62 octets.
  EXPECT_TRUE(ParseHost(std::string(52, 'a') + "\xC3\xA9\xC3\xA9\xC3\xA9", false, utf8).ok());
  EXPECT_TRUE(ParseHost("b\xC3\xBC" "cher.example", false, utf8).ok());
}

// Regression for fuzz/regressions/path_fuzzer/crash-cd1857ab...: address
// literals are bounded like domains (RFC 5321 §4.5.3.1.2), not only by the path.
TEST(AddressParser, RejectsAddressLiteralLongerThan255Octets) {
  const std::string at_limit = "[x:" + std::string(kMaxDomain - 4, 'Y') + "]";
  ASSERT_EQ(at_limit.size(), kMaxDomain);
  EXPECT_TRUE(ParseMailbox("a@" + at_limit).ok());
  const std::string over = "[x:" + std::string(kMaxDomain - 3, 'Y') + "]";
  MailboxResult result = ParseMailbox("a@" + over);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, AddressErrorKind::kDomainTooLong);
  EXPECT_EQ(result.error.offset, 2 + kMaxDomain);
}

}  // namespace
}  // namespace mxkit::smtp
