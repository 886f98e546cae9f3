#include "dns/zone.h"

#include <algorithm>
#include <string>
#include <vector>

#include "dns/message.h"
#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

std::vector<std::string> TxtOf(const ResourceRecord& record) {
  return std::get<TxtData>(record.data).strings;
}

TEST(ZoneParser, ParsesEveryTypeWithOriginRelativeNamesAndDefaults) {
  constexpr std::string_view kZone = R"zone($ORIGIN example.com.
$TTL 600
@        IN SOA ns1 hostmaster.example.com. (
              2024010101 ; serial
              1h 15m 1w 300 )
         IN NS  ns1
ns1      IN A   192.0.2.53
@        3600 IN MX 10 mail
         IN 7200 MX 20 mail.example.net.
mail        AAAA 2001:db8::25
www      CNAME  example.com.
53.2.0.192.in-addr.arpa. PTR ns1
_25._tcp.mail TLSA 3 1 1 ( 0123456789abcdef
                           0123456789ABCDEF )
@        TXT "v=spf1 " "ip4:192.0.2.0/24" " -all"
spf      SPF "v=spf1 -all"
)zone";
  absl::StatusOr<Zone> zone = ParseZone(kZone, "example.zone");
  ASSERT_TRUE(zone.ok()) << zone.status();
  const std::vector<ResourceRecord>& r = zone->records;
  ASSERT_EQ(r.size(), 11u);

  EXPECT_EQ(r[0].name, "example.com");
  EXPECT_EQ(r[0].type, RrType::kSoa);
  EXPECT_EQ(r[0].ttl, 600u);
  const SoaData& soa = std::get<SoaData>(r[0].data);
  EXPECT_EQ(soa.mname, "ns1.example.com");
  EXPECT_EQ(soa.rname, "hostmaster.example.com");
  EXPECT_EQ(soa.serial, 2024010101u);
  EXPECT_EQ(soa.refresh, 3600u);
  EXPECT_EQ(soa.retry, 900u);
  EXPECT_EQ(soa.expire, 604800u);
  EXPECT_EQ(soa.minimum, 300u);

  EXPECT_EQ(r[1].name, "example.com");  // omitted owner
  EXPECT_EQ(std::get<NameData>(r[1].data).name, "ns1.example.com");
  EXPECT_EQ(r[2].name, "ns1.example.com");
  EXPECT_EQ(std::get<AData>(r[2].data).address, (std::array<uint8_t, 4>{192, 0, 2, 53}));

  EXPECT_EQ(r[3].ttl, 3600u);
  EXPECT_EQ(std::get<MxData>(r[3].data).preference, 10);
  EXPECT_EQ(std::get<MxData>(r[3].data).exchange, "mail.example.com");
  EXPECT_EQ(r[4].name, "example.com");
  EXPECT_EQ(r[4].ttl, 7200u);  // class before TTL
  EXPECT_EQ(std::get<MxData>(r[4].data).exchange, "mail.example.net");

  EXPECT_EQ(r[5].name, "mail.example.com");
  EXPECT_EQ(r[5].type, RrType::kAaaa);
  EXPECT_EQ(std::get<AaaaData>(r[5].data).address[0], 0x20);
  EXPECT_EQ(std::get<AaaaData>(r[5].data).address[15], 0x25);
  EXPECT_EQ(r[5].ttl, 600u);  // $TTL, not the last explicit TTL

  EXPECT_EQ(r[6].name, "www.example.com");
  EXPECT_EQ(r[6].type, RrType::kCname);
  EXPECT_EQ(r[7].name, "53.2.0.192.in-addr.arpa");
  EXPECT_EQ(std::get<NameData>(r[7].data).name, "ns1.example.com");

  EXPECT_EQ(r[8].name, "_25._tcp.mail.example.com");
  const TlsaData& tlsa = std::get<TlsaData>(r[8].data);
  EXPECT_EQ(tlsa.usage, 3);
  EXPECT_EQ(tlsa.selector, 1);
  EXPECT_EQ(tlsa.matching_type, 1);
  EXPECT_EQ(tlsa.association_data,
            std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef", 16));

  EXPECT_EQ(TxtOf(r[9]), (std::vector<std::string>{"v=spf1 ", "ip4:192.0.2.0/24", " -all"}));
  EXPECT_EQ(r[10].type, RrType::kTxt);  // SPF is served as TXT (RFC 7208 §3.1)
  EXPECT_EQ(r[10].name, "spf.example.com");
}

