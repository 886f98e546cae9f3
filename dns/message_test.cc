#include "dns/message.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

using Bytes = std::vector<uint8_t>;

std::string S(const Bytes& b) { return std::string(b.begin(), b.end()); }

// A header with the given counts (response, RD+RA, NOERROR).
Bytes HeaderBytes(uint16_t qd, uint16_t an, uint16_t ns = 0, uint16_t ar = 0) {
  return {0x12, 0x34, 0x81, 0x80, 0, static_cast<uint8_t>(qd), 0, static_cast<uint8_t>(an),
          0, static_cast<uint8_t>(ns), 0, static_cast<uint8_t>(ar)};
}

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// "example.com" as wire labels.
const Bytes kExampleCom = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};

WireRecord Record(std::string name, RrType type, WireRData data, uint32_t ttl = 300) {
  return WireRecord{std::move(name), static_cast<uint16_t>(type), kClassIn, ttl, std::move(data)};
}

Message RealisticResponse() {
  Message m;
  m.header = Header{0xbeef, true, 0, true, false, true, true, 0, 0};
  m.questions.push_back(Question{"example.com", static_cast<uint16_t>(RrType::kMx), kClassIn});
  m.answers.push_back(Record("example.com", RrType::kMx, MxData{10, "mail.example.com"}));
  m.answers.push_back(Record("example.com", RrType::kMx, MxData{20, "mx2.Example.COM"}));
  m.answers.push_back(Record("www.example.com", RrType::kCname, NameData{"example.com"}));
  m.answers.push_back(
      Record("example.com", RrType::kTxt, TxtData{{"v=spf1 ip4:192.0.2.0/24 ", "-all", ""}}));
  m.answers.push_back(Record("_25._tcp.mail.example.com", RrType::kTlsa,
                             TlsaData{3, 1, 1, std::string("\x00\xff\x10", 3)}));
  m.answers.push_back(Record("1.2.0.192.in-addr.arpa", RrType::kPtr, NameData{"mail.example.com"}));
  m.authorities.push_back(Record("example.com", RrType::kNs, NameData{"ns1.example.com"}));
  m.authorities.push_back(Record("example.com", RrType::kSoa,
                                 SoaData{"ns1.example.com", "hostmaster.example.com", 2024010101,
                                         3600, 900, 604800, 300}));
  m.additionals.push_back(Record("mail.example.com", RrType::kA, AData{{192, 0, 2, 1}}));
  AaaaData v6{};
  v6.address[0] = 0x20;
  v6.address[1] = 0x01;
  v6.address[15] = 1;
  m.additionals.push_back(Record("mail.example.com", RrType::kAaaa, v6));
  // An unknown type and the EDNS OPT pseudo-record stay raw (RFC 3597, RFC 6891).
  m.additionals.push_back(WireRecord{"example.com", 99, kClassIn, 60, RawData{"\x05hello"}});
  m.additionals.push_back(WireRecord{"", 41, 1232, 0, RawData{""}});
  // CHAOS TXT (version.bind) is not class IN, so it is kept raw.
  m.additionals.push_back(WireRecord{"version.bind", 16, 3, 0, RawData{"\x03" "9.x"}});
  return m;
}

TEST(MessageCodec, RoundTripsARealisticResponseWithAndWithoutCompression) {
  Message m = RealisticResponse();
  for (bool compress : {true, false}) {
    WireResult<std::string> wire = BuildMessage(m, BuildOptions{compress});
    ASSERT_TRUE(wire.ok()) << wire.error().message;
    WireResult<Message> parsed = ParseMessage(*wire);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message << " at " << parsed.error().offset;
    EXPECT_TRUE(*parsed == m) << "compress=" << compress;
  }
  EXPECT_LT(BuildMessage(m, {true})->size(), BuildMessage(m, {false})->size());
}

