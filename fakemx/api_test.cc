#include "fakemx/api.h"

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "fakemx/scenario.h"
#include "fakemx/ui_assets.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

namespace json = boost::json;

// The capture plus a scenario that a test can read and "switch" (the switch
// itself is the server's and the backend's business; the router only hands
// the spec on).
class TestBackend : public ApiBackend {
 public:
  CaptureStore& capture() override { return store; }
  ApiScenario scenario() const override { return current; }
  void SwitchScenario(std::string spec,
                      std::function<void(absl::StatusOr<ApiScenario>)> done) override {
    switched.push_back(spec);
    done(current);
  }
  std::vector<MetricFamily> Metrics() const override {
    return {{"fakemx_messages_total", "Messages answered 250.", "counter",
             {{"", static_cast<double>(store.stats().messages_total)}}},
            {"fakemx_replies_total", "Replies by code.", "counter",
             {{"code=\"250\"", 3}, {"code=\"550\"", 1}}}};
  }

  CaptureStore store;
  ApiScenario current{.name = "good", .source = "catalogue", .yaml = "", .receivers = {"example.test"}};
  std::vector<std::string> switched;
};

struct MessageSpec {
  std::string receiver = "example.test";
  std::string from = "alice@sender.test";
  std::vector<std::string> to = {"bob@example.test"};
  bool encrypted = false;
  bool authenticated = false;
  std::string spf;    // "" = not evaluated
  std::string dkim;   // one signature with this result, "" none
  std::string dmarc;
  std::string disposition = "none";
  std::string raw = "Subject: hello\r\nFrom: alice@sender.test\r\n\r\nbody\r\n";
};

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() : api_(backend_, ApiOptions{std::chrono::seconds(60), std::chrono::seconds(5)}) {}

  // A closed session holding one message; returns the message id.
  uint64_t Add(const MessageSpec& spec, bool close = true) {
    CapturedSession s;
    s.receiver = spec.receiver;
    s.scenario = "good";
    s.client_address = "127.0.0.1";
    s.client_port = 40000;
    s.verdict.encrypted = spec.encrypted;
    std::shared_ptr<CapturedSession> session = backend_.store.Open(std::move(s));
    backend_.store.Append(*session, TranscriptEntry::Kind::kCommand, 5, "EHLO client.test");
    CapturedMessage m;
    m.delivery.reverse_path = spec.from;
    for (const std::string& to : spec.to) m.delivery.recipients.push_back({to, {}});
    m.delivery.tls.used = spec.encrypted;
    m.raw = spec.raw;
    MessageVerdict v;
    v.summary.encrypted = spec.encrypted;
    v.summary.authenticated = spec.authenticated;
    v.summary.dmarc = spec.disposition;
    if (!spec.spf.empty()) {
      v.evaluated = true;
      v.spf_mail_from.result = spec.spf;
      v.dmarc.result = spec.dmarc.empty() ? "none" : spec.dmarc;
      if (!spec.dkim.empty()) {
        v.dkim.push_back({spec.dkim, "sender.test", "s", "", 0, "", false, "", ""});
      }
    }
    m.verdict = std::make_shared<const MessageVerdict>(std::move(v));
    const uint64_t id = backend_.store.AddMessage(*session, std::move(m));
    if (close) backend_.store.Close(*session, 1000, "quit");
    return id;
  }

  ApiOutcome Call(std::string method, std::string target, std::string body = "") {
    absl::StatusOr<HttpTarget> parsed = ParseHttpTarget(target);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    HttpRequest request{std::move(method), std::move(target), "", std::move(body)};
    return api_.Handle(request, *parsed);
  }

  HttpResponse Respond(std::string method, std::string target, std::string body = "") {
    ApiOutcome out = Call(std::move(method), target, std::move(body));
    EXPECT_TRUE(std::holds_alternative<HttpResponse>(out)) << target;
    if (!std::holds_alternative<HttpResponse>(out)) return {};
    return std::get<HttpResponse>(out);
  }

  json::value Get(std::string target, unsigned status = 200) {
    HttpResponse r = Respond("GET", target);
    EXPECT_EQ(r.status, status) << target << ": " << r.body;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v;
  }

  std::vector<int64_t> Ids(std::string target) {
    json::value v = Get(target);
    std::vector<int64_t> ids;
    if (!v.is_object()) return ids;
    for (const json::value& m : v.at("messages").as_array()) ids.push_back(m.at("id").as_int64());
    return ids;
  }

  TestBackend backend_;
  FakemxApi api_;
};

TEST_F(ApiTest, ListsMessagesOldestFirstWithTheirEnvelopeAndVerdict) {
  const uint64_t a = Add({});
  const uint64_t b = Add({.from = "carol@other.test"});
  json::value v = Get("/fakemx/v1/messages");
  EXPECT_EQ(v.at("total").as_int64(), 2);
  EXPECT_EQ(v.at("count").as_int64(), 2);
  const json::array& ms = v.at("messages").as_array();
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].at("id").as_int64(), static_cast<int64_t>(a));
  EXPECT_EQ(ms[1].at("id").as_int64(), static_cast<int64_t>(b));
  EXPECT_EQ(ms[0].at("subject").as_string(), "hello");
  EXPECT_EQ(ms[0].at("delivery").at("mail_from").at("address").as_string(), "alice@sender.test");
  EXPECT_EQ(ms[0].at("verdict").at("summary").at("lock").as_string(), "red_lock");
  // The list leaves the bulky parts to the single-message view.
  EXPECT_FALSE(ms[0].as_object().contains("headers"));
  EXPECT_FALSE(ms[0].as_object().contains("transcript"));
}

