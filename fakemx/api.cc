#include "fakemx/api.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/json.h"
#include "base/utf8.h"
#include "fakemx/api_json.h"
#include "fakemx/message_order.h"
#include "fakemx/scenario.h"
#include "fakemx/ui_assets.h"

namespace mxkit::fakemx {
namespace {

using base::AppendJsonString;
using base::EqualsIgnoreCase;

// The Content-Type of /metrics: Prometheus' text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats).
constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// A parameter value or path segment quoted in an error: short enough that an
// error never echoes a whole hostile request back.
constexpr size_t kMaxQuotedOctets = 64;

// The largest decimal id: uint64 has 20 digits.
constexpr size_t kMaxIdDigits = 20;

// Result keywords of RFC 8601 §2.7.1 (DKIM), §2.7.2 (SPF) and RFC 7489
// §11.2 (DMARC), as the verdicts spell them (fakemx/verdict_types.h).
constexpr std::string_view kSpfResults[] = {"none",     "neutral",   "pass",     "fail",
                                            "softfail", "temperror", "permerror"};
constexpr std::string_view kDkimResults[] = {"none", "pass",      "fail",     "neutral",
                                             "temperror", "permerror", "policy"};
constexpr std::string_view kDmarcResults[] = {"none", "pass", "fail", "temperror", "permerror"};
constexpr std::string_view kDispositions[] = {"none", "quarantine", "reject"};

std::string Quote(std::string_view s) { return base::QuoteForMessage(s, kMaxQuotedOctets); }

HttpResponse BadParam(std::string_view name, std::string_view value, std::string_view why) {
  return JsonError(400, "parameter " + std::string(name) + "=" + Quote(value) + ": " +
                            std::string(why));
}

HttpResponse NotFound(const HttpTarget& target) {
  std::string path;
  for (const std::string& s : target.segments) path += "/" + s;
  if (path.empty()) path = "/";
  return JsonError(404, "no such endpoint: " + Quote(path) + " (see docs/api.md)");
}

HttpResponse Json(std::string body) {
  HttpResponse r;
  body += '\n';
  r.body = std::move(body);
  return r;
}

template <size_t N>
bool OneOf(std::string_view value, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), value) != std::end(set);
}

template <size_t N>
std::string JoinSet(const std::string_view (&set)[N]) {
  std::string out;
  for (std::string_view s : set) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// A decimal uint64 with no sign, space or leading '+': what our ids look like.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdDigits) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : s) {
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;  // over 2^64-1
    v = v * 10 + digit;
  }
  return v;
}

// Reads the query against the parameters an endpoint knows. An unknown or
// repeated parameter is refused by name: a typo ("recipent=") silently
// ignored would make a test's filter match everything.
class Query {
 public:
  explicit Query(const HttpTarget& target) : target_(target) {}

  // The first unknown or repeated parameter's error, or nullopt.
  template <size_t N>
  std::optional<HttpResponse> Check(const std::string_view (&known)[N]) const {
    for (size_t i = 0; i < target_.query.size(); ++i) {
      const std::string& name = target_.query[i].first;
      if (!OneOf(name, known)) {
        return JsonError(400, "unknown parameter " + Quote(name) + "; this endpoint takes " +
                                  JoinSet(known));
      }
      for (size_t j = 0; j < i; ++j) {
        if (target_.query[j].first == name) {
          return JsonError(400, "parameter " + Quote(name) + " given more than once");
        }
      }
    }
    return std::nullopt;
  }

  std::optional<std::string_view> Get(std::string_view name) const { return target_.Param(name); }

 private:
  const HttpTarget& target_;
};

std::optional<HttpResponse> ParseAfter(const Query& q, uint64_t* after) {
  if (auto v = q.Get("after")) {
    std::optional<uint64_t> n = ParseDecimal(*v);
    if (!n) return BadParam("after", *v, "not an id (a decimal number)");
    *after = *n;
  }
  return std::nullopt;
}