TEST(ZoneParser, NamesWithoutOriginAreAbsolute) {
  absl::StatusOr<Zone> zone = ParseZone("example.net TXT \"v=spf1 -all\"\n");
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_EQ(zone->records[0].name, "example.net");
  EXPECT_EQ(zone->records[0].ttl, kDefaultZoneTtl);
}

TEST(ZoneParser, InitialOriginArgumentAppliesToRelativeNames) {
  absl::StatusOr<Zone> zone = ParseZone("mail A 192.0.2.1\n@ A 192.0.2.2\n", "z", "example.org.");
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_EQ(zone->records[0].name, "mail.example.org");
  EXPECT_EQ(zone->records[1].name, "example.org");
}

TEST(ZoneParser, OmittedTtlIsTheLastExplicitOneWithoutDollarTtl) {
  absl::StatusOr<Zone> zone = ParseZone("a. 42 A 192.0.2.1\nb. A 192.0.2.2\n");
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_EQ(zone->records[1].ttl, 42u);
}

struct TxtCase {
  std::string rdata;
  std::vector<std::string> strings;
};

TEST(ZoneParser, TxtStringsKeepTheirSplitAndEscapes) {
  const std::vector<TxtCase> cases = {
      {R"("v=spf1 " "-all")", {"v=spf1 ", "-all"}},
      {R"("")", {""}},
      {R"("say \"hi\"")", {"say \"hi\""}},
      {R"("back\\slash")", {"back\\slash"}},
      {R"("\065\066C")", {"ABC"}},
      {R"("\000")", {std::string(1, '\0')}},
      {R"x("semi;colon" "(paren)")x", {"semi;colon", "(paren)"}},
      {R"(unquoted words)", {"unquoted", "words"}},
      {R"(esc\ aped)", {"esc aped"}},
      {R"(v=DKIM1\;\ k=rsa)", {"v=DKIM1; k=rsa"}},
      // An unescaped ";" starts a comment even inside a word (RFC 1035 §5.1).
      {R"(v=DKIM1;\ k=rsa)", {"v=DKIM1"}},
      {"( \"a\"\n  \"b\" ) ; split over lines", {"a", "b"}},
      {"\"" + std::string(255, 'x') + "\"", {std::string(255, 'x')}},
  };
  for (const TxtCase& c : cases) {
    std::string text = "t.example. TXT " + c.rdata + "\n";
    absl::StatusOr<Zone> zone = ParseZone(text);
    ASSERT_TRUE(zone.ok()) << c.rdata << ": " << zone.status();
    ASSERT_EQ(zone->records.size(), 1u) << c.rdata;
    EXPECT_EQ(TxtOf(zone->records[0]), c.strings) << c.rdata;
  }
}

TEST(ZoneParser, ReadsFaultDirectives) {
  absl::StatusOr<Zone> zone = ParseZone(
      "$ORIGIN example.com.\n$TIMEOUT slow\n$SERVFAIL broken.example.net.\n"
      "$TIMEOUT _dmarc spf\n");
  ASSERT_TRUE(zone.ok()) << zone.status();
  ASSERT_EQ(zone->faults.size(), 3u);
  EXPECT_FALSE(zone->faults[0].type.has_value());
  EXPECT_EQ(zone->faults[2].name, "_dmarc.example.com");
  EXPECT_EQ(zone->faults[2].type, RrType::kTxt);
  EXPECT_EQ(zone->faults[0].name, "slow.example.com");
  EXPECT_EQ(zone->faults[0].fault, Fault::kTimeout);
  EXPECT_EQ(zone->faults[1].name, "broken.example.net");
  EXPECT_EQ(zone->faults[1].fault, Fault::kServfail);
}

