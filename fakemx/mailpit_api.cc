#include "fakemx/mailpit_api.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "base/ascii.h"
#include "base/json.h"
#include "base/utf8.h"
#include "base/version.h"
#include "fakemx/api_json.h"
#include "fakemx/delivery.h"
#include "fakemx/mailpit_search.h"
#include "fakemx/message_order.h"
#include "fakemx/verdict_json.h"
#include "fakemx/verdict_reasons.h"
#include "message/header_block.h"
#include "message/mime.h"

namespace mxkit::fakemx {

// Counts what the store accepted while this handler was alive, for
// /api/v1/info's RuntimeStats (Mailpit counts since its start; fakemx's
// handler is made at start, so the two agree).
class MailpitApi::Accepted : public CaptureObserver {
 public:
  void OnMessageAdded(const CapturedSession&, const CapturedMessage& message) override {
    bytes += message.raw.size();
  }
  uint64_t bytes = 0;
};

namespace {

using base::AppendJsonString;
using message::DisplayAddress;

// Mailpit's list default (server/apiv1/messages.go: limit 50).
constexpr size_t kDefaultLimit = 50;
// Mailpit's snippet: "up to 250 characters" (the swagger's MessageSummary).
constexpr size_t kSnippetChars = 250;
// Request bodies of PUT/DELETE /api/v1/messages: a list of IDs and a search.
// 20 digits and quotes per ID; a million IDs is more than the store holds.
constexpr size_t kMaxBodyBytes = size_t{16} << 20;
constexpr int kMaxBodyJsonDepth = 8;

// What the Mailpit JSON is built from: one stored message, read once.
struct Parsed {
  std::string message_id;
  std::optional<DisplayAddress> from;
  std::vector<DisplayAddress> to, cc, bcc, reply_to;
  std::string subject;
  std::string return_path;
  std::optional<int64_t> date_s;
  std::string list_unsubscribe;
  std::string list_unsubscribe_post;
  message::MimeContent content;
  message::HeaderBlock block;  // views into the stored message
};

message::HeaderBlockResult SplitLeniently(std::string_view raw) {
  message::HeaderBlockOptions options;
  options.allow_bare_lf = true;
  options.allow_wsp_before_colon = true;
  options.allow_unterminated_last_field = true;
  return message::SplitHeaderBlock(raw, options);
}

std::string Unfolded(const message::HeaderBlock& block, std::string_view name) {
  const message::HeaderField* f = block.FindFirst(name);
  return f == nullptr ? std::string() : message::UnfoldHeaderValue(f->raw_value);
}

std::vector<DisplayAddress> Addresses(const message::HeaderBlock& block, std::string_view name) {
  std::vector<DisplayAddress> out;
  for (const message::HeaderField* f : block.FindAll(name)) {
    for (DisplayAddress& a : message::ReadAddressList(f->raw_value)) out.push_back(std::move(a));
  }
  return out;
}

std::string StripAngles(std::string s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') return s.substr(1, s.size() - 2);
  return s;
}

Parsed Parse(const CapturedMessage& m) {
  Parsed p;
  // The block's views point into the capture's bytes, which the session
  // (held by the caller) keeps alive.
  message::HeaderBlockResult split = SplitLeniently(m.raw.view());
  p.block = std::move(split.block);  // the fields before an error, when there is one
  p.message_id = StripAngles(Unfolded(p.block, "Message-ID"));
  std::vector<DisplayAddress> from = Addresses(p.block, "From");
  if (!from.empty()) p.from = std::move(from.front());
  p.to = Addresses(p.block, "To");
  p.cc = Addresses(p.block, "Cc");
  p.bcc = Addresses(p.block, "Bcc");
  p.reply_to = Addresses(p.block, "Reply-To");
  // Mailpit lists envelope recipients that no To or Cc names as Bcc (the
  // only place a blind copy's recipient shows), and so does fakemx.
  for (const DeliveryRecipient& r : m.delivery.recipients) {
    auto same = [&](const DisplayAddress& a) { return base::EqualsIgnoreCase(a.address, r.address); };
    if (std::none_of(p.to.begin(), p.to.end(), same) &&
        std::none_of(p.cc.begin(), p.cc.end(), same) &&
        std::none_of(p.bcc.begin(), p.bcc.end(), same)) {
      std::string address;
      base::AppendUtf8Replacing(address, r.address);
      p.bcc.push_back({"", std::move(address)});
    }
  }
  if (const message::HeaderField* f = p.block.FindFirst("Subject")) {
    p.subject = message::DecodeHeaderText(f->raw_value);
  }
  // Mailpit shows the Return-Path field, which it adds from MAIL FROM on
  // receipt (RFC 5321 §4.4 has the final delivery MTA add it); fakemx
  // stores the message as received, so falls back to MAIL FROM.
  p.return_path = StripAngles(Unfolded(p.block, "Return-Path"));
  if (p.return_path.empty() && p.block.FindFirst("Return-Path") == nullptr) {
    p.return_path = m.delivery.reverse_path;
  }
  if (const message::HeaderField* f = p.block.FindFirst("Date")) {
    p.date_s = message::ParseRfc5322Date(f->raw_value);
  }
  p.list_unsubscribe = Unfolded(p.block, "List-Unsubscribe");
  p.list_unsubscribe_post = Unfolded(p.block, "List-Unsubscribe-Post");
  p.content = message::ReadMimeContent(m.raw.view());
  return p;
}

// Text of an HTML body for the snippet and for search: tags dropped, the
// contents of <script> and <style> dropped, the five XML entities and
// &nbsp; decoded. Enough for a snippet; not an HTML parser.
std::string HtmlToText(std::string_view html) {
  std::string out;
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      const size_t close = html.find('>', i);
      if (close == std::string_view::npos) break;
      const std::string tag = base::AsciiLower(html.substr(i + 1, std::min<size_t>(6, close - i - 1)));
      i = close + 1;
      for (std::string_view skip : {"script", "style"}) {
        if (tag.rfind(skip, 0) == 0) {
          const std::string end = "</" + std::string(skip);
          size_t e = i;
          while (e < html.size()) {
            e = html.find("</", e);
            if (e == std::string_view::npos) break;
            if (base::StartsWithIgnoreCase(html.substr(e), end)) break;
            e += 2;
          }
          i = e == std::string_view::npos ? html.size() : e;
        }
      }
      out += ' ';
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
          {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
          {"&#39;", "'"}, {"&apos;", "'"}, {"&nbsp;", " "}};
      bool done = false;
      for (const auto& [name, text] : kEntities) {
        if (base::StartsWithIgnoreCase(html.substr(i), name)) {
          out += text;
          i += name.size();
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out += c;
    ++i;
  }
  return out;
}

// White space collapsed to single spaces, trimmed, cut to kSnippetChars
// characters (never inside a UTF-8 sequence).
std::string Snippet(const Parsed& p) {
  const std::string source = !p.content.text.empty() ? p.content.text : HtmlToText(p.content.html);
  std::string out;
  size_t chars = 0;
  bool space = false;
  for (size_t i = 0; i < source.size() && chars < kSnippetChars;) {
    const char c = source[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      ++i;
      continue;
    }
    if (space && !out.empty()) {
      out += ' ';
      ++chars;
      if (chars == kSnippetChars) break;
    }
    space = false;
    size_t len = base::Utf8SequenceLength(source, i);
    if (len == 0) len = 1;  // not reached: the MIME reader's text is UTF-8
    out.append(source, i, len);
    i += len;
    ++chars;
  }
  return out;
}

void AppendAddress(std::string& out, const DisplayAddress& a) {
  out += "{\"Name\":";
  AppendJsonString(out, a.name);
  out += ",\"Address\":";
  AppendJsonString(out, a.address);
  out += '}';
}

void AppendAddresses(std::string& out, const std::vector<DisplayAddress>& list) {
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ',';
    AppendAddress(out, list[i]);
  }
  out += ']';
}

void AppendFrom(std::string& out, const Parsed& p) {
  // Mailpit writes null for a message without a From field.
  if (p.from) {
    AppendAddress(out, *p.from);
  } else {
    out += "null";
  }
}

const char* Bool(bool b) { return b ? "true" : "false"; }

// fakemx's facts beside Mailpit's: the session, the verdict summary words
// (in the list too), and in the full message the verdicts
// (fakemx/verdict_json.h), the session's transcript, and the envelope and
// TLS facts (the sidecar JSON of fakemx/delivery.h).
void AppendFakeMx(std::string& out, const CapturedSession& s, const CapturedMessage& m,
                  const Parsed* parsed) {
  out += "{\"SessionID\":" + std::to_string(s.id);
  out += ",\"Receiver\":";
  AppendJsonString(out, s.receiver);
  out += ",\"Scenario\":";
  AppendJsonString(out, s.scenario);
  out += ",\"Lock\":";
  AppendJsonString(out, LockWord(m.verdict->summary));
  out += ",\"Sender\":";
  AppendJsonString(out, m.verdict->evaluated ? SenderWord(m.verdict->summary) : "");
  out += ",\"DMARC\":";
  AppendJsonString(out, m.verdict->evaluated ? m.verdict->summary.dmarc : "");
  // The icons' tooltips (fakemx/verdict_reasons.h), in the list too: the
  // UI's inbox shows them without fetching each message.
  const std::string lock_reason =
      MessageLockReason(m.verdict->summary.encrypted, m.delivery.tls, s.verdict, s.receiver);
  const std::string sender_reason = SenderReason(*m.verdict);
  out += ",\"LockReason\":";
  AppendJsonString(out, lock_reason);
  out += ",\"SenderReason\":";
  AppendJsonString(out, sender_reason);
  if (parsed != nullptr) {
    out += ",\"Verdict\":";
    const VerdictReasonTexts reasons{lock_reason, sender_reason};
    AppendMessageVerdictJson(out, *m.verdict, &reasons);
    out += ",\"SessionVerdict\":";
    const std::string session_lock_reason = SessionLockReason(s.verdict, s.tls, s.receiver);
    AppendSessionVerdictJson(out, s.verdict, &session_lock_reason);
    // The message's part of the session's transcript (a reused connection
    // carries thousands of messages), and what it left out.
    const TranscriptSlice slice = MessageTranscriptSlice(s, m);
    out += ",\"Transcript\":";
    AppendMessageTranscriptJson(out, s, slice);
    out += ",\"TranscriptOmitted\":";
    AppendTranscriptOmittedJson(out, slice);
    std::string delivery = DeliveryToJson(m.delivery, m.maildir_name, m.raw.size());
    while (!delivery.empty() && delivery.back() == '\n') delivery.pop_back();
    out += ",\"Delivery\":" + delivery;
    out += ",\"MimeWarnings\":[";
    for (size_t i = 0; i < parsed->content.warnings.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(out, parsed->content.warnings[i]);
    }
    out += ']';
  }
  out += '}';
}

// Mailpit's MessageSummary (the list and event item).
void AppendSummary(std::string& out, const CapturedSession& s, const CapturedMessage& m,
                   const Parsed& p) {
  out += "{\"ID\":";
  AppendJsonString(out, std::to_string(m.id));
  out += ",\"MessageID\":";
  AppendJsonString(out, p.message_id);
  out += ",\"Read\":";
  out += Bool(m.read);
  out += ",\"From\":";
  AppendFrom(out, p);
  out += ",\"To\":";
  AppendAddresses(out, p.to);
  out += ",\"Cc\":";
  AppendAddresses(out, p.cc);
  out += ",\"Bcc\":";
  AppendAddresses(out, p.bcc);
  out += ",\"ReplyTo\":";
  AppendAddresses(out, p.reply_to);
  out += ",\"Subject\":";
  AppendJsonString(out, p.subject);
  out += ",\"Created\":";
  AppendJsonString(out, FormatRfc3339Micros(m.delivery.received_at_us));
  out += ",\"Username\":\"\",\"Tags\":[],\"Size\":" + std::to_string(m.raw.size());
  out += ",\"Attachments\":" + std::to_string(p.content.attachments.size());
  out += ",\"Snippet\":";
  AppendJsonString(out, Snippet(p));
  out += ",\"FakeMX\":";
  AppendFakeMx(out, s, m, nullptr);
  out += '}';
}

// A digest in lower-case hex, as Mailpit writes its checksums.
template <size_t N>
std::string Hex(const uint8_t (&digest)[N]) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), N));
}