std::optional<HttpResponse> ParseLock(const Query& q, std::optional<bool>* encrypted) {
  if (auto v = q.Get("lock")) {
    if (*v == "encrypted") {
      *encrypted = true;
    } else if (*v == "red_lock") {
      *encrypted = false;
    } else {
      return BadParam("lock", *v, "one of encrypted, red_lock");
    }
  }
  return std::nullopt;
}

template <size_t N>
std::optional<HttpResponse> ParseKeyword(const Query& q, std::string_view name,
                                         const std::string_view (&set)[N],
                                         std::optional<std::string>* out) {
  if (auto v = q.Get(name)) {
    if (!OneOf(*v, set)) return BadParam(name, *v, "one of " + JoinSet(set));
    *out = std::string(*v);
  }
  return std::nullopt;
}

std::optional<HttpResponse> ParseMessageFilter(const Query& q, MessageFilter* f) {
  if (auto v = q.Get("sender")) f->sender = std::string(*v);
  if (auto v = q.Get("recipient")) f->recipient = std::string(*v);
  if (auto v = q.Get("receiver")) f->receiver = std::string(*v);
  if (auto e = ParseLock(q, &f->encrypted)) return e;
  if (auto v = q.Get("auth")) {
    if (*v == "authenticated") {
      f->authenticated = true;
    } else if (*v == "question_mark") {
      f->authenticated = false;
    } else {
      return BadParam("auth", *v, "one of authenticated, question_mark");
    }
  }
  if (auto e = ParseKeyword(q, "disposition", kDispositions, &f->disposition)) return e;
  if (auto e = ParseKeyword(q, "spf", kSpfResults, &f->spf)) return e;
  if (auto e = ParseKeyword(q, "dkim", kDkimResults, &f->dkim)) return e;
  if (auto e = ParseKeyword(q, "dmarc", kDmarcResults, &f->dmarc)) return e;
  return ParseAfter(q, &f->after);
}

std::optional<HttpResponse> ParseSessionFilter(const Query& q, SessionFilter* f) {
  if (auto v = q.Get("receiver")) f->receiver = std::string(*v);
  if (auto v = q.Get("client")) f->client = std::string(*v);
  if (auto e = ParseLock(q, &f->encrypted)) return e;
  if (auto v = q.Get("state")) {
    if (*v == "open") {
      f->open = true;
    } else if (*v == "closed") {
      f->open = false;
    } else {
      return BadParam("state", *v, "one of open, closed");
    }
  }
  return ParseAfter(q, &f->after);
}

struct Page {
  uint64_t start = 0;
  uint64_t limit = kDefaultPageSize;
};

// ?START_NAME=N&LIMIT_NAME=M: a page from N, M long, M from 1 to max_limit.
std::optional<HttpResponse> ParseStartAndLimit(const Query& q, std::string_view start_name,
                                               std::string_view limit_name, uint64_t max_limit,
                                               uint64_t* start, uint64_t* limit) {
  if (auto v = q.Get(start_name)) {
    std::optional<uint64_t> n = ParseDecimal(*v);
    if (!n) return BadParam(start_name, *v, "not a decimal number");
    *start = *n;
  }
  if (auto v = q.Get(limit_name)) {
    std::optional<uint64_t> n = ParseDecimal(*v);
    if (!n || *n == 0 || *n > max_limit) {
      return BadParam(limit_name, *v, "not a number from 1 to " + std::to_string(max_limit));
    }
    *limit = *n;
  }
  return std::nullopt;
}

std::optional<HttpResponse> ParsePage(const Query& q, Page* page) {
  return ParseStartAndLimit(q, "start", "limit", kMaxPageSize, &page->start, &page->limit);
}

// A session's ?transcript_start=N&transcript_limit=M: a page of a
// transcript that a reused connection can grow to 40,000 entries (the UI
// shows 500 at a time). Without them, the whole transcript.
std::optional<HttpResponse> ParseTranscriptPage(const Query& q, TranscriptPage* page) {
  return ParseStartAndLimit(q, "transcript_start", "transcript_limit", kMaxTranscriptPage,
                            &page->start, &page->limit);
}