TEST(ZoneParser, AcceptsCrLfCommentsAndBlankLines) {
  absl::StatusOr<Zone> zone =
      ParseZone("; header\r\n\r\n   \r\na.example. A 192.0.2.1 ; trailing\r\n");
  ASSERT_TRUE(zone.ok()) << zone.status();
  EXPECT_EQ(zone->records.size(), 1u);
}

struct ErrorCase {
  std::string text;
  size_t line;
  size_t column;  // 0: the whole entry
  std::string message;
};

TEST(ZoneParser, ReportsFileLineColumnAndWhatIsWrong) {
  const std::vector<ErrorCase> cases = {
      {"a. MX abc mail.\n", 1, 7, "MX preference \"abc\" is not a number"},
      {"a. MX 65536 mail.\n", 1, 7, "MX preference \"65536\" is larger than 65535"},
      {"a. MX 10\n", 1, 0, "MX record needs a preference and an exchange (2 fields), got 1"},
      {"\n\na. A 192.0.2.300\n", 3, 6, "A address \"192.0.2.300\" is not a dotted quad"},
      {"a. A 192.0.2.1 192.0.2.2\n", 1, 0, "A record needs an address (1 field), got 2"},
      {"a. AAAA 192.0.2.1\n", 1, 9, "AAAA address \"192.0.2.1\" is not an IPv6 address"},
      {"a. FOO bar\n", 1, 4, "unknown record type \"FOO\""},
      {"a. \"TXT\" x\n", 1, 4, "record type \"TXT\" must not be quoted"},
      {"a. A 192.0.2.1\n  IN\n", 2, 0, "record has no type"},
      {"a. 300 IN\n", 1, 0, "record has no type"},
      {"a. CH TXT \"x\"\n", 1, 4, "class CH is not supported, only IN"},
      {"a. 5x A 192.0.2.1\n", 1, 4, "TTL \"5x\" is not a number"},
      {"  A 192.0.2.1\n", 1, 0, "record has no owner name and there is no previous one"},
      {"a. TXT \"open\n", 1, 8, "quoted string is not closed on its line"},
      {"a. TXT (\"x\"\n\n", 1, 8, "\"(\" is never closed"},
      {"a. TXT \"x\" )\n", 1, 12, "\")\" without \"(\""},
      {"a. TXT ( ( \"x\" ) )\n", 1, 10, "nested \"(\""},
      {"a. TXT \"\\25x\"\n", 1, 9, "\"\\\" followed by a digit needs three digits (\\DDD)"},
      {"a. TXT \"\\256\"\n", 1, 9, "\\256 is not a byte value"},
      {"a. TXT x\\999\n", 1, 9, "\\999 is not a byte value"},
      {"a. TXT\n", 1, 0, "TXT record needs at least one string"},
      {"a. TXT \"" + std::string(256, 'x') + "\"\n", 1, 8,
       "TXT string is 256 bytes long, the limit is 255 (RFC 1035 §3.3); split it into several "
       "strings"},
      {"a..b. A 192.0.2.1\n", 1, 1, "name \"a..b\" has an empty label"},
      {std::string(64, 'l') + ". A 192.0.2.1\n", 1, 1,
       "name \"" + std::string(64, 'l') +
           "\" has a label of 64 octets, the limit is 63 (RFC 1035 §2.3.4)"},
      {"\"a\". A 192.0.2.1\n", 1, 1, "name \"a\" must not be quoted"},
      {"$INCLUDE other.zone\n", 1, 1, "$INCLUDE is not supported"},
      {"$FOO bar\n", 1, 1, "unknown directive $FOO"},
      {"$TTL\n", 1, 1, "$TTL takes one TTL, got 0"},
      {"$TTL soon\n", 1, 6, "$TTL \"soon\" is not a number"},
      {"$ORIGIN a. b.\n", 1, 1, "$ORIGIN takes one name, got 2"},
      {"$TIMEOUT\n", 1, 1, "$TIMEOUT takes a name and optionally a type, got 0 fields"},
      {"$SERVFAIL a. TXT x\n", 1, 1, "$SERVFAIL takes a name and optionally a type, got 3 fields"},
      {"$TIMEOUT a. BOGUS\n", 1, 13, "unknown record type \"BOGUS\""},
      {"a. TLSA 3 1 1 abc\n", 1, 15, "TLSA data has an odd number of hex digits"},
      {"a. TLSA 3 1 1 zz\n", 1, 15, "TLSA data has a non-hex character at position 0"},
      {"a. TLSA 3 1 256 00\n", 1, 13, "TLSA matching type \"256\" is larger than 255"},
      {"a. TLSA 3 1 1\n", 1, 0,
       "TLSA record needs usage, selector, matching type and hex data (4 or more fields), got 3"},
      {"a. SOA ns. host. 1 2 3 4\n", 1, 0,
       "SOA record needs mname rname serial refresh retry expire minimum (7 fields), got 6"},
      {"a. SOA ns. host. 1 2 3 4 later\n", 1, 26, "SOA minimum \"later\" is not a number"},
      // The error is on the line of the bad field, not where the entry began.
      {"a. MX (\n 10\n x..y. )\n", 3, 2, "name \"x..y\" has an empty label"},
      {"a. A 192.0.2.1\n" + std::string(kMaxZoneLineLength + 1, 'x') + "\n", 2, 0,
       "line is 8193 bytes long, the limit is 8192"},
  };
  for (const ErrorCase& c : cases) {
    ZoneError error;
    absl::StatusOr<Zone> zone = ParseZone(c.text, "zone.txt", "", &error);
    ASSERT_FALSE(zone.ok()) << c.text;
    EXPECT_EQ(zone.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(error.line, c.line) << c.text;
    EXPECT_EQ(error.column, c.column) << c.text;
    EXPECT_EQ(error.message, c.message) << c.text;
    std::string where = "zone.txt:" + std::to_string(c.line) +
                        (c.column > 0 ? ":" + std::to_string(c.column) : "");
    EXPECT_EQ(zone.status().message(), where + ": " + c.message) << c.text;
  }
}

struct NameCase {
  std::string field;  // as written in the zone
  std::string name;   // dotted text ParseZone returns
};

// RFC 1035 §5.1: "\X" is X and "\DDD" the octet DDD in any domain name.
TEST(ZoneParser, NamesTakeEscapesAndHoldAnyOctetButTheDot) {
  const std::vector<NameCase> cases = {
      {"plain.example.", "plain.example"},
      {"foo\\ bar.example.", "foo bar.example"},
      {"foo\\032bar.example.", "foo bar.example"},
      {"100%.example.", "100%.example"},
      {"\\%{i}.example.", "%{i}.example"},
      {"a\\;b.example.", "a;b.example"},
      {"a\\(b\\).example.", "a(b).example"},
      {"\\\"q\\\".example.", "\"q\".example"},
      {"back\\\\slash.example.", "back\\slash.example"},
      {"\\@.example.", "@.example"},
      {"\\$dollar.example.", "$dollar.example"},
      {"nul\\000.example.", std::string("nul\0.example", 12)},
      {"\\255\\128.example.", "\xff\x80.example"},
      {"caf\\195\\169.example.", "caf\xc3\xa9.example"},
      {"UPPER\\065.Example.", "UPPERA.Example"},
      {"rel\\ ative", "rel ative.origin.test"},
      // 63 octets written as 63 escapes: limits count octets, not characters.
      {[] {
         std::string s;
         for (int i = 0; i < 63; ++i) s += "\\032";
         return s + ".example.";
       }(),
       std::string(63, ' ') + ".example"},
  };
  for (const NameCase& c : cases) {
    std::string text = "$ORIGIN origin.test.\n" + c.field + " 60 IN CNAME " + c.field +
                       "\n" + c.field + " MX 10 " + c.field + "\n";
    absl::StatusOr<Zone> zone = ParseZone(text);
    ASSERT_TRUE(zone.ok()) << c.field << ": " << zone.status();
    ASSERT_EQ(zone->records.size(), 2u) << c.field;
    EXPECT_EQ(zone->records[0].name, c.name) << c.field;
    EXPECT_EQ(std::get<NameData>(zone->records[0].data).name, c.name) << c.field;
    EXPECT_EQ(std::get<MxData>(zone->records[1].data).exchange, c.name) << c.field;
  }
}

TEST(ZoneParser, EscapedNamesReachEveryNameField) {
  absl::StatusOr<Zone> zone = ParseZone(
      "a\\ b.example. SOA ns\\ 1.example. host\\@.example. 1 2 3 4 5\n"
      "  NS ns\\0491.example.\n"
      "4.3.2.1.in-addr.arpa. PTR p\\%.example.\n"
      "$TIMEOUT t\\ o.example. TXT\n"
      "$SERVFAIL s\\ f.example.\n");
  ASSERT_TRUE(zone.ok()) << zone.status();
  ASSERT_EQ(zone->records.size(), 3u);
  const SoaData& soa = std::get<SoaData>(zone->records[0].data);
  EXPECT_EQ(zone->records[0].name, "a b.example");
  EXPECT_EQ(soa.mname, "ns 1.example");
  EXPECT_EQ(soa.rname, "host@.example");
  EXPECT_EQ(zone->records[1].name, "a b.example");
  EXPECT_EQ(std::get<NameData>(zone->records[1].data).name, "ns11.example");
  EXPECT_EQ(std::get<NameData>(zone->records[2].data).name, "p%.example");
  ASSERT_EQ(zone->faults.size(), 2u);
  EXPECT_EQ(zone->faults[0].name, "t o.example");
  EXPECT_EQ(zone->faults[1].name, "s f.example");
}

TEST(ZoneParser, RejectsMalformedEscapesInNamesWithTheirColumn) {
  std::string long_label;
  for (int i = 0; i < 64; ++i) long_label += "\\065";
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + ".";
  const std::vector<ErrorCase> cases = {
      {"a\\256.example. A 192.0.2.1\n", 1, 2, "\\256 is not a byte value"},
      {"x. CNAME ab\\999.example.\n", 1, 12, "\\999 is not a byte value"},
      {"x. MX 10 a\\1.example.\n", 1, 11,
       "\"\\\" followed by a digit needs three digits (\\DDD)"},
      {"x. PTR a\\12\n", 1, 9, "\"\\\" followed by a digit needs three digits (\\DDD)"},
      {"x. NS a\\\n", 1, 8, "\"\\\" at the end of a line"},
      {"a\\.b.example. A 192.0.2.1\n", 1, 2,
       "name \"a\\.b.example.\" has an escaped dot inside a label, which mxkit's dotted names "
       "cannot hold"},
      {"a\\046b.example. A 192.0.2.1\n", 1, 2,
       "name \"a\\046b.example.\" has an escaped dot inside a label, which mxkit's dotted names "
       "cannot hold"},
      {"caf\xc3\xa9. A 192.0.2.1\n", 1, 4,
       "name \"caf\xc3\xa9.\" has the raw byte 0xc3; write it as \\DDD, or an internationalized "
       "name as its A-labels"},
      {long_label + ".example. A 192.0.2.1\n", 1, 1,
       "name \"" + std::string(64, 'A') +
           ".example\" has a label of 64 octets, the limit is 63 (RFC 1035 §2.3.4)"},
      {long_name + "x\\ y. A 192.0.2.1\n", 1, 1,
       "name is 259 octets long, the limit is 253 (RFC 1035 §2.3.4)"},
      {"a\\ \\ .. A 192.0.2.1\n", 1, 1, "name \"a\\032\\032.\" has an empty label"},
      {"$TIMEOUT x\\300y. TXT\n", 1, 11, "\\300 is not a byte value"},
      {"$ORIGIN o\\.rg.\n", 1, 10,
       "name \"o\\.rg.\" has an escaped dot inside a label, which mxkit's dotted names cannot "
       "hold"},
  };
  for (const ErrorCase& c : cases) {
    ZoneError error;
    absl::StatusOr<Zone> zone = ParseZone(c.text, "zone.txt", "", &error);
    ASSERT_FALSE(zone.ok()) << c.text;
    EXPECT_EQ(error.line, c.line) << c.text;
    EXPECT_EQ(error.column, c.column) << c.text;
    EXPECT_EQ(error.message, c.message) << c.text;
  }
}

struct FormatNameCase {
  std::string name;
  std::string written;
};

TEST(FormatZoneName, EscapesWhatTheSyntaxWouldReadOtherwise) {
  const std::vector<FormatNameCase> cases = {
      {"", "."},
      {"example.com", "example.com."},
      {"foo bar.example", "foo\\032bar.example."},
      {"%{i}._spf.example", "%{i}._spf.example."},
      {"a;b(c)\"d\\e.example", "a\\;b\\(c\\)\\\"d\\\\e.example."},
      {"@.example", "\\@.example."},
      {"$x.example", "\\$x.example."},
      {std::string("\0\t\x7f\xff.example", 12), "\\000\\009\\127\\255.example."},
  };
  for (const FormatNameCase& c : cases) {
    EXPECT_EQ(FormatZoneName(c.name), c.written) << c.name;
  }
}

// Every record and fault compared field by field (ToWireRecord gives the
// resolver.h structs an equality).
void ExpectSameZone(const Zone& a, const Zone& b, const std::string& context) {
  ASSERT_EQ(a.records.size(), b.records.size()) << context;
  for (size_t i = 0; i < a.records.size(); ++i) {
    EXPECT_TRUE(ToWireRecord(a.records[i]) == ToWireRecord(b.records[i]))
        << context << ": record " << i << " " << a.records[i].name << " vs " << b.records[i].name;
  }
  ASSERT_EQ(a.faults.size(), b.faults.size()) << context;
  for (size_t i = 0; i < a.faults.size(); ++i) {
    EXPECT_EQ(a.faults[i].name, b.faults[i].name) << context;
    EXPECT_EQ(a.faults[i].fault, b.faults[i].fault) << context;
    EXPECT_EQ(a.faults[i].type, b.faults[i].type) << context;
  }
}

TEST(FormatZone, ParsesBackToTheSameZone) {
  constexpr std::string_view kZone = R"zone($ORIGIN example.com.
@        IN SOA ns\ 1 host\@ 2024010101 1h 15m 1w 300
         NS  ns\0011
a\ b    300 A   192.0.2.1
%{i}     AAAA 2001:db8::1
@        MX 10 m\;x
@        TXT "v=spf1 " "\"quoted\" \\ back" "\000\255\t"
p\(     PTR  \$d
c\)     CNAME \@
_25._tcp TLSA 3 1 1 00ff10
.        A 192.0.2.9
$TIMEOUT slow\ name
$SERVFAIL t\"x TXT
)zone";
  absl::StatusOr<Zone> zone = ParseZone(kZone);
  ASSERT_TRUE(zone.ok()) << zone.status();
  absl::StatusOr<std::string> written = FormatZone(*zone);
  ASSERT_TRUE(written.ok()) << written.status();
  absl::StatusOr<Zone> back = ParseZone(*written, "written");
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << *written;
  ExpectSameZone(*zone, *back, *written);
  EXPECT_NE(written->find("a\\032b.example.com. 300 IN A 192.0.2.1\n"), std::string::npos)
      << *written;
  EXPECT_NE(written->find("$SERVFAIL t\\\"x.example.com. TXT\n"), std::string::npos) << *written;
}