void AppendAttachments(std::string& out, const std::vector<message::MimeAttachment>& list) {
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    const message::MimeAttachment& a = list[i];
    if (i > 0) out += ',';
    out += "{\"PartID\":";
    AppendJsonString(out, a.part_id);
    out += ",\"FileName\":";
    AppendJsonString(out, a.file_name);
    out += ",\"ContentType\":";
    AppendJsonString(out, a.content_type);
    out += ",\"ContentID\":";
    AppendJsonString(out, a.content_id);
    out += ",\"Size\":" + std::to_string(a.content.size());
    const auto* data = reinterpret_cast<const uint8_t*>(a.content.data());
    uint8_t md5[MD5_DIGEST_LENGTH];
    uint8_t sha1[SHA_DIGEST_LENGTH];
    uint8_t sha256[SHA256_DIGEST_LENGTH];
    MD5(data, a.content.size(), md5);
    SHA1(data, a.content.size(), sha1);
    SHA256(data, a.content.size(), sha256);
    out += ",\"Checksums\":{\"MD5\":\"" + Hex(md5) + "\",\"SHA1\":\"" + Hex(sha1) +
           "\",\"SHA256\":\"" + Hex(sha256) + "\"}}";
  }
  out += ']';
}

// RFC 2369 §3.2: a List-Unsubscribe value is a list of <URL>s.
void AppendListUnsubscribe(std::string& out, const Parsed& p) {
  out += "{\"Header\":";
  AppendJsonString(out, p.list_unsubscribe);
  out += ",\"Links\":[";
  std::string errors;
  size_t pos = 0;
  bool first = true;
  while (true) {
    const size_t open = p.list_unsubscribe.find('<', pos);
    if (open == std::string::npos) break;
    const size_t close = p.list_unsubscribe.find('>', open);
    if (close == std::string::npos) {
      errors = "unterminated <URL> in List-Unsubscribe (RFC 2369 §2)";
      break;
    }
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, std::string_view(p.list_unsubscribe).substr(open + 1, close - open - 1));
    pos = close + 1;
  }
  if (first && !p.list_unsubscribe.empty() && errors.empty()) {
    errors = "no <URL> in List-Unsubscribe (RFC 2369 §2)";
  }
  out += "],\"Errors\":";
  AppendJsonString(out, errors);
  out += ",\"HeaderPost\":";
  AppendJsonString(out, p.list_unsubscribe_post);
  out += '}';
}