// ?order=oldest|newest of a list (default oldest).
std::optional<HttpResponse> ParseOrder(const Query& q, ListOrder* order) {
  if (auto v = q.Get("order")) {
    std::optional<ListOrder> o = ParseListOrder(*v);
    if (!o) return BadParam("order", *v, "one of oldest, newest");
    *order = *o;
  }
  return std::nullopt;
}

// "5s", "250ms", "2m", or a bare number of seconds ("5").
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view s) {
  uint64_t scale_ms = 1000;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    scale_ms = 1;
    s.remove_suffix(2);
  } else if (!s.empty() && s.back() == 's') {
    s.remove_suffix(1);
  } else if (!s.empty() && s.back() == 'm') {
    scale_ms = 60000;
    s.remove_suffix(1);
  }
  // Nine digits of minutes already exceed any max_wait; fewer keeps the
  // product far from overflow.
  if (s.size() > 9) return std::nullopt;
  std::optional<uint64_t> n = ParseDecimal(s);
  if (!n) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*n * scale_ms));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::optional<uint64_t> ParseId(std::string_view segment) { return ParseDecimal(segment); }

bool AnyRecipient(const Delivery& d, std::string_view address) {
  for (const DeliveryRecipient& r : d.recipients) {
    if (EqualsIgnoreCase(r.address, address)) return true;
  }
  return false;
}

}  // namespace

bool Matches(const MessageFilter& f, const CapturedSession& session,
             const CapturedMessage& message) {
  if (message.id <= f.after) return false;
  if (f.sender && !EqualsIgnoreCase(message.delivery.reverse_path, *f.sender)) return false;
  if (f.recipient && !AnyRecipient(message.delivery, *f.recipient)) return false;
  if (f.receiver && !EqualsIgnoreCase(session.receiver, *f.receiver)) return false;
  const MessageVerdict& v = *message.verdict;
  if (f.encrypted && v.summary.encrypted != *f.encrypted) return false;
  if (f.authenticated && v.summary.authenticated != *f.authenticated) return false;
  if (f.disposition && v.summary.dmarc != *f.disposition) return false;
  // Unevaluated verdicts carry no results: a filter on one matches nothing
  // rather than treating "not checked" as "none".
  if (f.spf && (!v.evaluated || v.spf_mail_from.result != *f.spf)) return false;
  if (f.dmarc && (!v.evaluated || v.dmarc.result != *f.dmarc)) return false;
  if (f.dkim) {
    if (!v.evaluated) return false;
    if (*f.dkim == "none") {
      if (!v.dkim.empty()) return false;
    } else if (std::none_of(v.dkim.begin(), v.dkim.end(),
                            [&](const DkimVerdict& d) { return d.result == *f.dkim; })) {
      return false;
    }
  }
  return true;
}

bool Matches(const SessionFilter& f, const CapturedSession& session) {
  if (session.id <= f.after) return false;
  if (f.receiver && !EqualsIgnoreCase(session.receiver, *f.receiver)) return false;
  if (f.client && !EqualsIgnoreCase(session.client_address, *f.client)) return false;
  if (f.encrypted && session.verdict.encrypted != *f.encrypted) return false;
  if (f.open && session.ended_at_us.has_value() == *f.open) return false;
  return true;
}

FakemxApi::FakemxApi(ApiBackend& backend, ApiOptions options)
    : backend_(&backend), options_(options) {}

bool FakemxApi::Owns(const HttpTarget& t) {
  if (IsUiPath(t)) return true;
  if (t.segments[0] == "healthz" || t.segments[0] == "metrics") return true;
  return t.segments.size() >= 2 && t.segments[0] == "fakemx" && t.segments[1] == "v1";
}

