#include "fakemx/verdict.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "auth/dkim/signer.h"
#include "dns/authoritative.h"
#include "dns/authoritative_resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "fakemx/flags.h"
#include "fakemx/scenario.h"
#include "fakemx/scenario_dns.h"
#include "fakemx/tls_setup.h"
#include "fakemx/verdict_authentication_results.h"
#include "fakemx/verdict_json.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

using dns::ResourceRecord;
using dns::RrType;

constexpr int64_t kNowUs = int64_t{1800000000} * 1000000;

std::string Seed() { return std::string(32, '\x07'); }

auth::dkim::SigningKey HandKey() {
  absl::StatusOr<auth::dkim::SigningKey> key = auth::dkim::SigningKey::Ed25519FromSeed(Seed());
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

ResourceRecord Txt(std::string name, std::string text) {
  return {std::move(name), RrType::kTxt, 300, dns::TxtData{{std::move(text)}}};
}

// Hand-made zones: pass.test with SPF for 192.0.2.1, a DKIM key and
// p=reject; soft.test with ~all; quar.test with p=quarantine and no SPF
// match; none.test with nothing; temp.test whose TXT answers SERVFAIL.
std::shared_ptr<dns::Resolver> HandResolver() {
  dns::ServedZone pass;
  pass.apex = "pass.test";
  pass.records = {
      Txt("pass.test", "v=spf1 ip4:192.0.2.1 -all"),
      Txt("mail.pass.test", "v=spf1 ip4:192.0.2.1 -all"),
      Txt("sel._domainkey.pass.test", HandKey().KeyRecordText()),
      Txt("_dmarc.pass.test", "v=DMARC1; p=reject"),
  };
  dns::ServedZone soft;
  soft.apex = "soft.test";
  soft.records = {Txt("soft.test", "v=spf1 ~all")};
  dns::ServedZone quar;
  quar.apex = "quar.test";
  quar.records = {Txt("quar.test", "v=spf1 -all"),
                  Txt("_dmarc.quar.test", "v=DMARC1; p=quarantine")};
  dns::ServedZone none;
  none.apex = "none.test";
  dns::ServedZone temp;
  temp.apex = "temp.test";
  temp.faults = {{"temp.test", RrType::kTxt, dns::ServeFault::kServfail}};
  absl::StatusOr<dns::AuthoritativeResponder> r =
      dns::AuthoritativeResponder::Create({pass, soft, quar, none, temp});
  EXPECT_TRUE(r.ok()) << r.status();
  return std::make_shared<dns::AuthoritativeResolver>(*std::move(r));
}

std::shared_ptr<const auth::dmarc::PublicSuffixList> Psl() {
  static auto psl = auth::dmarc::PublicSuffixList::Load();
  EXPECT_TRUE(psl.ok()) << psl.status();
  return *psl;
}

VerdictOptions Opts(std::string authserv_id, std::optional<std::string> client_ip = {}) {
  VerdictOptions o;
  o.authserv_id = std::move(authserv_id);
  o.client_ip = std::move(client_ip);
  return o;
}

std::shared_ptr<VerdictEngine> Engine(std::shared_ptr<dns::Resolver> resolver,
                                      VerdictOptions options = Opts("mx.fake.test")) {
  absl::StatusOr<std::shared_ptr<VerdictEngine>> e =
      VerdictEngine::Create(std::move(resolver), Psl(), std::move(options));
  EXPECT_TRUE(e.ok()) << e.status();
  return *e;
}

Delivery MakeDelivery(std::string client, std::string mail_from, std::string helo) {
  Delivery d;
  d.client_address = std::move(client);
  d.reverse_path = std::move(mail_from);
  d.helo = std::move(helo);
  d.esmtp = true;
  return d;
}

std::string Message(std::string_view from_domain, std::string_view body = "hello\r\n") {
  return "From: a@" + std::string(from_domain) +
         "\r\nTo: b@rcpt.test\r\nSubject: hi\r\n\r\n" + std::string(body);
}

std::string Sign(const std::string& message, const auth::dkim::SigningKey& key,
                 std::string domain, std::string selector) {
  auth::dkim::SignerOptions options;
  options.domain = std::move(domain);
  options.selector = std::move(selector);
  absl::StatusOr<std::string> field = auth::dkim::SignMessage(message, key, options);
  EXPECT_TRUE(field.ok()) << field.status();
  return *field + message;
}

MessageVerdict Judge(VerdictEngine& engine, const Delivery& d, std::string_view raw) {
  MessageVerdict out;
  bool called = false;
  engine.Evaluate(d, raw, kNowUs, [&](MessageVerdict v) {
    called = true;
    out = std::move(v);
  });
  EXPECT_TRUE(called) << "completes inline over an AuthoritativeResolver";
  return out;
}

struct Row {
  std::string name;
  std::string client;
  std::string mail_from;
  std::string helo;
  std::string raw;
  std::string spf_mail_from, spf_helo;
  std::vector<std::string> dkim;
  std::string dmarc, disposition;
  bool authenticated;
};

std::vector<Row> Rows() {
  const auth::dkim::SigningKey key = HandKey();
  std::string tampered = Sign(Message("pass.test"), key, "pass.test", "sel");
  tampered.replace(tampered.find("hello"), 5, "HELLO");
  return {
      {"signed and spf pass", "192.0.2.1", "a@pass.test", "mail.pass.test",
       Sign(Message("pass.test"), key, "pass.test", "sel"), "pass", "pass", {"pass"}, "pass",
       "none", true},
      {"dkim pass alone authenticates", "198.51.100.7", "a@pass.test", "mail.pass.test",
       Sign(Message("pass.test"), key, "pass.test", "sel"), "fail", "fail", {"pass"}, "pass",
       "none", true},
      {"spf pass alone authenticates", "192.0.2.1", "a@pass.test", "mail.pass.test",
       Message("pass.test"), "pass", "pass", {}, "pass", "none", true},
      {"unsigned from p=reject domain", "198.51.100.7", "a@pass.test", "mail.pass.test",
       Message("pass.test"), "fail", "fail", {}, "fail", "reject", false},
      {"body changed after signing", "198.51.100.7", "a@pass.test", "mail.pass.test", tampered,
       "fail", "fail", {"fail"}, "fail", "reject", false},
      {"signature with an unpublished selector", "198.51.100.7", "a@pass.test", "none.test",
       Sign(Message("pass.test"), key, "pass.test", "gone"), "fail", "none", {"permerror"},
       "fail", "reject", false},
      {"softfail", "198.51.100.7", "a@soft.test", "soft.test", Message("soft.test"), "softfail",
       "softfail", {}, "none", "none", false},
      {"no records at all", "198.51.100.7", "a@none.test", "none.test", Message("none.test"),
       "none", "none", {}, "none", "none", false},
      {"quarantine", "198.51.100.7", "a@quar.test", "quar.test", Message("quar.test"), "fail",
       "fail", {}, "fail", "quarantine", false},
      {"spf temperror", "198.51.100.7", "a@temp.test", "none.test", Message("none.test"),
       "temperror", "none", {}, "none", "none", false},
      {"null reverse-path checks the helo", "192.0.2.1", "", "mail.pass.test",
       Message("none.test"), "pass", "pass", {}, "none", "none", true},
      {"no From field", "192.0.2.1", "a@pass.test", "mail.pass.test",
       "To: b@rcpt.test\r\n\r\nbody\r\n", "pass", "pass", {}, "permerror", "none", true},
  };
}

TEST(VerdictEngine, JudgesSpfDkimDmarcAndTheSummary) {
  std::shared_ptr<VerdictEngine> engine = Engine(HandResolver());
  for (const Row& row : Rows()) {
    SCOPED_TRACE(row.name);
    MessageVerdict v =
        Judge(*engine, MakeDelivery(row.client, row.mail_from, row.helo), row.raw);
    EXPECT_TRUE(v.evaluated);
    EXPECT_EQ(v.client_ip, row.client);
    EXPECT_EQ(v.spf_mail_from.result, row.spf_mail_from) << v.spf_mail_from.reason;
    EXPECT_EQ(v.spf_helo.result, row.spf_helo) << v.spf_helo.reason;
    std::vector<std::string> dkim;
    for (const DkimVerdict& d : v.dkim) dkim.push_back(d.result);
    EXPECT_EQ(dkim, row.dkim);
    EXPECT_EQ(v.dmarc.result, row.dmarc) << v.dmarc.reason;
    EXPECT_EQ(v.dmarc.disposition, row.disposition);
    EXPECT_EQ(v.summary.dmarc, row.disposition);
    EXPECT_EQ(v.summary.authenticated, row.authenticated);
    EXPECT_FALSE(v.summary.encrypted);
    const std::string ar = AuthenticationResultsValue(v);
    EXPECT_EQ(ar.rfind("mx.fake.test;", 0), 0u) << ar;
    EXPECT_NE(ar.find("spf=" + row.spf_mail_from), std::string::npos) << ar;
    EXPECT_NE(ar.find("dmarc=" + row.dmarc), std::string::npos) << ar;
    if (row.dkim.empty()) {
      EXPECT_NE(ar.find("dkim=none"), std::string::npos) << ar;
    } else {
      EXPECT_NE(ar.find("dkim=" + row.dkim[0]), std::string::npos) << ar;
    }
  }
}

std::string VerdictJson(const MessageVerdict& v) {
  std::string out;
  AppendMessageVerdictJson(out, v);
  return out;
}

// Over fakemx's own resolver the engine keeps SPF and DMARC results by their
// inputs: whatever came before, in any order, an engine that has judged
// every row already gives each row the verdict a fresh engine gives.
TEST(VerdictEngine, RememberedResultsAreTheOnesAFreshEngineGives) {
  const std::vector<Row> rows = Rows();
  std::shared_ptr<VerdictEngine> shared = Engine(HandResolver());
  for (int pass = 0; pass < 3; ++pass) {
    for (size_t k = 0; k < rows.size(); ++k) {
      // Forward, backward, then in strides of five.
      const size_t i = pass == 0 ? k : pass == 1 ? rows.size() - 1 - k : (5 * k) % rows.size();
      const Row& row = rows[i];
      SCOPED_TRACE(row.name + " pass " + std::to_string(pass));
      const Delivery d = MakeDelivery(row.client, row.mail_from, row.helo);
      EXPECT_EQ(VerdictJson(Judge(*shared, d, row.raw)),
                VerdictJson(Judge(*Engine(HandResolver()), d, row.raw)));
    }
  }
}

// Over a resolver that answers later (as AresResolver does, from its
// executor), Evaluate returns at once, nothing completes before the lookups
// are answered, and the verdict, once they are (in any order), is the one
// fakemx's inline resolver gives.
TEST(VerdictEngine, OverADeferredResolverItWaitsForTheAnswersAndAgrees) {
  const Delivery d = MakeDelivery("192.0.2.1", "a@pass.test", "mail.pass.test");
  const std::string raw = Sign(Message("pass.test"), HandKey(), "pass.test", "sel");
  const MessageVerdict inline_verdict = Judge(*Engine(HandResolver()), d, raw);
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::shared_ptr<dns::Resolver> answers = HandResolver();
    auto deferred = std::make_shared<dns::testing::DeferredResolver>(*answers);
    std::shared_ptr<VerdictEngine> engine = Engine(deferred);
    int calls = 0;
    MessageVerdict got;
    engine->Evaluate(d, raw, kNowUs, [&](MessageVerdict v) {
      ++calls;
      got = std::move(v);
    });
    EXPECT_EQ(calls, 0) << "done before any lookup was answered";
    EXPECT_GT(deferred->pending(), 0u);
    deferred->Drain(seed);
    ASSERT_EQ(calls, 1) << "seed " << seed;
    EXPECT_EQ(got.spf_mail_from.result, inline_verdict.spf_mail_from.result);
    EXPECT_EQ(got.spf_helo.result, inline_verdict.spf_helo.result);
    ASSERT_EQ(got.dkim.size(), inline_verdict.dkim.size());
    EXPECT_EQ(got.dkim[0].result, "pass");
    EXPECT_EQ(got.dmarc.result, inline_verdict.dmarc.result);
    EXPECT_EQ(AuthenticationResultsValue(got), AuthenticationResultsValue(inline_verdict));
    EXPECT_TRUE(got.summary.authenticated);
  }
}