TEST(MessageCodec, CompressionIsCaseExact) {
  // "mx2.Example.COM" must not be written as a pointer to "example.com".
  Message m;
  m.answers.push_back(Record("example.com", RrType::kA, AData{{192, 0, 2, 1}}));
  m.answers.push_back(Record("EXAMPLE.com", RrType::kA, AData{{192, 0, 2, 2}}));
  WireResult<Message> parsed = ParseMessage(*BuildMessage(m));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->answers[1].name, "EXAMPLE.com");
}

TEST(MessageCodec, ParsesHandBuiltResponseWithCompressionPointers) {
  // Question example.com TXT; answer: pointer to the question name, TXT with
  // two strings; then a CNAME whose target points back at offset 12.
  Bytes wire = Cat({HeaderBytes(1, 2), kExampleCom, {0, 16, 0, 1},
                    {0xc0, 12, 0, 16, 0, 1, 0, 0, 0x0e, 0x10, 0, 8, 3, 'a', 'b', 'c', 3, 'd', 'e',
                     'f'},
                    {3, 'w', 'w', 'w', 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12}});
  WireResult<Message> m = ParseMessage(S(wire));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_TRUE(m->header.qr);
  EXPECT_TRUE(m->header.rd);
  EXPECT_TRUE(m->header.ra);
  EXPECT_EQ(m->header.rcode, 0);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, "example.com");
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].name, "example.com");
  EXPECT_EQ(m->answers[0].ttl, 3600u);
  EXPECT_EQ(std::get<TxtData>(m->answers[0].data).strings,
            (std::vector<std::string>{"abc", "def"}));
  EXPECT_EQ(m->answers[1].name, "www.example.com");
  EXPECT_EQ(std::get<NameData>(m->answers[1].data).name, "example.com");
}

TEST(MessageCodec, EscapesLabelBytesThatTextCannotCarry) {
  Bytes wire = Cat({HeaderBytes(1, 0), {4, 'a', '.', '\\', 0, 3, 'c', 'o', 'm', 0}, {0, 1, 0, 1}});
  WireResult<Message> m = ParseMessage(S(wire));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->questions[0].name, "a\\.\\\\\\000.com");
  WireResult<std::string> rebuilt = BuildMessage(*m);
  ASSERT_TRUE(rebuilt.ok());
  Bytes expected = wire;
  expected[2] = 0x81;  // flags survive as parsed
  EXPECT_EQ(*rebuilt, S(expected));
}

struct ParseErrorCase {
  std::string label;
  Bytes wire;
  WireErrorKind kind;
  size_t offset;
};

Bytes LongName(int labels) {
  Bytes out;
  for (int i = 0; i < labels; ++i) {
    out.push_back(63);
    out.insert(out.end(), 63, 'x');
  }
  out.push_back(0);
  return out;
}

// N questions for the root name, each after the first a pointer to the one
// before it, so the last name follows N-1 pointers.
Bytes PointerChain(int questions) {
  Bytes out = HeaderBytes(0, 0);
  out[4] = static_cast<uint8_t>(questions >> 8);
  out[5] = static_cast<uint8_t>(questions & 0xff);
  size_t previous = 0;
  for (int i = 0; i < questions; ++i) {
    size_t here = out.size();
    if (i == 0) {
      out.push_back(0);
    } else {
      out.push_back(static_cast<uint8_t>(0xc0 | previous >> 8));
      out.push_back(static_cast<uint8_t>(previous & 0xff));
    }
    out.insert(out.end(), {0, 1, 0, 1});
    previous = here;
  }
  return out;
}