ApiOutcome FakemxApi::Handle(const HttpRequest& request, const HttpTarget& target) {
  const std::vector<std::string>& s = target.segments;
  if (IsUiPath(target)) return ServeUi(request, target);
  if (s.size() == 1 && s[0] == "healthz") return Healthz(request, target);
  if (s.size() == 1 && s[0] == "metrics") return Metrics(request, target);
  if (s.size() < 3 || s[0] != "fakemx" || s[1] != "v1") return NotFound(target);
  if (s[2] == "messages") return Messages(request, target);
  if (s[2] == "sessions") return Sessions(request, target);
  if (s[2] == "wait") return Wait(request, target);
  if (s[2] == "scenario" && s.size() == 3) return Scenario(request, target);
  if (s[2] == "scenarios" && s.size() == 3) return Scenarios(request, target);
  return NotFound(target);
}

HttpResponse FakemxApi::Healthz(const HttpRequest& request, const HttpTarget& target) {
  if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET");
  if (!target.query.empty()) return JsonError(400, "/healthz takes no parameters");
  const ApiScenario scenario = backend_->scenario();
  std::string out = "{\"status\":\"ok\",\"scenario\":";
  AppendJsonString(out, scenario.name);
  out += ",\"generation\":" + std::to_string(scenario.generation) + "}";
  return Json(std::move(out));
}

HttpResponse FakemxApi::Metrics(const HttpRequest& request, const HttpTarget& target) {
  if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET");
  if (!target.query.empty()) return JsonError(400, "/metrics takes no parameters");
  HttpResponse r;
  r.content_type = std::string(kMetricsContentType);
  r.body = FormatMetrics(backend_->Metrics());
  return r;
}

HttpResponse FakemxApi::Messages(const HttpRequest& request, const HttpTarget& target) {
  const std::vector<std::string>& s = target.segments;
  CaptureStore& store = backend_->capture();
  if (s.size() == 3) {  // /fakemx/v1/messages
    if (request.method == "DELETE") {
      if (!target.query.empty()) return JsonError(400, "DELETE of every message takes no parameters");
      std::vector<uint64_t> ids;
      for (const auto& session : store.Sessions()) {
        for (const CapturedMessage& m : session->messages) ids.push_back(m.id);
      }
      uint64_t deleted = 0;
      for (uint64_t id : ids) deleted += store.DeleteMessage(id) ? 1 : 0;
      return Json("{\"deleted\":" + std::to_string(deleted) + "}");
    }
    if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET, DELETE");
    constexpr std::string_view kKnown[] = {"sender", "recipient", "receiver", "lock", "auth",
                                           "disposition", "spf", "dkim", "dmarc", "after",
                                           "start", "limit", "order"};
    Query q(target);
    if (auto e = q.Check(kKnown)) return *e;
    MessageFilter filter;
    if (auto e = ParseMessageFilter(q, &filter)) return *e;
    Page page;
    if (auto e = ParsePage(q, &page)) return *e;
    ListOrder order = ListOrder::kOldestFirst;
    if (auto e = ParseOrder(q, &order)) return *e;
    std::string items;
    uint64_t total = 0, count = 0;
    const auto sessions = store.Sessions();
    MessageWalk walk(sessions, order);
    for (MessageWalk::Item it = walk.Next(); it.message != nullptr; it = walk.Next()) {
      if (!Matches(filter, *it.session, *it.message)) continue;
      if (total >= page.start && count < page.limit) {
        if (count > 0) items += ',';
        AppendMessageJson(items, *it.session, *it.message, /*detail=*/false);
        ++count;
      }
      ++total;
    }
    return Json("{\"total\":" + std::to_string(total) + ",\"start\":" +
                std::to_string(page.start) + ",\"count\":" + std::to_string(count) +
                ",\"messages\":[" + items + "]}");
  }
  const std::optional<uint64_t> id = ParseId(s[3]);
  if (!id) return JsonError(400, "message id " + Quote(s[3]) + ": not a decimal number");
  if (s.size() > 5 || (s.size() == 5 && s[4] != "raw")) return NotFound(target);
  if (!target.query.empty()) return JsonError(400, "this endpoint takes no parameters");
  if (s.size() == 4 && request.method == "DELETE") {
    if (!store.DeleteMessage(*id)) return JsonError(404, "no message " + std::to_string(*id));
    return Json("{\"deleted\":1}");
  }
  if (request.method != "GET") {
    return JsonMethodNotAllowed(request.method, s.size() == 4 ? "GET, DELETE" : "GET");
  }
  const std::optional<MessageRef> ref = store.FindMessage(*id);
  if (!ref) return JsonError(404, "no message " + std::to_string(*id));
  if (s.size() == 5) {
    HttpResponse r;
    // RFC 2046 §5.2.1: a whole message, as received.
    r.content_type = "message/rfc822";
    r.body = std::string(ref->message->raw.view());
    return r;
  }
  std::string out;
  AppendMessageJson(out, *ref->session, *ref->message, /*detail=*/true);
  return Json(std::move(out));
}