// Mailpit's Message (GET /api/v1/message/{ID}).
std::string MessageJson(const CapturedSession& s, const CapturedMessage& m, const Parsed& p) {
  std::string out;
  out += "{\"ID\":";
  AppendJsonString(out, std::to_string(m.id));
  out += ",\"MessageID\":";
  AppendJsonString(out, p.message_id);
  out += ",\"From\":";
  AppendFrom(out, p);
  out += ",\"To\":";
  AppendAddresses(out, p.to);
  out += ",\"Cc\":";
  AppendAddresses(out, p.cc);
  out += ",\"Bcc\":";
  AppendAddresses(out, p.bcc);
  out += ",\"ReplyTo\":";
  AppendAddresses(out, p.reply_to);
  out += ",\"ReturnPath\":";
  AppendJsonString(out, p.return_path);
  out += ",\"Subject\":";
  AppendJsonString(out, p.subject);
  out += ",\"ListUnsubscribe\":";
  AppendListUnsubscribe(out, p);
  // Mailpit: "Message date if set, else date received".
  out += ",\"Date\":";
  AppendJsonString(out, FormatRfc3339Micros(p.date_s ? *p.date_s * 1000000
                                                     : m.delivery.received_at_us));
  out += ",\"Tags\":[],\"Username\":\"\",\"Text\":";
  AppendJsonString(out, p.content.text);
  out += ",\"HTML\":";
  AppendJsonString(out, p.content.html);
  out += ",\"Size\":" + std::to_string(m.raw.size());
  out += ",\"Inline\":";
  AppendAttachments(out, p.content.inlines);
  out += ",\"Attachments\":";
  AppendAttachments(out, p.content.attachments);
  out += ",\"FakeMX\":";
  AppendFakeMx(out, s, m, &p);
  out += "}\n";
  return out;
}

