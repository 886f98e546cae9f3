// fakemx's web UI (fakemx/ui/README.md): index.html, app.css, app.js and
// first-view.js, embedded at build time by //fakemx:ui_assets_inc
// (fakemx/embed_files.py), and the sans-IO handler that serves them on the
// API listener at `/`, `/index.html` and `/ui/NAME` with the headers that
// keep the page safe: a strict Content-Security-Policy, nosniff, no Referer,
// and for the files an ETag so that a reload costs a 304.
//
// The page itself is composed per request: app.css and first-view.js
// inline (allowed by their CSP hashes, nothing else inline is) and the
// inbox's first page rendered into it, so the first frame needs no other
// request and no script (the 200 ms load target of issue 12).

#ifndef MXKIT_FAKEMX_UI_ASSETS_H_
#define MXKIT_FAKEMX_UI_ASSETS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

#include "fakemx/http_target.h"
#include "fakemx/http_types.h"

namespace mxkit::fakemx {

struct UiAsset {
  std::string_view name;          // "app.js": the file's base name in fakemx/ui/
  std::string_view content_type;  // from the extension, fixed at build time
  std::string_view etag;          // strong validator, quoted: "\"<32 hex>\""
  std::string_view csp_hash;      // CSP3 hash-source of the bytes: "'sha256-<base64>'"
  std::string_view bytes;         // the file exactly as committed
};

// Every embedded file, in the order //fakemx:ui_assets_inc lists them.
std::span<const UiAsset> UiAssets();
// The file named `name` ("index.html"), or nullptr.
const UiAsset* FindUiAsset(std::string_view name);

// The policy of every UI answer (CSP Level 3): its own script and style,
// and inline only app.css and first-view.js (by their hashes: an injected
// <script> or <style> matches neither), no plugins, fetch and the
// /api/events websocket to its own origin only ('self' matches ws:/wss: to
// the same host and port, CSP3 §6.7.2.8), frames only from its own origin
// (the sandboxed /view/{ID}.html), never framed itself.
const std::string& UiContentSecurityPolicy();

// The API request whose answer (docs/api_mailpit.md, "List messages") the
// page's first inbox page is rendered from: the same one app.js makes for
// page 1 (its PAGE_SIZE).
inline constexpr std::string_view kUiFirstInboxPageTarget = "/api/v1/messages?start=0&limit=25";

// Whether `target` is one of the UI's paths: `/`, `/index.html`,
// `/favicon.ico` (answered 204: no icon) or `/ui/...`.
bool IsUiPath(const HttpTarget& target);
// Whether `target` is the page itself: `/` or `/index.html`.
bool IsUiPage(const HttpTarget& target);

// Answers a request for a UI path (IsUiPath). A file (/ui/NAME): 200 with
// it for GET and HEAD (the server drops the body of a HEAD answer, RFC 9110
// §9.3.2), 304 when `request.if_none_match` names the file's ETag (weak
// comparison, RFC 9110 §13.1.2), 404 for an unknown /ui/ file. The page:
// 200 with ComposeUiPage(first_inbox_page), not stored by the browser (it
// shows the store as it was), no ETag. 405 for another method. The query
// is ignored (a cache-busting "?v=" is harmless).
HttpResponse ServeUi(const HttpRequest& request, const HttpTarget& target,
                     std::optional<std::string_view> first_inbox_page = std::nullopt);

// index.html with app.css and first-view.js inline and, in #view, the inbox
// rendered from `first_inbox_page` (the JSON answer to
// kUiFirstInboxPageTarget) by RenderUiInbox. Without it, or when it cannot
// be rendered, #view says "Loading…" and app.js fetches the page itself.
std::string ComposeUiPage(std::optional<std::string_view> first_inbox_page);

// The inbox view app.js renders for page 1 (fakemx/ui/app.js renderInbox
// and inboxRow; tests/web_ui_test.js checks that both give the same DOM),
// as HTML, from a Mailpit "List messages" answer: `messages` (each with ID,
// Read, From, To, Bcc, Subject, Snippet, Created, FakeMX) and `total`.
// Every value is escaped; times are the UTC wall clock of `Created`, which
// app.js rewrites to local time when it takes over. An error names what in
// the JSON is not as expected.
absl::StatusOr<std::string> RenderUiInbox(std::string_view messages_json);

// Whether an If-None-Match field value (RFC 9110 §13.1.2: "*" or a list of
// entity-tags, each perhaps W/-prefixed) matches `etag` by weak comparison.
// A malformed list matches nothing, so the full answer is sent.
bool IfNoneMatchMatches(std::string_view field_value, std::string_view etag);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_UI_ASSETS_H_