HttpResponse FakemxApi::Sessions(const HttpRequest& request, const HttpTarget& target) {
  const std::vector<std::string>& s = target.segments;
  CaptureStore& store = backend_->capture();
  if (s.size() == 3) {
    if (request.method == "DELETE") {
      if (!target.query.empty()) return JsonError(400, "DELETE of every session takes no parameters");
      const uint64_t sessions = store.stats().sessions;
      store.Clear();
      return Json("{\"deleted\":" + std::to_string(sessions) + "}");
    }
    if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET, DELETE");
    constexpr std::string_view kKnown[] = {"receiver", "client", "lock",  "state",
                                           "after",    "start",  "limit", "order"};
    Query q(target);
    if (auto e = q.Check(kKnown)) return *e;
    SessionFilter filter;
    if (auto e = ParseSessionFilter(q, &filter)) return *e;
    Page page;
    if (auto e = ParsePage(q, &page)) return *e;
    ListOrder order = ListOrder::kOldestFirst;
    if (auto e = ParseOrder(q, &order)) return *e;
    std::string items;
    uint64_t total = 0, count = 0;
    std::vector<std::shared_ptr<const CapturedSession>> sessions = store.Sessions();
    // The store keeps sessions in id order.
    if (order == ListOrder::kNewestFirst) std::reverse(sessions.begin(), sessions.end());
    for (const auto& session : sessions) {
      if (!Matches(filter, *session)) continue;
      if (total >= page.start && count < page.limit) {
        if (count > 0) items += ',';
        AppendSessionJson(items, *session, /*detail=*/false);
        ++count;
      }
      ++total;
    }
    return Json("{\"total\":" + std::to_string(total) + ",\"start\":" +
                std::to_string(page.start) + ",\"count\":" + std::to_string(count) +
                ",\"sessions\":[" + items + "]}");
  }
  const std::optional<uint64_t> id = ParseId(s[3]);
  if (!id) return JsonError(400, "session id " + Quote(s[3]) + ": not a decimal number");
  if (s.size() != 4) return NotFound(target);
  if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET");
  constexpr std::string_view kKnown[] = {"transcript_start", "transcript_limit"};
  Query q(target);
  if (auto e = q.Check(kKnown)) return *e;
  TranscriptPage page;
  if (auto e = ParseTranscriptPage(q, &page)) return *e;
  const std::shared_ptr<const CapturedSession> session = store.Session(*id);
  if (!session) return JsonError(404, "no session " + std::to_string(*id));
  std::string out;
  AppendSessionJson(out, *session, /*detail=*/true, page);
  return Json(std::move(out));
}

