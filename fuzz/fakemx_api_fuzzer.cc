// Fuzzes fakemx's HTTP API request handling without a socket, as the server
// dispatches it: the request target's parser (fakemx/http_target.h), then
// the router of fakemx's own endpoints (fakemx/api.h) or Mailpit's handler
// (fakemx/mailpit_api.h, which fuzz/mailpit_api_fuzzer checks in depth) over
// a capture holding a few sessions and messages, including the
// scenario-switch endpoint with arbitrary bodies, whose spec is parsed as
// fakemx::Instance does (a catalogue name, or YAML).
//
// Input: "METHOD TARGET\n" then the body (everything after the first LF);
// for GET and HEAD a body starting "If-None-Match: " gives that field's
// value instead (the web UI's revalidation, fakemx/ui_assets.h).
//
// Properties:
//   - never crashes or hangs;
//   - every response has a known status; every JSON response is valid JSON
//     (Boost.JSON parses it), and an error's "status" equals the HTTP status;
//   - a 405 carries Allow;
//   - a wait is only handed back when nothing stored matches it, with a
//     timeout within the longest wait;
//   - a scenario switch carries a non-empty spec of at most 1 MiB, and its
//     outcome maps to 200, 400, 409 or 500 with valid JSON;
//   - a UI answer (/ui/...): a 200 is an embedded file's exact bytes with
//     its type and ETag, a 304 has no content and only when If-None-Match
//     was sent, every answer of a UI file has nosniff; the page (/,
//     /index.html) has no ETag and is composed as the server composes it,
//     from Mailpit's first page of the store, with no <script> but
//     first-view.js inline (it starts app.js);
//   - "INBOX\n" then a body: RenderUiInbox's answer to that body as a
//     message list: an error, or HTML whose every value was escaped (no
//     element but the ones the render writes: no <script, <style, <iframe
//     or <img).
//   - a 200 message list is in the order asked (ids strictly increasing,
//     or decreasing with order=newest), across interleaved sessions;
//   - a 200 message's transcript is its part of the session's: its entries
//     plus transcript_omitted's "entries" and "after" make
//     "session_entries"; a 200 session's transcript page lies within
//     transcript_total and is no longer than transcript_limit (session 4
//     is a kept-alive connection whose transcript hit its bound).

#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "fakemx/api.h"
#include "fakemx/api_backend.h"
#include "fakemx/capture.h"
#include "fakemx/http_target.h"
#include "fakemx/http_types.h"
#include "fakemx/mailpit_api.h"
#include "fakemx/scenario.h"
#include "fakemx/ui_assets.h"
#include "fuzz/property_check.h"

namespace {

using namespace mxkit::fakemx;  // NOLINT: a fuzz harness over one namespace

constexpr std::chrono::milliseconds kMaxWait{60000};

class FuzzBackend : public ApiBackend {
 public:
  CaptureStore& capture() override { return store; }
  ApiScenario scenario() const override {
    ApiScenario s;
    s.name = "good";
    s.source = "catalogue";
    s.receivers = {"example.test"};
    s.listeners = {{"example.test", "smtp", "127.0.0.1:2525"}};
    return s;
  }
  // As the embedding's Instance does (fakemx/api_backend.h): YAML when the
  // text has a newline or a ':', else a catalogue name. Nothing is bound.
  void SwitchScenario(std::string spec,
                      std::function<void(absl::StatusOr<ApiScenario>)> done) override {
    const bool yaml = spec.find('\n') != std::string::npos || spec.find(':') != std::string::npos;
    absl::StatusOr<Scenario> parsed = yaml ? ParseScenario(spec, "api") : CatalogueScenario(spec);
    if (!parsed.ok()) return done(parsed.status());
    ApiScenario s;
    s.name = parsed->name;
    s.source = yaml ? "api" : "catalogue";
    s.yaml = yaml ? spec : "";
    for (const Receiver& r : parsed->receivers) s.receivers.push_back(r.name);
    s.generation = 1;
    done(s);
  }
  std::vector<MetricFamily> Metrics() const override {
    return {{"fakemx_messages_total", "Messages.", "counter",
             {{"", static_cast<double>(store.stats().messages_total)}}}};
  }

