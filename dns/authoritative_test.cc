#include "dns/authoritative.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "dns/message.h"

namespace mxkit::dns {
namespace {

constexpr uint16_t kA = static_cast<uint16_t>(RrType::kA);
constexpr uint16_t kMx = static_cast<uint16_t>(RrType::kMx);
constexpr uint16_t kTxt = static_cast<uint16_t>(RrType::kTxt);
constexpr uint16_t kCname = static_cast<uint16_t>(RrType::kCname);
constexpr uint16_t kSoa = static_cast<uint16_t>(RrType::kSoa);
constexpr uint16_t kAaaa = static_cast<uint16_t>(RrType::kAaaa);
constexpr uint16_t kOpt = 41;
constexpr uint16_t kAny = 255;
constexpr uint8_t kAdBit = 0x2;  // in Header::z
constexpr uint8_t kCdBit = 0x1;

ResourceRecord A(std::string name, uint8_t last) {
  return {std::move(name), RrType::kA, 300, AData{{192, 0, 2, last}}};
}
ResourceRecord Cname(std::string name, std::string target) {
  return {std::move(name), RrType::kCname, 300, NameData{std::move(target)}};
}
ResourceRecord Txt(std::string name, std::string text) {
  return {std::move(name), RrType::kTxt, 300, TxtData{{std::move(text)}}};
}

std::vector<ServedZone> Zones() {
  ServedZone example;
  example.apex = "example.test";
  example.records = {
      {"example.test", RrType::kMx, 300, MxData{10, "mx.example.test"}},
      A("mx.example.test", 1),
      A("mx.example.test", 2),
      Cname("www.example.test", "mx.example.test"),
      Cname("chain.example.test", "www.example.test"),
      Cname("loop1.example.test", "loop2.example.test"),
      Cname("loop2.example.test", "loop1.example.test"),
      Cname("out.example.test", "elsewhere.invalid"),
      Cname("dangling.example.test", "missing.example.test"),
      Cname("to-servfail.example.test", "servfail.example.test"),
      Cname("to-signed.example.test", "host.signed.test"),
      Txt("a.b.example.test", "deep"),
      A("nx.example.test", 3),
      A("nodata.example.test", 4),
      Txt("nodata.example.test", "kept"),
      A("servfail.example.test", 5),
      A("refused.example.test", 6),
      A("timeout.example.test", 7),
      A("trunc.example.test", 8),
  };
  for (int i = 0; i < 40; ++i) {
    example.records.push_back(Txt("big.example.test", std::string(100, static_cast<char>('a' + i % 26))));
  }
  example.faults = {
      {"nx.example.test", std::nullopt, ServeFault::kNxDomain},
      {"nodata.example.test", RrType::kA, ServeFault::kNoData},
      {"servfail.example.test", std::nullopt, ServeFault::kServfail},
      {"refused.example.test", std::nullopt, ServeFault::kRefused},
      {"timeout.example.test", std::nullopt, ServeFault::kTimeout},
      {"trunc.example.test", RrType::kA, ServeFault::kTruncate},
      {"ghost.example.test", RrType::kTxt, ServeFault::kServfail},
  };
  ServedZone signed_zone;
  signed_zone.apex = "signed.test";
  signed_zone.authenticated = true;
  signed_zone.records = {
      {"signed.test", RrType::kSoa, 3600,
       SoaData{"ns.signed.test", "admin.signed.test", 7, 3600, 600, 86400, 60}},
      A("host.signed.test", 9),
  };
  return {example, signed_zone};
}

const AuthoritativeResponder& Responder() {
  static const AuthoritativeResponder* responder = [] {
    absl::StatusOr<AuthoritativeResponder> r = AuthoritativeResponder::Create(Zones());
    EXPECT_TRUE(r.ok()) << r.status();
    return new AuthoritativeResponder(*std::move(r));
  }();
  return *responder;
}

WireRecord Opt(uint16_t udp_size, uint32_t ttl = 0) {
  return WireRecord{"", kOpt, udp_size, ttl, RawData{}};
}

std::string Wire(const Message& m) {
  WireResult<std::string> built = BuildMessage(m);
  EXPECT_TRUE(built.ok()) << built.error().message;
  return built.ok() ? *built : std::string();
}

Message Ask(const Message& query, QueryTransport transport = QueryTransport::kUdp) {
  DnsResponse response = Responder().Respond(Wire(query), transport);
  EXPECT_TRUE(response.send);
  WireResult<Message> parsed = ParseMessage(response.wire);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? *parsed : Message{};
}

std::vector<uint16_t> Types(const std::vector<WireRecord>& records) {
  std::vector<uint16_t> types;
  for (const WireRecord& r : records) types.push_back(r.type);
  return types;
}

struct Row {
  const char* name;
  uint16_t type;
  Rcode rcode;
  bool aa;
  std::vector<uint16_t> answer_types;
  bool soa_in_authority;
};

class AnswersTable : public testing::TestWithParam<Row> {};

TEST_P(AnswersTable, AnswersAsARealServerWould) {
  const Row& row = GetParam();
  // Over TCP, so the long CNAME loop is not cut to fit 512 octets.
  Message response = Ask(MakeQuery(4242, row.name, row.type), QueryTransport::kTcp);
  EXPECT_EQ(response.header.rcode, static_cast<uint8_t>(row.rcode)) << row.name;
  EXPECT_EQ(response.header.aa, row.aa) << row.name;
  EXPECT_TRUE(response.header.ra);
  EXPECT_TRUE(response.header.qr);
  EXPECT_EQ(Types(response.answers), row.answer_types) << row.name;
  EXPECT_EQ(Types(response.authorities),
            row.soa_in_authority ? std::vector<uint16_t>{kSoa} : std::vector<uint16_t>{})
      << row.name;
}

INSTANTIATE_TEST_SUITE_P(
    Responder, AnswersTable,
    testing::Values(
        Row{"example.test", kMx, Rcode::kNoError, true, {kMx}, false},
        Row{"mx.example.test", kA, Rcode::kNoError, true, {kA, kA}, false},
        // NODATA: the name has other records (RFC 2308 §2.2).
        Row{"mx.example.test", kAaaa, Rcode::kNoError, true, {}, true},
        // An empty non-terminal exists (RFC 8020 §2): NODATA, not NXDOMAIN.
        Row{"b.example.test", kA, Rcode::kNoError, true, {}, true},
        Row{"a.b.example.test", kTxt, Rcode::kNoError, true, {kTxt}, false},
        Row{"nothing.example.test", kA, Rcode::kNxDomain, true, {}, true},
        Row{"below.nothing.example.test", kA, Rcode::kNxDomain, true, {}, true},
        // CNAMEs followed inside the zones (RFC 1034 §4.3.2).
        Row{"www.example.test", kA, Rcode::kNoError, true, {kCname, kA, kA}, false},
        Row{"chain.example.test", kA, Rcode::kNoError, true, {kCname, kCname, kA, kA}, false},
        Row{"www.example.test", kCname, Rcode::kNoError, true, {kCname}, false},
        Row{"www.example.test", kAaaa, Rcode::kNoError, true, {kCname}, true},
        Row{"dangling.example.test", kA, Rcode::kNxDomain, true, {kCname}, true},
        Row{"out.example.test", kA, Rcode::kNoError, true, {kCname}, false},
        Row{"to-signed.example.test", kA, Rcode::kNoError, true, {kCname, kA}, false},
        // A loop stops at the bound with the chain so far.
        Row{"loop1.example.test", kA, Rcode::kNoError, true,
            std::vector<uint16_t>(kMaxAnswerCnameChain, kCname), false},
        // Outside every zone (RFC 8906 §3.1.5).
        Row{"example.org", kA, Rcode::kRefused, false, {}, false},
        Row{"test", kA, Rcode::kRefused, false, {}, false},
        Row{"", kSoa, Rcode::kRefused, false, {}, false},
        // Made SOA at the apex, served to SOA queries too.
        Row{"example.test", kSoa, Rcode::kNoError, true, {kSoa}, false},
        // Faults.
        Row{"nx.example.test", kA, Rcode::kNxDomain, true, {}, true},
        Row{"nodata.example.test", kA, Rcode::kNoError, true, {}, true},
        Row{"nodata.example.test", kTxt, Rcode::kNoError, true, {kTxt}, false},
        Row{"servfail.example.test", kA, Rcode::kServFail, false, {}, false},
        Row{"refused.example.test", kMx, Rcode::kRefused, false, {}, false},
        Row{"to-servfail.example.test", kA, Rcode::kServFail, false, {}, false},
        Row{"ghost.example.test", kTxt, Rcode::kServFail, false, {}, false},
        Row{"ghost.example.test", kA, Rcode::kNxDomain, true, {}, true},
        Row{"trunc.example.test", kTxt, Rcode::kNoError, true, {}, true},
        // ANY: every record at the name (RFC 8482 §4.2 allows it).
        Row{"nodata.example.test", kAny, Rcode::kNoError, true, {kA, kTxt}, false},
        // ANY at an empty non-terminal is NODATA with the SOA (RFC 2308 §2.2).
        Row{"b.example.test", kAny, Rcode::kNoError, true, {}, true},
        Row{"www.example.test", kAny, Rcode::kNoError, true, {kCname}, false},
        Row{"nothing.example.test", kAny, Rcode::kNxDomain, true, {}, true}));

TEST(AuthoritativeResponder, EchoesIdRdAndCdAndSetsRa) {
  Message query = MakeQuery(0xbeef, "mx.example.test", kA);
  query.header.rd = false;
  query.header.z = kCdBit;
  Message response = Ask(query);
  EXPECT_EQ(response.header.id, 0xbeef);
  EXPECT_FALSE(response.header.rd);
  EXPECT_TRUE(response.header.ra);
  EXPECT_EQ(response.header.z & kCdBit, kCdBit);
  query.header.rd = true;
  EXPECT_TRUE(Ask(query).header.rd);
}

TEST(AuthoritativeResponder, EchoesTheCaseOfTheQuestionInQuestionAndOwnerNames) {
  Message response = Ask(MakeQuery(1, "wWw.ExAmPlE.tEsT", kA));
  ASSERT_EQ(response.questions.size(), 1u);
  EXPECT_EQ(response.questions[0].name, "wWw.ExAmPlE.tEsT");
  ASSERT_EQ(response.answers.size(), 3u);
  EXPECT_EQ(response.answers[0].name, "wWw.ExAmPlE.tEsT");
  // Records at the CNAME target carry the target as the CNAME names it.
  EXPECT_EQ(response.answers[1].name, "mx.example.test");
  EXPECT_EQ(response.answers[2].name, "mx.example.test");
  EXPECT_EQ(InterpretAnswer("www.example.test", RrType::kA, Wire(response)).status,
            LookupStatus::kAnswer);
}

TEST(AuthoritativeResponder, NegativeAnswerSoaTtlIsMinOfTtlAndMinimum) {
  Message response = Ask(MakeQuery(1, "nothing.signed.test", kA));
  EXPECT_EQ(response.header.rcode, static_cast<uint8_t>(Rcode::kNxDomain));
  ASSERT_EQ(response.authorities.size(), 1u);
  EXPECT_EQ(response.authorities[0].name, "signed.test");
  EXPECT_EQ(response.authorities[0].ttl, 60u);  // RFC 2308 §3
  // Asked directly, the SOA keeps its own TTL.
  Message direct = Ask(MakeQuery(1, "signed.test", kSoa));
  ASSERT_EQ(direct.answers.size(), 1u);
  EXPECT_EQ(direct.answers[0].ttl, 3600u);
}

struct AdRow {
  const char* name;
  bool query_ad;
  bool query_do;
  bool expect_ad;
};

class AdTable : public testing::TestWithParam<AdRow> {};

TEST_P(AdTable, SetsAdOnlyForAuthenticatedZonesWhenAsked) {
  const AdRow& row = GetParam();
  Message query = MakeQuery(7, row.name, kA);
  if (row.query_ad) query.header.z |= kAdBit;
  if (row.query_do) query.additionals.push_back(Opt(1232, 0x8000));
  Message response = Ask(query);
  EXPECT_EQ((response.header.z & kAdBit) != 0, row.expect_ad) << row.name;
}

INSTANTIATE_TEST_SUITE_P(
    Responder, AdTable,
    testing::Values(AdRow{"host.signed.test", false, false, false},
                    AdRow{"host.signed.test", true, false, true},
                    AdRow{"host.signed.test", false, true, true},
                    AdRow{"nothing.signed.test", true, false, true},  // authenticated denial
                    AdRow{"mx.example.test", true, true, false},
                    // A chain through an unsigned zone is not authenticated.
                    AdRow{"to-signed.example.test", true, true, false},
                    AdRow{"example.org", true, true, false}));

TEST(AuthoritativeResponder, EchoesOptWithOurPayloadSizeAndTheDoBit) {
  Message query = MakeQuery(1, "mx.example.test", kA);
  query.additionals.push_back(Opt(4096, 0x8000));
  Message response = Ask(query);
  ASSERT_EQ(response.additionals.size(), 1u);
  const WireRecord& opt = response.additionals[0];
  EXPECT_EQ(opt.type, kOpt);
  EXPECT_EQ(opt.rclass, kAdvertisedUdpPayload);
  EXPECT_EQ(opt.ttl, 0x8000u);
  query.additionals[0].ttl = 0;
  EXPECT_EQ(Ask(query).additionals[0].ttl, 0u);
  EXPECT_TRUE(Ask(MakeQuery(1, "mx.example.test", kA)).additionals.empty());
}

TEST(AuthoritativeResponder, AnswersEdnsVersionOneWithBadvers) {
  Message query = MakeQuery(1, "mx.example.test", kA);
  query.additionals.push_back(Opt(1232, 1u << 16));
  Message response = Ask(query);
  EXPECT_EQ(response.header.rcode, 0);  // BADVERS = 16: low bits 0
  EXPECT_TRUE(response.answers.empty());
  ASSERT_EQ(response.additionals.size(), 1u);
  EXPECT_EQ(response.additionals[0].ttl >> 24, 1u);         // extended RCODE 16 >> 4
  EXPECT_EQ((response.additionals[0].ttl >> 16) & 0xff, 0u);  // the version we speak
}

TEST(AuthoritativeResponder, RejectsTwoOptRecordsWithFormerr) {
  Message query = MakeQuery(1, "mx.example.test", kA);
  query.additionals.push_back(Opt(1232));
  query.additionals.push_back(Opt(1232));
  EXPECT_EQ(Ask(query).header.rcode, static_cast<uint8_t>(Rcode::kFormErr));
}

TEST(AuthoritativeResponder, RejectsOptOutsideTheAdditionalSectionOrNotAtTheRoot) {
  Message in_answer = MakeQuery(1, "mx.example.test", kA);
  in_answer.answers.push_back(Opt(1232));
  EXPECT_EQ(Ask(in_answer).header.rcode, static_cast<uint8_t>(Rcode::kFormErr));
  Message named = MakeQuery(1, "mx.example.test", kA);
  named.additionals.push_back(WireRecord{"x", kOpt, 1232, 0, RawData{}});
  EXPECT_EQ(Ask(named).header.rcode, static_cast<uint8_t>(Rcode::kFormErr));
}

struct SizeRow {
  QueryTransport transport;
  std::optional<uint16_t> edns_size;
  bool expect_tc;
};

class TruncationTable : public testing::TestWithParam<SizeRow> {};

TEST_P(TruncationTable, CutsUdpAnswersToTheClientsBuffer) {
  const SizeRow& row = GetParam();
  Message query = MakeQuery(9, "big.example.test", kTxt);  // ~4.5 kB of TXT
  if (row.edns_size) query.additionals.push_back(Opt(*row.edns_size));
  DnsResponse response = Responder().Respond(Wire(query), row.transport);
  ASSERT_TRUE(response.send);
  WireResult<Message> parsed = ParseMessage(response.wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->header.tc, row.expect_tc);
  if (row.expect_tc) {
    EXPECT_TRUE(parsed->answers.empty());
    EXPECT_TRUE(parsed->authorities.empty());
    EXPECT_EQ(parsed->questions.size(), 1u);
    EXPECT_EQ(parsed->additionals.size(), row.edns_size ? 1u : 0u);
    EXPECT_LE(response.wire.size(), kMaxPlainUdpPayload);
  } else {
    EXPECT_EQ(parsed->answers.size(), 40u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Responder, TruncationTable,
    testing::Values(SizeRow{QueryTransport::kUdp, std::nullopt, true},
                    SizeRow{QueryTransport::kUdp, uint16_t{512}, true},
                    // The client's 65000 is capped at what we advertise.
                    SizeRow{QueryTransport::kUdp, uint16_t{65000}, true},
                    SizeRow{QueryTransport::kTcp, std::nullopt, false},
                    SizeRow{QueryTransport::kTcp, uint16_t{512}, false}));

TEST(AuthoritativeResponder, UdpLimitFollowsTheClientsEdnsSize) {
  // Twelve 100-byte TXT records (~1.4 kB) fit 4096... but not our 1232 cap;
  // eight (~1 kB) fit 1232 but not 512.
  ServedZone zone;
  zone.apex = "z.test";
  for (int i = 0; i < 8; ++i) zone.records.push_back(Txt("t.z.test", std::string(100, 'x')));
  absl::StatusOr<AuthoritativeResponder> r = AuthoritativeResponder::Create({zone});
  ASSERT_TRUE(r.ok());
  Message query = MakeQuery(1, "t.z.test", kTxt);
  EXPECT_TRUE(ParseMessage(r->Respond(Wire(query), QueryTransport::kUdp).wire)->header.tc);
  query.additionals.push_back(Opt(1232));
  EXPECT_FALSE(ParseMessage(r->Respond(Wire(query), QueryTransport::kUdp).wire)->header.tc);
  // Below 512 counts as 512 (RFC 6891 §6.2.5).
  query.additionals[0].rclass = 100;
  Message small = *ParseMessage(r->Respond(Wire(query), QueryTransport::kUdp).wire);
  EXPECT_TRUE(small.header.tc);
}

TEST(AuthoritativeResponder, TruncateFaultSetsTcOverUdpAndAnswersOverTcp) {
  Message query = MakeQuery(1, "trunc.example.test", kA);
  query.additionals.push_back(Opt(1232));
  Message udp = Ask(query, QueryTransport::kUdp);
  EXPECT_TRUE(udp.header.tc);
  EXPECT_TRUE(udp.answers.empty());
  EXPECT_EQ(udp.additionals.size(), 1u);
  Message tcp = Ask(query, QueryTransport::kTcp);
  EXPECT_FALSE(tcp.header.tc);
  EXPECT_EQ(Types(tcp.answers), std::vector<uint16_t>{kA});
}

TEST(AuthoritativeResponder, TimeoutFaultSendsNothingOverEitherTransport) {
  std::string query = Wire(MakeQuery(1, "timeout.example.test", kA));
  for (QueryTransport t : {QueryTransport::kUdp, QueryTransport::kTcp}) {
    DnsResponse response = Responder().Respond(query, t);
    EXPECT_FALSE(response.send);
    EXPECT_TRUE(response.wire.empty());
  }
}

TEST(AuthoritativeResponder, SendsNothingForResponsesAndRunts) {
  Message response = MakeQuery(1, "mx.example.test", kA);
  response.header.qr = true;
  EXPECT_FALSE(Responder().Respond(Wire(response), QueryTransport::kUdp).send);
  EXPECT_FALSE(Responder().Respond(std::string(11, '\0'), QueryTransport::kUdp).send);
  EXPECT_FALSE(Responder().Respond("", QueryTransport::kTcp).send);
}

struct RcodeRow {
  const char* what;
  Message query;
  Rcode rcode;
  size_t questions;
};

Message WithQuestions(size_t n) {
  Message m = MakeQuery(5, "mx.example.test", kA);
  m.questions.resize(n, m.questions.empty() ? Question{"mx.example.test", kA, kClassIn}
                                             : m.questions[0]);
  return m;
}

Message WithOpcode(uint8_t opcode) {
  Message m = MakeQuery(5, "mx.example.test", kA);
  m.header.opcode = opcode;
  return m;
}

Message WithClass(uint16_t qclass) {
  Message m = MakeQuery(5, "mx.example.test", kA);
  m.questions[0].qclass = qclass;
  return m;
}

class RcodeTable : public testing::TestWithParam<RcodeRow> {};

TEST_P(RcodeTable, AnswersMalformedOrUnsupportedQueriesWithAnRcode) {
  const RcodeRow& row = GetParam();
  Message response = Ask(row.query);
  EXPECT_EQ(response.header.rcode, static_cast<uint8_t>(row.rcode)) << row.what;
  EXPECT_EQ(response.header.id, 5) << row.what;
  EXPECT_EQ(response.questions.size(), row.questions) << row.what;
}

INSTANTIATE_TEST_SUITE_P(
    Responder, RcodeTable,
    testing::Values(RcodeRow{"no question", WithQuestions(0), Rcode::kFormErr, 0},
                    RcodeRow{"two questions", WithQuestions(2), Rcode::kFormErr, 0},
                    RcodeRow{"NOTIFY", WithOpcode(4), Rcode::kNotImp, 1},
                    RcodeRow{"UPDATE", WithOpcode(5), Rcode::kNotImp, 1},
                    RcodeRow{"class CH", WithClass(3), Rcode::kRefused, 1},
                    RcodeRow{"class ANY", WithClass(255), Rcode::kNoError, 1},
                    RcodeRow{"AXFR", MakeQuery(5, "example.test", 252), Rcode::kRefused, 1},
                    RcodeRow{"qtype OPT", MakeQuery(5, "example.test", kOpt), Rcode::kFormErr,
                             1}));

TEST(AuthoritativeResponder, AnswersFormerrForBytesThatAreNotAMessage) {
  std::string query = Wire(MakeQuery(3, "mx.example.test", kA));
  struct Case {
    const char* what;
    std::string bytes;
    size_t questions;
  };
  std::string trailing = query + "x";
  std::string cut = query.substr(0, query.size() - 1);
  std::string pointer = query.substr(0, 12) + "\xc0\x0c" + query.substr(query.size() - 4);
  std::string counted = query;
  counted[11] = 1;  // ARCOUNT 1, no record
  for (const Case& c : {Case{"trailing byte", trailing, 1}, Case{"cut question", cut, 0},
                        Case{"pointer in question", pointer, 0},
                        Case{"missing additional", counted, 1}}) {
    DnsResponse response = Responder().Respond(c.bytes, QueryTransport::kUdp);
    ASSERT_TRUE(response.send) << c.what;
    WireResult<Message> parsed = ParseMessage(response.wire);
    ASSERT_TRUE(parsed.ok()) << c.what << ": " << parsed.error().message;
    EXPECT_EQ(parsed->header.rcode, static_cast<uint8_t>(Rcode::kFormErr)) << c.what;
    EXPECT_EQ(parsed->header.id, 3) << c.what;
    EXPECT_EQ(parsed->questions.size(), c.questions) << c.what;
  }
}

TEST(AuthoritativeResponder, ReusesTheCallersBuffer) {
  std::string out = "stale";
  std::string query = Wire(MakeQuery(1, "mx.example.test", kA));
  ASSERT_TRUE(Responder().Respond(query, QueryTransport::kUdp, out));
  EXPECT_EQ(out, Responder().Respond(query, QueryTransport::kUdp).wire);
  std::string timeout = Wire(MakeQuery(1, "timeout.example.test", kA));
  EXPECT_FALSE(Responder().Respond(timeout, QueryTransport::kUdp, out));
  EXPECT_TRUE(out.empty());
}

struct CreateRow {
  const char* what;
  std::vector<ServedZone> zones;
  const char* message_part;
};

class CreateTable : public testing::TestWithParam<CreateRow> {};

TEST_P(CreateTable, RejectsInconsistentZonesNamingTheCulprit) {
  const CreateRow& row = GetParam();
  absl::StatusOr<AuthoritativeResponder> r = AuthoritativeResponder::Create(row.zones);
  ASSERT_FALSE(r.ok()) << row.what;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find(row.message_part), std::string::npos)
      << row.what << ": " << r.status();
}

INSTANTIATE_TEST_SUITE_P(
    Responder, CreateTable,
    testing::Values(
        CreateRow{"bad apex", {ServedZone{"a..test", false, {}, {}}}, "a..test"},
        CreateRow{"twice",
                  {ServedZone{"a.test", false, {}, {}}, ServedZone{"A.test.", false, {}, {}}},
                  "served twice"},
        CreateRow{"record outside",
                  {ServedZone{"a.test", false, {A("b.test", 1)}, {}}},
                  "\"b.test\" lies outside its zone \"a.test\""},
        CreateRow{"suffix is not a parent",
                  {ServedZone{"a.test", false, {A("ba.test", 1)}, {}}},
                  "outside"},
        CreateRow{"fault outside",
                  {ServedZone{"a.test", false, {}, {{"x.b.test", std::nullopt, ServeFault::kTimeout}}}},
                  "fault \"x.b.test\""},
        CreateRow{"fault type twice",
                  {ServedZone{"a.test",
                              false,
                              {},
                              {{"x.a.test", RrType::kA, ServeFault::kTimeout},
                               {"x.a.test", RrType::kA, ServeFault::kServfail}}}},
                  "twice for type A"},
        CreateRow{"bad record name",
                  {ServedZone{"a.test", false, {A("x..a.test", 1)}, {}}},
                  "x..a.test"}));

TEST(ServeFaultName, NamesEveryFault) {
  EXPECT_EQ(ServeFaultName(ServeFault::kNxDomain), "nxdomain");
  EXPECT_EQ(ServeFaultName(ServeFault::kNoData), "nodata");
  EXPECT_EQ(ServeFaultName(ServeFault::kServfail), "servfail");
  EXPECT_EQ(ServeFaultName(ServeFault::kRefused), "refused");
  EXPECT_EQ(ServeFaultName(ServeFault::kTimeout), "timeout");
  EXPECT_EQ(ServeFaultName(ServeFault::kTruncate), "truncate");
}

}  // namespace
}  // namespace mxkit::dns