// Over a resolver that answers later, the judgement reads its own copy of
// the message: the caller's buffer may be gone before the DKIM step runs.
// (Over fakemx's inline resolver the message is not copied: every step ends
// inside Evaluate.)
TEST(VerdictEngine, OverADeferredResolverTheCallersBufferMayGoAway) {
  const Delivery d = MakeDelivery("192.0.2.1", "a@pass.test", "mail.pass.test");
  const std::string raw = Sign(Message("pass.test"), HandKey(), "pass.test", "sel");
  const MessageVerdict inline_verdict = Judge(*Engine(HandResolver()), d, raw);
  std::shared_ptr<dns::Resolver> answers = HandResolver();
  auto deferred = std::make_shared<dns::testing::DeferredResolver>(*answers);
  std::shared_ptr<VerdictEngine> engine = Engine(deferred);
  std::optional<MessageVerdict> got;
  auto buffer = std::make_unique<std::string>(raw);
  engine->Evaluate(d, *buffer, kNowUs, [&](MessageVerdict v) { got = std::move(v); });
  std::fill(buffer->begin(), buffer->end(), 'x');
  buffer.reset();
  deferred->Drain(1);
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->dkim.size(), 1u);
  EXPECT_EQ(got->dkim[0].result, "pass") << got->dkim[0].reason;
  EXPECT_EQ(got->dmarc.result, "pass");
  EXPECT_EQ(AuthenticationResultsValue(*got), AuthenticationResultsValue(inline_verdict));
}