  CaptureStore store{CaptureLimits{.max_sessions = 16, .max_bytes = 1 << 20,
                                   .max_transcript_bytes = 4096}};
};

void Populate(CaptureStore& store) {
  std::shared_ptr<CapturedSession> kept;
  for (int i = 0; i < 3; ++i) {
    CapturedSession s;
    s.receiver = i == 2 ? "other.test" : "example.test";
    s.scenario = "good";
    s.client_address = "127.0.0.1";
    s.verdict.encrypted = i == 1;
    auto session = store.Open(std::move(s));
    store.Append(*session, TranscriptEntry::Kind::kCommand, 1, "EHLO x\xff");
    CapturedMessage m;
    m.delivery.reverse_path = i == 0 ? "" : "a@sender.test";
    m.delivery.recipients.push_back({"b@example.test", {{"NOTIFY", "NEVER"}}});
    m.raw = std::string(i == 1 ? "Subject: \xc3\xa9\r\n x\r\nBad line\r\n\r\nbody"
                               : "Subject: s\r\nFrom: a@sender.test\r\n\r\nbody\r\n");
    MessageVerdict v;
    v.evaluated = i != 0;
    v.summary.encrypted = i == 1;
    v.summary.authenticated = i == 2;
    v.spf_mail_from.result = "pass";
    v.dmarc.result = "fail";
    if (i == 2) v.dkim.push_back(
        {"pass", "sender.test", "s", "rsa-sha256", 2048, "", true, "@sender.test", "AbCdEfGh"});
    m.verdict = std::make_shared<const MessageVerdict>(std::move(v));
    store.AddMessage(*session, std::move(m));
    if (i != 1) store.Close(*session, 5, "quit");
    if (i == 1) kept = session;
  }
  // The open session (2) delivers again after session 3's message: its ids
  // interleave with the others', which the ordered lists must get right.
  CapturedMessage m;
  m.delivery.reverse_path = "late@sender.test";
  m.raw = std::string("Subject: late\r\n\r\nbody\r\n");
  store.AddMessage(*kept, std::move(m));

  // A kept-alive connection recorded as the server does (a transaction
  // start, the message, its final reply), long enough that the transcript
  // bound (max_transcript_bytes) drops entries: slices and pages must stay
  // within what was kept.
  auto reused = store.Open(CapturedSession{});
  using K = TranscriptEntry::Kind;
  store.Append(*reused, K::kReply, 0, "220 hi");
  store.Append(*reused, K::kCommand, 1, "EHLO client");
  store.Append(*reused, K::kReply, 1, "250 ok");
  for (int i = 0; i < 6; ++i) {
    store.Append(*reused, K::kCommand, 2, "MAIL FROM:<a@sender.test>");
    store.StartTransaction(*reused);
    store.Append(*reused, K::kReply, 2, std::string(i == 3 ? 4000 : 6, 'r'));
    CapturedMessage t;
    t.raw = std::string("Subject: t\r\n\r\nbody\r\n");
    store.AddMessage(*reused, std::move(t));
    store.Append(*reused, K::kReply, 3, "250 queued");
  }
}

std::string Header(const HttpResponse& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The page as api_server.cc serves it: with the first inbox page from
// Mailpit's handler over the same store.
void CheckUiPage(const HttpRequest& request, const HttpTarget& target, MailpitApi& mailpit) {
  HttpRequest list;
  list.method = "GET";
  list.target = std::string(kUiFirstInboxPageTarget);
  absl::StatusOr<HttpTarget> list_target = ParseHttpTarget(list.target);
  MXKIT_FUZZ_CHECK(list_target.ok());
  std::optional<HttpResponse> page = mailpit.Handle(list, *list_target, 2);
  MXKIT_FUZZ_CHECK(page && page->status == 200);
  MXKIT_FUZZ_CHECK(RenderUiInbox(page->body).ok());
  const HttpResponse r = ServeUi(request, target, std::string_view(page->body));
  if (request.method != "GET" && request.method != "HEAD") {
    MXKIT_FUZZ_CHECK(r.status == 405);
    return;
  }
  MXKIT_FUZZ_CHECK(r.status == 200 && Header(r, "ETag").empty());
  MXKIT_FUZZ_CHECK(r.body.find("<section id=\"inbox-view\"") != std::string::npos);
  MXKIT_FUZZ_CHECK(Count(r.body, "<script") == 1);
  MXKIT_FUZZ_CHECK(Header(r, "Content-Security-Policy") == UiContentSecurityPolicy());
}

void CheckUi(const HttpRequest& request, const HttpTarget& target, const HttpResponse& r) {
  if (IsUiPage(target)) {
    if (r.status == 200) {
      MXKIT_FUZZ_CHECK(r.body == ComposeUiPage(std::nullopt) && Header(r, "ETag").empty());
    }
    return;
  }
  if (r.status == 304) {
    MXKIT_FUZZ_CHECK(!request.if_none_match.empty() && r.body.empty() && r.content_type.empty());
  }
  if (r.status == 200 || r.status == 304) {
    MXKIT_FUZZ_CHECK(Header(r, "X-Content-Type-Options") == "nosniff");
    bool known = false;
    for (const UiAsset& a : UiAssets()) {
      if (Header(r, "ETag") != a.etag) continue;
      known = true;
      if (r.status == 200) MXKIT_FUZZ_CHECK(r.body == a.bytes && r.content_type == a.content_type);
    }
    MXKIT_FUZZ_CHECK(known);
  }
}

void CheckOrder(const HttpRequest& request, const HttpTarget& target, const HttpResponse& r) {
  if (request.method != "GET" || r.status != 200 || target.segments.size() != 3 ||
      target.segments[0] != "fakemx" || target.segments[2] != "messages") {
    return;
  }
  const bool newest = target.Param("order") == std::optional<std::string_view>("newest");
  const boost::json::value v = boost::json::parse(r.body);
  int64_t previous = newest ? INT64_MAX : 0;
  for (const boost::json::value& m : v.at("messages").as_array()) {
    const int64_t id = m.at("id").as_int64();
    MXKIT_FUZZ_CHECK(newest ? id < previous : id > previous);
    previous = id;
  }
}

void CheckTranscript(const HttpRequest& request, const HttpTarget& target,
                     const HttpResponse& r) {
  if (request.method != "GET" || r.status != 200 || target.segments.size() != 4 ||
      target.segments[0] != "fakemx") {
    return;
  }
  const boost::json::value v = boost::json::parse(r.body);
  const int64_t shown = static_cast<int64_t>(v.at("transcript").as_array().size());
  if (target.segments[2] == "messages") {
    const boost::json::value& o = v.at("transcript_omitted");
    MXKIT_FUZZ_CHECK(shown + o.at("entries").as_int64() + o.at("after").as_int64() ==
                     o.at("session_entries").as_int64());
    MXKIT_FUZZ_CHECK(o.at("at").as_int64() <= shown);
  } else if (target.segments[2] == "sessions") {
    const int64_t start = v.at("transcript_start").as_int64();
    MXKIT_FUZZ_CHECK(start + shown <= v.at("transcript_total").as_int64());
    if (auto limit = target.Param("transcript_limit")) {
      MXKIT_FUZZ_CHECK(shown <= std::stoll(std::string(*limit)));
    }
  }
}

void CheckResponse(const HttpResponse& r) {
  const unsigned s = r.status;
  MXKIT_FUZZ_CHECK(s == 200 || s == 204 || s == 304 || s == 400 || s == 404 || s == 405 ||
                   s == 408 || s == 409 || s == 413 || s == 500);
  if (r.content_type == "application/json") {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    MXKIT_FUZZ_CHECK(!ec);
    if (s != 200) {
      MXKIT_FUZZ_CHECK(v.is_object() && v.as_object().contains("error"));
      MXKIT_FUZZ_CHECK(v.at("status").as_int64() == static_cast<int64_t>(s));
    }
  }
  if (s == 405) MXKIT_FUZZ_CHECK(!r.headers.empty() && r.headers[0].first == "Allow");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  const std::string_view line = input.substr(0, eol);
  const std::string_view body = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  const size_t space = line.find(' ');
  HttpRequest request;
  request.method = std::string(line.substr(0, space));
  request.target = space == std::string_view::npos ? "" : std::string(line.substr(space + 1));
  request.body = std::string(body);
  constexpr std::string_view kIfNoneMatch = "If-None-Match: ";
  if ((request.method == "GET" || request.method == "HEAD") &&
      body.substr(0, kIfNoneMatch.size()) == kIfNoneMatch) {
    request.if_none_match = std::string(body.substr(kIfNoneMatch.size()));
    request.body.clear();
  }

  if (line == "INBOX") {
    absl::StatusOr<std::string> html = RenderUiInbox(body);
    if (html.ok()) {
      for (std::string_view tag : {"<script", "<style", "<iframe", "<img", "<link"}) {
        MXKIT_FUZZ_CHECK(Count(*html, tag) == 0);
      }
      MXKIT_FUZZ_CHECK(html->rfind("<section id=\"inbox-view\"", 0) == 0);
    } else {
      MXKIT_FUZZ_CHECK(html.status().code() == absl::StatusCode::kInvalidArgument);
    }
    return 0;
  }
  absl::StatusOr<HttpTarget> target = ParseHttpTarget(request.target);
  if (!target.ok()) {
    MXKIT_FUZZ_CHECK(target.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  // (A segment may hold '/': "%2F" decodes into it, as http_target.h says.)

  // One populated store for the requests that only read it; a DELETE gets
  // a fresh one, so every input sees the same ids and contents. (A store per
  // input would map and fault in a 2 MiB arena chunk each time.)
  static FuzzBackend* const shared = [] {
    auto* b = new FuzzBackend;
    Populate(b->store);
    return b;
  }();
  static MailpitApi* const shared_mailpit = new MailpitApi(shared->store, 1);
  std::unique_ptr<FuzzBackend> fresh;
  std::unique_ptr<MailpitApi> fresh_mailpit;
  FuzzBackend* backend = shared;
  MailpitApi* mailpit = shared_mailpit;
  if (request.method != "GET" && request.method != "HEAD" && request.method != "PUT") {
    fresh = std::make_unique<FuzzBackend>();
    Populate(fresh->store);
    fresh_mailpit = std::make_unique<MailpitApi>(fresh->store, 1);
    backend = fresh.get();
    mailpit = fresh_mailpit.get();
  }
  if (!FakemxApi::Owns(*target)) {
    // The server's other route: Mailpit's handler, or 404.
    std::optional<HttpResponse> r = mailpit->Handle(request, *target, 2);
    if (r) MXKIT_FUZZ_CHECK(r->status >= 200 && r->status < 600);
    fresh_mailpit.reset();
    return 0;
  }
  FakemxApi api(*backend, ApiOptions{kMaxWait, std::chrono::seconds(5)});
  ApiOutcome outcome = api.Handle(request, *target);
  if (auto* r = std::get_if<HttpResponse>(&outcome)) {
    CheckResponse(*r);
    if (IsUiPath(*target)) CheckUi(request, *target, *r);
    if (IsUiPage(*target)) CheckUiPage(request, *target, *mailpit);
    CheckOrder(request, *target, *r);
    CheckTranscript(request, *target, *r);
  } else if (auto* wait = std::get_if<ApiWait>(&outcome)) {
    MXKIT_FUZZ_CHECK(wait->timeout <= kMaxWait);
    MXKIT_FUZZ_CHECK(!api.TryAnswerWait(*wait).has_value());
    CheckResponse(FakemxApi::WaitTimedOut(*wait));
  } else {
    const ApiScenarioSwitch& change = std::get<ApiScenarioSwitch>(outcome);
    MXKIT_FUZZ_CHECK(!change.spec.empty() && change.spec.size() <= (size_t{1} << 20));
    bool answered = false;
    backend->SwitchScenario(change.spec, [&](absl::StatusOr<ApiScenario> result) {
      answered = true;
      const HttpResponse r = FakemxApi::ScenarioSwitched(result);
      MXKIT_FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 409 || r.status == 500);
      CheckResponse(r);
    });
    MXKIT_FUZZ_CHECK(answered);
  }
  return 0;
}