// Go's textproto.CanonicalMIMEHeaderKey, which Mailpit's header map uses:
// "message-id" is "Message-Id". A name with a byte outside the token
// characters is left as it is, as Go does.
std::string CanonicalHeaderKey(std::string_view name) {
  for (char c : name) {
    if (!(base::IsAlnum(c) || c == '-' || c == '_' || c == '!' || c == '#' || c == '$' ||
          c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '.' || c == '^' ||
          c == '`' || c == '|' || c == '~')) {
      return std::string(name);
    }
  }
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    c = upper ? base::ToUpperAscii(c) : base::ToLowerAscii(c);
    upper = c == '-';
  }
  return out;
}

std::string HeadersJson(const Parsed& p) {
  // Go's encoding/json writes map keys sorted; values keep message order.
  std::map<std::string, std::vector<std::string>> headers;
  for (const message::HeaderField& f : p.block.fields) {
    headers[CanonicalHeaderKey(f.name)].push_back(message::UnfoldHeaderValue(f.raw_value));
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [name, values] : headers) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, name);
    out += ":[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(out, values[i]);
    }
    out += ']';
  }
  out += "}\n";
  return out;
}

std::string LowerJoined(const std::vector<DisplayAddress>& list) {
  std::string out;
  for (const DisplayAddress& a : list) {
    out += a.name;
    out += ' ';
    out += a.address;
    out += ' ';
  }
  return base::AsciiLower(out);
}

