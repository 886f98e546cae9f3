#include "fakemx/ui_assets.h"

#include <cstdint>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/ascii.h"

namespace mxkit::fakemx {
namespace {

// A path quoted in an error: short, so an error never echoes a hostile
// request back whole.
constexpr size_t kMaxQuotedOctets = 64;

constexpr UiAsset kAssets[] = {
#include "fakemx/ui_assets.inc"
};

// RFC 9110 §5.6.3: optional whitespace.
bool IsOws(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 §8.8.3: etagc = "!" / %x23-7E / obs-text.
bool IsEtagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7F);
}

// Every answer of the UI carries these, 304s included (RFC 9110 §15.4.5:
// a 304 repeats the fields a 200 would have sent that describe the
// representation and its caching).
void AddCommonHeaders(HttpResponse& r, const UiAsset& asset) {
  r.headers.emplace_back("ETag", std::string(asset.etag));
  // Cached, but revalidated on every use: a new fakemx binary brings a new
  // page, and a revalidation is one 304.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Security-Policy", UiContentSecurityPolicy());
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

const UiAsset& Asset(std::string_view name) {
  const UiAsset* a = FindUiAsset(name);
  // //fakemx:ui_assets_inc lists every file this file names; api_test
  // checks each is there.
  return a != nullptr ? *a : kAssets[0];
}

// The places in index.html that ComposeUiPage fills, in document order
// (api_test checks that each is there once).
constexpr std::string_view kCssMarker = "<!--fakemx:app.css-->";
constexpr std::string_view kViewMarker = "<!--fakemx:first-view-->";
constexpr std::string_view kScriptMarker = "<!--fakemx:first-view.js-->";

// Escaped for HTML text and for a quoted attribute value alike (HTML
// §13.1.2.3, §13.1.3): the five characters that could end either or start
// markup. Every value comes from mail or an SMTP client under test.
void AppendHtml(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

// JavaScript's encodeURIComponent (ECMA-262 §19.2.6.4): every octet but
// the unreserved marks percent-encoded, as app.js makes a row's link.
void AppendUriComponent(std::string& out, std::string_view text) {
  base::AppendPercentEncoded(out, text, "-_.!~*'()");
}

// A string member, or "" when it is missing, null or not a string (app.js
// shows a fallback text for those, and so does the render).
std::string_view Str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const boost::json::string& s = v->get_string();
  return {s.data(), s.size()};
}

// app.js formatAddress: "Name <Address>", or whichever is there.
std::string FormatAddress(const boost::json::value& v) {
  if (!v.is_object()) return "";
  const std::string_view name = Str(v.get_object(), "Name");
  const std::string_view address = Str(v.get_object(), "Address");
  if (!name.empty() && !address.empty()) return std::string(name) + " <" + std::string(address) + ">";
  return std::string(address.empty() ? name : address);
}

// app.js formatAddresses: the non-empty ones, ", " between them.
std::string FormatAddresses(const boost::json::object& o, std::string_view key) {
  std::string out;
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const boost::json::value& a : v->get_array()) {
    const std::string one = FormatAddress(a);
    if (one.empty()) continue;
    if (!out.empty()) out += ", ";
    out += one;
  }
  return out;
}

// "2026-11-30T00:22:04.415801Z" -> "2026-11-30 00:22:04", app.js's
// formatTime in UTC; anything else is shown as it came (app.js, too, shows
// a time it cannot read as it came).
std::string FormatUtcTime(std::string_view iso) {
  const bool shaped = iso.size() >= 19 && iso[4] == '-' && iso[7] == '-' && iso[10] == 'T' &&
                      iso[13] == ':' && iso[16] == ':';
  if (!shaped) return std::string(iso);
  std::string out(iso.substr(0, 19));
  out[10] = ' ';
  return out;
}

// The icons exactly as app.js's lockIcon and senderIcon make them: an empty
// span of class "icon <family>-<kind>" with the reason as title and label,
// drawn by app.css from its data-<family> kind.
void AppendIcon(std::string& out, std::string_view family, std::string_view kind,
                std::string_view reason) {
  const std::string_view text = reason.empty() ? kind : reason;
  out += "<span class=\"icon ";
  out += family;
  out += '-';
  out += kind;
  out += "\" role=\"img\" title=\"";
  AppendHtml(out, text);
  out += "\" aria-label=\"";
  AppendHtml(out, text);
  out += "\" data-";
  out += family;
  out += "=\"";
  out += kind;
  out += "\"></span>";
}

void AppendLockIcon(std::string& out, bool encrypted, std::string_view reason) {
  AppendIcon(out, "lock", encrypted ? "encrypted" : "red_lock", reason);
}

void AppendSenderIcon(std::string& out, std::string_view kind, std::string_view reason) {
  AppendIcon(out, "sender", kind, reason);
}

// One row, as app.js's inboxRow makes it.
absl::Status AppendRow(std::string& out, const boost::json::value& v, size_t index) {
  if (!v.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("messages[", index, "] is not an object"));
  }
  const boost::json::object& m = v.get_object();
  std::string id;
  if (const boost::json::value* idv = m.if_contains("ID"); idv != nullptr && idv->is_string()) {
    id = std::string(idv->get_string());
  } else if (idv != nullptr && idv->is_int64()) {
    id = std::to_string(idv->get_int64());
  } else {
    return absl::InvalidArgumentError(absl::StrCat("messages[", index, "] has no string or integer ID"));
  }
  static const boost::json::object kNone;
  const boost::json::value* fmv = m.if_contains("FakeMX");
  const boost::json::object& fm = fmv != nullptr && fmv->is_object() ? fmv->get_object() : kNone;
  const bool encrypted = Str(fm, "Lock") == "encrypted";
  std::string_view sender = Str(fm, "Sender");
  if (sender != "authenticated" && sender != "question_mark") sender = "unchecked";
  const boost::json::value* readv = m.if_contains("Read");
  const bool read = readv != nullptr && readv->is_bool() && readv->get_bool();