TEST(MessageParser, RejectsMalformedInputWithKindAndOffset) {
  const Bytes q = Cat({kExampleCom, {0, 1, 0, 1}});  // 17 bytes, question at 12
  const Bytes a_rr_head = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60};  // owner..TTL
  const std::vector<ParseErrorCase> cases = {
      {"empty", {}, WireErrorKind::kTruncated, 0},
      {"short header", {0x12, 0x34, 0x81}, WireErrorKind::kTruncated, 2},
      {"question promised, none sent", HeaderBytes(1, 0), WireErrorKind::kTruncated, 12},
      {"label runs past the end", Cat({HeaderBytes(1, 0), {5, 'a', 'b'}}),
       WireErrorKind::kTruncated, 13},
      {"question without type", Cat({HeaderBytes(1, 0), kExampleCom}), WireErrorKind::kTruncated,
       25},
      {"pointer to itself", Cat({HeaderBytes(1, 0), {0xc0, 12, 0, 1, 0, 1}}),
       WireErrorKind::kBadPointer, 12},
      {"forward pointer", Cat({HeaderBytes(1, 0), {0xc0, 20, 0, 1, 0, 1, 0, 0}}),
       WireErrorKind::kBadPointer, 12},
      {"pointer into the header", Cat({HeaderBytes(1, 0), {0xc0, 4, 0, 1, 0, 1}}),
       WireErrorKind::kBadPointer, 12},
      {"pointer loop through a label", Cat({HeaderBytes(1, 0), {1, 'a', 0xc0, 12, 0, 1, 0, 1}}),
       WireErrorKind::kBadPointer, 14},
      {"two-step loop", Cat({HeaderBytes(1, 1), q, {1, 'b', 0xc0, 29, 0, 1, 0, 1}}),
       WireErrorKind::kBadPointer, 31},
      {"pointer cut off", Cat({HeaderBytes(1, 0), {0xc0}}), WireErrorKind::kTruncated, 12},
      {"label type 0x40", Cat({HeaderBytes(1, 0), {0x41, 'a', 0, 0, 1, 0, 1}}),
       WireErrorKind::kBadLabelType, 12},
      {"label type 0x80", Cat({HeaderBytes(1, 0), {0x81, 'a', 0, 0, 1, 0, 1}}),
       WireErrorKind::kBadLabelType, 12},
      // 4 labels of 63 are 256 octets; the fourth label crosses 255.
      {"name over 255 octets", Cat({HeaderBytes(1, 0), LongName(4), {0, 1, 0, 1}}),
       WireErrorKind::kNameTooLong, 12 + 3 * 64},
      // The last name's 128th pointer is the one in the second question.
      {"too many pointers", PointerChain(130), WireErrorKind::kTooManyPointers, 12 + 5},
      {"RDLENGTH past the end", Cat({HeaderBytes(1, 1), q, a_rr_head, {0, 4, 192, 0}}),
       WireErrorKind::kTruncated, 41},
      {"A with RDLENGTH 5", Cat({HeaderBytes(1, 1), q, a_rr_head, {0, 5, 192, 0, 2, 1, 9}}),
       WireErrorKind::kBadRdataLength, 41},
      {"MX name shorter than RDLENGTH",
       Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 5, 0, 10, 0xc0, 12, 7}}),
       WireErrorKind::kBadRdataLength, 45},
      {"MX name longer than RDLENGTH",
       Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 3, 0, 10, 0xc0, 12}}),
       WireErrorKind::kBadRdataLength, 43},
      {"TXT string past RDLENGTH",
       Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 3, 5, 'a', 'b'}}),
       WireErrorKind::kBadRdataLength, 42},
      {"empty TXT", Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0}}),
       WireErrorKind::kBadRdata, 41},
      {"SOA without timers",
       Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 8, 0xc0, 12, 0xc0, 12,
                                   0, 0, 0, 1}}),
       WireErrorKind::kBadRdataLength, 49},
      {"TLSA under 3 bytes",
       Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 52, 0, 1, 0, 0, 0, 60, 0, 2, 3, 1}}),
       WireErrorKind::kBadRdataLength, 41},
      {"trailing bytes", Cat({HeaderBytes(1, 0), q, {0, 0}}), WireErrorKind::kTrailingData, 29},
  };
  for (const ParseErrorCase& c : cases) {
    WireResult<Message> m = ParseMessage(S(c.wire));
    ASSERT_FALSE(m.ok()) << c.label;
    EXPECT_EQ(WireErrorKindName(m.error().kind), WireErrorKindName(c.kind))
        << c.label << ": " << m.error().message;
    EXPECT_EQ(m.error().offset, c.offset) << c.label << ": " << m.error().message;
    EXPECT_FALSE(m.error().message.empty()) << c.label;
  }
}