TEST_F(ApiTest, FiltersMessagesByEachParameter) {
  const int64_t plain = Add({});
  const int64_t tls = Add({.encrypted = true});
  const int64_t authed = Add({.from = "dkim@sender.test",
                              .to = {"x@example.test", "Bob@Example.test"},
                              .authenticated = true, .spf = "pass", .dkim = "pass",
                              .dmarc = "pass"});
  const int64_t rejected = Add({.receiver = "other.test", .spf = "fail", .dmarc = "fail",
                                .disposition = "reject"});
  const int64_t null_sender = Add({.from = ""});
  struct Row {
    std::string query;
    std::vector<int64_t> ids;
  };
  const Row rows[] = {
      {"", {plain, tls, authed, rejected, null_sender}},
      {"sender=ALICE@sender.test", {plain, tls, rejected}},
      {"sender=", {null_sender}},
      {"recipient=bob@example.test", {plain, tls, authed, rejected, null_sender}},
      {"recipient=x@example.test", {authed}},
      {"receiver=other.test", {rejected}},
      {"lock=encrypted", {tls}},
      {"lock=red_lock", {plain, authed, rejected, null_sender}},
      {"auth=authenticated", {authed}},
      {"auth=question_mark", {plain, tls, rejected, null_sender}},
      {"spf=pass", {authed}},
      {"spf=fail", {rejected}},
      {"dkim=pass", {authed}},
      {"dkim=none", {rejected}},  // evaluated, without signatures
      {"dmarc=fail", {rejected}},
      {"disposition=reject", {rejected}},
      {"after=" + std::to_string(authed), {rejected, null_sender}},
      {"lock=red_lock&auth=question_mark&receiver=example.test", {plain, null_sender}},
      {"sender=nobody@x.test", {}},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(Ids("/fakemx/v1/messages?" + row.query), row.ids) << row.query;
  }
}

TEST_F(ApiTest, PagesWithStartAndLimit) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Add({}));
  EXPECT_EQ(Ids("/fakemx/v1/messages?limit=2"), (std::vector<int64_t>{ids[0], ids[1]}));
  EXPECT_EQ(Ids("/fakemx/v1/messages?start=2&limit=2"), (std::vector<int64_t>{ids[2], ids[3]}));
  EXPECT_EQ(Ids("/fakemx/v1/messages?start=4&limit=2"), (std::vector<int64_t>{ids[4]}));
  json::value v = Get("/fakemx/v1/messages?start=9");
  EXPECT_EQ(v.at("total").as_int64(), 5);
  EXPECT_EQ(v.at("count").as_int64(), 0);
  EXPECT_EQ(v.at("start").as_int64(), 9);
}

TEST_F(ApiTest, ShowsOneMessageWithHeadersAndTranscript) {
  const uint64_t id = Add({.raw = "Subject: a\r\n b\r\nX-Y: z\r\n\r\nbody\r\n"});
  json::value v = Get("/fakemx/v1/messages/" + std::to_string(id));
  EXPECT_EQ(v.at("subject").as_string(), "a b");
  const json::array& headers = v.at("headers").as_array();
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[1].at("name").as_string(), "X-Y");
  EXPECT_EQ(headers[1].at("value").as_string(), "z");
  EXPECT_TRUE(v.at("header_error").is_null());
  EXPECT_EQ(v.at("transcript").as_array()[0].at("text").as_string(), "EHLO client.test");
  EXPECT_EQ(v.at("transcript").as_array()[0].at("kind").as_string(), "command");
}

// A kept-alive connection as the server records it: an opening, then
// `transactions` accepted messages, each transaction 8 entries
// (MAIL, 250, RCPT, 250, DATA, 354, the rule's note, 250 queued).
std::shared_ptr<CapturedSession> AddReusedSession(CaptureStore& store, int transactions) {
  CapturedSession c;
  c.receiver = "example.test";
  c.scenario = "good";
  std::shared_ptr<CapturedSession> s = store.Open(std::move(c));
  using K = TranscriptEntry::Kind;
  store.Append(*s, K::kReply, 0, "220 hi");
  store.Append(*s, K::kCommand, 1, "EHLO client.test");
  store.Append(*s, K::kReply, 2, "250 ok");
  for (int i = 0; i < transactions; ++i) {
    store.Append(*s, K::kCommand, 10, "MAIL FROM:<a@sender.test>");
    store.StartTransaction(*s);
    store.Append(*s, K::kReply, 10, "250 ok");
    store.Append(*s, K::kCommand, 10, "RCPT TO:<b@example.test>");
    store.Append(*s, K::kReply, 10, "250 ok");
    store.Append(*s, K::kCommand, 10, "DATA");
    store.Append(*s, K::kReply, 10, "354 go");
    CapturedMessage m;
    m.raw = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
    store.AddMessage(*s, std::move(m));
    store.Append(*s, K::kNote, 10, "rules[0] accept");
    store.Append(*s, K::kReply, 10, "250 queued " + std::to_string(i));
  }
  return s;
}

TEST_F(ApiTest, AMessageOnAReusedConnectionShowsTheOpeningAndOnlyItsOwnTransaction) {
  std::shared_ptr<CapturedSession> s = AddReusedSession(backend_.store, 100);
  json::value v = Get("/fakemx/v1/messages/" + std::to_string(s->messages[41].id));
  const json::array& t = v.at("transcript").as_array();
  ASSERT_EQ(t.size(), 3u + 8u);
  EXPECT_EQ(t[1].at("text").as_string(), "EHLO client.test");
  EXPECT_EQ(t[3].at("text").as_string(), "MAIL FROM:<a@sender.test>");
  EXPECT_EQ(t[10].at("text").as_string(), "250 queued 41");
  const json::value& omitted = v.at("transcript_omitted");
  EXPECT_EQ(omitted.at("at").as_int64(), 3);
  EXPECT_EQ(omitted.at("entries").as_int64(), 41 * 8);
  EXPECT_EQ(omitted.at("after").as_int64(), 58 * 8);
  EXPECT_EQ(omitted.at("session_entries").as_int64(), 3 + 100 * 8);
  // The first message leaves nothing out before its transaction.
  json::value first = Get("/fakemx/v1/messages/" + std::to_string(s->messages[0].id));
  EXPECT_EQ(first.at("transcript").as_array().size(), 11u);
  EXPECT_EQ(first.at("transcript_omitted").at("entries").as_int64(), 0);
}

