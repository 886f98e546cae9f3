// Fuzz target for //fakemx:mailpit_api: requests (method, target, body)
// against a store holding a few messages, the input deciding both the
// requests and (part of) the stored bytes.
//
// Input: lines. Line 0 is a message fakemx stores (with "\\n" as CRLF); every
// later line is one request "METHOD TARGET[ BODY]". Properties checked (a
// violation traps, naming it):
//  1. Every answer has a status Mailpit uses (200, 400, 404, 405, 501).
//  2. A JSON answer parses as JSON (Boost.JSON, UTF-8 validated); a
//     text/plain error ends in a newline and is not empty.
//  3. The store's message count never rises through the API, and a 200
//     GET of a list has "total" equal to the store's count.
//  4. NewMessageEvent of every stored message is valid JSON.
//  5. A 200 list (messages, search) is newest first: IDs strictly
//     decreasing, also when a kept-alive session's later message is newer
//     than another session's (the store holds such a pair).
//  6. A 200 /view/{ID}.html carries the sandboxing Content-Security-Policy
//     and nosniff; a 200 .txt view carries nosniff.
//  7. A 200 message's FakeMX.Transcript is its part of the session's
//     transcript: its entries plus TranscriptOmitted's "entries" and
//     "after" make "session_entries", and "at" lies within it. (The first
//     session records a kept-alive connection: opening, transactions.)

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include <boost/json.hpp>

#include "fakemx/capture.h"
#include "fakemx/http_target.h"
#include "fakemx/mailpit_api.h"
#include "fuzz/property_check.h"

namespace {

using namespace mxkit::fakemx;  // NOLINT: a fuzz target names many of them

bool ValidJson(std::string_view text) {
  boost::system::error_code ec;
  try {
    boost::json::parse(text, ec);
  } catch (...) {
    return false;
  }
  return !ec;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += "\r\n";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // One store and handler for the process, cleared per input: a store per
  // input would map and fault in a fresh 2 MiB arena chunk each time
  // (fakemx/byte_arena.h keeps released chunks for reuse).
  static CaptureStore& store = *new CaptureStore();
  static MailpitApi& api = *new MailpitApi(store, 1);
  store.Clear();
  std::vector<std::shared_ptr<CapturedSession>> sessions;
  auto add = [&](std::string raw, std::string rcpt) {
    std::shared_ptr<CapturedSession> s = store.Open(CapturedSession{});
    CapturedMessage m;
    m.delivery.reverse_path = "a@example.test";
    m.delivery.recipients.push_back({std::move(rcpt), {}});
    m.raw = std::move(raw);
    store.AddMessage(*s, std::move(m));
    sessions.push_back(s);
  };
  size_t eol = input.find('\n');
  add(Unescape(input.substr(0, eol)), "b@example.test");
  add("From: c@example.test\r\nSubject: fixed\r\n\r\nbody\r\n", "d\xFF@example.test");
  {
    // The first session delivers again after the second: ids interleave.
    // As the server records it, so each message has its transcript slice.
    CapturedSession& first = *sessions[0];
    using K = TranscriptEntry::Kind;
    store.Append(first, K::kReply, 1, "250 queued");
    store.Append(first, K::kCommand, 2, "RSET");
    store.Append(first, K::kReply, 2, "250 ok");
    store.Append(first, K::kCommand, 3, "MAIL FROM:<>");
    store.StartTransaction(first);
    store.Append(first, K::kReply, 3, "250 ok");
    CapturedMessage m;
    m.delivery.recipients.push_back({"e@example.test", {}});
    m.raw = std::string("Subject: again\r\n\r\nx\r\n");
    store.AddMessage(first, std::move(m));
    store.Append(first, K::kReply, 4, "250 queued");
    store.Append(first, K::kCommand, 5, "QUIT");
  }
  if (eol == std::string_view::npos) eol = input.size();
  input.remove_prefix(std::min(input.size(), eol + 1));

  size_t requests = 0;
  while (!input.empty() && requests++ < 16) {
    size_t end = input.find('\n');
    std::string_view line = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    HttpRequest request;
    const size_t sp1 = line.find(' ');
    request.method = std::string(line.substr(0, sp1));
    if (sp1 == std::string_view::npos) continue;
    std::string_view rest = line.substr(sp1 + 1);
    const size_t sp2 = rest.find(' ');
    request.target = std::string(rest.substr(0, sp2));
    if (sp2 != std::string_view::npos) request.body = std::string(rest.substr(sp2 + 1));
    absl::StatusOr<HttpTarget> target = ParseHttpTarget(request.target);
    if (!target.ok()) continue;
    const uint64_t before = store.stats().messages;
    std::optional<HttpResponse> r = api.Handle(request, *target, 2000000);
    MXKIT_FUZZ_CHECK(store.stats().messages <= before);
    if (!r) continue;
    MXKIT_FUZZ_CHECK(r->status == 200 || r->status == 400 || r->status == 404 ||
                     r->status == 405 || r->status == 501);
    if (r->content_type == "application/json") {
      MXKIT_FUZZ_CHECK(ValidJson(r->body));
      if (request.method == "GET" && r->status == 200 && target->segments.size() == 3 &&
          target->segments[2] == "messages") {
        const boost::json::value v = boost::json::parse(r->body);
        MXKIT_FUZZ_CHECK(v.at("total").as_int64() == static_cast<int64_t>(store.stats().messages));
      }
      if (request.method == "GET" && r->status == 200 && target->segments.size() == 4 &&
          target->segments[2] == "message") {
        const boost::json::value v = boost::json::parse(r->body);
        const boost::json::object* fm = v.as_object().if_contains("FakeMX")
                                             ? &v.at("FakeMX").as_object()
                                             : nullptr;
        if (fm != nullptr && fm->contains("Transcript")) {
          const int64_t shown = static_cast<int64_t>(fm->at("Transcript").as_array().size());
          const boost::json::value& o = fm->at("TranscriptOmitted");
          MXKIT_FUZZ_CHECK(shown + o.at("entries").as_int64() + o.at("after").as_int64() ==
                           o.at("session_entries").as_int64());
          MXKIT_FUZZ_CHECK(o.at("at").as_int64() <= shown);
        }
      }
      if (request.method == "GET" && r->status == 200 && target->segments.size() == 3 &&
          (target->segments[2] == "messages" || target->segments[2] == "search")) {
        const boost::json::value v = boost::json::parse(r->body);
        uint64_t previous = UINT64_MAX;
        for (const boost::json::value& m : v.at("messages").as_array()) {
          const uint64_t id = std::stoull(std::string(m.at("ID").as_string()));
          MXKIT_FUZZ_CHECK(id < previous);
          previous = id;
        }
      }
    } else if (r->status == 200 && target->segments.size() == 2 &&
               target->segments[0] == "view") {
      auto header = [&](std::string_view name) -> std::string {
        for (const auto& [n, v] : r->headers) {
          if (n == name) return v;
        }
        return "";
      };
      MXKIT_FUZZ_CHECK(header("X-Content-Type-Options") == "nosniff");
      if (r->content_type.rfind("text/html", 0) == 0) {
        MXKIT_FUZZ_CHECK(header("Content-Security-Policy") == kViewContentSecurityPolicy);
      }
    } else if (r->status != 200) {
      MXKIT_FUZZ_CHECK(!r->body.empty() && r->body.back() == '\n');
    }
  }
  for (const auto& s : store.Sessions()) {
    for (const CapturedMessage& m : s->messages) {
      MXKIT_FUZZ_CHECK(ValidJson(MailpitApi::NewMessageEvent(*s, m)));
    }
  }
  return 0;
}