// Found by the zone fuzzer: a TXT record spread over lines by parentheses
// was written on one line over kMaxZoneLineLength, which ParseZone refuses.
TEST(FormatZone, SpreadsLongRdataOverLinesWithinTheLineLimit) {
  Zone zone;
  TxtData txt;
  for (int i = 0; i < 40; ++i) txt.strings.push_back(std::string(255, '\xff'));
  zone.records.push_back({"many.example", RrType::kTxt, 60, txt});
  zone.records.push_back(
      {"_25._tcp.example", RrType::kTlsa, 60, TlsaData{3, 1, 1, std::string(5000, '\x5a')}});
  absl::StatusOr<std::string> written = FormatZone(zone);
  ASSERT_TRUE(written.ok()) << written.status();
  size_t longest = 0;
  for (size_t start = 0; start < written->size();) {
    size_t end = written->find('\n', start);
    longest = std::max(longest, end - start);
    start = end + 1;
  }
  EXPECT_LE(longest, kMaxZoneLineLength);
  absl::StatusOr<Zone> back = ParseZone(*written, "written");
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameZone(zone, *back, "long rdata");
}

struct RefusalCase {
  ResourceRecord record;
  std::string message;
};

TEST(FormatZone, RefusesWhatWouldNotReadBackTheSame) {
  const std::vector<RefusalCase> cases = {
      {{"x.example", static_cast<RrType>(99), 60, TxtData{{"v=spf1"}}},
       "record 1 (x.example TYPE99): the zone format has no way to write this type with this "
       "data"},
      {{"x.example", RrType::kA, 60, TxtData{{"v=spf1"}}},
       "record 1 (x.example A): the zone format has no way to write this type with this data"},
      {{"x..example", RrType::kA, 60, AData{{192, 0, 2, 1}}},
       "record 1 (x..example A): name \"x..example\" has an empty label"},
      {{"x.example.", RrType::kA, 60, AData{{192, 0, 2, 1}}},
       "record 1 (x.example. A): name \"x.example.\" has an empty label"},
      {{"x.example", RrType::kCname, 60, NameData{std::string(64, 'c') + ".example"}},
       "record 1 (x.example CNAME): name \"" + std::string(64, 'c') +
           ".example\" has a label of 64 octets, the limit is 63"},
      {{"x.example", RrType::kTxt, 60, TxtData{{std::string(256, 't')}}},
       "record 1 (x.example TXT): a string of 256 bytes, the limit is 255 (RFC 1035 §3.3)"},
      {{"x.example", RrType::kTxt, 60, TxtData{}},
       "record 1 (x.example TXT): TXT needs at least one string"},
      {{"x.example", RrType::kTlsa, 60, TlsaData{3, 1, 1, ""}},
       "record 1 (x.example TLSA): TLSA needs association data"},
  };
  for (const RefusalCase& c : cases) {
    Zone zone;
    zone.records.push_back(c.record);
    absl::StatusOr<std::string> written = FormatZone(zone);
    ASSERT_FALSE(written.ok()) << c.message;
    EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(written.status().message(), c.message);
  }
}

TEST(ZoneParser, BoundsTheNumberOfRecords) {
  std::string text;
  for (size_t i = 0; i <= kMaxZoneRecords; ++i) text += " A 192.0.2.1\n";
  ZoneError error;
  absl::StatusOr<Zone> zone = ParseZone("a. A 192.0.2.1\n" + text, "big", "", &error);
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(error.message, "more than 100000 records");
  EXPECT_EQ(error.line, kMaxZoneRecords + 1);
}

}  // namespace
}  // namespace mxkit::dns