ApiOutcome FakemxApi::Wait(const HttpRequest& request, const HttpTarget& target) {
  const std::vector<std::string>& s = target.segments;
  if (s.size() != 4 || (s[3] != "message" && s[3] != "session")) return NotFound(target);
  if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET");
  Query q(target);
  if (q.Get("order")) {
    return JsonError(400, "parameter order: a wait answers the oldest match after `after`, "
                          "so it takes no order (lists do)");
  }
  ApiWait wait;
  if (s[3] == "message") {
    constexpr std::string_view kKnown[] = {"sender", "recipient", "receiver", "lock",  "auth",
                                           "disposition", "spf", "dkim", "dmarc", "after",
                                           "timeout"};
    if (auto e = q.Check(kKnown)) return *e;
    wait.kind = ApiWait::Kind::kMessage;
    if (auto e = ParseMessageFilter(q, &wait.message)) return *e;
  } else {
    constexpr std::string_view kKnown[] = {"receiver", "client", "lock", "state", "after",
                                           "timeout"};
    if (auto e = q.Check(kKnown)) return *e;
    wait.kind = ApiWait::Kind::kSession;
    if (auto e = ParseSessionFilter(q, &wait.session)) return *e;
  }
  wait.timeout = options_.default_wait;
  if (auto v = q.Get("timeout")) {
    std::optional<std::chrono::milliseconds> d = ParseDuration(*v);
    if (!d) return BadParam("timeout", *v, "not a duration such as 5s, 250ms or 2m");
    if (*d > options_.max_wait) {
      return BadParam("timeout", *v, "longer than the longest wait, " +
                                         FormatDuration(options_.max_wait));
    }
    wait.timeout = *d;
  }
  // Something that already arrived answers at once: a test that sends
  // first and waits second must not hang.
  if (std::optional<HttpResponse> now = TryAnswerWait(wait)) return *std::move(now);
  return wait;
}

std::optional<HttpResponse> FakemxApi::TryAnswerWait(const ApiWait& wait) const {
  for (const auto& session : backend_->capture().Sessions()) {
    if (wait.kind == ApiWait::Kind::kSession) {
      if (auto r = AnswerWaitWithSession(wait, *session)) return r;
      continue;
    }
    for (const CapturedMessage& m : session->messages) {
      if (auto r = AnswerWaitWithMessage(wait, *session, m)) return r;
    }
  }
  return std::nullopt;
}

std::optional<HttpResponse> FakemxApi::AnswerWaitWithMessage(const ApiWait& wait,
                                                             const CapturedSession& session,
                                                             const CapturedMessage& message) {
  if (wait.kind != ApiWait::Kind::kMessage || !Matches(wait.message, session, message)) {
    return std::nullopt;
  }
  std::string out;
  AppendMessageJson(out, session, message, /*detail=*/true);
  return Json(std::move(out));
}

std::optional<HttpResponse> FakemxApi::AnswerWaitWithSession(const ApiWait& wait,
                                                             const CapturedSession& session) {
  if (wait.kind != ApiWait::Kind::kSession || !Matches(wait.session, session)) {
    return std::nullopt;
  }
  std::string out;
  AppendSessionJson(out, session, /*detail=*/true);
  return Json(std::move(out));
}

HttpResponse FakemxApi::WaitTimedOut(const ApiWait& wait) {
  // 408: the server gives up on the request it was asked to hold. Not 504:
  // no upstream failed; nothing matching arrived.
  return JsonError(408, std::string("no ") +
                            (wait.kind == ApiWait::Kind::kMessage ? "message" : "session") +
                            " matching the filter arrived within " + FormatDuration(wait.timeout));
}

