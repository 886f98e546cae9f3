#include "fakemx/mailpit_api.h"

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "fakemx/capture.h"
#include "fakemx/http_target.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

namespace json = boost::json;

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

constexpr char kPlain[] =
    "From: Alice Example <alice@example.test>\r\n"
    "To: bob@example.test\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?= order\r\n"
    "Message-ID: <m1@example.test>\r\n"
    "Date: Thu, 1 Jan 2026 01:00:00 +0100\r\n"
    "List-Unsubscribe: <mailto:u@example.test>, <https://example.test/u>\r\n"
    "\r\n"
    "Your   order\r\nhas shipped.\r\n";

constexpr char kWithAttachment[] =
    "From: carol@example.test\r\n"
    "To: Bob <bob@example.test>\r\n"
    "Cc: dave@example.test\r\n"
    "Subject: report\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>See &amp; read</p>\r\n"
    "--b\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Disposition: attachment; filename=a.txt\r\n"
    "\r\n"
    "abc\r\n"
    "--b--\r\n";

class MailpitApiTest : public ::testing::Test {
 protected:
  uint64_t Deliver(std::string raw, std::vector<std::string> rcpts, bool encrypted = false) {
    CapturedSession session;
    session.receiver = "example.test";
    session.scenario = "good";
    session.started_at_us = kNow;
    std::shared_ptr<CapturedSession> s = store_.Open(std::move(session));
    store_.Append(*s, TranscriptEntry::Kind::kCommand, 10, "EHLO client.test");
    CapturedMessage m;
    m.delivery.received_at_us = kNow + 1000000 * static_cast<int64_t>(++count_);
    m.delivery.reverse_path = "bounce@example.test";
    for (std::string& r : rcpts) m.delivery.recipients.push_back({std::move(r), {}});
    m.delivery.tls.used = encrypted;
    MessageVerdict v;
    v.summary.encrypted = encrypted;
    m.verdict = std::make_shared<const MessageVerdict>(std::move(v));
    m.raw = std::move(raw);
    const uint64_t id = store_.AddMessage(*s, std::move(m));
    sessions_.push_back(s);
    return id;
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    absl::StatusOr<HttpTarget> parsed = ParseHttpTarget(request.target);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    std::optional<HttpResponse> r = api_.Handle(request, *parsed, kNow);
    EXPECT_TRUE(r.has_value()) << request.target;
    return r.value_or(HttpResponse{});
  }

  json::object CallJson(std::string method, std::string target) {
    HttpResponse r = Call(std::move(method), std::move(target));
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body).as_object();
  }

  CaptureStore store_;
  MailpitApi api_{store_, kNow - 5000000};
  std::vector<std::shared_ptr<CapturedSession>> sessions_;
  int count_ = 0;
};

TEST_F(MailpitApiTest, ListsNewestFirstInMailpitsWrapperWithPaging) {
  Deliver(kPlain, {"bob@example.test"});
  Deliver(kWithAttachment, {"bob@example.test"});
  Deliver(kPlain, {"bob@example.test"});
  struct Row {
    const char* target;
    std::vector<std::string> ids;
  } rows[] = {
      {"/api/v1/messages", {"3", "2", "1"}},
      {"/api/v1/messages?start=0&limit=2", {"3", "2"}},
      {"/api/v1/messages?start=2&limit=2", {"1"}},
      {"/api/v1/messages?start=5", {}},
      {"/api/v1/messages?limit=0", {"3", "2", "1"}},
  };
  for (const Row& r : rows) {
    json::object o = CallJson("GET", r.target);
    EXPECT_EQ(o.at("total").as_int64(), 3) << r.target;
    EXPECT_EQ(o.at("unread").as_int64(), 3);
    EXPECT_EQ(o.at("messages_count").as_int64(), 3);
    EXPECT_EQ(o.at("messages_unread").as_int64(), 3);
    EXPECT_EQ(o.at("count").as_int64(), static_cast<int64_t>(r.ids.size()));
    EXPECT_TRUE(o.at("tags").as_array().empty());
    std::vector<std::string> ids;
    for (const json::value& m : o.at("messages").as_array()) {
      ids.emplace_back(m.at("ID").as_string().c_str());
    }
    EXPECT_EQ(ids, r.ids) << r.target;
  }
}

