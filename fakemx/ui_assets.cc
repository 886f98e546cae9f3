#include "fakemx/ui_assets.h"

#include <string>
#include <utility>

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
  r.headers.emplace_back("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace

std::span<const UiAsset> UiAssets() { return kAssets; }

const UiAsset* FindUiAsset(std::string_view name) {
  for (const UiAsset& a : kAssets) {
    if (a.name == name) return &a;
  }
  return nullptr;
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

HttpResponse ServeUi(const HttpRequest& request, const HttpTarget& target) {
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
  const UiAsset* asset = nullptr;
  if (s.empty() || (s.size() == 1 && s[0] == "index.html")) {
    asset = FindUiAsset("index.html");
  } else if (s.size() == 2 && s[0] == "ui" && s[1] != "index.html") {
    // The page is at / only: one URL per document keeps its links and its
    // relative references unambiguous.
    asset = FindUiAsset(s[1]);
  }
  if (asset == nullptr) {
    std::string path;
    for (const std::string& seg : s) path += "/" + seg;
    return JsonError(404, "no such UI file: " + base::QuoteForMessage(path, kMaxQuotedOctets) +
                              " (the UI is index.html at /, /ui/app.css and /ui/app.js)");
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
