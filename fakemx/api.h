// fakemx's own HTTP endpoints (/fakemx/v1/..., /healthz, /metrics; listed in
// docs/api.md), sans-IO: a request goes in, and out comes either a response,
// a wait ("answer when a message or session matching F arrives, or at T") or
// a scenario switch, which the server (fakemx/api_server.h) carries out
// because both need the io_context. No Asio here, so the unit tests and the
// fuzzer drive every route without a socket.
//
// Errors are JSON ({"error":"<what and why>","status":N}, fakemx/http_types.h):
// unknown path 404, wrong method 405 with Allow, bad parameter 400 naming
// it, unknown id 404, scenario text too large 413.

#ifndef MXKIT_FAKEMX_API_H_
#define MXKIT_FAKEMX_API_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "fakemx/api_backend.h"
#include "fakemx/capture.h"
#include "fakemx/http_target.h"
#include "fakemx/http_types.h"

namespace mxkit::fakemx {

// The path prefix of fakemx's own endpoints, apart from Mailpit's /api/v1/.
inline constexpr std::string_view kApiPrefix = "/fakemx/v1";

// Which messages a list or a wait selects. Every set field must match; all
// comparisons of addresses and names ignore ASCII case (domains are
// case-insensitive, RFC 5321 §2.4, and tests should not trip over a local
// part's case either).
struct MessageFilter {
  std::optional<std::string> sender;     // the reverse-path, "" for <>
  std::optional<std::string> recipient;  // any of the forward-paths
  std::optional<std::string> receiver;   // the scenario receiver's name
  std::optional<bool> encrypted;         // lock=encrypted|red_lock (the verdict summary)
  std::optional<bool> authenticated;     // auth=authenticated|question_mark
  std::optional<std::string> disposition;  // disposition=none|quarantine|reject
  std::optional<std::string> spf;        // spf=<RFC 8601 result> of the MAIL FROM check
  std::optional<std::string> dkim;       // dkim=<result>: some signature has it; "none": no signature
  std::optional<std::string> dmarc;      // dmarc=<RFC 8601 result>
  uint64_t after = 0;                    // only ids above this one
};

struct SessionFilter {
  std::optional<std::string> receiver;
  std::optional<std::string> client;  // the client's IP address, as written in JSON
  std::optional<bool> encrypted;      // lock=encrypted|red_lock (the session verdict)
  std::optional<bool> open;           // state=open|closed
  uint64_t after = 0;
};

bool Matches(const MessageFilter& filter, const CapturedSession& session,
             const CapturedMessage& message);
bool Matches(const SessionFilter& filter, const CapturedSession& session);

// A long-poll: the server answers it with TryAnswerWait at once, again on
// every capture change, and with WaitTimedOut at `timeout`.
struct ApiWait {
  enum class Kind { kMessage, kSession };
  Kind kind = Kind::kMessage;
  MessageFilter message;
  SessionFilter session;
  std::chrono::milliseconds timeout{0};
};

// PUT /fakemx/v1/scenario: the server hands `spec` to
// ApiBackend::SwitchScenario and answers with ScenarioSwitched.
struct ApiScenarioSwitch {
  std::string spec;
};

using ApiOutcome = std::variant<HttpResponse, ApiWait, ApiScenarioSwitch>;

struct ApiOptions {
  std::chrono::milliseconds max_wait{std::chrono::minutes(5)};
  std::chrono::milliseconds default_wait{std::chrono::seconds(30)};
};

// A list page's default and largest size (?limit=): a page is one response
// built in memory on the io thread, so it is bounded; ?start= pages on.
inline constexpr uint64_t kDefaultPageSize = 100;
inline constexpr uint64_t kMaxPageSize = 10000;
// The largest page of a session's transcript (?transcript_limit=), for the
// same reason; 10,000 entries are about 1 MB of JSON.
inline constexpr uint64_t kMaxTranscriptPage = 10000;

class FakemxApi {
 public:
  // `backend` must outlive this object.
  FakemxApi(ApiBackend& backend, ApiOptions options);

  // Whether `target` is one of ours (prefix, /healthz, /metrics, the web
  // UI at /, /index.html and /ui/, fakemx/ui_assets.h), so the
  // server can send everything else to Mailpit's handler or a 404.
  static bool Owns(const HttpTarget& target);

  // Routes a request. Never fails: a bad request is an HttpResponse with
  // its JSON error.
  ApiOutcome Handle(const HttpRequest& request, const HttpTarget& target);

  // The answer to `wait` if the capture holds a match now (the lowest id
  // above `after` that matches), else nullopt.
  std::optional<HttpResponse> TryAnswerWait(const ApiWait& wait) const;
  // The same test against one message or session as it arrives (from a
  // CaptureObserver), without scanning the store.
  static std::optional<HttpResponse> AnswerWaitWithMessage(const ApiWait& wait,
                                                           const CapturedSession& session,
                                                           const CapturedMessage& message);
  static std::optional<HttpResponse> AnswerWaitWithSession(const ApiWait& wait,
                                                           const CapturedSession& session);
  // 408 with a JSON error saying what was waited for and how long.
  static HttpResponse WaitTimedOut(const ApiWait& wait);
  // 200 with the scenario, or the switch's error: 400 for InvalidArgument
  // (a bad name or YAML; the text's "line:column: what"), 409 for
  // FailedPrecondition, 500 otherwise.
  static HttpResponse ScenarioSwitched(const absl::StatusOr<ApiScenario>& result);

 private:
  HttpResponse Messages(const HttpRequest& request, const HttpTarget& target);
  HttpResponse Sessions(const HttpRequest& request, const HttpTarget& target);
  ApiOutcome Wait(const HttpRequest& request, const HttpTarget& target);
  ApiOutcome Scenario(const HttpRequest& request, const HttpTarget& target);
  // GET /fakemx/v1/scenarios: the built-in catalogue, {name, summary} in
  // `fakemx --list-scenarios` order.
  HttpResponse Scenarios(const HttpRequest& request, const HttpTarget& target);
  HttpResponse Metrics(const HttpRequest& request, const HttpTarget& target);
  HttpResponse Healthz(const HttpRequest& request, const HttpTarget& target);

  ApiBackend* backend_;
  ApiOptions options_;
};

// The JSON of `scenario` (GET /fakemx/v1/scenario).
std::string ApiScenarioJson(const ApiScenario& scenario);
// Prometheus text exposition format 0.0.4 of `families`.
std::string FormatMetrics(const std::vector<MetricFamily>& families);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_API_H_