TEST(VerdictEngine, ReportsTheSignatureDetails) {
  std::shared_ptr<VerdictEngine> engine = Engine(HandResolver());
  MessageVerdict v = Judge(*engine, MakeDelivery("192.0.2.1", "a@pass.test", "mail.pass.test"),
                           Sign(Message("pass.test"), HandKey(), "pass.test", "sel"));
  ASSERT_EQ(v.dkim.size(), 1u);
  EXPECT_EQ(v.dkim[0].domain, "pass.test");
  EXPECT_EQ(v.dkim[0].selector, "sel");
  EXPECT_EQ(v.dkim[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(v.dkim[0].key_bits, 256u);
  EXPECT_EQ(v.dmarc.author_domain, "pass.test");
  EXPECT_EQ(v.dmarc.policy_domain, "pass.test");
  EXPECT_EQ(v.dmarc.requested_policy, "reject");
  EXPECT_TRUE(v.dmarc.spf_aligned);
  EXPECT_TRUE(v.dmarc.dkim_aligned);
  EXPECT_EQ(v.spf_mail_from.domain, "pass.test");
  EXPECT_EQ(v.spf_mail_from.mechanism, "ip4:192.0.2.1");
}

TEST(VerdictEngine, ClientIpReplacesTheConnectingAddressForSpf) {
  VerdictOptions options = Opts("mx.fake.test", "192.0.2.1");
  std::shared_ptr<VerdictEngine> engine = Engine(HandResolver(), options);
  MessageVerdict v = Judge(*engine, MakeDelivery("127.0.0.1", "a@pass.test", "mail.pass.test"),
                           Message("pass.test"));
  EXPECT_EQ(v.client_ip, "192.0.2.1");
  EXPECT_EQ(v.spf_mail_from.result, "pass");
  std::shared_ptr<VerdictEngine> unmapped = Engine(HandResolver());
  MessageVerdict u = Judge(*unmapped, MakeDelivery("127.0.0.1", "a@pass.test", "mail.pass.test"),
                           Message("pass.test"));
  EXPECT_EQ(u.client_ip, "127.0.0.1");
  EXPECT_EQ(u.spf_mail_from.result, "fail");
}

// RFC 7208 §4.3 has no result for an address SPF cannot read (a Unix
// socket's): both checks say none, and why, and still name their identities.
TEST(VerdictEngine, ClientAddressThatIsNoIpGetsSpfNoneSayingWhy) {
  std::shared_ptr<VerdictEngine> engine = Engine(HandResolver());
  MessageVerdict v = Judge(
      *engine, MakeDelivery("/run/fakemx.sock", "a@pass.test", "mail.pass.test"),
      Message("pass.test"));
  for (const SpfVerdict* spf : {&v.spf_mail_from, &v.spf_helo}) {
    EXPECT_EQ(spf->result, "none");
    EXPECT_EQ(spf->reason, "client address \"/run/fakemx.sock\" is not an IP address");
    EXPECT_EQ(spf->domain, "");
    EXPECT_EQ(spf->mechanism, "");
  }
  EXPECT_EQ(v.spf_mail_from.identity, "a@pass.test");
  EXPECT_EQ(v.spf_helo.identity, "mail.pass.test");
  EXPECT_EQ(v.dmarc.result, "fail");
  EXPECT_FALSE(v.summary.authenticated);
}

TEST(VerdictEngine, EncryptedFollowsTheHop) {
  std::shared_ptr<VerdictEngine> engine = Engine(HandResolver());
  Delivery d = MakeDelivery("192.0.2.1", "a@pass.test", "mail.pass.test");
  d.tls.used = true;
  EXPECT_TRUE(Judge(*engine, d, Message("pass.test")).summary.encrypted);
  d.tls.used = false;
  EXPECT_FALSE(Judge(*engine, d, Message("pass.test")).summary.encrypted);
}

TEST(VerdictEngine, CountVerdictCountsEveryCheckAndResult) {
  std::shared_ptr<VerdictEngine> engine = Engine(HandResolver());
  VerdictCounts c;
  CountVerdict(c, Judge(*engine, MakeDelivery("192.0.2.1", "a@pass.test", "mail.pass.test"),
                        Sign(Message("pass.test"), HandKey(), "pass.test", "sel")));
  CountVerdict(c, Judge(*engine, MakeDelivery("198.51.100.7", "a@pass.test", "mail.pass.test"),
                        Message("pass.test")));
  auto at = [&](const char* check, const char* result) { return c.at({check, result}); };
  EXPECT_EQ(at("spf_mail_from", "pass"), 1u);
  EXPECT_EQ(at("spf_mail_from", "fail"), 1u);
  EXPECT_EQ(at("dkim", "pass"), 1u);
  EXPECT_EQ(at("dkim", "none"), 1u);
  EXPECT_EQ(at("dmarc", "pass"), 1u);
  EXPECT_EQ(at("dmarc", "fail"), 1u);
  EXPECT_EQ(at("disposition", "reject"), 1u);
  EXPECT_EQ(at("sender", "authenticated"), 1u);
  EXPECT_EQ(at("sender", "question_mark"), 1u);
  EXPECT_EQ(at("lock", "red_lock"), 2u);
}

std::vector<std::tuple<std::string, std::string, uint64_t>> Listed(const VerdictCounts& counts) {
  std::vector<std::tuple<std::string, std::string, uint64_t>> out;
  counts.ForEach([&](std::string_view check, std::string_view result, uint64_t n) {
    out.emplace_back(check, result, n);
  });
  return out;
}

// The counts are listed in the order of the plain pair of strings (what
// /metrics lists), whatever order the checks were first seen in, results
// no fakemx verdict has (a hand-made one's) in their place among the rest.
TEST(CountVerdict, ListsInPairOfStringsOrder) {
  VerdictCounts counts;
  MessageVerdict v;
  v.evaluated = true;
  v.spf_mail_from.result = "pass";
  v.spf_helo.result = "none";
  v.dkim = {DkimVerdict{}, DkimVerdict{}, DkimVerdict{}};
  v.dkim[0].result = "pass";
  v.dkim[1].result = "fail";
  v.dkim[2].result = "";  // unset: before every named result
  v.dmarc.result = "pass";
  v.summary.dmarc = "none";
  CountVerdict(counts, v);
  CountVerdict(counts, v);
  MessageVerdict off;  // verdicts off: only the lock
  CountVerdict(counts, off);
  counts.Add("dmarc", "x-odd");  // after every named result
  counts.Add("aaa", "first");    // a check before every one of fakemx's
  counts.Add("zzz", "last");
  counts.Add("lock", "green");   // between encrypted and red_lock
  using L = std::tuple<std::string, std::string, uint64_t>;
  const std::vector<L> want = {
      {"aaa", "first", 1},        {"disposition", "none", 2}, {"dkim", "", 2},
      {"dkim", "fail", 2},        {"dkim", "pass", 2},        {"dmarc", "pass", 2},
      {"dmarc", "x-odd", 1},      {"lock", "green", 1},       {"lock", "red_lock", 3},
      {"sender", "question_mark", 2}, {"spf_helo", "none", 2}, {"spf_mail_from", "pass", 2},
      {"zzz", "last", 1},
  };
  EXPECT_EQ(Listed(counts), want);
  EXPECT_TRUE(std::is_sorted(want.begin(), want.end()));
  EXPECT_EQ(counts.at({"dkim", "pass"}), 2u);
  EXPECT_EQ(counts.at({"dkim", "none"}), 0u);
  EXPECT_EQ(counts.at({"dmarc", "x-odd"}), 1u);
  EXPECT_EQ(counts.at({"nothing", "here"}), 0u);

  // Sums (the /metrics total over every server) keep the order and add up.
  VerdictCounts sum;
  sum.Add(counts);
  sum.Add(counts);
  std::vector<L> doubled = want;
  for (L& row : doubled) std::get<2>(row) *= 2;
  EXPECT_EQ(Listed(sum), doubled);
}

TEST(VerdictEngine, CreateRefusesWhatNoFieldOrSpfCanCarry) {
  EXPECT_FALSE(VerdictEngine::Create(HandResolver(), Psl(), Opts("bad id\r\n")).ok());
  absl::StatusOr<std::shared_ptr<VerdictEngine>> ip = VerdictEngine::Create(
      HandResolver(), Psl(), Opts("mx.test", "300.1.2.3"));
  ASSERT_FALSE(ip.ok());
  EXPECT_NE(ip.status().message().find("client_ip \"300.1.2.3\""), absl::string_view::npos);
  EXPECT_FALSE(VerdictEngine::Create(nullptr, Psl(), Opts("mx.test")).ok());
  EXPECT_FALSE(VerdictEngine::Create(HandResolver(), nullptr, Opts("mx.test")).ok());
}

TEST(PrependAuthenticationResults, PutsTheFieldFirst) {
  EXPECT_EQ(PrependAuthenticationResults("From: a@b\r\n\r\nx\r\n", "mx; spf=pass"),
            "Authentication-Results: mx; spf=pass\r\nFrom: a@b\r\n\r\nx\r\n");
}

// ---- a scenario-built world, as fakemx builds it at start -----------------

std::string TempDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The key a sender under test reads from the exported PKCS#8 file.
auth::dkim::SigningKey ExportedKey(const DkimKey& exported) {
  const std::string pem = ReadFile(exported.key_file);
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  bssl::UniquePtr<EVP_PKEY> pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(pkey);
  uint8_t seed[32];
  size_t len = sizeof(seed);
  EXPECT_TRUE(EVP_PKEY_get_raw_private_key(pkey.get(), seed, &len));
  absl::StatusOr<auth::dkim::SigningKey> key = auth::dkim::SigningKey::Ed25519FromSeed(
      std::string_view(reinterpret_cast<const char*>(seed), len));
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

TEST(VerdictEngine, ScenarioWorldPassesMailSignedWithTheExportedKeyFromLoopback) {
  absl::StatusOr<Scenario> scenario =
      ParseScenario("receivers: [{name: example.test}]\n", "t.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  FakemxFlags flags;
  flags.cert_seed = 1;
  absl::StatusOr<ScenarioTls> tls = SetUpScenarioTls(*scenario, flags, TempDir("world"));
  ASSERT_TRUE(tls.ok()) << tls.status();
  absl::StatusOr<ScenarioDns> world = BuildScenarioDns(*scenario, *tls, TempDir("world"));
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_EQ(world->dkim_keys.size(), 1u);
  absl::StatusOr<dns::AuthoritativeResponder> responder =
      dns::AuthoritativeResponder::Create(world->zones);
  ASSERT_TRUE(responder.ok()) << responder.status();
  std::shared_ptr<VerdictEngine> engine =
      Engine(std::make_shared<dns::AuthoritativeResolver>(*std::move(responder)),
             Opts("mx.example.test"));

  // The world's SPF lists 127.0.0.1 (where tests connect from); its DMARC
  // is p=reject.
  const std::string signed_message = Sign(Message("example.test"), ExportedKey(world->dkim_keys[0]),
                                          "example.test", world->dkim_keys[0].selector);
  Delivery d = MakeDelivery("127.0.0.1", "a@example.test", "client.invalid");
  d.tls.used = true;
  MessageVerdict v = Judge(*engine, d, signed_message);
  EXPECT_EQ(v.spf_mail_from.result, "pass") << v.spf_mail_from.reason;
  ASSERT_EQ(v.dkim.size(), 1u);
  EXPECT_EQ(v.dkim[0].result, "pass") << v.dkim[0].reason;
  EXPECT_EQ(v.dmarc.result, "pass") << v.dmarc.reason;
  EXPECT_TRUE(v.summary.authenticated);
  EXPECT_TRUE(v.summary.encrypted);
  EXPECT_EQ(v.summary.dmarc, "none");

  MessageVerdict unsigned_v =
      Judge(*engine, MakeDelivery("203.0.113.9", "a@example.test", "client.invalid"),
            Message("example.test"));
  EXPECT_EQ(unsigned_v.spf_mail_from.result, "fail");
  EXPECT_TRUE(unsigned_v.dkim.empty());
  EXPECT_EQ(unsigned_v.dmarc.result, "fail");
  EXPECT_EQ(unsigned_v.summary.dmarc, "reject");
  EXPECT_FALSE(unsigned_v.summary.authenticated);
  EXPECT_FALSE(unsigned_v.summary.encrypted);
}

TEST(MakeScenarioVerdicts, OneEnginePerReceiverAsItsVerdictsKeySays) {
  absl::StatusOr<Scenario> scenario = ParseScenario(
      "receivers:\n"
      "  - {name: a.test, listeners: [\"127.0.0.1:0\"],\n"
      "     verdicts: {client_ip: 192.0.2.1, add_authentication_results: true}}\n"
      "  - {name: b.test, listeners: [\"127.0.0.1:0\"], verdicts: {enabled: false}}\n"
      "  - {name: c.test, listeners: [\"127.0.0.1:0\"], verdicts: {authserv_id: judge.c.test}}\n",
      "t.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  absl::StatusOr<std::vector<std::shared_ptr<VerdictEngine>>> engines =
      MakeScenarioVerdicts(*scenario, {});
  ASSERT_TRUE(engines.ok()) << engines.status();
  ASSERT_EQ(engines->size(), 3u);
  ASSERT_NE((*engines)[0], nullptr);
  EXPECT_EQ((*engines)[0]->options().authserv_id, "mx.a.test");
  EXPECT_EQ((*engines)[0]->options().client_ip, "192.0.2.1");
  EXPECT_TRUE((*engines)[0]->options().add_authentication_results);
  EXPECT_EQ((*engines)[1], nullptr);
  ASSERT_NE((*engines)[2], nullptr);
  EXPECT_EQ((*engines)[2]->options().authserv_id, "judge.c.test");
  EXPECT_FALSE((*engines)[2]->options().add_authentication_results);

  absl::StatusOr<std::vector<std::shared_ptr<VerdictEngine>>> no_list =
      MakeScenarioVerdicts(*scenario, {}, "/nonexistent/public_suffix_list.dat");
  ASSERT_FALSE(no_list.ok());
  EXPECT_NE(no_list.status().message().find("public suffix list"), absl::string_view::npos);
}

// ---- sessions -------------------------------------------------------------

TEST(JudgeSession, SaysEncryptedOrWhyNot) {
  struct SessionRow {
    SessionTlsFacts facts;
    bool encrypted;
    std::string outcome;
  };
  // implicit, offered, requested, started, established, timed out, error
  auto f = [](bool implicit, bool offered, bool requested, bool started, bool established,
              bool timed_out, std::string error) {
    SessionTlsFacts facts;
    facts.implicit_tls = implicit;
    facts.starttls_offered = offered;
    facts.starttls_requested = requested;
    facts.handshake_started = started;
    facts.established = established;
    facts.timed_out = timed_out;
    facts.handshake_error = std::move(error);
    return facts;
  };
  auto sent = [](SessionTlsFacts facts) {
    facts.client_sent_under_tls = true;
    return facts;
  };
  const SessionRow rows[] = {
      {sent(f(false, true, true, true, true, false, "")), true, ""},
      {sent(f(true, false, false, true, true, false, "")), true, ""},
      // Completed, then the client left without a byte under TLS.
      {f(false, true, true, true, true, false, ""), false, "client sent nothing under tls"},
      {f(true, false, false, true, true, false, ""), false, "client sent nothing under tls"},
      {f(false, true, true, true, false, false,
         "client refused the certificate: alert certificate_expired (45)"),
       false, "handshake failed: client refused the certificate: alert certificate_expired (45)"},
      {f(false, true, true, true, false, true, ""), false, "handshake timed out"},
      {f(false, true, true, true, false, false, "certificate unknown"), false,
       "handshake failed: certificate unknown"},
      {f(true, false, false, true, false, false, "wrong version number"), false,
       "handshake failed: wrong version number"},
      {f(false, true, true, true, false, false, ""), false, "client closed during the handshake"},
      {f(false, true, true, false, false, false, ""), false, "starttls refused by the receiver"},
      {f(false, true, false, false, false, false, ""), false, "client did not use starttls"},
      {f(false, false, false, false, false, false, ""), false, "starttls not offered"},
  };
  for (const SessionRow& row : rows) {
    SessionVerdict v = JudgeSession(row.facts, 2);
    EXPECT_EQ(v.encrypted, row.encrypted) << row.outcome;
    EXPECT_EQ(v.tls_outcome, row.outcome);
    EXPECT_EQ(v.messages, 2u);
  }
}

}  // namespace
}  // namespace mxkit::fakemx
