#include "fakemx/scenario.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "base/absl_interop.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Message(const absl::Status& status) { return base::StatusText(status); }

// The one receiver of a scenario that must have exactly one.
const Receiver& Only(const Scenario& s) {
  EXPECT_EQ(s.receivers.size(), 1u);
  return s.receivers.at(0);
}

// ---- The catalogue ---------------------------------------------------------

struct CatalogueRow {
  std::string name;
  std::function<void(const Receiver&)> check;
};

const std::vector<CatalogueRow>& CatalogueRows() {
  static const auto* rows = new std::vector<CatalogueRow>{
      {"good",
       [](const Receiver& r) {
         EXPECT_TRUE(r.tls.enabled);
         EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kOffer);
         EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kGood);
         EXPECT_TRUE(r.auth.mechanisms.empty());
         EXPECT_TRUE(r.rules.empty());
         EXPECT_FALSE(r.greylist);
       }},
      {"no-starttls",
       [](const Receiver& r) { EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kHide); }},
      {"starttls-refused",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kRefuse454);
       }},
      {"starttls-advertised-then-502",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kRefuse502);
       }},
      {"handshake-abort",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kAbortAfter220);
       }},
      {"expired-cert",
       [](const Receiver& r) { EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kExpired); }},
      {"self-signed",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kSelfSigned);
       }},
      {"wrong-host",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kWrongHost);
       }},
      {"unknown-ca",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kUnknownCa);
       }},
      {"tls1.0-only",
       [](const Receiver& r) {
         EXPECT_EQ(r.tls.profile.versions,
                   (tls::VersionRange{tls::TlsVersion::kTls10, tls::TlsVersion::kTls10}));
         EXPECT_NE(r.tls.profile.cipher_list.find("ECDHE-ECDSA-AES128-SHA"), std::string::npos);
       }},
      {"weak-rsa-1024",
       [](const Receiver& r) { EXPECT_EQ(r.tls.profile.certificate, tls::CertVariant::kRsa1024); }},
      {"non-esmtp", [](const Receiver& r) { EXPECT_FALSE(r.ehlo.esmtp); }},
      {"auth-required",
       [](const Receiver& r) {
         EXPECT_EQ(r.auth.mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
         ASSERT_EQ(r.auth.credentials.size(), 1u);
         EXPECT_EQ(r.auth.credentials[0].user, "test");
         EXPECT_EQ(r.auth.credentials[0].password, "test");
         EXPECT_TRUE(r.auth.required);
         EXPECT_FALSE(r.auth.tls_only);  // offered before and after TLS
       }},
      {"greylist",
       [](const Receiver& r) {
         ASSERT_TRUE(r.greylist);
         EXPECT_EQ(r.greylist->delay, seconds(2));
         EXPECT_EQ(r.greylist->reply.code, 451);
         EXPECT_EQ(r.greylist->reply.enhanced, "4.7.1");
         EXPECT_EQ(r.greylist->reply.lines,
                   std::vector<std::string>{"Greylisted, try again later"});
       }},
      {"tarpit",
       [](const Receiver& r) {
         EXPECT_EQ(r.tarpit.per_reply, seconds(1));
         EXPECT_EQ(r.tarpit.per_byte, milliseconds(0));
       }},
      {"reject-rcpt",
       [](const Receiver& r) {
         ASSERT_EQ(r.rules.size(), 2u);
         EXPECT_EQ(r.rules[0].at, "RCPT");
         EXPECT_EQ(r.rules[0].match, "unknown*@*");
         EXPECT_EQ(r.rules[0].action, RuleAction::kReject);
         EXPECT_EQ(r.rules[0].reply->code, 550);
         EXPECT_EQ(r.rules[0].reply->enhanced, "5.1.1");
         EXPECT_EQ(r.rules[0].reply->lines, std::vector<std::string>{"No such user here"});
         EXPECT_EQ(r.rules[1].at, "RCPT");
         EXPECT_EQ(r.rules[1].after_recipients, 2u);
         EXPECT_EQ(r.rules[1].action, RuleAction::kReject);
         EXPECT_EQ(r.rules[1].reply->code, 452);
         EXPECT_EQ(r.rules[1].reply->enhanced, "4.5.3");
         EXPECT_EQ(r.rules[1].reply->lines, std::vector<std::string>{"Too many recipients"});
       }},
      {"disconnect-after-data",
       [](const Receiver& r) {
         EXPECT_TRUE(r.disconnect.after_data);
         EXPECT_FALSE(r.disconnect.reset);
         EXPECT_FALSE(r.disconnect.mid_data_after_bytes);
       }},
      {"busy-421",
       [](const Receiver& r) {
         ASSERT_EQ(r.rules.size(), 1u);
         EXPECT_EQ(r.rules[0].at, "connect");
         EXPECT_EQ(r.rules[0].action, RuleAction::kDisconnect);
         EXPECT_EQ(r.rules[0].reply->code, 421);
         EXPECT_EQ(r.rules[0].reply->enhanced, "4.3.2");
         EXPECT_EQ(r.rules[0].reply->lines,
                   std::vector<std::string>{"mx.example.test Too busy, try again later"});
       }},
      {"size-limit", [](const Receiver& r) { EXPECT_EQ(r.limits.max_message_size, 65536u); }},
      {"smuggling-vulnerable",
       [](const Receiver& r) {
         EXPECT_EQ(r.data_bare_line_endings, smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd);
       }},
      {"garbage-replies",
       [](const Receiver& r) {
         const std::vector<std::pair<std::string, std::string>> expected = {
             {"EHLO", "250-mx.example.test\r\n250-PIPELINING\r\n251 broken continuation\r\n"},
             {"HELO", "hello there\r\n"},
             {"MAIL", "25\r\n"},
             {"RCPT", "250 Ok\n"},
             {"DATA", "999 what\r\n"},
             {"NOOP", std::string("\x00\xff\r\n", 4)},
         };
         ASSERT_EQ(r.rules.size(), expected.size());
         for (size_t i = 0; i < expected.size(); ++i) {
           EXPECT_EQ(r.rules[i].at, expected[i].first);
           EXPECT_EQ(r.rules[i].action, RuleAction::kReply);
           ASSERT_TRUE(r.rules[i].reply);
           EXPECT_EQ(r.rules[i].reply->raw, expected[i].second) << r.rules[i].at;
           EXPECT_EQ(r.rules[i].reply->code, 0);
         }
       }},
      {"no-mx",
       [](const Receiver& r) {
         ASSERT_TRUE(r.dns.mx);
         EXPECT_TRUE(r.dns.mx->empty());
       }},
      {"no-spf", [](const Receiver& r) { EXPECT_FALSE(r.dns.spf.publish); }},
      {"broken-dmarc", [](const Receiver& r) { EXPECT_EQ(r.dns.dmarc.text, "v=DMARC1; p=bogus"); }},
      {"dns-timeout",
       [](const Receiver& r) {
         ASSERT_EQ(r.dns.faults.size(), 2u);
         EXPECT_EQ(r.dns.faults[0].name, "example.test");
         EXPECT_EQ(r.dns.faults[1].name, "_dmarc.example.test");
         for (const DnsFaultSpec& f : r.dns.faults) {
           EXPECT_EQ(f.type, dns::RrType::kTxt);
           EXPECT_EQ(f.fault, dns::ServeFault::kTimeout);
         }
       }},
      {"mta-sts-enforce",
       [](const Receiver& r) {
         ASSERT_TRUE(r.mta_sts);
         EXPECT_EQ(r.mta_sts->mode, MtaStsMode::kEnforce);
         EXPECT_FALSE(r.mta_sts->mx);
         EXPECT_EQ(r.mta_sts->status, 200);
       }},
      {"mta-sts-mismatch",
       [](const Receiver& r) {
         ASSERT_TRUE(r.mta_sts);
         EXPECT_EQ(r.mta_sts->mode, MtaStsMode::kEnforce);
         EXPECT_EQ(r.mta_sts->mx, std::vector<std::string>{"mx.elsewhere.test"});
       }},
      {"mta-sts-testing-mismatch",
       [](const Receiver& r) {
         ASSERT_TRUE(r.mta_sts);
         EXPECT_EQ(r.mta_sts->mode, MtaStsMode::kTesting);
         EXPECT_EQ(r.mta_sts->mx, std::vector<std::string>{"mx.elsewhere.test"});
       }},
      {"mta-sts-bad-cert",
       [](const Receiver& r) {
         ASSERT_TRUE(r.mta_sts);
         EXPECT_EQ(r.mta_sts->certificate, tls::CertVariant::kExpired);
       }},
      {"mta-sts-404",
       [](const Receiver& r) {
         ASSERT_TRUE(r.mta_sts);
         EXPECT_EQ(r.mta_sts->status, 404);
       }},
      {"mta-sts-redirect",
       [](const Receiver& r) {
         ASSERT_TRUE(r.mta_sts);
         EXPECT_EQ(r.mta_sts->status, 301);
         EXPECT_EQ(r.mta_sts->location, "https://mta-sts.elsewhere.test/.well-known/mta-sts.txt");
       }},
      {"dane-good",
       [](const Receiver& r) {
         EXPECT_TRUE(r.dns.authenticated);
         ASSERT_EQ(r.dns.tlsa.size(), 1u);
         EXPECT_FALSE(r.dns.tlsa[0].mismatch);
       }},
      {"dane-mismatch",
       [](const Receiver& r) {
         EXPECT_TRUE(r.dns.authenticated);
         ASSERT_EQ(r.dns.tlsa.size(), 1u);
         EXPECT_TRUE(r.dns.tlsa[0].mismatch);
       }},
      {"dane-unsigned",
       [](const Receiver& r) {
         EXPECT_FALSE(r.dns.authenticated);
         ASSERT_EQ(r.dns.tlsa.size(), 1u);
         EXPECT_TRUE(r.dns.tlsa[0].mismatch);
       }},
  };
  return *rows;
}