TEST_F(ApiTest, PagesASessionsTranscript) {
  std::shared_ptr<CapturedSession> s = AddReusedSession(backend_.store, 100);
  const std::string path = "/fakemx/v1/sessions/" + std::to_string(s->id);
  json::value whole = Get(path);
  EXPECT_EQ(whole.at("transcript").as_array().size(), 803u);
  EXPECT_EQ(whole.at("transcript_total").as_int64(), 803);
  EXPECT_EQ(whole.at("transcript_start").as_int64(), 0);
  json::value page = Get(path + "?transcript_start=3&transcript_limit=8");
  const json::array& t = page.at("transcript").as_array();
  ASSERT_EQ(t.size(), 8u);
  EXPECT_EQ(t[0].at("text").as_string(), "MAIL FROM:<a@sender.test>");
  EXPECT_EQ(t[7].at("text").as_string(), "250 queued 0");
  EXPECT_EQ(page.at("transcript_start").as_int64(), 3);
  EXPECT_EQ(page.at("transcript_total").as_int64(), 803);
  json::value tail = Get(path + "?transcript_start=800&transcript_limit=500");
  EXPECT_EQ(tail.at("transcript").as_array().size(), 3u);
  json::value past = Get(path + "?transcript_start=99999999999999999");
  EXPECT_EQ(past.at("transcript").as_array().size(), 0u);
  EXPECT_EQ(past.at("transcript_start").as_int64(), 803);
}

TEST_F(ApiTest, ReportsAHeaderBlockThatDoesNotSplitWithTheFieldsBeforeIt) {
  const uint64_t id = Add({.raw = "A: 1\r\nno colon here\r\n\r\n"});
  json::value v = Get("/fakemx/v1/messages/" + std::to_string(id));
  EXPECT_EQ(v.at("headers").as_array().size(), 1u);
  EXPECT_TRUE(v.at("header_error").is_string());
}

TEST_F(ApiTest, ServesRawBytesAsMessageRfc822) {
  const std::string raw = "Subject: x\r\n\r\n\xff binary\r\n";
  const uint64_t id = Add({.raw = raw});
  HttpResponse r = Respond("GET", "/fakemx/v1/messages/" + std::to_string(id) + "/raw");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "message/rfc822");
  EXPECT_EQ(r.body, raw);
}

TEST_F(ApiTest, DeletesOneMessageThenAllOfThem) {
  const uint64_t a = Add({});
  Add({});
  Add({});
  EXPECT_EQ(Respond("DELETE", "/fakemx/v1/messages/" + std::to_string(a)).status, 200u);
  EXPECT_EQ(Respond("GET", "/fakemx/v1/messages/" + std::to_string(a)).status, 404u);
  EXPECT_EQ(Respond("DELETE", "/fakemx/v1/messages/" + std::to_string(a)).status, 404u);
  HttpResponse all = Respond("DELETE", "/fakemx/v1/messages");
  EXPECT_EQ(all.status, 200u);
  EXPECT_EQ(all.body, "{\"deleted\":2}\n");
  EXPECT_EQ(Get("/fakemx/v1/messages").at("total").as_int64(), 0);
  // The sessions stay: only their messages went.
  EXPECT_EQ(Get("/fakemx/v1/sessions").at("total").as_int64(), 3);
  EXPECT_EQ(Respond("DELETE", "/fakemx/v1/sessions").body, "{\"deleted\":3}\n");
  EXPECT_EQ(Get("/fakemx/v1/sessions").at("total").as_int64(), 0);
}

TEST_F(ApiTest, ListsAndShowsSessionsAlsoThoseThatNeverDelivered) {
  Add({});
  CapturedSession failed;
  failed.receiver = "example.test";
  failed.client_address = "::1";
  failed.tls_error = "handshake failed: no shared cipher";
  failed.verdict.tls_outcome = "handshake failed: no shared cipher";
  std::shared_ptr<CapturedSession> open = backend_.store.Open(std::move(failed));
  json::value all = Get("/fakemx/v1/sessions");
  EXPECT_EQ(all.at("total").as_int64(), 2);
  json::value open_only = Get("/fakemx/v1/sessions?state=open");
  ASSERT_EQ(open_only.at("sessions").as_array().size(), 1u);
  EXPECT_EQ(open_only.at("sessions").as_array()[0].at("id").as_int64(),
            static_cast<int64_t>(open->id));
  EXPECT_EQ(Get("/fakemx/v1/sessions?client=::1").at("total").as_int64(), 1);
  EXPECT_EQ(Get("/fakemx/v1/sessions?state=closed&lock=red_lock").at("total").as_int64(), 1);
  json::value one = Get("/fakemx/v1/sessions/" + std::to_string(open->id));
  EXPECT_EQ(one.at("tls_error").as_string(), "handshake failed: no shared cipher");
  EXPECT_EQ(one.at("verdict").at("tls_outcome").as_string(), "handshake failed: no shared cipher");
  EXPECT_TRUE(one.at("open").as_bool());
  EXPECT_TRUE(one.at("ended_at").is_null());
  EXPECT_EQ(one.at("message_ids").as_array().size(), 0u);
}

TEST_F(ApiTest, WaitAnswersAtOnceWhenAStoredMessageMatches) {
  const uint64_t id = Add({});
  ApiOutcome out = Call("GET", "/fakemx/v1/wait/message?recipient=bob@example.test&timeout=1s");
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(out));
  EXPECT_NE(std::get<HttpResponse>(out).body.find("\"id\":" + std::to_string(id)),
            std::string::npos);
}