TEST_F(MailpitApiTest, SummaryHasMailpitsFieldsAndTypes) {
  Deliver(kWithAttachment, {"bob@example.test", "dave@example.test", "eve@example.test"});
  json::object o = CallJson("GET", "/api/v1/messages");
  const json::object& m = o.at("messages").as_array().at(0).as_object();
  EXPECT_EQ(m.at("ID").as_string(), "1");
  EXPECT_EQ(m.at("Read").as_bool(), false);
  EXPECT_EQ(m.at("From").at("Address").as_string(), "carol@example.test");
  EXPECT_EQ(m.at("From").at("Name").as_string(), "");
  EXPECT_EQ(m.at("To").at(0).at("Name").as_string(), "Bob");
  EXPECT_EQ(m.at("Cc").at(0).at("Address").as_string(), "dave@example.test");
  // eve is in the envelope only: Mailpit shows her as Bcc.
  ASSERT_EQ(m.at("Bcc").as_array().size(), 1u);
  EXPECT_EQ(m.at("Bcc").at(0).at("Address").as_string(), "eve@example.test");
  EXPECT_TRUE(m.at("ReplyTo").as_array().empty());
  EXPECT_EQ(m.at("Subject").as_string(), "report");
  EXPECT_EQ(m.at("Created").as_string(), "2026-01-01T00:00:01.000000Z");
  EXPECT_EQ(m.at("Attachments").as_int64(), 1);
  EXPECT_EQ(m.at("Size").as_int64(), static_cast<int64_t>(sizeof kWithAttachment - 1));
  EXPECT_EQ(m.at("Snippet").as_string(), "See & read");
  EXPECT_TRUE(m.at("Tags").as_array().empty());
  EXPECT_EQ(m.at("FakeMX").at("Lock").as_string(), "red_lock");
}

TEST_F(MailpitApiTest, MessageByIdOrLatestHasBodiesAndFakeMxFactsAndMarksRead) {
  Deliver(kPlain, {"bob@example.test"});
  Deliver(kWithAttachment, {"bob@example.test"}, /*encrypted=*/true);
  json::object first = CallJson("GET", "/api/v1/message/1");
  EXPECT_EQ(first.at("ID").as_string(), "1");
  EXPECT_EQ(first.at("MessageID").as_string(), "m1@example.test");
  EXPECT_EQ(first.at("Subject").as_string(), "caf\xC3\xA9 order");
  EXPECT_EQ(first.at("Text").as_string(), "Your   order\r\nhas shipped.\r\n");
  EXPECT_EQ(first.at("HTML").as_string(), "");
  EXPECT_EQ(first.at("Date").as_string(), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(first.at("ReturnPath").as_string(), "bounce@example.test");
  EXPECT_EQ(first.at("ListUnsubscribe").at("Links").as_array().size(), 2u);
  EXPECT_EQ(first.at("ListUnsubscribe").at("Errors").as_string(), "");
  EXPECT_EQ(first.at("FakeMX").at("SessionID").as_int64(), 1);
  EXPECT_EQ(first.at("FakeMX").at("Receiver").as_string(), "example.test");
  EXPECT_EQ(first.at("FakeMX").at("Delivery").at("mail_from").at("address").as_string(),
            "bounce@example.test");

  json::object latest = CallJson("GET", "/api/v1/message/latest");
  EXPECT_EQ(latest.at("ID").as_string(), "2");
  EXPECT_EQ(latest.at("HTML").as_string(), "<p>See &amp; read</p>");
  EXPECT_EQ(latest.at("FakeMX").at("Lock").as_string(), "encrypted");
  EXPECT_EQ(latest.at("FakeMX").at("Verdict").at("summary").at("lock").as_string(), "encrypted");
  EXPECT_TRUE(latest.at("FakeMX").at("Verdict").at("spf").is_null());  // not evaluated
  EXPECT_EQ(latest.at("FakeMX").at("Transcript").at(0).at("text").as_string(), "EHLO client.test");
  const json::array& att = latest.at("Attachments").as_array();
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].at("FileName").as_string(), "a.txt");
  EXPECT_EQ(att[0].at("PartID").as_string(), "2");
  EXPECT_EQ(att[0].at("Size").as_int64(), 3);
  // sha256("abc"), FIPS 180-2 Appendix B.1.
  EXPECT_EQ(att[0].at("Checksums").at("SHA256").as_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(att[0].at("Checksums").at("MD5").as_string(), "900150983cd24fb0d6963f7d28e17f72");

  json::object list = CallJson("GET", "/api/v1/messages");
  EXPECT_EQ(list.at("unread").as_int64(), 0);
  EXPECT_EQ(list.at("messages").at(0).at("Read").as_bool(), true);
}