  out += read ? "<li><a class=\"row\" href=\"#/message/" : "<li><a class=\"row unread\" href=\"#/message/";
  AppendUriComponent(out, id);
  out += "\" data-message-id=\"";
  AppendHtml(out, id);
  out += "\"><span class=\"icons\">";
  AppendLockIcon(out, encrypted, Str(fm, "LockReason"));
  AppendSenderIcon(out, sender, Str(fm, "SenderReason"));
  out += "</span><span class=\"from\" data-field=\"from\">";
  const boost::json::value* from = m.if_contains("From");
  const std::string from_text = from != nullptr ? FormatAddress(*from) : "";
  AppendHtml(out, from_text.empty() ? "(no From)" : from_text);
  out += "</span><span class=\"to\" data-field=\"to\">";
  std::string to = FormatAddresses(m, "To");
  if (to.empty()) to = FormatAddresses(m, "Bcc");
  AppendHtml(out, to.empty() ? "(no recipient)" : to);
  out += "</span><span class=\"subject\">";
  if (!read) out += "<span class=\"visually-hidden\">Unread: </span>";
  out += "<span data-field=\"subject\">";
  const std::string_view subject = Str(m, "Subject");
  AppendHtml(out, subject.empty() ? "(no subject)" : subject);
  out += "</span>";
  if (const std::string_view snippet = Str(m, "Snippet"); !snippet.empty()) {
    out += "<span class=\"snippet\"> \u2014 ";
    AppendHtml(out, snippet);
    out += "</span>";
  }
  out += "</span><span class=\"receiver\" data-field=\"receiver\">";
  AppendHtml(out, Str(fm, "Receiver"));
  const std::string_view created = Str(m, "Created");
  out += "</span><time data-field=\"time\" datetime=\"";
  AppendHtml(out, created);
  out += "\" title=\"";
  AppendHtml(out, created);
  out += "\">";
  AppendHtml(out, created.empty() ? "" : FormatUtcTime(created));
  out += "</time></a></li>";
  return absl::OkStatus();
}

}  // namespace