TEST_F(ApiTest, WaitParksWhenNothingMatchesAndMatchesTheArrivalLater) {
  const uint64_t first = Add({});
  ApiOutcome out = Call("GET", "/fakemx/v1/wait/message?after=" + std::to_string(first) +
                                   "&timeout=250ms");
  ASSERT_TRUE(std::holds_alternative<ApiWait>(out));
  const ApiWait wait = std::get<ApiWait>(out);
  EXPECT_EQ(wait.timeout, std::chrono::milliseconds(250));
  EXPECT_FALSE(api_.TryAnswerWait(wait));
  const uint64_t second = Add({});
  std::optional<HttpResponse> r = api_.TryAnswerWait(wait);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"id\":" + std::to_string(second)), std::string::npos);
  auto ref = backend_.store.FindMessage(second);
  EXPECT_TRUE(FakemxApi::AnswerWaitWithMessage(wait, *ref->session, *ref->message));
  EXPECT_FALSE(FakemxApi::AnswerWaitWithSession(wait, *ref->session));
  HttpResponse timed_out = FakemxApi::WaitTimedOut(wait);
  EXPECT_EQ(timed_out.status, 408u);
  EXPECT_NE(timed_out.body.find("within 250ms"), std::string::npos);
}

TEST_F(ApiTest, WaitForASessionTakesTheDefaultTimeout) {
  ApiOutcome out = Call("GET", "/fakemx/v1/wait/session?state=closed");
  ASSERT_TRUE(std::holds_alternative<ApiWait>(out));
  EXPECT_EQ(std::get<ApiWait>(out).timeout, std::chrono::seconds(5));
  Add({}, /*close=*/false);
  EXPECT_FALSE(api_.TryAnswerWait(std::get<ApiWait>(out)));
  Add({});
  EXPECT_TRUE(api_.TryAnswerWait(std::get<ApiWait>(out)));
}

TEST_F(ApiTest, ReadsTheScenarioAndHandsASwitchToTheServer) {
  json::value v = Get("/fakemx/v1/scenario");
  EXPECT_EQ(v.at("name").as_string(), "good");
  EXPECT_EQ(v.at("receivers").as_array()[0].as_string(), "example.test");
  struct Row {
    std::string body;
    std::string spec;
  };
  const Row rows[] = {
      {"no-starttls", "no-starttls"},
      {"no-starttls\n", "no-starttls"},
      {"name: x\nreceivers: []\n", "name: x\nreceivers: []\n"},
  };
  for (const Row& row : rows) {
    ApiOutcome out = Call("PUT", "/fakemx/v1/scenario", row.body);
    ASSERT_TRUE(std::holds_alternative<ApiScenarioSwitch>(out)) << row.body;
    EXPECT_EQ(std::get<ApiScenarioSwitch>(out).spec, row.spec);
  }
}

TEST_F(ApiTest, MapsTheSwitchOutcomeToAStatus) {
  EXPECT_EQ(FakemxApi::ScenarioSwitched(ApiScenario{.name = "tarpit"}).status, 200u);
  EXPECT_EQ(FakemxApi::ScenarioSwitched(absl::InvalidArgumentError("3:4: bad")).status, 400u);
  EXPECT_NE(FakemxApi::ScenarioSwitched(absl::InvalidArgumentError("3:4: bad")).body.find("3:4: bad"),
            std::string::npos);
  EXPECT_EQ(FakemxApi::ScenarioSwitched(absl::FailedPreconditionError("no")).status, 409u);
  EXPECT_EQ(FakemxApi::ScenarioSwitched(absl::UnavailableError("port taken")).status, 500u);
}

TEST_F(ApiTest, ServesHealthAndPrometheusMetrics) {
  Add({});
  json::value h = Get("/healthz");
  EXPECT_EQ(h.at("status").as_string(), "ok");
  HttpResponse m = Respond("GET", "/metrics");
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(m.body,
            "# HELP fakemx_messages_total Messages answered 250.\n"
            "# TYPE fakemx_messages_total counter\n"
            "fakemx_messages_total 1\n"
            "# HELP fakemx_replies_total Replies by code.\n"
            "# TYPE fakemx_replies_total counter\n"
            "fakemx_replies_total{code=\"250\"} 3\n"
            "fakemx_replies_total{code=\"550\"} 1\n");
}