ApiOutcome FakemxApi::Scenario(const HttpRequest& request, const HttpTarget& target) {
  if (!target.query.empty()) return JsonError(400, "/fakemx/v1/scenario takes no parameters");
  if (request.method == "GET") {
    return Json(ApiScenarioJson(backend_->scenario()));
  }
  if (request.method != "PUT") return JsonMethodNotAllowed(request.method, "GET, PUT");
  if (request.body.empty()) {
    return JsonError(400, "PUT /fakemx/v1/scenario needs a body: a catalogue name or YAML text");
  }
  // A scenario file's own bound (fakemx/scenario.h kMaxScenarioFileBytes,
  // 1 MiB), so text that would not load from a file does not load here.
  constexpr size_t kMaxScenarioBytes = size_t{1} << 20;
  if (request.body.size() > kMaxScenarioBytes) {
    return JsonError(413, "scenario text of " + std::to_string(request.body.size()) +
                              " octets; at most " + std::to_string(kMaxScenarioBytes));
  }
  if (size_t bad = base::FindInvalidUtf8(request.body); bad != request.body.size()) {
    // YAML 1.2 §5.2: a stream is Unicode; ours is UTF-8 (what scenario files are).
    return JsonError(400, "scenario text is not UTF-8 (invalid octet at offset " +
                              std::to_string(bad) + ")");
  }
  std::string spec = request.body;
  // A name sent by `curl -d good` or with a trailing newline names the same
  // entry; YAML keeps its text as sent.
  if (spec.find(':') == std::string::npos) {
    while (!spec.empty() && (spec.back() == '\n' || spec.back() == '\r')) spec.pop_back();
    if (spec.empty() || spec.find('\n') != std::string::npos) spec = request.body;
  }
  return ApiScenarioSwitch{std::move(spec)};
}

HttpResponse FakemxApi::Scenarios(const HttpRequest& request, const HttpTarget& target) {
  if (request.method != "GET") return JsonMethodNotAllowed(request.method, "GET");
  if (!target.query.empty()) return JsonError(400, "/fakemx/v1/scenarios takes no parameters");
  std::string out = "{\"scenarios\":[";
  bool first = true;
  for (const CatalogueEntry& e : ScenarioCatalogue()) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    AppendJsonString(out, e.name);
    out += ",\"summary\":";
    AppendJsonString(out, e.summary);
    out += '}';
  }
  out += "]}";
  return Json(std::move(out));
}

HttpResponse FakemxApi::ScenarioSwitched(const absl::StatusOr<ApiScenario>& result) {
  if (result.ok()) return Json(ApiScenarioJson(*result));
  const std::string message(result.status().message());
  switch (result.status().code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
      return JsonError(400, "scenario not switched: " + message);
    case absl::StatusCode::kFailedPrecondition:
      return JsonError(409, "scenario not switched: " + message);
    default:
      return JsonError(500, "scenario not switched: " + message);
  }
}

std::string ApiScenarioJson(const ApiScenario& s) {
  std::string out = "{\"name\":";
  AppendJsonString(out, s.name);
  out += ",\"source\":";
  AppendJsonString(out, s.source);
  out += ",\"generation\":" + std::to_string(s.generation);
  out += ",\"receivers\":[";
  for (size_t i = 0; i < s.receivers.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, s.receivers[i]);
  }
  out += "],\"listeners\":[";
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"receiver\":";
    AppendJsonString(out, s.listeners[i].receiver);
    out += ",\"kind\":";
    AppendJsonString(out, s.listeners[i].kind);
    out += ",\"endpoint\":";
    AppendJsonString(out, s.listeners[i].endpoint);
    out += '}';
  }
  out += "],\"yaml\":";
  AppendJsonString(out, s.yaml);
  out += '}';
  return out;
}

std::string FormatMetrics(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& f : families) {
    // The exposition format escapes '\' and newline in HELP text.
    std::string help;
    for (char c : f.help) {
      if (c == '\\') {
        help += "\\\\";
      } else if (c == '\n') {
        help += "\\n";
      } else {
        help += c;
      }
    }
    out += "# HELP " + f.name + " " + help + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.samples) {
      out += f.name;
      if (!labels.empty()) out += "{" + labels + "}";
      out += ' ';
      char buf[64];
      if (std::isnan(value)) {
        out += "NaN";
      } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
      } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", value);
        out += buf;
      } else {
        std::snprintf(buf, sizeof buf, "%.17g", value);
        out += buf;
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace mxkit::fakemx