const std::string& UiContentSecurityPolicy() {
  static const std::string* const policy = new std::string(
      "default-src 'none'; script-src 'self' " + std::string(Asset("first-view.js").csp_hash) +
      "; style-src 'self' " + std::string(Asset("app.css").csp_hash) +
      "; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'");
  return *policy;
}

absl::StatusOr<std::string> RenderUiInbox(std::string_view messages_json) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(messages_json, ec);
  if (ec) return absl::InvalidArgumentError("the messages list is not JSON: " + ec.message());
  if (!v.is_object()) return absl::InvalidArgumentError("the messages list is not a JSON object");
  const boost::json::object& o = v.get_object();
  const boost::json::value* messages = o.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) {
    return absl::InvalidArgumentError("the messages list has no array \"messages\"");
  }
  const boost::json::value* totalv = o.if_contains("total");
  if (totalv == nullptr || !totalv->is_int64() || totalv->get_int64() < 0) {
    return absl::InvalidArgumentError("the messages list has no count \"total\"");
  }
  const int64_t total = totalv->get_int64();
  const boost::json::array& list = messages->get_array();
  const int64_t count = static_cast<int64_t>(list.size());
  std::string rows;
  for (size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = AppendRow(rows, list[i], i); !s.ok()) return s;
  }
  std::string out = absl::StrCat(
      "<section id=\"inbox-view\" aria-labelledby=\"inbox-heading\"><div class=\"view-head\">"
      "<h1 id=\"inbox-heading\">Inbox</h1><nav class=\"pager\" aria-label=\"Pages\">"
      "<button type=\"button\" id=\"page-prev\" disabled=\"\">\u2039 Newer</button><span id=\"page-info\">",
      count == 0 || total == 0 ? absl::StrCat("0 of ", total) : absl::StrCat("1\u2013", count, " of ", total),
      "</span><button type=\"button\" id=\"page-next\"", count >= total ? " disabled=\"\"" : "",
      ">Older \u203a</button></nav></div><div class=\"inbox-columns\" aria-hidden=\"true\">"
      "<span class=\"icons\"></span><span class=\"from\">From</span><span class=\"to\">To</span>"
      "<span class=\"subject\">Subject</span><span class=\"receiver\">Receiver</span>"
      "<span class=\"time\">Received</span></div>"
      "<ol id=\"inbox\" class=\"inbox\" aria-label=\"Messages, newest first\" data-total=\"",
      total, "\">", rows,
      "</ol><p id=\"inbox-empty\" class=\"empty\"", count > 0 ? " hidden=\"\"" : "",
      ">No messages yet. Send one to a receiver of the running scenario.</p></section>");
  return out;
}

std::string ComposeUiPage(std::optional<std::string_view> first_inbox_page) {
  std::string view;
  if (first_inbox_page) {
    absl::StatusOr<std::string> inbox = RenderUiInbox(*first_inbox_page);
    // Not rendered: app.js fetches and shows the page, or the API's error.
    if (inbox.ok()) view = *std::move(inbox);
  }
  if (view.empty()) view = "<p>Loading\u2026</p>";
  const std::string_view css = Asset("app.css").bytes;
  const std::string_view script = Asset("first-view.js").bytes;
  const std::pair<std::string_view, std::string> fills[] = {
      {kCssMarker, "<style>" + std::string(css) + "</style>"},
      {kViewMarker, std::move(view)},
      {kScriptMarker, "<script>" + std::string(script) + "</script>"},
  };
  std::string_view rest = Asset("index.html").bytes;
  std::string out;
  out.reserve(rest.size() + css.size() + script.size() + fills[1].second.size() + 64);
  for (const auto& [marker, fill] : fills) {
    const size_t at = rest.find(marker);
    if (at == std::string_view::npos) continue;
    out.append(rest.substr(0, at));
    out += fill;
    rest.remove_prefix(at + marker.size());
  }
  out.append(rest);
  return out;
}

std::span<const UiAsset> UiAssets() { return kAssets; }