TEST_F(ApiTest, AnswersEveryBadRequestWithAJsonErrorAndTheRightStatus) {
  Add({});
  struct Row {
    std::string method;
    std::string target;
    std::string body;
    unsigned status;
    std::string says;  // a part of the reason
  };
  const Row rows[] = {
      {"GET", "/fakemx", "", 404, "no such endpoint"},
      {"GET", "/fakemx/v1/nothing", "", 404, "no such endpoint"},
      {"GET", "/fakemx/v2/messages", "", 404, "no such endpoint"},
      {"GET", "/healthz/", "", 404, "no such endpoint"},
      {"GET", "/fakemx/v1/messages/1/raw/x", "", 404, "no such endpoint"},
      {"GET", "/fakemx/v1/messages/1/headers", "", 404, "no such endpoint"},
      {"GET", "/fakemx/v1/wait/thing", "", 404, "no such endpoint"},
      {"GET", "/fakemx/v1/messages/99", "", 404, "no message 99"},
      {"GET", "/fakemx/v1/sessions/99", "", 404, "no session 99"},
      {"POST", "/fakemx/v1/messages", "", 405, "allowed: GET, DELETE"},
      {"PUT", "/fakemx/v1/messages/1/raw", "", 405, "allowed: GET"},
      {"DELETE", "/healthz", "", 405, "allowed: GET"},
      {"POST", "/metrics", "", 405, "allowed: GET"},
      {"POST", "/fakemx/v1/scenario", "", 405, "allowed: GET, PUT"},
      {"POST", "/fakemx/v1/wait/message", "", 405, "allowed: GET"},
      {"GET", "/fakemx/v1/messages/abc", "", 400, "message id \"abc\""},
      {"GET", "/fakemx/v1/messages/-1", "", 400, "not a decimal number"},
      {"GET", "/fakemx/v1/messages/99999999999999999999999", "", 400, "not a decimal"},
      {"GET", "/fakemx/v1/sessions/1x", "", 400, "session id"},
      {"GET", "/fakemx/v1/messages?recipent=a", "", 400, "unknown parameter \"recipent\""},
      {"GET", "/fakemx/v1/messages?lock=green", "", 400, "lock=\"green\": one of encrypted"},
      {"GET", "/fakemx/v1/messages?auth=yes", "", 400, "auth=\"yes\""},
      {"GET", "/fakemx/v1/messages?spf=maybe", "", 400, "spf=\"maybe\""},
      {"GET", "/fakemx/v1/messages?dkim=x", "", 400, "dkim=\"x\""},
      {"GET", "/fakemx/v1/messages?dmarc=x", "", 400, "dmarc=\"x\""},
      {"GET", "/fakemx/v1/messages?disposition=x", "", 400, "disposition=\"x\""},
      {"GET", "/fakemx/v1/messages?after=x", "", 400, "after=\"x\""},
      {"GET", "/fakemx/v1/messages?start=-1", "", 400, "start=\"-1\""},
      {"GET", "/fakemx/v1/messages?limit=0", "", 400, "limit=\"0\": not a number from 1"},
      {"GET", "/fakemx/v1/messages?limit=10001", "", 400, "limit=\"10001\""},
      {"GET", "/fakemx/v1/messages?limit=1&limit=2", "", 400, "given more than once"},
      {"GET", "/fakemx/v1/messages/1?x=1", "", 400, "takes no parameters"},
      {"GET", "/fakemx/v1/sessions?state=gone", "", 400, "state=\"gone\""},
      {"GET", "/fakemx/v1/sessions?sender=a", "", 400, "unknown parameter \"sender\""},
      {"GET", "/fakemx/v1/sessions/1?start=1", "", 400, "unknown parameter \"start\""},
      {"GET", "/fakemx/v1/sessions/1?transcript_start=x", "", 400, "transcript_start=\"x\""},
      {"GET", "/fakemx/v1/sessions/1?transcript_limit=0", "", 400, "transcript_limit=\"0\""},
      {"GET", "/fakemx/v1/sessions/1?transcript_limit=10001", "", 400, "from 1 to 10000"},
      {"GET", "/fakemx/v1/wait/message?timeout=soon", "", 400, "timeout=\"soon\""},
      {"GET", "/fakemx/v1/wait/message?timeout=61s", "", 400, "longer than the longest wait, 60s"},
      {"GET", "/fakemx/v1/wait/message?timeout=9999999999m", "", 400, "timeout="},
      {"GET", "/fakemx/v1/wait/session?sender=a", "", 400, "unknown parameter"},
      {"GET", "/healthz?verbose=1", "", 400, "takes no parameters"},
      {"GET", "/metrics?x", "", 400, "takes no parameters"},
      {"PUT", "/fakemx/v1/scenario", "", 400, "needs a body"},
      {"PUT", "/fakemx/v1/scenario", "name: \xff\n", 400, "not UTF-8"},
      {"PUT", "/fakemx/v1/scenario", std::string((1 << 20) + 1, 'a'), 413, "at most 1048576"},
      {"GET", "/fakemx/v1/scenario?x=1", "", 400, "takes no parameters"},
  };
  for (const Row& row : rows) {
    HttpResponse r = Respond(row.method, row.target, row.body);
    EXPECT_EQ(r.status, row.status) << row.method << " " << row.target << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << row.target;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(v.at("status").as_int64(), row.status);
    EXPECT_NE(std::string(v.at("error").as_string()).find(row.says), std::string::npos)
        << row.target << ": " << r.body;
    if (row.status == 405) {
      ASSERT_EQ(r.headers.size(), 1u);
      EXPECT_EQ(r.headers[0].first, "Allow");
    }
  }
}

TEST_F(ApiTest, ListsTheCatalogueInListScenariosOrder) {
  json::value v = Get("/fakemx/v1/scenarios");
  const json::array& list = v.at("scenarios").as_array();
  ASSERT_EQ(list.size(), ScenarioCatalogue().size());
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i].at("name").as_string(), ScenarioCatalogue()[i].name);
    EXPECT_EQ(list[i].at("summary").as_string(), ScenarioCatalogue()[i].summary);
    EXPECT_EQ(list[i].as_object().size(), 2u);
  }
  EXPECT_EQ(list[0].at("name").as_string(), "good");
  EXPECT_EQ(Respond("PUT", "/fakemx/v1/scenarios").status, 405u);
  EXPECT_EQ(Respond("GET", "/fakemx/v1/scenarios?x=1").status, 400u);
}