TEST(ScenarioCatalogue, ListsTheContractsEntriesInOrder) {
  std::vector<std::string> names;
  for (const CatalogueEntry& e : ScenarioCatalogue()) names.emplace_back(e.name);
  std::vector<std::string> expected;
  for (const CatalogueRow& row : CatalogueRows()) expected.push_back(row.name);
  EXPECT_EQ(names, expected);
}

TEST(ScenarioCatalogue, EveryEntryParsesToOneExampleTestReceiverWithItsPromisedFields) {
  for (const CatalogueRow& row : CatalogueRows()) {
    SCOPED_TRACE(row.name);
    absl::StatusOr<Scenario> s = CatalogueScenario(row.name);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->name, row.name);
    EXPECT_EQ(s->source, "<catalogue>");
    const Receiver& r = Only(*s);
    EXPECT_EQ(r.name, "example.test");
    EXPECT_EQ(r.hostname, "mx.example.test");
    ASSERT_EQ(r.listeners.size(), 1u);
    EXPECT_EQ(r.listeners[0].host, "127.0.0.1");
    EXPECT_EQ(r.listeners[0].port, 2525);
    EXPECT_EQ(r.listeners[0].mode, ListenerMode::kSmtp);
    // STARTTLS offered with the good certificate unless the entry says otherwise.
    EXPECT_TRUE(r.tls.enabled);
    row.check(r);
  }
}

TEST(ScenarioCatalogue, SummaryIsTheFilesDescriptionAndFitsOneLine) {
  for (const CatalogueEntry& e : ScenarioCatalogue()) {
    SCOPED_TRACE(std::string(e.name));
    absl::StatusOr<Scenario> s = ParseScenario(e.yaml, std::string(e.name) + ".yaml");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->description, e.summary);
    EXPECT_EQ(s->name, e.name);  // the file's name: matches its file name
    EXPECT_LE(e.summary.size(), kMaxScenarioDescription);
    EXPECT_EQ(e.yaml.substr(0, 2), "# ");  // the "what a client sees" header
  }
}

TEST(ScenarioCatalogue, DocsShowEveryEntryExactlyAsCompiledIn) {
  std::ifstream in("docs/scenarios.md", std::ios::binary);
  ASSERT_TRUE(in) << "docs/scenarios.md is not in the test's runfiles";
  const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const CatalogueEntry& e : ScenarioCatalogue()) {
    SCOPED_TRACE(std::string(e.name));
    EXPECT_NE(docs.find("### " + std::string(e.name) + "\n"), std::string::npos);
    EXPECT_NE(docs.find("```yaml\n" + std::string(e.yaml) + "```\n"), std::string::npos)
        << "docs/scenarios.md shows another version of fakemx/scenarios/" << e.name << ".yaml";
  }
}

TEST(ScenarioCatalogue, UnknownNameIsNotFoundAndListsTheNames) {
  absl::StatusOr<Scenario> s = CatalogueScenario("gdoo");
  ASSERT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(Message(s.status()).find("\"gdoo\""), std::string::npos) << s.status();
  EXPECT_NE(Message(s.status()).find("good, no-starttls,"), std::string::npos) << s.status();
}

// ---- Resolving names and files ---------------------------------------------

std::string WriteTemp(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(ResolveScenario, NameIsTheCataloguePathIsAFile) {
  absl::StatusOr<Scenario> named = ResolveScenario("greylist");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_TRUE(Only(*named).greylist);

  const std::string path =
      WriteTemp("two-mx.yaml", "receivers:\n  - name: a.test\n    listeners: [\"127.0.0.2:25\"]\n");
  absl::StatusOr<Scenario> file = ResolveScenario(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->name, "two-mx");  // the file's stem, without name:
  EXPECT_EQ(file->source, path);
  EXPECT_EQ(Only(*file).hostname, "mx.a.test");
}

TEST(ResolveScenario, BadFileErrorNamesThePathLineAndColumn) {
  const std::string path = WriteTemp("bad.yaml", "receivers:\n  - name: a.test\n    greting: x\n");
  absl::StatusOr<Scenario> s = ResolveScenario(path);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(s.status()).rfind(path + ":3:5: unknown key \"greting\" in receivers[0]", 0),
            0u)
      << s.status();
}

TEST(ResolveScenario, MissingFileIsNotFound) {
  EXPECT_EQ(ResolveScenario("/nonexistent/x.yaml").status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadScenarioFile, RefusesAFileOverTheLimitWithoutReadingItAll) {
  std::string big = "receivers: [{name: a.test}]\n";
  big += "#" + std::string(kMaxScenarioFileBytes, 'x') + "\n";
  const std::string path = WriteTemp("big.yaml", big);
  absl::StatusOr<Scenario> s = LoadScenarioFile(path);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(s.status()).find(path + ":1:1: the file is"), std::string::npos) << s.status();
}

// ---- Defaults --------------------------------------------------------------

TEST(ParseScenario, SingleReceiverGetsDefaultListenerAndHostname) {
  absl::StatusOr<Scenario> s = ParseScenario("receivers: [{name: b.test}]\n", "dir/mine.yml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "mine");
  EXPECT_EQ(s->description, "");
  const Receiver& r = Only(*s);
  EXPECT_EQ(r.hostname, "mx.b.test");
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(r.listeners[0].port, 2525);
  // Everything else as a well-run receiver: strict, TLS offered, no faults.
  EXPECT_TRUE(r.ehlo.esmtp);
  EXPECT_FALSE(r.ehlo.before_tls);
  EXPECT_TRUE(r.tls.enabled);
  EXPECT_TRUE(r.tls.switch_to_tls);
  EXPECT_EQ(r.tls.profile.starttls, tls::StartTlsBehaviour::kOffer);
  EXPECT_EQ(r.leniencies, smtp::CommandLeniencies{});
  EXPECT_EQ(r.data_bare_line_endings, smtp::BareLineEndingPolicy::kReject);
  EXPECT_EQ(r.data_nul, smtp::NulPolicy::kReject);
  EXPECT_EQ(r.limits, smtp::SessionLimits{});
  EXPECT_FALSE(r.idle_timeout);
  EXPECT_FALSE(r.greylist);
  EXPECT_FALSE(r.chaos);
  EXPECT_EQ(r.max_protocol_errors, smtp::kDefaultMaxProtocolErrors);
}

// ---- A file with every field -----------------------------------------------

constexpr char kFullFile[] = R"yaml(# every field, to check each lands where it should
name: full-house
description: "two receivers, every knob"
receivers:
  - name: a.test
    hostname: smtp.a.test
    listeners:
      - "127.0.0.2:25"
      - {address: "127.0.0.2:465", mode: smtps}
      - "[::1]:0"
    greeting:
      code: 220
      enhanced: 2.0.0
      lines: [first line, second line]
      delay: 1.5s
    ehlo:
      before_tls: [PIPELINING, size, STARTTLS, X-EXPERIMENT 1]
      after_tls: [PIPELINING, AUTH, 8BITMIME, SMTPUTF8, CHUNKING]
    starttls:
      behaviour: offer
      certificate: wrong-host
      versions: "1.2-1.3"
      ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256"
      groups: "X25519:P-256"
      reply: "220 2.0.0 Go ahead"
      switch: false
    auth:
      mechanisms: [plain, CRAM-MD5]
      credentials:
        - {user: alice, password: "s3cret pass"}
        - {user: bob, password: hunter2}
      required: true
      tls_only: true
    rules:
      - name: no-such-user
        at: rcpt
        match: "*@unknown.test"
        tls: true
        action: reject
        reply: {code: 550, enhanced: 5.1.1, text: "No such user"}
        delay: 250ms
      - {at: RCPT, after_recipients: 5, nth: 2, action: reject, reply: "452 4.5.3 Too many"}
      - {at: MAIL, size_over: 100000, action: reject, reply: "552 Too big"}
      - {at: message, size_over: 2000, action: disconnect}
      - {at: NOOP, tls: false, action: no-reply}
      - {at: VRFY, action: unknown}
      - {at: connect, action: reply, reply: {raw: "220\r\n"}}
      - {at: any, action: accept, reply: "250 fine"}
      - {at: QUIT, action: reset}
      - {at: HELP, action: drop, delay: 3m}
    greylist: {delay: 1h, reply: "450 4.2.0 Come back", max_entries: 500}
    tarpit: {per_reply: 2s, per_byte: 10ms}
    disconnect: {after_data: true, mid_data_after_bytes: 512, reset: true}
    chaos:
      seed: 18446744073709551615
      stages: {MAIL: 0.1, rcpt: 0.25, message: 1}
      replies: ["421 4.3.2 Bye", {code: 554, lines: [a, b]}]
    leniencies: [allow-space-before-path, allow-long-auth-line]
    data_bare_line_endings: accept-bare-cr-or-lf-as-line-end
    data_nul: pass-through
    limits: {max_message_size: 100000, max_recipients: 7, max_command_line: 1024, max_text_line: 2000}
    idle_timeout: 2m
    max_protocol_errors: 3
  - name: b.test
    listeners: ["127.0.0.3:25"]
    greeting: {drop: true, delay: 100ms}
    ehlo: {esmtp: false}
    starttls: {enabled: false}
)yaml";