const UiAsset* FindUiAsset(std::string_view name) {
  for (const UiAsset& a : kAssets) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool IsUiPage(const HttpTarget& target) {
  const auto& s = target.segments;
  return s.empty() || (s.size() == 1 && s[0] == "index.html");
}

bool IsUiPath(const HttpTarget& target) {
  const auto& s = target.segments;
  return s.empty() || (s.size() == 1 && (s[0] == "index.html" || s[0] == "favicon.ico")) ||
         (!s.empty() && s[0] == "ui");
}

bool IfNoneMatchMatches(std::string_view v, std::string_view etag) {
  // The opaque-tag of `etag` without its quotes, for weak comparison.
  if (etag.size() < 2) return false;
  const std::string_view opaque = etag.substr(1, etag.size() - 2);
  size_t i = 0;
  auto skip_ows = [&] {
    while (i < v.size() && IsOws(v[i])) ++i;
  };
  skip_ows();
  size_t end = v.size();
  while (end > i && IsOws(v[end - 1])) --end;
  v = v.substr(0, end);
  if (v.substr(i) == "*") return true;
  bool matched = false;
  bool expect_tag = true;
  while (i < v.size()) {
    if (expect_tag) {
      if (v.substr(i, 2) == "W/") i += 2;
      if (i >= v.size() || v[i] != '"') return false;
      const size_t begin = ++i;
      while (i < v.size() && IsEtagc(v[i])) ++i;
      if (i >= v.size() || v[i] != '"') return false;
      if (v.substr(begin, i - begin) == opaque) matched = true;
      ++i;
      expect_tag = false;
    } else if (v[i] == ',') {
      ++i;
      expect_tag = true;
    } else {
      return false;
    }
    skip_ows();
    // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
    while (expect_tag && i < v.size() && v[i] == ',') {
      ++i;
      skip_ows();
    }
  }
  return matched;
}

HttpResponse ServeUi(const HttpRequest& request, const HttpTarget& target,
                     std::optional<std::string_view> first_inbox_page) {
  const auto& s = target.segments;
  if (s.size() == 1 && s[0] == "favicon.ico") {
    // Browsers ask for it unbidden; a 404 would be a console error on every
    // load (the page promises none). 204: there is no icon, and that is fine.
    if (request.method != "GET" && request.method != "HEAD") {
      return JsonMethodNotAllowed(request.method, "GET, HEAD");
    }
    HttpResponse r;
    r.status = 204;
    r.content_type.clear();
    r.headers.emplace_back("Cache-Control", "max-age=86400");
    return r;
  }
  if (IsUiPage(target)) {
    if (request.method != "GET" && request.method != "HEAD") {
      return JsonMethodNotAllowed(request.method, "GET, HEAD");
    }
    HttpResponse r;
    r.status = 200;
    // The page shows the store as it was: never reused, and no validator
    // (a 304 would bring back an old inbox).
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Security-Policy", UiContentSecurityPolicy());
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.content_type = std::string(Asset("index.html").content_type);
    r.body = ComposeUiPage(first_inbox_page);
    return r;
  }
  const UiAsset* asset = nullptr;
  if (s.size() == 2 && s[0] == "ui" && s[1] != "index.html") {
    // The page is at / only: one URL per document keeps its links and its
    // relative references unambiguous.
    asset = FindUiAsset(s[1]);
  }
  if (asset == nullptr) {
    std::string path;
    for (const std::string& seg : s) path += "/" + seg;
    return JsonError(404, "no such UI file: " + base::QuoteForMessage(path, kMaxQuotedOctets) +
                              " (the UI is index.html at /, /ui/app.css, /ui/app.js and /ui/first-view.js)");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return JsonMethodNotAllowed(request.method, "GET, HEAD");
  }
  HttpResponse r;
  AddCommonHeaders(r, *asset);
  if (!request.if_none_match.empty() && IfNoneMatchMatches(request.if_none_match, asset->etag)) {
    // RFC 9110 §15.4.5: no content, and no Content-Type to describe it.
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = std::string(asset->content_type);
  r.body = std::string(asset->bytes);
  return r;
}

}  // namespace mxkit::fakemx