TEST_F(MailpitApiTest, ServesRawBytesAndHeadersKeyedAsGoCanonicalizesThem) {
  Deliver(kPlain, {"bob@example.test"});
  HttpResponse raw = Call("GET", "/api/v1/message/1/raw");
  EXPECT_EQ(raw.status, 200u);
  EXPECT_EQ(raw.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(raw.body, kPlain);
  json::object h = CallJson("GET", "/api/v1/message/latest/headers");
  EXPECT_EQ(h.at("Message-Id").at(0).as_string(), "<m1@example.test>");
  EXPECT_EQ(h.at("Subject").at(0).as_string(), "=?utf-8?q?caf=C3=A9?= order");
  EXPECT_EQ(h.at("List-Unsubscribe").as_array().size(), 1u);
  // Fetching source or headers does not mark read (only the message does).
  EXPECT_EQ(CallJson("GET", "/api/v1/messages").at("unread").as_int64(), 1);
}

TEST_F(MailpitApiTest, ViewsServeTextAndHtmlParts) {
  Deliver(kPlain, {"bob@example.test"});
  Deliver(kWithAttachment, {"bob@example.test"});
  HttpResponse txt = Call("GET", "/view/1.txt");
  EXPECT_EQ(txt.status, 200u);
  EXPECT_EQ(txt.body, "Your   order\r\nhas shipped.\r\n");
  HttpResponse html = Call("GET", "/view/latest.html");
  EXPECT_EQ(html.status, 200u);
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(html.body, "<p>See &amp; read</p>");
  HttpResponse none = Call("GET", "/view/1.html");
  EXPECT_EQ(none.status, 404u);
  EXPECT_EQ(none.content_type, "text/plain; charset=utf-8");
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "(absent)";
}

// The HTML view is hostile content: its policy is the page's only defence
// when the URL is opened outside the UI's sandboxed iframe.
TEST_F(MailpitApiTest, ViewsAreServedWithAPolicyThatKeepsHtmlMailInert) {
  Deliver(kPlain, {"bob@example.test"});
  Deliver(kWithAttachment, {"bob@example.test"});
  struct Row {
    std::string target;
    std::string csp;
  };
  const Row rows[] = {
      {"/view/2.html",
       "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"},
      {"/view/latest.html",
       "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"},
      {"/view/1.txt", "(absent)"},
      {"/view/2.txt", "(absent)"},
  };
  for (const Row& row : rows) {
    HttpResponse r = Call("GET", row.target);
    EXPECT_EQ(r.status, 200u) << row.target;
    EXPECT_EQ(Header(r, "Content-Security-Policy"), row.csp) << row.target;
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff") << row.target;
  }
  EXPECT_EQ(Header(Call("GET", "/view/2.html"), "Referrer-Policy"), "no-referrer");
}

// The inbox pages newest first by id, also when a kept-alive session's
// later message is newer than other sessions' messages, and counts what it
// did not list.
TEST_F(MailpitApiTest, ListsNewestFirstAcrossInterleavedSessionsAndPagesWithCounts) {
  CapturedSession kept;
  kept.receiver = "example.test";
  std::shared_ptr<CapturedSession> s = store_.Open(std::move(kept));
  auto add_to_kept = [&](std::string to) {
    CapturedMessage m;
    m.delivery.recipients.push_back({to, {}});
    m.raw = "To: " + to + "\r\nSubject: kept\r\n\r\nx\r\n";
    return store_.AddMessage(*s, std::move(m));
  };
  add_to_kept("a@example.test");                // 1
  Deliver(kPlain, {"bob@example.test"});         // 2
  add_to_kept("c@example.test");                // 3
  Deliver(kPlain, {"bob@example.test"});         // 4
  add_to_kept("e@example.test");                // 5
  sessions_.push_back(s);
  struct Row {
    std::string target;
    std::vector<std::string> ids;
    int64_t messages_count;
  };
  const Row rows[] = {
      {"/api/v1/messages", {"5", "4", "3", "2", "1"}, 5},
      {"/api/v1/messages?limit=2", {"5", "4"}, 5},
      {"/api/v1/messages?start=2&limit=2", {"3", "2"}, 5},
      {"/api/v1/messages?start=4&limit=2", {"1"}, 5},
      {"/api/v1/messages?start=9", {}, 5},
      {"/api/v1/search?query=subject:kept", {"5", "3", "1"}, 3},
      {"/api/v1/search?query=subject:kept&start=1&limit=1", {"3"}, 3},
  };
  for (const Row& row : rows) {
    json::object v = CallJson("GET", row.target);
    std::vector<std::string> ids;
    for (const json::value& m : v.at("messages").as_array()) {
      ids.emplace_back(m.at("ID").as_string());
    }
    EXPECT_EQ(ids, row.ids) << row.target;
    EXPECT_EQ(v.at("total").as_int64(), 5) << row.target;
    EXPECT_EQ(v.at("unread").as_int64(), 5) << row.target;
    EXPECT_EQ(v.at("messages_count").as_int64(), row.messages_count) << row.target;
    EXPECT_EQ(v.at("messages_unread").as_int64(), row.messages_count) << row.target;
    EXPECT_EQ(v.at("count").as_int64(), static_cast<int64_t>(row.ids.size())) << row.target;
  }
  EXPECT_EQ(CallJson("GET", "/api/v1/message/latest").at("ID").as_string(), "5");
}

// The inbox's tooltips come with each summary, and the message's verdict
// objects carry the same texts.
TEST_F(MailpitApiTest, SummariesCarryTheLockAndSenderReasons) {
  const uint64_t plain = Deliver(kPlain, {"bob@example.test"});
  sessions_.back()->verdict.tls_outcome = "starttls not offered";
  json::object list = CallJson("GET", "/api/v1/messages");
  const json::object& fakemx = list.at("messages").at(0).at("FakeMX").as_object();
  EXPECT_EQ(fakemx.at("Lock").as_string(), "red_lock");
  EXPECT_EQ(fakemx.at("LockReason").as_string(),
            "no TLS: starttls not offered by receiver example.test");
  EXPECT_EQ(fakemx.at("SenderReason").as_string(), "not checked: verdicts are off");
  json::object one = CallJson("GET", "/api/v1/message/" + std::to_string(plain));
  const json::object& full = one.at("FakeMX").as_object();
  EXPECT_EQ(full.at("LockReason"), fakemx.at("LockReason"));
  EXPECT_EQ(full.at("Verdict").at("summary").at("lock_reason"), fakemx.at("LockReason"));
  EXPECT_EQ(full.at("Verdict").at("summary").at("sender_reason"), fakemx.at("SenderReason"));
  EXPECT_EQ(full.at("SessionVerdict").at("lock_reason"), fakemx.at("LockReason"));
}

TEST_F(MailpitApiTest, ErrorsArePlainTextWithTheRightStatus) {
  Deliver(kPlain, {"bob@example.test"});
  struct Row {
    const char* method;
    const char* target;
    const char* body;
    unsigned status;
    const char* text;
  } rows[] = {
      {"GET", "/api/v1/message/99", "", 404, "message not found\n"},
      {"GET", "/api/v1/message/99/raw", "", 404, "message not found\n"},
      {"GET", "/api/v1/message/abc", "", 400, nullptr},
      {"GET", "/view/99.txt", "", 404, "message not found\n"},
      {"POST", "/api/v1/messages", "", 405, "method not allowed\n"},
      {"GET", "/api/v1/messages?limit=x", "", 400, "invalid limit \"x\": not a number\n"},
      {"GET", "/api/v1/search", "", 400, "no search query\n"},
      {"GET", "/api/v1/search?query=tag:x", "", 400, nullptr},
      {"DELETE", "/api/v1/messages", "{", 400, nullptr},
      {"DELETE", "/api/v1/messages", "[]", 400, "request body is not a JSON object\n"},
      {"DELETE", "/api/v1/messages", "{\"IDs\":[1]}", 400, nullptr},
      {"DELETE", "/api/v1/messages", "{\"IDs\":[\"x\"]}", 400, nullptr},
      {"PUT", "/api/v1/messages", "{\"Read\":\"yes\"}", 400, "\"Read\" is not a boolean\n"},
      {"POST", "/api/v1/send", "{}", 501, "fakemx does not implement Mailpit's /api/v1/send\n"},
      {"GET", "/api/v1/message/1/part/2", "", 501, nullptr},
  };
  for (const Row& r : rows) {
    HttpResponse resp = Call(r.method, r.target, r.body);
    EXPECT_EQ(resp.status, r.status) << r.method << " " << r.target << " " << r.body;
    EXPECT_EQ(resp.content_type, "text/plain; charset=utf-8") << r.target;
    if (r.text != nullptr) {
      EXPECT_EQ(resp.body, r.text) << r.target;
    }
    EXPECT_FALSE(resp.body.empty());
  }
  // Nothing was deleted or changed by the refused requests.
  EXPECT_EQ(CallJson("GET", "/api/v1/messages").at("total").as_int64(), 1);
}

TEST_F(MailpitApiTest, LeavesPathsThatAreNotMailpitsToTheCaller) {
  for (const char* t : {"/api/v2/messages", "/api/v1/nope", "/view/1.pdf", "/healthz",
                        "/api/v1/message/1/raw/x"}) {
    HttpRequest request;
    request.method = "GET";
    request.target = t;
    EXPECT_FALSE(api_.Handle(request, *ParseHttpTarget(t), kNow).has_value()) << t;
  }
}

TEST_F(MailpitApiTest, SearchAndsTermsAndCountsMatches) {
  Deliver(kPlain, {"bob@example.test"});           // 1
  Deliver(kWithAttachment, {"bob@example.test"});  // 2
  Call("GET", "/api/v1/message/1");                // read
  struct Row {
    const char* query;
    std::vector<std::string> ids;
  } rows[] = {
      {"shipped", {"1"}},
      {"from:carol", {"2"}},
      {"-from:carol", {"1"}},
      {"to:bob", {"2", "1"}},
      {"is:unread", {"2"}},
      {"is:read", {"1"}},
      {"has:attachment", {"2"}},
      {"subject:%22caf%C3%A9+order%22", {"1"}},
      {"to:bob+-has:attachment", {"1"}},
      {"nothing-like-this", {}},
  };
  for (const Row& r : rows) {
    json::object o = CallJson("GET", std::string("/api/v1/search?query=") + r.query);
    std::vector<std::string> ids;
    for (const json::value& m : o.at("messages").as_array()) {
      ids.emplace_back(m.at("ID").as_string().c_str());
    }
    EXPECT_EQ(ids, r.ids) << r.query;
    EXPECT_EQ(o.at("messages_count").as_int64(), static_cast<int64_t>(r.ids.size())) << r.query;
    EXPECT_EQ(o.at("total").as_int64(), 2);
  }
}

TEST_F(MailpitApiTest, DeletesByIdsBySearchAndAll) {
  for (int i = 0; i < 4; ++i) Deliver(i % 2 ? kWithAttachment : kPlain, {"bob@example.test"});
  HttpResponse r = Call("DELETE", "/api/v1/messages", "{\"IDs\":[\"1\",\"77\"]}");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(store_.stats().messages, 3u);
  EXPECT_FALSE(store_.FindMessage(1).has_value());
  r = Call("DELETE", "/api/v1/search?query=has:attachment");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(store_.stats().messages, 1u);
  EXPECT_TRUE(store_.FindMessage(3).has_value());
  r = Call("DELETE", "/api/v1/messages");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(store_.stats().messages, 0u);
  // Sessions stay: fakemx's own API still shows what happened on the wire.
  EXPECT_EQ(store_.stats().sessions, 4u);
}

TEST_F(MailpitApiTest, SetsReadStateByIdsBySearchAndAll) {
  for (int i = 0; i < 3; ++i) Deliver(i == 1 ? kWithAttachment : kPlain, {"bob@example.test"});
  auto unread = [&] { return CallJson("GET", "/api/v1/messages").at("unread").as_int64(); };
  EXPECT_EQ(Call("PUT", "/api/v1/messages", "{\"IDs\":[\"1\"],\"Read\":true}").body, "ok");
  EXPECT_EQ(unread(), 2);
  EXPECT_TRUE(store_.FindMessage(1)->message->read);
  Call("PUT", "/api/v1/messages", "{\"Search\":\"has:attachment\",\"Read\":true}");
  EXPECT_EQ(unread(), 1);
  EXPECT_TRUE(store_.FindMessage(2)->message->read);
  Call("PUT", "/api/v1/messages", "{\"Read\":true}");
  EXPECT_EQ(unread(), 0);
  Call("PUT", "/api/v1/messages", "{}");  // Read defaults to false
  EXPECT_EQ(unread(), 3);
}

TEST_F(MailpitApiTest, InfoCountsMessagesUnreadAndRuntime) {
  Deliver(kPlain, {"bob@example.test"});
  Deliver(kPlain, {"bob@example.test"});
  Call("DELETE", "/api/v1/messages", "{\"IDs\":[\"1\"]}");
  json::object o = CallJson("GET", "/api/v1/info");
  EXPECT_EQ(o.at("Messages").as_int64(), 1);
  EXPECT_EQ(o.at("Unread").as_int64(), 1);
  EXPECT_EQ(std::string(o.at("Version").as_string().c_str()).substr(0, 7), "fakemx-");
  EXPECT_TRUE(o.at("Tags").as_object().empty());
  const json::object& rs = o.at("RuntimeStats").as_object();
  EXPECT_EQ(rs.at("Uptime").as_int64(), 5);
  EXPECT_EQ(rs.at("SMTPAccepted").as_int64(), 2);
  EXPECT_EQ(rs.at("SMTPAcceptedSize").as_int64(), 2 * static_cast<int64_t>(sizeof kPlain - 1));
  EXPECT_EQ(rs.at("MessagesDeleted").as_int64(), 1);
}

TEST_F(MailpitApiTest, NewMessageEventCarriesTheSummary) {
  Deliver(kWithAttachment, {"bob@example.test"});
  const std::optional<MessageRef> ref = store_.FindMessage(1);
  ASSERT_TRUE(ref.has_value());
  json::object e = json::parse(MailpitApi::NewMessageEvent(*ref->session, *ref->message)).as_object();
  EXPECT_EQ(e.at("Type").as_string(), "new");
  EXPECT_EQ(e.at("Data").at("ID").as_string(), "1");
  EXPECT_EQ(e.at("Data").at("Attachments").as_int64(), 1);
  EXPECT_EQ(e.at("Data").at("Subject").as_string(), "report");
}

TEST_F(MailpitApiTest, NonUtf8AndHeaderlessMessagesStillYieldValidJson) {
  Deliver("no header at all \xFF\r\n", {"x@example.test"});
  Deliver("Subject: \xC0\xAF\r\nFrom: \"\xFE\" <a\xFF@b>\r\n\r\nbody \xE9\r\n", {"x@example.test"});
  for (const char* t : {"/api/v1/messages", "/api/v1/message/1", "/api/v1/message/2",
                        "/api/v1/message/2/headers"}) {
    HttpResponse r = Call("GET", t);
    EXPECT_EQ(r.status, 200u);
    boost::system::error_code ec;
    json::parse(r.body, ec);
    EXPECT_FALSE(ec) << t << ": " << r.body;
  }
}

TEST_F(MailpitApiTest, AMessageOnAReusedConnectionCarriesOnlyItsPartOfTheTranscript) {
  CapturedSession session;
  session.receiver = "example.test";
  session.scenario = "good";
  session.started_at_us = kNow;
  std::shared_ptr<CapturedSession> s = store_.Open(std::move(session));
  using K = TranscriptEntry::Kind;
  store_.Append(*s, K::kReply, 0, "220 hi");
  store_.Append(*s, K::kCommand, 1, "EHLO client.test");
  store_.Append(*s, K::kReply, 2, "250 ok");
  std::vector<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {  // a client that resets between transactions
      store_.Append(*s, K::kCommand, 3, "RSET");
      store_.Append(*s, K::kReply, 3, "250 reset");
    }
    store_.Append(*s, K::kCommand, 3, "MAIL FROM:<a@example.test>");
    store_.StartTransaction(*s);
    store_.Append(*s, K::kReply, 3, "250 ok");
    store_.Append(*s, K::kCommand, 3, "BDAT 10 LAST");
    CapturedMessage m;
    m.raw = std::string(kPlain);
    ids.push_back(store_.AddMessage(*s, std::move(m)));
    store_.Append(*s, K::kReply, 3, "250 queued " + std::to_string(i));
  }
  store_.Append(*s, K::kCommand, 4, "QUIT");
  store_.Append(*s, K::kReply, 4, "221 bye");
  sessions_.push_back(s);

  json::object second = CallJson("GET", "/api/v1/message/" + std::to_string(ids[1]));
  const json::object& fm = second.at("FakeMX").as_object();
  std::vector<std::string> texts;
  for (const json::value& e : fm.at("Transcript").as_array()) {
    texts.push_back(std::string(e.at("text").as_string()));
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"220 hi", "EHLO client.test", "250 ok", "RSET",
                                             "250 reset", "MAIL FROM:<a@example.test>",
                                             "250 ok", "BDAT 10 LAST", "250 queued 1"}));
  const json::object& omitted = fm.at("TranscriptOmitted").as_object();
  EXPECT_EQ(omitted.at("at").as_int64(), 3);
  EXPECT_EQ(omitted.at("entries").as_int64(), 4);
  EXPECT_EQ(omitted.at("after").as_int64(), 6 + 2);
  EXPECT_EQ(omitted.at("session_entries").as_int64(), 3 + 4 + 6 + 6 + 2);
  // The list stays light: no transcript in a summary.
  json::object list = CallJson("GET", "/api/v1/messages");
  EXPECT_FALSE(list.at("messages").at(0).at("FakeMX").as_object().contains("Transcript"));
}

}  // namespace
}  // namespace mxkit::fakemx