TEST_F(ApiTest, ListsNewestOrOldestFirstByIdEvenWhenSessionsInterleave) {
  // Session 1 stays open and delivers again after session 2's message, so
  // its second message (id 3) is newer than session 2's (id 2).
  CapturedSession first;
  first.receiver = "example.test";
  std::shared_ptr<CapturedSession> s1 = backend_.store.Open(std::move(first));
  backend_.store.AddMessage(*s1, CapturedMessage{});
  Add({});
  backend_.store.AddMessage(*s1, CapturedMessage{});
  struct Row {
    std::string target;
    std::vector<int64_t> ids;
  };
  const Row rows[] = {
      {"/fakemx/v1/messages", {1, 2, 3}},
      {"/fakemx/v1/messages?order=oldest", {1, 2, 3}},
      {"/fakemx/v1/messages?order=newest", {3, 2, 1}},
      {"/fakemx/v1/messages?order=newest&limit=2", {3, 2}},
      {"/fakemx/v1/messages?order=newest&start=1&limit=1", {2}},
      {"/fakemx/v1/messages?order=newest&after=1", {3, 2}},
  };
  for (const Row& row : rows) EXPECT_EQ(Ids(row.target), row.ids) << row.target;
  auto session_ids = [&](std::string target) {
    std::vector<int64_t> ids;
    const json::value v = Get(target);
    for (const json::value& s : v.at("sessions").as_array()) {
      ids.push_back(s.at("id").as_int64());
    }
    return ids;
  };
  EXPECT_EQ(session_ids("/fakemx/v1/sessions"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(session_ids("/fakemx/v1/sessions?order=newest"), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(session_ids("/fakemx/v1/sessions?order=newest&limit=1"), (std::vector<int64_t>{2}));
  EXPECT_EQ(session_ids("/fakemx/v1/sessions?order=oldest&start=1"), (std::vector<int64_t>{2}));
}

TEST_F(ApiTest, RefusesABadOrderAndAnOrderOnWaits) {
  struct Row {
    std::string target;
    std::string says;
  };
  const Row rows[] = {
      {"/fakemx/v1/messages?order=desc", "desc\\\": one of oldest, newest"},
      {"/fakemx/v1/sessions?order=", "order=\\\"\\\": one of oldest, newest"},
      {"/fakemx/v1/wait/message?order=newest", "takes no order"},
      {"/fakemx/v1/wait/session?order=oldest", "takes no order"},
  };
  for (const Row& row : rows) {
    HttpResponse r = Respond("GET", row.target);
    EXPECT_EQ(r.status, 400u) << row.target;
    EXPECT_NE(r.body.find(row.says), std::string::npos) << row.target << ": " << r.body;
  }
}

TEST_F(ApiTest, OwnsOnlyItsOwnPaths) {
  EXPECT_TRUE(FakemxApi::Owns(*ParseHttpTarget("/fakemx/v1/messages")));
  EXPECT_TRUE(FakemxApi::Owns(*ParseHttpTarget("/healthz")));
  EXPECT_TRUE(FakemxApi::Owns(*ParseHttpTarget("/metrics")));
  EXPECT_FALSE(FakemxApi::Owns(*ParseHttpTarget("/api/v1/messages")));
  EXPECT_FALSE(FakemxApi::Owns(*ParseHttpTarget("/view/1.txt")));
  EXPECT_TRUE(FakemxApi::Owns(*ParseHttpTarget("/")));
  EXPECT_TRUE(FakemxApi::Owns(*ParseHttpTarget("/index.html")));
  EXPECT_TRUE(FakemxApi::Owns(*ParseHttpTarget("/ui/app.js")));
  EXPECT_FALSE(FakemxApi::Owns(*ParseHttpTarget("/uix")));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "(absent)";
}

TEST_F(ApiTest, ServesEachUiFileAsCommittedWithItsTypeAndSafetyHeaders) {
  struct Row {
    std::string method, target, file, content_type;
  };
  const Row rows[] = {
      {"GET", "/ui/app.css", "app.css", "text/css; charset=utf-8"},
      {"GET", "/ui/app.js", "app.js", "text/javascript; charset=utf-8"},
      {"HEAD", "/ui/app.js", "app.js", "text/javascript; charset=utf-8"},
  };
  for (const Row& row : rows) {
    HttpResponse r = Respond(row.method, row.target);
    EXPECT_EQ(r.status, 200u) << row.target << ": " << r.body;
    EXPECT_EQ(r.content_type, row.content_type) << row.target;
    // The handler answers HEAD with the body; the server drops it (and
    // api_server_test checks that on the wire).
    EXPECT_EQ(r.body, ReadFile("fakemx/ui/" + row.file)) << row.target;
    EXPECT_EQ(Header(r, "Content-Security-Policy"), UiContentSecurityPolicy()) << row.target;
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff") << row.target;
    EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer") << row.target;
    EXPECT_EQ(Header(r, "Cache-Control"), "no-cache") << row.target;
    EXPECT_EQ(Header(r, "ETag"), std::string(FindUiAsset(row.file)->etag)) << row.target;
  }
}

TEST_F(ApiTest, UiEtagsAreQuotedAndDifferPerFile) {
  std::vector<std::string> seen;
  for (const UiAsset& a : UiAssets()) {
    ASSERT_EQ(a.etag.size(), 34u) << a.name;
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    for (const std::string& e : seen) EXPECT_NE(e, a.etag) << a.name;
    seen.emplace_back(a.etag);
  }
  EXPECT_EQ(seen.size(), 4u);
}

// The page's policy allows exactly the two inline files, by hash, and no
// other inline script or style ('unsafe-inline' would allow any).
TEST_F(ApiTest, UiPolicyAllowsOnlyItsOwnInlineFilesByHash) {
  const std::string& csp = UiContentSecurityPolicy();
  EXPECT_EQ(csp, "default-src 'none'; script-src 'self' " + std::string(FindUiAsset("first-view.js")->csp_hash) +
                     "; style-src 'self' " + std::string(FindUiAsset("app.css")->csp_hash) +
                     "; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; "
                     "form-action 'self'; frame-ancestors 'none'");
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  for (const UiAsset& a : UiAssets()) {
    // 'sha256-' and the base64 of 32 octets (44 characters with padding).
    ASSERT_EQ(a.csp_hash.size(), 53u) << a.name << ": " << a.csp_hash;
    EXPECT_EQ(a.csp_hash.substr(0, 8), "'sha256-") << a.name;
    EXPECT_EQ(a.csp_hash.substr(51), "='") << a.name;
  }
}

// `/` is index.html with app.css and first-view.js inline, every marker
// filled, and "Loading…" in #view when there is no first inbox page to show
// (FakemxApi alone has no Mailpit list; the server passes one).
TEST_F(ApiTest, ServesThePageWithItsCssAndFirstViewScriptInline) {
  const std::string css(FindUiAsset("app.css")->bytes);
  const std::string script(FindUiAsset("first-view.js")->bytes);
  // Neither file may end its inline element early.
  EXPECT_EQ(css.find("</style"), std::string::npos);
  EXPECT_EQ(script.find("</script"), std::string::npos);
  const std::string page = ComposeUiPage(std::nullopt);
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/"}, {"GET", "/index.html"}, {"GET", "/?v=2"}, {"HEAD", "/"}}) {
    HttpResponse r = Respond(method, target);
    EXPECT_EQ(r.status, 200u) << target;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << target;
    EXPECT_EQ(r.body, page) << target;
    EXPECT_EQ(Header(r, "Content-Security-Policy"), UiContentSecurityPolicy()) << target;
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff") << target;
    EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer") << target;
    // It shows the store as it was: never reused, no validator.
    EXPECT_EQ(Header(r, "Cache-Control"), "no-store") << target;
    EXPECT_EQ(Header(r, "ETag"), "(absent)") << target;
  }
  EXPECT_NE(page.find("<style>" + css + "</style>"), std::string::npos);
  EXPECT_NE(page.find("<script>" + script + "</script>"), std::string::npos);
  // No frame before the rendered inbox is parsed (the expect link names the
  // element after it), and app.js is not preloaded (fakemx/ui/README.md).
  const size_t expect = page.find("<link rel=\"expect\" href=\"#first-view-end\" blocking=\"render\">");
  EXPECT_NE(expect, std::string::npos);
  EXPECT_LT(expect, page.find("</head>"));
  // ... and first-view.js has run (it writes the times in local time).
  EXPECT_GT(page.find("<span id=\"first-view-end\" hidden></span>"),
            page.find("<script>" + script + "</script>"));
  EXPECT_GT(page.find("<script>" + script + "</script>"), page.find("<div id=\"view\">"));
  EXPECT_EQ(page.find("modulepreload"), std::string::npos);
  // The only script element is first-view.js (it starts app.js).
  EXPECT_EQ(page.find("<script"), page.find("<script>" + script));
  EXPECT_EQ(page.find("<script", page.find("<script") + 1), std::string::npos);
  EXPECT_NE(page.find("<div id=\"view\"><p>Loading\u2026</p></div>"), std::string::npos);
  EXPECT_EQ(page.find("<!--fakemx:"), std::string::npos) << "a marker left unfilled";
  EXPECT_EQ(page.find("<link rel=\"stylesheet\""), std::string::npos);
  // Each marker is in index.html once, so each is filled once.
  const std::string_view html = FindUiAsset("index.html")->bytes;
  for (std::string_view marker : {"<!--fakemx:app.css-->", "<!--fakemx:first-view-->", "<!--fakemx:first-view.js-->"}) {
    const size_t at = html.find(marker);
    ASSERT_NE(at, std::string_view::npos) << marker;
    EXPECT_EQ(html.find(marker, at + 1), std::string_view::npos) << marker;
  }
  // An answer that cannot be rendered leaves the page to app.js.
  EXPECT_EQ(ComposeUiPage("{\"messages\": 3}"), page);
  const std::string rendered = ComposeUiPage(R"({"total": 1, "messages": [{"ID": "7", "Subject": "hi"}]})");
  EXPECT_NE(rendered.find("<div id=\"view\"><section id=\"inbox-view\""), std::string::npos) << rendered;
  EXPECT_EQ(rendered.find("Loading"), std::string::npos);
}

// The server's render of the inbox's first page: what app.js's renderInbox
// would build (tests/web_ui_test.js compares the two DOMs in chromium);
// here, that every value is escaped and each fallback text is used.
TEST(RenderUiInbox, RendersRowsEscapedWithAppJsFallbacks) {
  struct Row {
    std::string json;
    std::vector<std::string> has, lacks;
  };
  const std::string one = R"({"total": 30, "messages": [)";
  const Row rows[] = {
      {one + R"({"ID": "42", "Read": false, "From": {"Name": "Al <x>", "Address": "al@example.org"},
                "To": [{"Name": "", "Address": "b@example.net"}, {"Address": "c@example.net"}],
                "Subject": "<script>alert(1)</script>", "Snippet": "a & b",
                "Created": "2026-11-30T00:22:04.415801Z",
                "FakeMX": {"Receiver": "good", "Lock": "encrypted", "Sender": "authenticated",
                           "LockReason": "TLS 1.3, \"good\"", "SenderReason": "SPF pass"}}]})",
       {"<li><a class=\"row unread\" href=\"#/message/42\" data-message-id=\"42\">",
        "data-lock=\"encrypted\"", "data-sender=\"authenticated\"",
        "title=\"TLS 1.3, &quot;good&quot;\" aria-label=\"TLS 1.3, &quot;good&quot;\"",
        "<span class=\"from\" data-field=\"from\">Al &lt;x&gt; &lt;al@example.org&gt;</span>",
        "<span class=\"to\" data-field=\"to\">b@example.net, c@example.net</span>",
        "<span class=\"visually-hidden\">Unread: </span>",
        "<span data-field=\"subject\">&lt;script&gt;alert(1)&lt;/script&gt;</span>",
        "<span class=\"snippet\"> \u2014 a &amp; b</span>",
        "<span class=\"receiver\" data-field=\"receiver\">good</span>",
        "<time data-field=\"time\" datetime=\"2026-11-30T00:22:04.415801Z\" "
        "title=\"2026-11-30T00:22:04.415801Z\">2026-11-30 00:22:04</time>",
        "<span id=\"page-info\">1\u20131 of 30</span>",
        "<button type=\"button\" id=\"page-next\">", "<p id=\"inbox-empty\" class=\"empty\" hidden=\"\">",
        "data-total=\"30\""},
       {"<script>"}},
      // Read, no From, recipients only in Bcc, no subject or snippet, an ID
      // that needs encoding, no verdict: red lock and the unchecked sender.
      {one + R"({"ID": "a b&c", "Read": true, "Bcc": [{"Address": "hidden@example.net"}]}]})",
       {"<li><a class=\"row\" href=\"#/message/a%20b%26c\" data-message-id=\"a b&amp;c\">",
        "data-lock=\"red_lock\"", "title=\"red_lock\"", "data-sender=\"unchecked\"",
        ">(no From)</span>", ">hidden@example.net</span>", ">(no subject)</span>",
        "<time data-field=\"time\" datetime=\"\" title=\"\"></time>"},
       {"Unread: ", "class=\"snippet\""}},
      {one + R"({"ID": 5, "Subject": "x", "FakeMX": {"Sender": "question_mark"}}]})",
       {"data-message-id=\"5\"",
        "<span class=\"icon sender-question_mark\" role=\"img\" title=\"question_mark\" "
        "aria-label=\"question_mark\" data-sender=\"question_mark\"></span>",
        "(no recipient)"},
       {"<svg"}},
      // An empty store: no rows, "0 of 0", both pager buttons disabled, the
      // empty note shown.
      {R"({"total": 0, "messages": []})",
       {"<span id=\"page-info\">0 of 0</span>",
        "<button type=\"button\" id=\"page-next\" disabled=\"\">",
        "<p id=\"inbox-empty\" class=\"empty\">No messages yet."},
       {"<li>"}},
  };
  for (const Row& row : rows) {
    absl::StatusOr<std::string> html = RenderUiInbox(row.json);
    ASSERT_TRUE(html.ok()) << html.status() << "\n" << row.json;
    for (const std::string& want : row.has) {
      EXPECT_NE(html->find(want), std::string::npos) << want << "\nin " << *html;
    }
    for (const std::string& unwanted : row.lacks) {
      EXPECT_EQ(html->find(unwanted), std::string::npos) << unwanted << "\nin " << *html;
    }
  }
}