TEST(ParseScenario, FullFileSetsEveryField) {
  absl::StatusOr<Scenario> s = ParseScenario(kFullFile, "full.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "full-house");
  EXPECT_EQ(s->description, "two receivers, every knob");
  EXPECT_EQ(s->source, "full.yaml");
  ASSERT_EQ(s->receivers.size(), 2u);

  const Receiver& a = s->receivers[0];
  EXPECT_EQ(a.name, "a.test");
  EXPECT_EQ(a.hostname, "smtp.a.test");
  EXPECT_EQ(a.position.line, 5);
  EXPECT_EQ(a.position.column, 5);
  ASSERT_EQ(a.listeners.size(), 3u);
  EXPECT_EQ(a.listeners[0].host, "127.0.0.2");
  EXPECT_EQ(a.listeners[0].port, 25);
  EXPECT_EQ(a.listeners[0].mode, ListenerMode::kSmtp);
  EXPECT_EQ(a.listeners[0].position.line, 8);
  EXPECT_EQ(a.listeners[1].host, "127.0.0.2");
  EXPECT_EQ(a.listeners[1].port, 465);
  EXPECT_EQ(a.listeners[1].mode, ListenerMode::kSmtps);
  EXPECT_EQ(a.listeners[2].host, "::1");
  EXPECT_EQ(a.listeners[2].port, 0);

  ASSERT_TRUE(a.greeting.reply);
  EXPECT_EQ(a.greeting.reply->code, 220);
  EXPECT_EQ(a.greeting.reply->enhanced, "2.0.0");
  EXPECT_EQ(a.greeting.reply->lines, (std::vector<std::string>{"first line", "second line"}));
  EXPECT_EQ(a.greeting.delay, milliseconds(1500));
  EXPECT_FALSE(a.greeting.drop);
  EXPECT_FALSE(a.greeting.reset);

  EXPECT_TRUE(a.ehlo.esmtp);
  EXPECT_EQ(a.ehlo.before_tls,
            (std::vector<std::string>{"PIPELINING", "SIZE", "STARTTLS", "X-EXPERIMENT 1"}));
  EXPECT_EQ(a.ehlo.after_tls,
            (std::vector<std::string>{"PIPELINING", "AUTH", "8BITMIME", "SMTPUTF8", "CHUNKING"}));

  EXPECT_TRUE(a.tls.enabled);
  EXPECT_EQ(a.tls.profile.starttls, tls::StartTlsBehaviour::kOffer);
  EXPECT_EQ(a.tls.profile.certificate, tls::CertVariant::kWrongHost);
  EXPECT_EQ(a.tls.profile.versions,
            (tls::VersionRange{tls::TlsVersion::kTls12, tls::TlsVersion::kTls13}));
  EXPECT_EQ(a.tls.profile.cipher_list, "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(a.tls.profile.groups, "X25519:P-256");
  ASSERT_TRUE(a.tls.reply);
  EXPECT_EQ(a.tls.reply->code, 220);
  EXPECT_EQ(a.tls.reply->enhanced, "2.0.0");
  EXPECT_EQ(a.tls.reply->lines, std::vector<std::string>{"Go ahead"});
  EXPECT_FALSE(a.tls.switch_to_tls);

  EXPECT_EQ(a.auth.mechanisms, (std::vector<std::string>{"PLAIN", "CRAM-MD5"}));
  ASSERT_EQ(a.auth.credentials.size(), 2u);
  EXPECT_EQ(a.auth.credentials[0].user, "alice");
  EXPECT_EQ(a.auth.credentials[0].password, "s3cret pass");
  EXPECT_EQ(a.auth.credentials[1].user, "bob");
  EXPECT_EQ(a.auth.credentials[1].password, "hunter2");
  EXPECT_TRUE(a.auth.required);
  EXPECT_TRUE(a.auth.tls_only);

  ASSERT_EQ(a.rules.size(), 10u);
  const Rule& r0 = a.rules[0];
  EXPECT_EQ(r0.name, "no-such-user");
  EXPECT_EQ(r0.position.line, 35);
  EXPECT_EQ(r0.position.column, 9);
  EXPECT_EQ(r0.at, "RCPT");
  EXPECT_EQ(r0.match, "*@unknown.test");
  EXPECT_EQ(r0.tls, true);
  EXPECT_EQ(r0.action, RuleAction::kReject);
  ASSERT_TRUE(r0.reply);
  EXPECT_EQ(r0.reply->code, 550);
  EXPECT_EQ(r0.reply->enhanced, "5.1.1");
  EXPECT_EQ(r0.reply->lines, std::vector<std::string>{"No such user"});
  EXPECT_EQ(r0.delay, milliseconds(250));
  const Rule& r1 = a.rules[1];
  EXPECT_EQ(r1.name, "rules[1]");
  EXPECT_EQ(r1.after_recipients, 5u);
  EXPECT_EQ(r1.nth, 2u);
  EXPECT_EQ(r1.reply->code, 452);
  EXPECT_EQ(r1.reply->enhanced, "4.5.3");
  EXPECT_EQ(r1.reply->lines, std::vector<std::string>{"Too many"});
  EXPECT_FALSE(r1.tls);
  EXPECT_EQ(a.rules[2].at, "MAIL");
  EXPECT_EQ(a.rules[2].size_over, 100000u);
  EXPECT_EQ(a.rules[2].reply->enhanced, "");
  EXPECT_EQ(a.rules[2].reply->lines, std::vector<std::string>{"Too big"});
  EXPECT_EQ(a.rules[3].at, "message");
  EXPECT_EQ(a.rules[3].size_over, 2000u);
  EXPECT_EQ(a.rules[3].action, RuleAction::kDisconnect);
  EXPECT_FALSE(a.rules[3].reply);
  EXPECT_EQ(a.rules[4].tls, false);
  EXPECT_EQ(a.rules[4].action, RuleAction::kNoReply);
  EXPECT_EQ(a.rules[5].action, RuleAction::kUnknown);
  EXPECT_EQ(a.rules[6].at, "connect");
  EXPECT_EQ(a.rules[6].reply->raw, "220\r\n");
  EXPECT_EQ(a.rules[7].at, "any");
  EXPECT_EQ(a.rules[7].action, RuleAction::kAccept);
  EXPECT_EQ(a.rules[7].reply->code, 250);
  EXPECT_EQ(a.rules[8].action, RuleAction::kReset);
  EXPECT_EQ(a.rules[9].action, RuleAction::kDrop);
  EXPECT_EQ(a.rules[9].delay, std::chrono::minutes(3));

  ASSERT_TRUE(a.greylist);
  EXPECT_EQ(a.greylist->delay, std::chrono::hours(1));
  EXPECT_EQ(a.greylist->reply.code, 450);
  EXPECT_EQ(a.greylist->reply.enhanced, "4.2.0");
  EXPECT_EQ(a.greylist->max_entries, 500u);
  EXPECT_EQ(a.tarpit.per_reply, seconds(2));
  EXPECT_EQ(a.tarpit.per_byte, milliseconds(10));
  EXPECT_TRUE(a.disconnect.after_data);
  EXPECT_EQ(a.disconnect.mid_data_after_bytes, 512u);
  EXPECT_TRUE(a.disconnect.reset);

  ASSERT_TRUE(a.chaos);
  EXPECT_EQ(a.chaos->seed, 18446744073709551615u);
  EXPECT_EQ(a.chaos->stages, (std::vector<std::pair<std::string, double>>{
                                 {"MAIL", 0.1}, {"RCPT", 0.25}, {"message", 1.0}}));
  ASSERT_EQ(a.chaos->replies.size(), 2u);
  EXPECT_EQ(a.chaos->replies[0].code, 421);
  EXPECT_EQ(a.chaos->replies[1].lines, (std::vector<std::string>{"a", "b"}));

  EXPECT_TRUE(a.leniencies.allow_space_before_path);
  EXPECT_FALSE(a.leniencies.allow_missing_angle_brackets);
  EXPECT_FALSE(a.leniencies.allow_helo_address_literal);
  EXPECT_TRUE(a.leniencies.allow_long_auth_line);
  EXPECT_EQ(a.data_bare_line_endings, smtp::BareLineEndingPolicy::kAcceptBareCrOrLfAsLineEnd);
  EXPECT_EQ(a.data_nul, smtp::NulPolicy::kPassThrough);
  EXPECT_EQ(a.limits.max_message_size, 100000u);
  EXPECT_EQ(a.limits.max_recipients, 7u);
  EXPECT_EQ(a.limits.max_command_line, 1024u);
  EXPECT_EQ(a.limits.max_text_line, 2000u);
  EXPECT_EQ(a.idle_timeout, seconds(120));
  EXPECT_EQ(a.max_protocol_errors, 3);

  const Receiver& b = s->receivers[1];
  EXPECT_EQ(b.name, "b.test");
  EXPECT_EQ(b.hostname, "mx.b.test");
  EXPECT_TRUE(b.greeting.drop);
  EXPECT_EQ(b.greeting.delay, milliseconds(100));
  EXPECT_FALSE(b.greeting.reply);
  EXPECT_FALSE(b.ehlo.esmtp);
  EXPECT_FALSE(b.tls.enabled);
}

// ---- Values ----------------------------------------------------------------

struct DurationRow {
  std::string text;
  int64_t ms;  // -1: refused
};

TEST(ParseScenario, DurationsNeedAUnitAndAtMostMillisecondPrecision) {
  const DurationRow rows[] = {
      {"250ms", 250},  {"2s", 2000}, {"1.5s", 1500}, {"0.001s", 1},        {"3m", 180000},
      {"1h", 3600000}, {"0", 0},     {"0s", 0},      {"24h", 86400000},    {"2", -1},
      {"1.0005s", -1}, {"25h", -1},  {"-1s", -1},    {"1.s", -1},          {".5s", -1},
      {"2 s", -1},     {"2sec", -1}, {"1e3ms", -1},  {"99999999999s", -1},
  };
  for (const DurationRow& row : rows) {
    SCOPED_TRACE(row.text);
    const std::string yaml =
        "receivers: [{name: a.test, tarpit: {per_reply: \"" + row.text + "\"}}]\n";
    absl::StatusOr<Scenario> s = ParseScenario(yaml, "d.yaml");
    if (row.ms < 0) {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(Message(s.status()).rfind("d.yaml:1:", 0), 0u) << s.status();
      EXPECT_NE(Message(s.status()).find("receivers[0].tarpit.per_reply"), std::string::npos)
          << s.status();
    } else {
      ASSERT_TRUE(s.ok()) << s.status();
      EXPECT_EQ(Only(*s).tarpit.per_reply, milliseconds(row.ms));
    }
  }
}

struct ReplyRow {
  std::string yaml;  // the value of rules[0].reply
  int code;          // 0: refused
  std::string enhanced;
  std::vector<std::string> lines;
  std::string raw;
};

TEST(ParseScenario, RepliesInShorthandAndMappingForm) {
  const ReplyRow rows[] = {
      {"\"550 5.1.1 No such user\"", 550, "5.1.1", {"No such user"}, ""},
      {"\"550 No such user\"", 550, "", {"No such user"}, ""},
      {"\"550\"", 550, "", {}, ""},
      {"550", 550, "", {}, ""},
      {"\"550 5.1.1\"", 550, "5.1.1", {}, ""},
      {"\"250 2.0.0 a  b \"", 250, "2.0.0", {"a  b "}, ""},
      {"{code: 451, text: later}", 451, "", {"later"}, ""},
      {"{code: 250, lines: [one, two, three]}", 250, "", {"one", "two", "three"}, ""},
      {"{raw: \"x\\r\\n\"}", 0, "", {}, "x\r\n"},
      {"{raw: \"\\x80\\xfe\"}", 0, "", {}, "\x80\xfe"},
      // Refused.
      {"\"55O no\"", -1, "", {}, ""},
      {"\"5500 no\"", -1, "", {}, ""},
      {"\"199 low\"", -1, "", {}, ""},
      {"\"600 high\"", -1, "", {}, ""},
      {"\"550 4.1.1 class differs\"", -1, "", {}, ""},
      {"{code: 550, enhanced: 5.1}", -1, "", {}, ""},
      {"{code: 550, enhanced: 3.1.1}", -1, "", {}, ""},
      {"{code: 550, text: a, lines: [b]}", -1, "", {}, ""},
      {"{code: 550, raw: \"x\"}", -1, "", {}, ""},
      {"{text: no code}", -1, "", {}, ""},
      {"{raw: \"\"}", -1, "", {}, ""},
      {"{raw: \"\\u0100\"}", -1, "", {}, ""},
      {"{code: 550, text: \"tab\\there\"}", -1, "", {}, ""},
      {"{code: 550, text: \"caf\\u00e9\"}", -1, "", {}, ""},
      {"{code: 550, lines: []}", -1, "", {}, ""},
      {"[550]", -1, "", {}, ""},
  };
  for (const ReplyRow& row : rows) {
    SCOPED_TRACE(row.yaml);
    const std::string yaml =
        "receivers: [{name: a.test, rules: [{at: MAIL, reply: " + row.yaml + "}]}]\n";
    absl::StatusOr<Scenario> s = ParseScenario(yaml, "r.yaml");
    if (row.code < 0) {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(Message(s.status()).rfind("r.yaml:1:", 0), 0u) << s.status();
      continue;
    }
    ASSERT_TRUE(s.ok()) << s.status();
    const ScenarioReply& reply = *Only(*s).rules.at(0).reply;
    EXPECT_EQ(reply.code, row.code);
    EXPECT_EQ(reply.enhanced, row.enhanced);
    EXPECT_EQ(reply.lines, row.lines);
    EXPECT_EQ(reply.raw, row.raw);
  }
}

// ---- Errors: each names SOURCE:LINE:COLUMN and what is wrong ---------------

struct ErrorRow {
  std::string yaml;
  // Where the error points: the first occurrence of this text in `yaml`;
  // "" is 1:1 (no better place), "$" the end of the text.
  std::string at;
  std::string what;  // a substring of the message
};

// "LINE:COLUMN" (1-based) of `row.at` in `row.yaml`.
std::string Where(const ErrorRow& row) {
  size_t offset = 0;
  if (row.at == "$") {
    offset = row.yaml.size();
  } else if (!row.at.empty()) {
    offset = row.yaml.find(row.at);
    EXPECT_NE(offset, std::string::npos) << "anchor not in the row: " << row.at;
    if (offset == std::string::npos) return "?";
  }
  int line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (row.yaml[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

TEST(ParseScenario, ErrorsNameTheLineColumnAndWhatIsWrong) {
  const ErrorRow rows[] = {
      // Syntax, encoding, shape.
      {"receivers: [\n", "$", "YAML syntax error"},
      {"a: b\n  c: d\n", ": d", "YAML syntax error"},
      {"", "", "the file is empty"},
      {"# only a comment\n", "# only a com", "the file is empty"},
      {"receivers: [{name: a.test}]\n---\nname: x\n", "name: x", "one YAML document"},
      {"name: \"x\xff\"\n", "\xff\"", "not UTF-8"},
      {"receivers:\n  - name: a\x01.test\n", "\x01.test", "control character 0x01"},
      {"- a\n- b\n", "- a", "expected the scenario (a mapping"},
      {"name: x\n", "name: x", "needs at least one receiver"},
      {"receivers: []\n", "[]", "needs at least one receiver"},
      {"receivers: {name: a.test}\n", "{name: a.tes", "receivers: expected a list of receivers"},
      {"receivers:\n  - name: a.test\n    ? [complex]\n    : key\n", "[complex]",
       "a key must be a word"},
      // Unknown and duplicate keys, at every level.
      {"nmae: x\nreceivers: [{name: a.test}]\n", "nmae: x",
       "unknown key \"nmae\" in the top level; expected one of: name, description, receivers"},
      {"receivers:\n  - name: a.test\n    greting: {code: 220}\n", "greting: {co",
       "unknown key \"greting\" in receivers[0]; expected one of: name, hostname, listeners"},
      {"receivers: [{name: a.test, greeting: {cod: 220}}]\n", "cod: 220}}]",
       "unknown key \"cod\" in receivers[0].greeting"},
      {"receivers: [{name: a.test, ehlo: {before: [SIZE]}}]\n", "before: [SIZ",
       "unknown key \"before\" in receivers[0].ehlo"},
      {"receivers: [{name: a.test, starttls: {cert: expired}}]\n", "cert: expire",
       "unknown key \"cert\" in receivers[0].starttls"},
      {"receivers: [{name: a.test, auth: {mechanism: [PLAIN]}}]\n", "mechanism: [",
       "unknown key \"mechanism\" in receivers[0].auth"},
      {"receivers: [{name: a.test, auth: {mechanisms: [PLAIN], credentials: [{usr: a}]}}]\n",
       "usr: a}]}}]", "unknown key \"usr\" in receivers[0].auth.credentials[0]"},
      {"receivers: [{name: a.test, rules: [{at: MAIL, acton: drop}]}]\n", "acton: drop}",
       "unknown key \"acton\" in receivers[0].rules[0]"},
      {"receivers: [{name: a.test, rules: [{at: MAIL, reply: {code: 550, txt: x}}]}]\n",
       "txt: x}}]}]", "unknown key \"txt\" in receivers[0].rules[0].reply"},
      {"receivers: [{name: a.test, greylist: {dealy: 2s}}]\n", "dealy: 2s}}]",
       "unknown key \"dealy\" in receivers[0].greylist"},
      {"receivers: [{name: a.test, tarpit: {per_replay: 1s}}]\n",
       "per_replay: ", "unknown key \"per_replay\" in receivers[0].tarpit"},
      {"receivers: [{name: a.test, disconnect: {after_dta: true}}]\n", "after_dta: t",
       "unknown key \"after_dta\" in receivers[0].disconnect"},
      {"receivers: [{name: a.test, chaos: {sed: 1, stages: {MAIL: 0.1}}}]\n", "sed: 1, stag",
       "unknown key \"sed\" in receivers[0].chaos"},
      {"receivers: [{name: a.test, limits: {max_size: 1}}]\n", "max_size: 1}",
       "unknown key \"max_size\" in receivers[0].limits"},
      {"receivers: [{name: a.test, listeners: [{adress: \"127.0.0.1:25\"}]}]\n", "adress: \"127",
       "unknown key \"adress\" in receivers[0].listeners[0]"},
      {"receivers:\n  - name: a.test\n    name: b.test\n", "name: b.test",
       "duplicate key \"name\" in receivers[0] (first given on line 2)"},
      // Wrong types.
      {"receivers: [{name: [a]}]\n", "[a]}]", "receivers[0].name: expected a string, got a list"},
      {"receivers: [{name: a.test, greeting: {drop: yes}}]\n", "yes}}]",
       "greeting.drop: expected true or false, got \"yes\""},
      {"receivers: [{name: a.test, limits: {max_recipients: 1.5}}]\n", "1.5}}]",
       "expected a whole number of recipients, got \"1.5\""},
      {"receivers: [{name: a.test, limits: {max_recipients: -1}}]\n", "-1}}]",
       "expected a whole number"},
      {"receivers:\n  - name: a.test\n    tarpit:\n      per_reply:\n",
       "per_reply:", "receivers[0].tarpit.per_reply: needs a value"},
      {"receivers: [{name: a.test, rules: {at: MAIL}}]\n", "{at: MAIL}}]",
       "expected a list of rules"},
      {"receivers: [{name: a.test, greeting: [220]}]\n", "[220]}]", "expected a greeting"},
      // Out of range.
      {"receivers: [{name: a.test, limits: {max_message_size: 1000}}]\n", "1000}}]",
       "\"1000\" is out of range (65536 to 4294967296 octets)"},
      {"receivers: [{name: a.test, limits: {max_command_line: 100}}]\n", "100}}]",
       "out of range (512 to"},
      {"receivers: [{name: a.test, limits: {max_recipients: 99999999999999999999999}}]\n",
       "999999999999", "out of range"},
      {"receivers: [{name: a.test, max_protocol_errors: 0}]\n", "0}]", "out of range (1 to 1000"},
      {"receivers: [{name: a.test, greeting: {code: 999}}]\n", "999}}]",
       "\"999\" is out of range (200 to 599)"},
      {"receivers: [{name: a.test, rules: [{at: MAIL, delay: 2d}]}]\n", "2d}]}]", "not a duration"},
      {"receivers: [{name: a.test, idle_timeout: 1500ms}]\n", "1500ms}]", "whole seconds"},
      {"receivers: [{name: a.test, idle_timeout: 0s}]\n", "0s}]", "out of range (1s to 86400s)"},
      {"receivers: [{name: a.test, chaos: {stages: {MAIL: 1.5}}}]\n", "1.5}}}]",
       "expected a probability from 0 to 1"},
      {"receivers: [{name: a.test, chaos: {stages: {MAIL: nan}}}]\n", "nan}}}]", "probability"},
      {"receivers: [{name: a.test, listeners: [\"127.0.0.1:70000\"]}]\n", "\"127.0.0.1:7",
       "is not a number from 0 to 65535"},
      {"receivers: [{name: a.test, listeners: [\"localhost:25\"]}]\n", "\"localhost:2",
       "is not an IPv4 address"},
      {"receivers: [{name: a.test, listeners: [\"::1:25\"]}]\n", "\"::1:25\"]}]", "needs brackets"},
      // Bad names, listing the valid ones.
      {"receivers: [{name: a.test, starttls: {certificate: expird}}]\n", "expird}}]",
       "\"expird\" is not a certificate variant; expected one of: good, expired"},
      {"receivers: [{name: a.test, starttls: {behaviour: refuse}}]\n", "refuse}}]",
       "is not a STARTTLS behaviour; expected one of: offer, hide, refuse-454"},
      {"receivers: [{name: a.test, starttls: {versions: \"1.4\"}}]\n", "\"1.4\"}}]", "\"1.4\""},
      {"receivers: [{name: a.test, data_bare_line_endings: accept-lf}]\n", "accept-lf}]",
       "\"accept-lf\" is not a policy; one of reject, pass-through, accept-bare-lf-as-line-end"},
      {"receivers: [{name: a.test, data_nul: accept}]\n", "accept}]",
       "not a policy; one of reject, pass-through"},
      {"receivers: [{name: a.test, leniencies: [allow-spaces]}]\n", "allow-spaces",
       "\"allow-spaces\" is not a leniency; expected one of: allow-space-before-path"},
      {"receivers: [{name: a.test, rules: [{at: RCTP, action: drop}]}]\n", "RCTP, action",
       "\"RCTP\" is not a stage; expected one of: HELO, EHLO"},
      {"receivers: [{name: a.test, rules: [{at: MAIL, action: refuse}]}]\n", "refuse}]}]",
       "\"refuse\" is not an action; expected one of: reply, reject, accept"},
      {"receivers: [{name: a.test, auth: {mechanisms: [XOAUTH2]}}]\n", "XOAUTH2]}}]",
       "\"XOAUTH2\" is not a mechanism fakemx speaks; expected one of: PLAIN, LOGIN, CRAM-MD5"},
      {"receivers: [{name: a.test, listeners: [{address: \"127.0.0.1:25\", mode: lmtp}]}]\n",
       "lmtp}]}]", "\"lmtp\" is not a listener mode; expected one of: smtp, smtps"},
      {"receivers: [{name: a.test, ehlo: {before_tls: [\"SIZE 1000\"]}}]\n", "\"SIZE 1000\"]",
       "list SIZE alone"},
      {"receivers: [{name: a.test, ehlo: {before_tls: [\"-X\"]}}]\n", "\"-X\"]}}]",
       "is not an EHLO keyword"},
      {"receivers: [{name: a.test, ehlo: {before_tls: [SIZE, size]}}]\n", "size]}}]",
       "listed twice"},
      {"name: \"has space\"\nreceivers: [{name: a.test}]\n", "\"has space\"",
       "is not a scenario name"},
      {"receivers: [{name: \"a test\"}]\n", "\"a test\"}]", "contains a space"},
      // Contradictions.
      {"receivers: [{name: a.test, starttls: {enabled: false, certificate: expired}}]\n",
       "{enabled: fa", "enabled is false, so certificate has no effect"},
      {"receivers:\n  - name: a.test\n    starttls: {enabled: false}\n"
       "    listeners: [{address: \"127.0.0.1:465\", mode: smtps}]\n",
       "{address: \"1", "an smtps listener is implicit TLS, but starttls.enabled is false"},
      {"receivers: [{name: a.test, starttls: {behaviour: refuse-454, reply: \"454 no\"}}]\n",
       "{behaviour: ", "behaviour refuse-454 has its own answer"},
      {"receivers: [{name: a.test, starttls: {behaviour: abort-after-220, switch: false}}]\n",
       "{behaviour: ", "switch: false applies with behaviour offer"},
      {"receivers: [{name: a.test, ehlo: {esmtp: false, before_tls: [SIZE]}}]\n", "{esmtp: fals",
       "esmtp false answers EHLO as unknown"},
      {"receivers: [{name: a.test, starttls: {behaviour: hide}, ehlo: {before_tls: [STARTTLS]}}]"
       "\n",
       "{before_tls:", "before_tls lists STARTTLS, but starttls behaviour is hide"},
      {"receivers: [{name: a.test, ehlo: {after_tls: [AUTH]}}]\n",
       "{after_tls: ", "AUTH is listed but auth has no mechanisms"},
      {"receivers: [{name: a.test, auth: {required: true}}]\n", "{required: t",
       "required, tls_only and credentials need mechanisms"},
      {"receivers: [{name: a.test, starttls: {enabled: false}, auth: {mechanisms: [PLAIN], "
       "tls_only: true}}]\n",
       "{mechanisms:", "tls_only with starttls.enabled false"},
      {"receivers: [{name: a.test, greylist: {delay: 0s}}]\n", "{delay: 0s}}",
       "a delay of 0 lets every retry through"},
      {"receivers: [{name: a.test, greylist: {delay: 1s, reply: \"550 no\"}}]\n", "{delay: 1s, ",
       "a greylisting reply is temporary (4xx)"},
      {"receivers: [{name: a.test, disconnect: {reset: true}}]\n", "{reset: true",
       "reset applies to after_data or mid_data_after_bytes"},
      {"receivers: [{name: a.test, greeting: {drop: true, reset: true}}]\n", "{drop: true,",
       "drop and reset are exclusive"},
      {"receivers: [{name: a.test, greeting: {drop: true, code: 220}}]\n", "{drop: true,",
       "a greeting that is dropped or reset sends no reply"},
      {"receivers: [{name: a.test, greeting: {text: hi}}]\n", "{text: hi}}]",
       "needs a code (200-599)"},
      {"receivers: [{name: a.test, chaos: {seed: 1}}]\n", "{seed: 1}}]", "chaos needs stages"},
      {"receivers: [{name: a.test, chaos: {stages: {MAIL: 0.1, mail: 0.2}}}]\n", "mail: 0.2}}}",
       "stage MAIL is given twice"},
      {"receivers: [{name: a.test, chaos: {stages: {MAIL: 1}, replies: [\"250 ok\"]}}]\n",
       "\"250 ok\"]}}]", "a fault is 4xx or 5xx"},
      {"receivers: [{name: a.test, rules: [{action: drop}]}]\n", "{action: dro",
       "a rule needs at:"},
      {"receivers: [{name: a.test, rules: [{at: MAIL}]}]\n", "{at: MAIL}]}",
       "a rule needs an action or a reply"},
      {"receivers: [{name: a.test, rules: [{at: connect, match: \"x*\", action: drop}]}]\n",
       "{at: connect", "match applies to a command's argument; at: connect has none"},
      {"receivers: [{name: a.test, rules: [{at: MAIL, after_recipients: 1, action: drop}]}]\n",
       "{at: MAIL, a", "after_recipients applies only at: RCPT"},
      {"receivers: [{name: a.test, rules: [{at: RCPT, size_over: 1, action: drop}]}]\n",
       "{at: RCPT, s", "size_over applies only at: MAIL"},
      {"receivers: [{name: a.test, rules: [{at: RCPT, action: reject}]}]\n", "{at: RCPT, a",
       "action reject needs a reply"},
      {"receivers: [{name: a.test, rules: [{at: RCPT, action: reject, reply: \"250 ok\"}]}]\n",
       "{at: RCPT, a", "action reject with a 250 reply"},
      {"receivers: [{name: a.test, rules: [{at: RCPT, action: accept, reply: \"550 no\"}]}]\n",
       "{at: RCPT, a", "action accept with a 550 reply"},
      {"receivers: [{name: a.test, rules: [{at: RCPT, action: drop, reply: \"421 bye\"}]}]\n",
       "{at: RCPT, a", "action drop sends no reply"},
      {"receivers: [{name: a.test, rules: [{at: message, action: unknown}]}]\n", "{at: message",
       "at: message is not a command"},
      {"receivers: [{name: a.test, rules: [{at: MAIL, nth: 0, action: drop}]}]\n", "0, action: d",
       "out of range (1 to"},
      {"receivers: [{name: a.test, rules: [{name: x, at: MAIL, action: drop}, {name: x, at: "
       "RCPT, action: drop}]}]\n",
       "{name: x, at: RCPT", "another rule is named \"x\" (line 1)"},
      // Across receivers.
      {"receivers: [{name: a.test, listeners: []}]\n", "{name: a.tes", "listeners is empty"},
      {"receivers: [{name: a.test}, {name: b.test, listeners: [\"127.0.0.3:25\"]}]\n",
       "{name: a.tes",
       "receiver \"a.test\" has no listeners; only a scenario's single receiver gets the default"},
      {"receivers:\n  - {name: a.test, listeners: [\"127.0.0.2:25\"]}\n"
       "  - {name: a.test, listeners: [\"127.0.0.3:25\"]}\n",
       "{name: a.test, listeners: [\"127.0.0.3",
       "receiver \"a.test\" is given twice (first on line 2)"},
      {"receivers:\n  - {name: a.test, listeners: [\"[::1]:25\"]}\n"
       "  - {name: b.test, listeners: [\"127.0.0.3:25\", \"[0::1]:25\"]}\n",
       "\"[0::1]:25\"]",
       "listener [0::1]:25 is already used by receiver \"a.test\" (line 2); each address and port"},
      {"receivers: [{name: a.test}]\nreceivers: [{name: b.test}]\n", "receivers: [{name: b.test}]",
       "duplicate key \"receivers\" in the top level"},
  };
  for (const ErrorRow& row : rows) {
    SCOPED_TRACE(row.yaml);
    absl::StatusOr<Scenario> s = ParseScenario(row.yaml, "bad.yaml");
    ASSERT_FALSE(s.ok()) << "parsed";
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message = Message(s.status());
    EXPECT_EQ(message.rfind("bad.yaml:" + Where(row) + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(row.what), std::string::npos) << message;
  }
}

// ---- DNS and MTA-STS (issue 10) ---------------------------------------------

TEST(ParseScenario, DnsAndMtaStsAreTheDefaultWorldWhenAbsent) {
  absl::StatusOr<Scenario> s = ParseScenario("receivers: [{name: b.test}]\n", "d.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  const ReceiverDns& d = Only(*s).dns;
  EXPECT_FALSE(d.mx);
  EXPECT_FALSE(d.address);
  EXPECT_TRUE(d.spf.publish);
  EXPECT_FALSE(d.spf.text);
  EXPECT_TRUE(d.dkim.publish);
  EXPECT_EQ(d.dkim.selector, "mxkit");
  EXPECT_EQ(d.dkim.algorithm, DkimAlgorithm::kEd25519);
  EXPECT_FALSE(d.dkim.text);
  EXPECT_TRUE(d.dmarc.publish);
  EXPECT_TRUE(d.tls_rpt.publish);
  EXPECT_TRUE(d.tlsa.empty());
  EXPECT_FALSE(d.authenticated);
  EXPECT_TRUE(d.faults.empty());
  EXPECT_FALSE(Only(*s).mta_sts);
  EXPECT_TRUE(s->zones.empty());
}

constexpr char kDnsFile[] = R"yaml(receivers:
  - name: example.test
    listeners: ["127.0.0.2:25"]
    dns:
      mx: [{preference: 5, host: mx1.example.test.}, {host: "."}]
      address: "::1"
      spf: "v=spf1 +all"
      dkim: {selector: s2024, algorithm: rsa, text: "v=DKIM1; p="}
      dmarc: false
      tls_rpt: "true"
      tlsa:
        - {usage: 3, selector: 1, matching: 1}
        - {usage: 2, selector: 0, matching: 0, mismatch: true}
      authenticated: true
      faults:
        - {name: _dmarc, type: txt, fault: timeout}
        - {name: "@", fault: nxdomain}
        - {name: abs.other.test., type: MX, fault: truncate}
    mta_sts:
      mode: testing
      mx: ["*.example.test"]
      max_age: 86400
      id: abc123
      status: 302
      redirect: "https://x.test/p"
      content_type: "text/html"
      delay: 250ms
      certificate: wrong-host
      listen: "127.0.0.5:8443"
      txt: "v=STSv1; id=other"
  - name: b.test
    listeners: ["127.0.0.3:25"]
    mta_sts: {body: "not a policy", txt: false}
zones:
  - apex: Other.TEST.
    authenticated: true
    text: |
      $ORIGIN other.test.
      @     300 IN A 192.0.2.1
      _mta-sts 300 IN TXT "v=STSv1; id=1"
      $SERVFAIL slow.other.test. TXT
)yaml";

TEST(ParseScenario, DnsMtaStsAndZonesLandWhereTheySay) {
  absl::StatusOr<Scenario> s = ParseScenario(kDnsFile, "dns.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->receivers.size(), 2u);
  const Receiver& a = s->receivers[0];
  const ReceiverDns& d = a.dns;
  ASSERT_TRUE(d.mx);
  ASSERT_EQ(d.mx->size(), 2u);
  EXPECT_EQ((*d.mx)[0].preference, 5);
  EXPECT_EQ((*d.mx)[0].host, "mx1.example.test");
  EXPECT_EQ((*d.mx)[1].preference, 10);
  EXPECT_EQ((*d.mx)[1].host, "");  // null MX
  EXPECT_EQ(d.address, "::1");
  EXPECT_EQ(d.spf.text, "v=spf1 +all");
  EXPECT_EQ(d.dkim.selector, "s2024");
  EXPECT_EQ(d.dkim.algorithm, DkimAlgorithm::kRsa);
  EXPECT_EQ(d.dkim.text, "v=DKIM1; p=");
  EXPECT_FALSE(d.dmarc.publish);
  EXPECT_EQ(d.tls_rpt.text, "true");  // quoted: text, not a switch
  ASSERT_EQ(d.tlsa.size(), 2u);
  EXPECT_EQ(d.tlsa[0].usage, 3);
  EXPECT_EQ(d.tlsa[0].selector, 1);
  EXPECT_EQ(d.tlsa[0].matching, 1);
  EXPECT_FALSE(d.tlsa[0].mismatch);
  EXPECT_EQ(d.tlsa[1].usage, 2);
  EXPECT_EQ(d.tlsa[1].selector, 0);
  EXPECT_EQ(d.tlsa[1].matching, 0);
  EXPECT_TRUE(d.tlsa[1].mismatch);
  EXPECT_TRUE(d.authenticated);
  ASSERT_EQ(d.faults.size(), 3u);
  EXPECT_EQ(d.faults[0].name, "_dmarc.example.test");
  EXPECT_EQ(d.faults[0].type, dns::RrType::kTxt);
  EXPECT_EQ(d.faults[0].fault, dns::ServeFault::kTimeout);
  EXPECT_EQ(d.faults[0].position.line, 16);
  EXPECT_EQ(d.faults[1].name, "example.test");
  EXPECT_FALSE(d.faults[1].type);
  EXPECT_EQ(d.faults[1].fault, dns::ServeFault::kNxDomain);
  EXPECT_EQ(d.faults[2].name, "abs.other.test");
  EXPECT_EQ(d.faults[2].type, dns::RrType::kMx);
  EXPECT_EQ(d.faults[2].fault, dns::ServeFault::kTruncate);

  ASSERT_TRUE(a.mta_sts);
  const MtaStsSpec& m = *a.mta_sts;
  EXPECT_EQ(m.mode, MtaStsMode::kTesting);
  EXPECT_EQ(m.mx, std::vector<std::string>{"*.example.test"});
  EXPECT_EQ(m.max_age, 86400u);
  EXPECT_EQ(m.id, "abc123");
  EXPECT_FALSE(m.body);
  EXPECT_EQ(m.status, 302);
  EXPECT_EQ(m.location, "https://x.test/p");
  EXPECT_EQ(m.content_type, "text/html");
  EXPECT_EQ(m.delay, milliseconds(250));
  EXPECT_EQ(m.certificate, tls::CertVariant::kWrongHost);
  EXPECT_EQ(m.host, "127.0.0.5");
  EXPECT_EQ(m.port, 8443);
  EXPECT_TRUE(m.txt.publish);
  EXPECT_EQ(m.txt.text, "v=STSv1; id=other");

  const Receiver& b = s->receivers[1];
  ASSERT_TRUE(b.mta_sts);
  EXPECT_EQ(b.mta_sts->body, "not a policy");
  EXPECT_EQ(b.mta_sts->status, 200);
  EXPECT_EQ(b.mta_sts->port, kDefaultMtaStsPort);
  EXPECT_FALSE(b.mta_sts->host);
  EXPECT_FALSE(b.mta_sts->txt.publish);

  ASSERT_EQ(s->zones.size(), 1u);
  const ExtraZone& z = s->zones[0];
  EXPECT_EQ(z.apex, "other.test");
  EXPECT_EQ(z.authenticated, true);
  ASSERT_EQ(z.records.size(), 2u);
  EXPECT_EQ(z.records[0].name, "other.test");
  EXPECT_EQ(z.records[0].type, dns::RrType::kA);
  EXPECT_EQ(z.records[1].name, "_mta-sts.other.test");
  ASSERT_EQ(z.faults.size(), 1u);
  EXPECT_EQ(z.faults[0].name, "slow.other.test");
  EXPECT_EQ(z.faults[0].type, dns::RrType::kTxt);
  EXPECT_EQ(z.faults[0].fault, dns::ServeFault::kServfail);
}

TEST(NameAtOrBelow, ComparesWholeLabelsCaseInsensitively) {
  struct Row {
    std::string name, apex;
    bool below;
  };
  const Row rows[] = {
      {"example.test", "example.test", true}, {"mx.example.test", "example.test", true},
      {"MX.Example.TEST", "example.test", true}, {"badexample.test", "example.test", false},
      {"example.test", "mx.example.test", false}, {"test", "example.test", false},
      {"anything.at.all", "", true},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(NameAtOrBelow(row.name, row.apex), row.below) << row.name << " under " << row.apex;
  }
}

TEST(ParseScenario, RedirectAloneIsA301) {
  absl::StatusOr<Scenario> s = ParseScenario(
      "receivers: [{name: a.test, mta_sts: {redirect: \"https://b.test/\"}}]\n", "r.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Only(*s).mta_sts->status, 301);
}

TEST(ParseScenario, DnsAndMtaStsErrorsNameTheLineColumnAndWhatIsWrong) {
  const std::string r = "receivers:\n  - name: a.test\n";
  const ErrorRow rows[] = {
      {r + "    dns: {spff: false}\n", "spff", "unknown key \"spff\" in receivers[0].dns"},
      {r + "    dns: [mx]\n", "[mx]", "receivers[0].dns: expected the receiver's DNS"},
      {r + "    dns: {mx: true}\n", "true}", "true is the default; write false for no MX"},
      {r + "    dns: {mx: []}\n", "[]}", "an empty list; write mx: false"},
      {r + "    dns: {mx: [{preference: 10}]}\n", "{preference", "an MX record needs a host"},
      {r + "    dns: {mx: [{host: \"mx..a.test\"}]}\n", "\"mx..a", "has an empty label"},
      {r + "    dns: {mx: [{host: \"mx a.test\"}]}\n", "\"mx a", "in a label"},
      {r + "    dns: {mx: [{host: m.a.test, preference: 70000}]}\n", "70000",
       "\"70000\" is out of range (0 to 65535)"},
      {r + "    dns: {mx: [{host: m.a.test, weight: 1}]}\n", "weight",
       "unknown key \"weight\" in receivers[0].dns.mx[0]"},
      {r + "    dns: {address: nope}\n", "nope", "is not an IPv4 or IPv6 address"},
      {r + "    dns: {spf: [a]}\n", "[a]", "expected true, false or the record's text"},
      {r + "    dns: {spf: yes}\n", "yes", "\"yes\" is ambiguous; write true or false, or quote"},
      {r + "    dns: {dmarc: fAlse}\n", "fAlse", "expected true or false, got \"fAlse\""},
      {r + "    dns: {dmarc: \"" + std::string(kMaxDnsTextBytes + 1, 'v') + "\"}\n", "\"vvv",
       "receivers[0].dns.dmarc: longer than 4096 octets"},
      {r + "    dns: {tls_rpt: \"a\\x01b\"}\n", "\"a\\x01", "has a control character"},
      {r + "    dns: {dkim: true}\n", "true}", "true is the default; write false for no key"},
      {r + "    dns: {dkim: {selector: a_b}}\n", "a_b", "is not a selector (RFC 6376 §3.1"},
      {r + "    dns: {dkim: {algorithm: dsa}}\n", "dsa",
       "\"dsa\" is not a DKIM key algorithm; expected one of: ed25519, rsa"},
      {r + "    dns: {tlsa: [{usage: 1}]}\n", "1}]", "RFC 7672 §3.1 allows 2 (DANE-TA) and 3"},
      {r + "    dns: {tlsa: [{selector: 2}]}\n", "2}]", "\"2\" is out of range (0 to 1)"},
      {r + "    dns: {tlsa: [{matching: 3}]}\n", "3}]", "\"3\" is out of range (0 to 2)"},
      {r + "    dns: {tlsa: [{mismatch: yes}]}\n", "yes", "expected true or false"},
      {r + "    starttls: {enabled: false}\n    dns: {tlsa: [{usage: 3}]}\n", "{tlsa",
       "receivers[0].dns.tlsa: TLSA records describe the receiver's certificate, but "
       "starttls.enabled is false"},
      {r + "    dns: {authenticated: maybe}\n", "maybe", "expected true or false"},
      {r + "    dns: {faults: [{name: x}]}\n", "{name: x}",
       "a fault needs a name and a fault, e.g."},
      {r + "    dns: {faults: [{name: x, fault: timeout, type: XYZ}]}\n", "XYZ",
       "\"XYZ\" is not a record type; expected one of: A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, "
       "TLSA"},
      {r + "    dns: {faults: [{name: x, fault: explode}]}\n", "explode",
       "\"explode\" is not a fault; expected one of: nxdomain, nodata, servfail, refused, "
       "timeout, truncate"},
      {r + "    dns: {faults: [{name: \"a b\", fault: timeout}]}\n", "\"a b\"", "in a label"},
      {r + "    dns:\n      faults:\n        - {name: x, fault: timeout}\n"
           "        - {name: x.a.test., fault: refused}\n",
       "{name: x.a.test.", "x.a.test (every type) has two faults"},
      {r + "    mta_sts: {mod: enforce}\n",
       "mod:", "unknown key \"mod\" in receivers[0].mta_sts; expected one of: mode, mx, max_age"},
      {r + "    mta_sts: {mode: strict}\n", "strict",
       "\"strict\" is not an MTA-STS mode; expected one of: enforce, testing, none"},
      {r + "    mta_sts: {max_age: 31557601}\n", "31557601",
       "is out of range (0 to 31557600 seconds (RFC 8461 §3.2))"},
      {r + "    mta_sts: {max_age: 1d}\n", "1d", "expected a whole number of seconds"},
      {r + "    mta_sts: {id: a-b}\n", "a-b", "is not a policy id (RFC 8461 §3.1"},
      {r + "    mta_sts: {id: " + std::string(33, 'a') + "}\n", "aaa", "longer than 32 octets"},
      {r + "    mta_sts: {status: 302}\n", "302", "a 3xx status needs redirect:"},
      {r + "    mta_sts: {status: 404, redirect: \"https://b.test/\"}\n", "404",
       "redirect needs a 3xx status, not 404"},
      {r + "    mta_sts: {status: 99}\n", "99", "out of range (100 to 599)"},
      {r + "    mta_sts: {redirect: \"https://b.test/ x\"}\n", "\"https",
       "a Location is a URI, without spaces"},
      {r + "    mta_sts: {body: x, mode: testing}\n", "{body",
       "body replaces the generated policy, so mode has no effect"},
      {r + "    mta_sts: {delay: 2}\n", "2}", "\"2\" is not a duration"},
      {r + "    mta_sts: {certificate: bogus}\n", "bogus",
       "\"bogus\" is not a certificate variant; expected one of: good, expired"},
      {r + "    mta_sts: {listen: \"127.0.0.1\"}\n", "\"127.0.0.1\"", "mta_sts.listen:"},
      {r + "    mta_sts: {mx: [\"a b\"]}\n", "\"a b\"", "has a space"},
      {r + "    mta_sts: {txt: [x]}\n", "[x]", "expected true, false or the record's text"},
      {r + "    dns: {mx: false}\n    mta_sts: {mode: enforce}\n", "{mode",
       "the default mx patterns are the receiver's MX hosts, and dns.mx is false"},
      // Zones.
      {"receivers: [{name: a.test}]\nzone: []\n", "zone:",
       "unknown key \"zone\" in the top level; expected one of: name, description, receivers, "
       "zones"},
      {"receivers: [{name: a.test}]\nzones: [{apex: b.test}]\n", "{apex",
       "zones[0]: a zone needs an apex and its text"},
      {"receivers: [{name: a.test}]\nzones: [{apex: \"b..test\", text: x}]\n", "\"b..test\"",
       "zones[0].apex: the apex has an empty label"},
      {"receivers: [{name: a.test}]\nzones:\n  - apex: b.test\n    text: |\n"
       "      @ 300 IN A 192.0.2.1\n      www 300 IN A 999.0.2.1\n",
       "999.0", "zones[0].text: line 2: "},
      {"receivers: [{name: a.test}]\nzones: [{apex: b.test, text: \"@ 300 IN MX x\"}]\n",
       "@ 300 IN MX", "zones[0].text: line 1: MX record needs a preference and an exchange"},
      {"receivers: [{name: a.test}]\nzones:\n  - apex: b.test\n    text: |\n"
       "      c.test. 300 IN A 192.0.2.1\n",
       "|", "zones[0].text: the A record of \"c.test\" is outside the zone b.test"},
      {"receivers: [{name: a.test}]\nzones:\n  - {apex: b.test, text: \"\"}\n"
       "  - {apex: B.test., text: \"\"}\n",
       "{apex: B", "zones: the apex b.test is given twice (first on line 3)"},
      {"receivers: [{name: a.test}]\nzones: [{apex: a.test, authenticated: true, text: \"\"}]\n",
       "{apex", "its dns.authenticated; remove authenticated here"},
  };
  for (const ErrorRow& row : rows) {
    SCOPED_TRACE(row.yaml);
    absl::StatusOr<Scenario> s = ParseScenario(row.yaml, "bad.yaml");
    ASSERT_FALSE(s.ok()) << "parsed";
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message = Message(s.status());
    EXPECT_EQ(message.rfind("bad.yaml:" + Where(row) + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(row.what), std::string::npos) << message;
  }
}

TEST(ParseScenario, RefusesMoreDnsEntriesThanTheBounds) {
  std::string mx = "receivers: [{name: a.test, dns: {mx: [";
  for (size_t i = 0; i <= kMaxMxRecords; ++i)
    mx += (i ? ", " : "") + std::string("{host: m.a.test}");
  mx += "]}}]\n";
  absl::StatusOr<Scenario> s = ParseScenario(mx, "m.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(Message(s.status()).find("65 entries, more than 64"), std::string::npos) << s.status();

  std::string tlsa = "receivers: [{name: a.test, dns: {tlsa: [";
  for (size_t i = 0; i <= kMaxTlsaRecords; ++i) tlsa += (i ? ", " : "") + std::string("{usage: 3}");
  tlsa += "]}}]\n";
  s = ParseScenario(tlsa, "t.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(Message(s.status()).find("65 entries, more than 64"), std::string::npos) << s.status();

  const std::string body = "receivers: [{name: a.test, mta_sts: {body: \"" +
                           std::string(kMaxMtaStsBodyBytes + 1, 'x') + "\"}}]\n";
  s = ParseScenario(body, "b.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(Message(s.status()).find("longer than 65536 octets"), std::string::npos) << s.status();
}

TEST(ParseScenario, PortZeroMayRepeatAcrossReceivers) {
  absl::StatusOr<Scenario> s = ParseScenario(
      "receivers:\n  - {name: a.test, listeners: [\"127.0.0.1:0\"]}\n"
      "  - {name: b.test, listeners: [\"127.0.0.1:0\"]}\n",
      "p.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->receivers.size(), 2u);
}

// ---- Bounds ----------------------------------------------------------------

TEST(ParseScenario, AliasBombIsRefusedQuickly) {
  // Nine levels of ten aliases each: 10^9 values if walked naively.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", " : "") + prev;
    yaml += "]\n";
  }
  // The bomb where a list of rules is expected.
  yaml += "receivers: [{name: a.test, rules: *a9, ehlo: {before_tls: *a9}}]\n";
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Scenario> s = ParseScenario(yaml, "bomb.yaml");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Message(s.status()).rfind("bomb.yaml:", 0), 0u) << s.status();
  EXPECT_LT(took, seconds(5));
}

TEST(ParseScenario, AliasesShareAValueBetweenRules) {
  absl::StatusOr<Scenario> s = ParseScenario(
      "receivers:\n  - name: a.test\n    rules:\n"
      "      - {at: MAIL, action: reject, reply: &no \"550 5.7.1 No\"}\n"
      "      - {at: RCPT, action: reject, reply: *no}\n",
      "alias.yaml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(Only(*s).rules.size(), 2u);
  EXPECT_EQ(Only(*s).rules[1].reply->code, 550);
  EXPECT_EQ(Only(*s).rules[1].reply->lines, std::vector<std::string>{"No"});
}

TEST(ParseScenario, NodeBoundStopsAWalkThatAliasesMultiply) {
  // Every rule's reply is an alias of one 100-line reply: a small file
  // whose walk visits over 100,000 values.
  std::string yaml = "receivers:\n  - name: a.test\n    rules:\n";
  yaml += "      - {at: MAIL, reply: &r {code: 250, lines: [";
  for (size_t i = 0; i < kMaxReplyLines; ++i) yaml += (i ? ", l" : "l");
  yaml += "]}}\n";
  for (size_t i = 1; i < kMaxRulesPerReceiver; ++i) yaml += "      - {at: MAIL, reply: *r}\n";
  absl::StatusOr<Scenario> s = ParseScenario(yaml, "n.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      Message(s.status()).find("more than " + std::to_string(kMaxScenarioNodes) + " YAML values"),
      std::string::npos)
      << s.status();
}

TEST(ParseScenario, AFileOfTooManyValuesIsRefusedBeforeItsNodesAreBuilt) {
  std::string yaml = "receivers: [{name: a.test, rules: [";
  while (yaml.size() < kMaxScenarioFileBytes - 8) yaml += "x,";
  yaml += "]}]\n";
  absl::StatusOr<Scenario> s = ParseScenario(yaml, "flow.yaml");
  ASSERT_FALSE(s.ok());
  // The error is the first pass's, at value 100,001: the walk, which runs
  // on built nodes, would have said "rules: 524270 entries, more than 1024"
  // (building yaml-cpp's nodes for the 524,270 values took 13 s here). Eight
  // values come before the first "x" (at column 36).
  const size_t column = 36 + 2 * (kMaxScenarioNodes + 1 - 8 - 1);
  EXPECT_EQ(Message(s.status()), "flow.yaml:1:" + std::to_string(column) +
                                     ": more than 100000 YAML values; a scenario has far fewer");
}

TEST(ParseScenario, RefusesMoreThanTheBounds) {
  std::string many = "receivers:\n";
  for (size_t i = 0; i <= kMaxReceivers; ++i) {
    many += "  - {name: r" + std::to_string(i) + ".test, listeners: [\"127.0.0.1:0\"]}\n";
  }
  absl::StatusOr<Scenario> s = ParseScenario(many, "m.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(Message(s.status()).find("257 entries, more than 256"), std::string::npos)
      << s.status();

  std::string listeners = "receivers: [{name: a.test, listeners: [";
  for (size_t i = 0; i <= kMaxListenersPerReceiver; ++i) {
    listeners += (i ? ", " : "") + std::string("\"127.0.0.1:0\"");
  }
  listeners += "]}]\n";
  s = ParseScenario(listeners, "l.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(Message(s.status()).find("more than 16"), std::string::npos) << s.status();

  std::string lines = "receivers: [{name: a.test, greeting: {code: 220, lines: [";
  for (size_t i = 0; i <= kMaxReplyLines; ++i) lines += (i ? ", x" : "x");
  lines += "]}}]\n";
  s = ParseScenario(lines, "g.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(Message(s.status()).find("more than 100"), std::string::npos) << s.status();
}

TEST(ParseScenario, RefusesAHugeInputBeforeParsingIt) {
  const std::string huge(kMaxScenarioFileBytes + 1, '#');
  absl::StatusOr<Scenario> s = ParseScenario(huge, "huge.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Message(s.status()),
            "huge.yaml:1:1: the file is 1048577 octets, more than the 1048576 a scenario may "
            "have");
  // Exactly the limit is read (and here is only a comment).
  const std::string limit(kMaxScenarioFileBytes, '#');
  EXPECT_NE(Message(ParseScenario(limit, "x.yaml").status()).find("the file is empty"),
            std::string::npos);
}

TEST(ParseScenario, DeepNestingIsAnErrorNotACrash) {
  const std::string deep(100000, '[');
  absl::StatusOr<Scenario> s = ParseScenario(deep, "deep.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Message(s.status()).rfind("deep.yaml:1:", 0), 0u) << s.status();
}

// fuzz/regressions/fakemx_scenario_parser_fuzzer/timeout-comma: yaml-cpp's
// LoadAll never returns on ",".
TEST(ParseScenario, StrayFlowIndicatorIsAnErrorNotAHang) {
  for (const std::string text : {",", "receivers: [{name: a.test}]\n,\n", "a: 1\n...\n,"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<Scenario> s = ParseScenario(text, "comma.yaml");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(Message(s.status()).rfind("comma.yaml:", 0), 0u) << s.status();
  }
  absl::StatusOr<Scenario> s = ParseScenario(",", "comma.yaml");
  EXPECT_EQ(Message(s.status()).rfind("comma.yaml:1:1: a scenario file holds one YAML document", 0),
            0u)
      << s.status();
}

TEST(ParseScenario, NulInTheTextIsRefusedWithItsPosition) {
  const std::string text("receivers:\n  - name: a\0.test\n", 29);
  absl::StatusOr<Scenario> s = ParseScenario(text, "nul.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Message(s.status()).rfind("nul.yaml:2:12: control character", 0), 0u) << s.status();
}

TEST(RuleActionName, NamesEveryActionAsTheFileSpellsIt) {
  const std::pair<RuleAction, std::string> rows[] = {
      {RuleAction::kReply, "reply"},      {RuleAction::kReject, "reject"},
      {RuleAction::kAccept, "accept"},    {RuleAction::kUnknown, "unknown"},
      {RuleAction::kNoReply, "no-reply"}, {RuleAction::kDisconnect, "disconnect"},
      {RuleAction::kDrop, "drop"},        {RuleAction::kReset, "reset"},
  };
  for (const auto& [action, name] : rows) {
    EXPECT_EQ(RuleActionName(action), name);
    absl::StatusOr<Scenario> s = ParseScenario(
        "receivers: [{name: a.test, rules: [{at: QUIT, action: " + name + "}]}]\n", "a.yaml");
    if (action == RuleAction::kReply || action == RuleAction::kReject) continue;  // need a reply
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    EXPECT_EQ(Only(*s).rules[0].action, action);
  }
}

}  // namespace
}  // namespace mxkit::fakemx