SearchableMessage Searchable(const CapturedMessage& m, const Parsed& p) {
  SearchableMessage s;
  s.from = p.from ? LowerJoined({*p.from}) : std::string();
  s.to = LowerJoined(p.to);
  s.cc = LowerJoined(p.cc);
  s.bcc = LowerJoined(p.bcc);
  s.reply_to = LowerJoined(p.reply_to);
  s.subject = base::AsciiLower(p.subject);
  s.message_id = base::AsciiLower(p.message_id);
  s.text = s.from + ' ' + s.to + ' ' + s.cc + ' ' + s.bcc + ' ' + s.reply_to + ' ' + s.subject +
           ' ' + s.message_id + ' ' + base::AsciiLower(p.content.text) + ' ' +
           base::AsciiLower(HtmlToText(p.content.html));
  s.read = m.read;
  s.attachments = p.content.attachments.size();
  return s;
}

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

HttpResponse Text(std::string body, std::string content_type = "text/plain; charset=utf-8") {
  HttpResponse r;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

// Mailpit answers a request it cannot act on with 400 and the reason as text.
HttpResponse BadRequest(const absl::Status& status) {
  return PlainError(400, std::string(status.message()));
}

HttpResponse MethodNotAllowed(std::string_view allow) {
  HttpResponse r = PlainError(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

std::optional<uint64_t> ParseId(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 20 || !std::all_of(s.begin(), s.end(), base::IsDigit)) {
    return std::nullopt;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// A query parameter that must be a non-negative decimal number.
absl::StatusOr<size_t> NumberParam(const HttpTarget& target, std::string_view name,
                                   size_t fallback) {
  std::optional<std::string_view> v = target.Param(name);
  if (!v || v->empty()) return fallback;
  std::optional<uint64_t> n = ParseId(*v);
  if (!n) {
    return absl::InvalidArgumentError("invalid " + std::string(name) + " " +
                                      base::QuoteForMessage(*v, 40) + ": not a number");
  }
  return static_cast<size_t>(std::min<uint64_t>(*n, SIZE_MAX));
}

// The newest stored message (the highest id, whichever session holds it).
std::optional<MessageRef> Latest(const CaptureStore& store) {
  std::optional<MessageRef> latest;
  for (const auto& s : store.Sessions()) {
    if (s->messages.empty()) continue;
    if (!latest || s->messages.back().id > latest->message->id) {
      latest = MessageRef{s, &s->messages.back()};
    }
  }
  return latest;
}

// Unread messages in the store: one pass reading a flag, nothing copied.
size_t CountUnread(const std::vector<std::shared_ptr<const CapturedSession>>& sessions) {
  size_t unread = 0;
  for (const auto& s : sessions) {
    for (const CapturedMessage& m : s->messages) unread += m.read ? 0 : 1;
  }
  return unread;
}

// The ids of every stored message, newest first, that `search` matches
// (every one without a search).
std::vector<uint64_t> MatchingIds(const CaptureStore& store, const SearchQuery* search) {
  std::vector<uint64_t> ids;
  const auto sessions = store.Sessions();
  MessageWalk walk(sessions, ListOrder::kNewestFirst);
  for (MessageWalk::Item it = walk.Next(); it.message != nullptr; it = walk.Next()) {
    if (search && !Matches(*search, Searchable(*it.message, Parse(*it.message)))) continue;
    ids.push_back(it.message->id);
  }
  return ids;
}

// The request body of PUT/DELETE /api/v1/messages: {"IDs":[...],
// "Read":bool, "Search":"..."}; every member optional, an empty body as {}.
struct IdsBody {
  std::vector<uint64_t> ids;
  std::vector<std::string> unparsable;
  bool read = false;
  std::string search;
};

absl::StatusOr<IdsBody> ParseIdsBody(std::string_view body) {
  IdsBody out;
  size_t start = 0;
  while (start < body.size() && (body[start] == ' ' || body[start] == '\r' ||
                                 body[start] == '\n' || body[start] == '\t')) {
    ++start;
  }
  if (start == body.size()) return out;
  if (body.size() > kMaxBodyBytes) {
    return absl::InvalidArgumentError("request body over " + std::to_string(kMaxBodyBytes) +
                                      " bytes");
  }
  namespace json = boost::json;
  // Boost.JSON reports errors through the error_code; it throws only on
  // allocation failure, which must not cross this boundary either.
  try {
    json::parse_options options;
    options.max_depth = kMaxBodyJsonDepth;
    json::stream_parser parser(json::storage_ptr(), options);
    boost::system::error_code ec;
    const size_t used = parser.write(body.data(), body.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      return absl::InvalidArgumentError("request body is not JSON (RFC 8259) at offset " +
                                        std::to_string(used) + ": " + ec.message());
    }
    const json::value v = parser.release();
    const json::object* o = v.if_object();
    if (o == nullptr) return absl::InvalidArgumentError("request body is not a JSON object");
    for (const auto& [key, value] : *o) {
      if (key == "IDs") {
        if (value.is_null()) continue;
        const json::array* a = value.if_array();
        if (a == nullptr) return absl::InvalidArgumentError("\"IDs\" is not an array");
        for (const json::value& id : *a) {
          const json::string* s = id.if_string();
          if (s == nullptr) {
            return absl::InvalidArgumentError("\"IDs\" holds a non-string (Mailpit's IDs are strings)");
          }
          std::optional<uint64_t> n = ParseId(std::string_view(s->data(), s->size()));
          if (!n) {
            return absl::InvalidArgumentError(
                "\"IDs\" holds " + base::QuoteForMessage(std::string_view(s->data(), s->size()), 40) +
                ", not a fakemx message ID (a decimal number)");
          }
          out.ids.push_back(*n);
        }
      } else if (key == "Read") {
        if (!value.is_bool()) return absl::InvalidArgumentError("\"Read\" is not a boolean");
        out.read = value.get_bool();
      } else if (key == "Search") {
        const json::string* s = value.if_string();
        if (s == nullptr) return absl::InvalidArgumentError("\"Search\" is not a string");
        out.search.assign(s->data(), s->size());
      }
      // Other members (Mailpit's clients send none) are ignored, as Go's
      // encoding/json does.
    }
    return out;
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(std::string("parsing the request body: ") + e.what());
  }
}

}  // namespace

MailpitApi::MailpitApi(CaptureStore& store, int64_t started_at_us)
    : store_(&store), started_at_us_(started_at_us), accepted_(std::make_unique<Accepted>()) {
  store_->AddObserver(accepted_.get());
}

MailpitApi::~MailpitApi() {
  if (accepted_) store_->RemoveObserver(accepted_.get());
}

MailpitApi::MailpitApi(MailpitApi&&) noexcept = default;

std::string MailpitApi::NewMessageEvent(const CapturedSession& session,
                                        const CapturedMessage& message) {
  const Parsed p = Parse(message);
  std::string out = "{\"Type\":\"new\",\"Data\":";
  AppendSummary(out, session, message, p);
  out += '}';
  return out;
}

std::optional<HttpResponse> MailpitApi::Handle(const HttpRequest& request,
                                               const HttpTarget& target, int64_t now_us) {
  if (started_at_us_ == 0) started_at_us_ = now_us;
  const std::vector<std::string>& seg = target.segments;
  const std::string& method = request.method;

  // /view/{ID}.txt and /view/{ID}.html
  if (seg.size() == 2 && seg[0] == "view") {
    const std::string& leaf = seg[1];
    const size_t dot = leaf.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    const std::string_view ext = std::string_view(leaf).substr(dot + 1);
    if (ext != "txt" && ext != "html") return std::nullopt;
    if (method != "GET") return MethodNotAllowed("GET");
    const std::string_view id = std::string_view(leaf).substr(0, dot);
    std::optional<MessageRef> ref;
    if (id == "latest") {
      ref = Latest(*store_);
    } else if (std::optional<uint64_t> n = ParseId(id)) {
      ref = store_->FindMessage(*n);
    }
    if (!ref) return PlainError(404, "message not found");
    const Parsed p = Parse(*ref->message);
    if (ext == "txt") {
      HttpResponse r = Text(p.content.text);
      // A text part that looks like HTML must stay text.
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      return r;
    }
    if (p.content.html.empty()) return PlainError(404, "message has no HTML part");
    HttpResponse r = Text(p.content.html, "text/html; charset=utf-8");
    // Mail is hostile content. The UI frames it in <iframe sandbox>, and this
    // policy holds even when the URL is opened on its own: no script, no
    // fetch, no remote image (a tracking pixel), inline styles allowed
    // (what HTML mail is made of), and `sandbox` gives the page an opaque
    // origin so it cannot read the API as fakemx's own origin.
    r.headers.emplace_back("Content-Security-Policy", std::string(kViewContentSecurityPolicy));
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    // A link the reader clicks does not tell the site where it came from.
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    return r;
  }

  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1") return std::nullopt;
  const std::string& what = seg[2];

  // GET/PUT/DELETE /api/v1/messages, GET/DELETE /api/v1/search
  if (seg.size() == 3 && (what == "messages" || what == "search")) {
    std::optional<SearchQuery> query;
    if (what == "search") {
      std::optional<std::string_view> q = target.Param("query");
      if (!q || q->empty()) return PlainError(400, "no search query");
      absl::StatusOr<SearchQuery> parsed = ParseSearchQuery(*q);
      if (!parsed.ok()) return BadRequest(parsed.status());
      query = std::move(*parsed);
    }
    if (method == "GET") {
      absl::StatusOr<size_t> start = NumberParam(target, "start", 0);
      if (!start.ok()) return BadRequest(start.status());
      absl::StatusOr<size_t> limit = NumberParam(target, "limit", kDefaultLimit);
      if (!limit.ok()) return BadRequest(limit.status());
      // Newest first, walked from the newest end (fakemx/message_order.h):
      // a page of 50 out of 10,000 neither copies nor sorts the store. Only
      // a search parses every message, and only the page's are parsed to be
      // listed (a parse per stored message would hold the network thread
      // for tens of milliseconds on a store of thousands).
      const auto sessions = store_->Sessions();
      const size_t unread = CountUnread(sessions);
      size_t total = 0;
      for (const auto& session : sessions) total += session->messages.size();
      // limit=0 lists every message (the contract; Mailpit's own
      // default is 50).
      const size_t want = *limit == 0 ? SIZE_MAX : *limit;
      size_t matched = 0, matched_unread = 0, count = 0;
      std::string items;
      MessageWalk walk(sessions, ListOrder::kNewestFirst);
      for (MessageWalk::Item it = walk.Next(); it.message != nullptr; it = walk.Next()) {
        const CapturedMessage& m = *it.message;
        std::optional<Parsed> parsed;
        if (query) {
          parsed = Parse(m);
          if (!Matches(*query, Searchable(m, *parsed))) continue;
        }
        ++matched;
        matched_unread += m.read ? 0 : 1;
        if (matched > *start && count < want) {
          if (count > 0) items += ',';
          AppendSummary(items, *it.session, m, parsed ? *parsed : Parse(m));
          ++count;
        } else if (!query && count == want) {
          // Without a search the rest only adds to counts known already.
          matched = total;
          matched_unread = unread;
          break;
        }
      }
      std::string body;
      body += "{\"total\":" + std::to_string(total);
      body += ",\"unread\":" + std::to_string(unread);
      body += ",\"count\":" + std::to_string(count);
      body += ",\"messages_count\":" + std::to_string(matched);
      body += ",\"messages_unread\":" + std::to_string(matched_unread);
      body += ",\"start\":" + std::to_string(*start);
      body += ",\"tags\":[],\"messages\":[" + items + "]}\n";
      return Json(std::move(body));
    }
    if (method == "DELETE" && what == "search") {
      for (uint64_t id : MatchingIds(*store_, &*query)) store_->DeleteMessage(id);
      return Text("ok");
    }
    if (method == "DELETE" || method == "PUT") {
      absl::StatusOr<IdsBody> body = ParseIdsBody(request.body);
      if (!body.ok()) return BadRequest(body.status());
      std::vector<uint64_t> ids = body->ids;
      if (ids.empty()) {
        // No IDs: every message (DELETE), or those the Search matches (PUT).
        std::optional<SearchQuery> search;
        if (method == "PUT" && !body->search.empty()) {
          absl::StatusOr<SearchQuery> parsed = ParseSearchQuery(body->search);
          if (!parsed.ok()) return BadRequest(parsed.status());
          search = std::move(*parsed);
        }
        ids = MatchingIds(*store_, search ? &*search : nullptr);
      }
      // An ID that is no longer stored is skipped, as Mailpit does: the
      // request's aim (not stored, or marked) holds for it.
      for (uint64_t id : ids) {
        if (method == "DELETE") {
          store_->DeleteMessage(id);
        } else {
          store_->SetRead(id, body->read);
        }
      }
      return Text("ok");
    }
    return MethodNotAllowed(what == "messages" ? "GET, PUT, DELETE" : "GET, DELETE");
  }

  // GET /api/v1/info
  if (seg.size() == 3 && what == "info") {
    if (method != "GET") return MethodNotAllowed("GET");
    const CaptureStats stats = store_->stats();
    const size_t unread = CountUnread(store_->Sessions());
    std::string body = "{\"Version\":";
    AppendJsonString(body, std::string("fakemx-") + kMxkitVersion);
    body += ",\"LatestVersion\":\"\",\"Database\":\"\",\"DatabaseSize\":" +
            std::to_string(stats.bytes);
    body += ",\"Messages\":" + std::to_string(stats.messages);
    body += ",\"Unread\":" + std::to_string(unread);
    body += ",\"Tags\":{},\"RuntimeStats\":{\"Memory\":" + std::to_string(stats.bytes);
    body += ",\"Uptime\":" + std::to_string(std::max<int64_t>(0, now_us - started_at_us_) / 1000000);
    body += ",\"MessagesDeleted\":" + std::to_string(stats.messages_deleted);
    body += ",\"SMTPAccepted\":" + std::to_string(stats.messages_total);
    body += ",\"SMTPAcceptedSize\":" + std::to_string(accepted_->bytes);
    // fakemx keeps these in /metrics (replies by code); Mailpit's meaning
    // (messages it refused, duplicates it ignored) has no counterpart here.
    body += ",\"SMTPRejected\":0,\"SMTPIgnored\":0}}\n";
    return Json(std::move(body));
  }

  // /api/v1/message/{ID}[/raw|/headers]
  if (what == "message" && (seg.size() == 4 || seg.size() == 5)) {
    std::optional<MessageRef> ref;
    const std::string& id = seg[3];
    if (id == "latest") {
      ref = Latest(*store_);
    } else if (std::optional<uint64_t> n = ParseId(id)) {
      ref = store_->FindMessage(*n);
    } else {
      return PlainError(400, "invalid message ID " + base::QuoteForMessage(id, 40) +
                                 ": fakemx's IDs are decimal numbers or \"latest\"");
    }
    if (seg.size() == 5) {
      const std::string& leaf = seg[4];
      if (leaf != "raw" && leaf != "headers") {
        // Mailpit endpoints fakemx does not serve: said so, not a bare 404.
        static constexpr std::string_view kNotImplemented[] = {
            "part", "html-check", "link-check", "sa-check", "release"};
        for (std::string_view n : kNotImplemented) {
          if (leaf == n) {
            return PlainError(501, "fakemx does not implement Mailpit's /api/v1/message/{ID}/" +
                                       leaf);
          }
        }
        return std::nullopt;
      }
      if (method != "GET") return MethodNotAllowed("GET");
      if (!ref) return PlainError(404, "message not found");
      if (leaf == "raw") return Text(std::string(ref->message->raw.view()));
      return Json(HeadersJson(Parse(*ref->message)));
    }
    if (method != "GET") return MethodNotAllowed("GET");
    if (!ref) return PlainError(404, "message not found");
    const Parsed p = Parse(*ref->message);
    // Mailpit marks a message read when it is fetched; the JSON shows the
    // state before (Mailpit's Message has no Read field anyway).
    std::string body = MessageJson(*ref->session, *ref->message, p);
    store_->SetRead(ref->message->id, true);
    return Json(std::move(body));
  }
  if (what == "message" && seg.size() > 5 && seg[4] == "part") {
    return PlainError(501, "fakemx does not implement Mailpit's /api/v1/message/{ID}/part");
  }

  // Mailpit's other endpoints: named, so a test learns why it fails.
  static constexpr std::string_view kNotImplemented[] = {"send", "tags", "webui", "chaos"};
  for (std::string_view n : kNotImplemented) {
    if (what == n) return PlainError(501, "fakemx does not implement Mailpit's /api/v1/" + what);
  }
  return std::nullopt;
}

}  // namespace mxkit::fakemx