TEST(RenderUiInbox, RefusesAnswersOfTheWrongShapeSayingWhat) {
  const std::pair<std::string, std::string> rows[] = {
      {"", "not JSON"},
      {"{\"total\": 1, \"messages\": [", "not JSON"},
      {"[]", "not a JSON object"},
      {"{\"total\": 1}", "no array \"messages\""},
      {"{\"messages\": []}", "no count \"total\""},
      {"{\"total\": -1, \"messages\": []}", "no count \"total\""},
      {"{\"total\": 2, \"messages\": [{\"ID\": \"1\"}, 3]}", "messages[1] is not an object"},
      {"{\"total\": 1, \"messages\": [{\"ID\": null}]}", "messages[0] has no string or integer ID"},
  };
  for (const auto& [json, says] : rows) {
    absl::StatusOr<std::string> html = RenderUiInbox(json);
    ASSERT_FALSE(html.ok()) << json;
    EXPECT_NE(std::string(html.status().message()).find(says), std::string::npos) << json << ": " << html.status();
  }
}

TEST_F(ApiTest, AnswersUiRevalidationWith304WhenTheEtagMatches) {
  const std::string etag(FindUiAsset("app.js")->etag);
  const std::string other = "\"0123456789abcdef0123456789abcdef\"";
  struct Row {
    std::string if_none_match;
    unsigned status;
  };
  const Row rows[] = {
      {etag, 304},
      {"W/" + etag, 304},  // If-None-Match compares weakly (RFC 9110 §13.1.2)
      {"*", 304},
      {" * ", 304},
      {other + ", " + etag, 304},
      {other + " ,, " + etag + " ", 304},
      {other, 200},
      {"", 200},
      {etag.substr(1), 200},         // unquoted: malformed, so the full answer
      {etag + " junk", 200},
      {etag + ",\"unterminated", 200},
      {"W/", 200},
  };
  for (const Row& row : rows) {
    absl::StatusOr<HttpTarget> t = ParseHttpTarget("/ui/app.js");
    ASSERT_TRUE(t.ok());
    HttpRequest request{"GET", "/ui/app.js", "", "", row.if_none_match};
    HttpResponse r = std::get<HttpResponse>(api_.Handle(request, *t));
    EXPECT_EQ(r.status, row.status) << row.if_none_match;
    EXPECT_EQ(Header(r, "ETag"), etag) << row.if_none_match;
    if (row.status == 304) {
      EXPECT_EQ(r.body, "") << row.if_none_match;
      EXPECT_EQ(r.content_type, "") << row.if_none_match;
      EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
    }
  }
}