TEST(MessageParser, AcceptsTheLongestLegalNameAndPointerChain) {
  // 3 labels of 63 + one of 61 = 255 octets with the root.
  Bytes name = LongName(3);
  name.pop_back();
  name.push_back(61);
  name.insert(name.end(), 61, 'y');
  name.push_back(0);
  WireResult<Message> m = ParseMessage(S(Cat({HeaderBytes(1, 0), name, {0, 1, 0, 1}})));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->questions[0].name.size(), 253u);
  WireResult<Message> chain = ParseMessage(S(PointerChain(128)));  // 127 pointers
  ASSERT_TRUE(chain.ok()) << chain.error().message;
  EXPECT_EQ(chain->questions.size(), 128u);
}

TEST(MessageParser, PointerMayLeaveRdataButLabelsMayNot) {
  // The MX exchange is a pointer to the question name outside the RDATA: fine.
  const Bytes q = Cat({kExampleCom, {0, 15, 0, 1}});
  Bytes ok = Cat({HeaderBytes(1, 1), q, {0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 10, 0xc0, 12}});
  WireResult<Message> m = ParseMessage(S(ok));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(std::get<MxData>(m->answers[0].data).exchange, "example.com");
}

struct BuildErrorCase {
  std::string label;
  Message message;
  WireErrorKind kind;
};

TEST(MessageBuilder, RejectsWhatCannotBeEncoded) {
  auto with_answer = [](WireRecord rr) {
    Message m;
    m.answers.push_back(std::move(rr));
    return m;
  };
  std::string long_label(64, 'x');
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'x') + ".";
  const std::vector<BuildErrorCase> cases = {
      {"empty label", with_answer(Record("a..b", RrType::kA, AData{})), WireErrorKind::kBadName},
      {"leading dot", with_answer(Record(".a", RrType::kA, AData{})), WireErrorKind::kBadName},
      {"label over 63", with_answer(Record(long_label, RrType::kA, AData{})),
       WireErrorKind::kBadName},
      {"name over 255", with_answer(Record(long_name, RrType::kA, AData{})),
       WireErrorKind::kBadName},
      {"bad escape", with_answer(Record("a\\25", RrType::kA, AData{})), WireErrorKind::kBadName},
      {"escape over 255", with_answer(Record("a\\256", RrType::kA, AData{})),
       WireErrorKind::kBadName},
      {"TXT string over 255",
       with_answer(Record("a", RrType::kTxt, TxtData{{std::string(256, 'x')}})),
       WireErrorKind::kTooLarge},
      {"TXT without strings", with_answer(Record("a", RrType::kTxt, TxtData{})),
       WireErrorKind::kBadRdata},
      {"MX data on an A record", with_answer(Record("a", RrType::kA, MxData{1, "b"})),
       WireErrorKind::kBadRdata},
      {"decoded data in class CH",
       with_answer(WireRecord{"a", 16, 3, 0, TxtData{{"x"}}}), WireErrorKind::kBadRdata},
      {"RDATA over 65535",
       with_answer(WireRecord{"a", 99, kClassIn, 0, RawData{std::string(65536, 'x')}}),
       WireErrorKind::kTooLarge},
  };
  for (const BuildErrorCase& c : cases) {
    WireResult<std::string> wire = BuildMessage(c.message);
    ASSERT_FALSE(wire.ok()) << c.label;
    EXPECT_EQ(WireErrorKindName(wire.error().kind), WireErrorKindName(c.kind))
        << c.label << ": " << wire.error().message;
  }
  Message big;
  for (int i = 0; i < 2; ++i) {
    big.answers.push_back(WireRecord{"a", 99, kClassIn, 0, RawData{std::string(40000, 'x')}});
  }
  WireResult<std::string> wire = BuildMessage(big);
  ASSERT_FALSE(wire.ok());
  EXPECT_EQ(wire.error().kind, WireErrorKind::kTooLarge);
}

