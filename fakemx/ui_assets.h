// fakemx's web UI (fakemx/ui/README.md): index.html, app.css and app.js,
// embedded at build time by //fakemx:ui_assets_inc (fakemx/embed_files.py),
// and the sans-IO handler that serves them on the API listener at `/`,
// `/index.html` and `/ui/NAME` with the headers that keep the page safe: a
// strict Content-Security-Policy, nosniff, no Referer, and an ETag so that a
// reload costs a 304.

#ifndef MXKIT_FAKEMX_UI_ASSETS_H_
#define MXKIT_FAKEMX_UI_ASSETS_H_

#include <optional>
#include <span>
#include <string_view>

#include "fakemx/http_target.h"
#include "fakemx/http_types.h"

namespace mxkit::fakemx {

struct UiAsset {
  std::string_view name;          // "app.js": the file's base name in fakemx/ui/
  std::string_view content_type;  // from the extension, fixed at build time
  std::string_view etag;          // strong validator, quoted: "\"<32 hex>\""
  std::string_view bytes;         // the file exactly as committed
};

// Every embedded file, in the order //fakemx:ui_assets_inc lists them.
std::span<const UiAsset> UiAssets();
// The file named `name` ("index.html"), or nullptr.
const UiAsset* FindUiAsset(std::string_view name);

// The page's policy (CSP Level 3): its own script and style only, no inline
// script, no plugins, fetch and the /api/events websocket to its own origin
// only ('self' matches ws:/wss: to the same host and port, CSP3 §6.7.2.8),
// frames only from its own origin (the sandboxed /view/{ID}.html), never
// framed itself.
inline constexpr std::string_view kUiContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// Whether `target` is one of the UI's paths: `/`, `/index.html`,
// `/favicon.ico` (answered 204: no icon) or `/ui/...`.
bool IsUiPath(const HttpTarget& target);

// Answers a request for a UI path (IsUiPath): 200 with the file for GET and
// HEAD (the server drops the body of a HEAD answer, RFC 9110 §9.3.2), 304
// when `request.if_none_match` names the file's ETag (weak comparison, RFC
// 9110 §13.1.2), 404 for an unknown /ui/ file, 405 for another method. The
// query is ignored (a cache-busting "?v=" is harmless).
HttpResponse ServeUi(const HttpRequest& request, const HttpTarget& target);

// Whether an If-None-Match field value (RFC 9110 §13.1.2: "*" or a list of
// entity-tags, each perhaps W/-prefixed) matches `etag` by weak comparison.
// A malformed list matches nothing, so the full answer is sent.
bool IfNoneMatchMatches(std::string_view field_value, std::string_view etag);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_UI_ASSETS_H_