TEST_F(ApiTest, AnswersTheFaviconThatBrowsersAskForWith204) {
  HttpResponse r = Respond("GET", "/favicon.ico");
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_type, "");
  EXPECT_EQ(Respond("POST", "/favicon.ico").status, 405u);
}

TEST_F(ApiTest, RefusesUnknownUiFilesAndMethods) {
  struct Row {
    std::string method, target;
    unsigned status;
    std::string says;
  };
  const Row rows[] = {
      {"GET", "/ui/", 404, "no such UI file"},
      {"GET", "/ui", 404, "no such UI file"},
      {"GET", "/ui/nope.js", 404, "no such UI file: \\\"/ui/nope.js"},
      {"GET", "/ui/index.html", 404, "no such UI file"},
      {"GET", "/ui/app.js/x", 404, "no such UI file"},
      {"GET", "/ui/../index.html", 404, "no such UI file"},
      {"POST", "/", 405, "allowed: GET, HEAD"},
      {"DELETE", "/ui/app.css", 405, "allowed: GET, HEAD"},
  };
  for (const Row& row : rows) {
    HttpResponse r = Respond(row.method, row.target);
    EXPECT_EQ(r.status, row.status) << row.target << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << row.target;
    EXPECT_NE(r.body.find(row.says), std::string::npos) << row.target << ": " << r.body;
    if (row.status == 405) {
      EXPECT_EQ(Header(r, "Allow"), "GET, HEAD");
    }
  }
}

}  // namespace
}  // namespace mxkit::fakemx