TEST(MessageBuilder, TrailingDotAndRootNames) {
  Message m = MakeQuery(7, "example.com.", static_cast<uint16_t>(RrType::kTxt));
  EXPECT_EQ(m.questions[0].name, "example.com");
  EXPECT_TRUE(m.header.rd);
  WireResult<std::string> wire = BuildMessage(m);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(*wire, S(Cat({{0, 7, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, kExampleCom, {0, 16, 0, 1}})));
  Message root;
  root.questions.push_back(Question{".", 2, kClassIn});
  WireResult<std::string> root_wire = BuildMessage(root);
  ASSERT_TRUE(root_wire.ok());
  EXPECT_EQ(ParseMessage(*root_wire)->questions[0].name, "");
}

TEST(MessageCodec, ConvertsToAndFromResolverRecords) {
  ResourceRecord rr{"example.com", RrType::kTxt, 60, TxtData{{"a", "b"}}};
  WireRecord wire = ToWireRecord(rr);
  EXPECT_EQ(wire.type, 16);
  std::optional<ResourceRecord> back = ToResourceRecord(wire);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name, "example.com");
  EXPECT_EQ(std::get<TxtData>(back->data).strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(ToResourceRecord(WireRecord{"x", 99, kClassIn, 0, RawData{}}).has_value());
  EXPECT_FALSE(ToResourceRecord(WireRecord{"x", 16, 3, 0, RawData{"\x01x"}}).has_value());
}

TEST(MessageCodec, NamesCompareCaseInsensitively) {
  EXPECT_TRUE(NamesEqual("Example.COM.", "example.com"));
  EXPECT_FALSE(NamesEqual("example.com", "example.net"));
}

Message Response(std::string qname, RrType qtype, Rcode rcode = Rcode::kNoError) {
  Message m = MakeQuery(1, qname, static_cast<uint16_t>(qtype));
  m.header.qr = true;
  m.header.rcode = static_cast<uint8_t>(rcode);
  return m;
}

LookupResult Interpret(const Message& m, std::string_view name, RrType type) {
  WireResult<std::string> wire = BuildMessage(m);
  EXPECT_TRUE(wire.ok());
  return InterpretAnswer(name, type, wire.ok() ? *wire : "");
}

TEST(InterpretAnswer, FollowsCnamesToTheQueriedType) {
  Message m = Response("www.example.com", RrType::kA);
  m.answers.push_back(Record("WWW.example.com", RrType::kCname, NameData{"web.example.net"}));
  m.answers.push_back(Record("web.example.net", RrType::kCname, NameData{"host.example.net"}));
  m.answers.push_back(Record("host.example.net", RrType::kA, AData{{192, 0, 2, 9}}));
  // An A record for a name off the chain is ignored.
  m.answers.push_back(Record("other.example", RrType::kA, AData{{192, 0, 2, 66}}));
  LookupResult r = Interpret(m, "www.example.com.", RrType::kA);
  ASSERT_EQ(r.status, LookupStatus::kAnswer) << r.detail;
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(std::get<AData>(r.records[0].data).address[3], 9);
  ASSERT_EQ(r.cname_chain.size(), 2u);
  EXPECT_EQ(r.cname_chain[1].name, "web.example.net");
}

TEST(InterpretAnswer, ReportsTheAdBitForAnswersAndDenials) {
  struct Row {
    Rcode rcode;
    uint8_t z;
    bool authenticated;
  };
  const Row rows[] = {
      {Rcode::kNoError, kZAuthenticData, true},
      {Rcode::kNoError, 0, false},
      {Rcode::kNoError, kZCheckingDisabled, false},
      {Rcode::kNxDomain, kZAuthenticData, true},  // authenticated denial
      {Rcode::kNxDomain, 0, false},
  };
  for (const Row& row : rows) {
    Message m = Response("_25._tcp.mx.example", RrType::kTlsa, row.rcode);
    m.header.z = row.z;
    if (row.rcode == Rcode::kNoError) {
      m.answers.push_back(
          Record("_25._tcp.mx.example", RrType::kTlsa, TlsaData{3, 1, 1, std::string(32, 'x')}));
    }
    LookupResult r = Interpret(m, "_25._tcp.mx.example", RrType::kTlsa);
    EXPECT_EQ(r.authenticated, row.authenticated) << static_cast<int>(row.rcode) << " z=" << int{row.z};
  }
}

TEST(InterpretAnswer, MapsRcodesAndEmptyAnswers) {
  struct Row {
    Rcode rcode;
    LookupStatus status;
  };
  const std::vector<Row> rows = {
      {Rcode::kNoError, LookupStatus::kNoData},
      {Rcode::kNxDomain, LookupStatus::kNxDomain},
      {Rcode::kServFail, LookupStatus::kTemporaryFailure},
      {Rcode::kRefused, LookupStatus::kPermanentFailure},
      {Rcode::kFormErr, LookupStatus::kPermanentFailure},
      {Rcode::kNotImp, LookupStatus::kPermanentFailure},
      {static_cast<Rcode>(9), LookupStatus::kPermanentFailure},
  };
  for (const Row& row : rows) {
    LookupResult r = Interpret(Response("example.com", RrType::kTxt, row.rcode), "example.com",
                               RrType::kTxt);
    EXPECT_EQ(r.status, row.status) << static_cast<int>(row.rcode) << " " << r.detail;
  }
}

TEST(InterpretAnswer, RejectsAnswersThatDoNotFit) {
  Message other = Response("example.org", RrType::kTxt);
  EXPECT_EQ(Interpret(other, "example.com", RrType::kTxt).status, LookupStatus::kPermanentFailure);
  Message query = Response("example.com", RrType::kTxt);
  query.header.qr = false;
  EXPECT_EQ(Interpret(query, "example.com", RrType::kTxt).status, LookupStatus::kPermanentFailure);
  Message truncated = Response("example.com", RrType::kTxt);
  truncated.header.tc = true;
  EXPECT_EQ(Interpret(truncated, "example.com", RrType::kTxt).status,
            LookupStatus::kTemporaryFailure);
  EXPECT_EQ(InterpretAnswer("example.com", RrType::kTxt, "\x01").status,
            LookupStatus::kPermanentFailure);
  Message loop = Response("a.example", RrType::kA);
  loop.answers.push_back(Record("a.example", RrType::kCname, NameData{"b.example"}));
  loop.answers.push_back(Record("b.example", RrType::kCname, NameData{"a.example"}));
  LookupResult r = Interpret(loop, "a.example", RrType::kA);
  EXPECT_EQ(r.status, LookupStatus::kPermanentFailure);
  EXPECT_NE(r.detail.find("loop"), std::string::npos);
}

TEST(InterpretAnswer, NxDomainKeepsTheChainThatLedThere) {
  Message m = Response("alias.example", RrType::kA, Rcode::kNxDomain);
  m.answers.push_back(Record("alias.example", RrType::kCname, NameData{"gone.example"}));
  LookupResult r = Interpret(m, "alias.example", RrType::kA);
  EXPECT_EQ(r.status, LookupStatus::kNxDomain);
  EXPECT_EQ(r.cname_chain.size(), 1u);
}

}  // namespace
}  // namespace mxkit::dns
