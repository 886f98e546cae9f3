#include "fakemx/api_json.h"

#include <algorithm>
#include <string_view>

#include "base/json.h"
#include "fakemx/delivery.h"
#include "fakemx/verdict_json.h"
#include "fakemx/verdict_reasons.h"
#include "message/header_block.h"

namespace mxkit::fakemx {
namespace {

using base::AppendJsonString;

const char* Bool(bool b) { return b ? "true" : "false"; }

void AppendStringOrNull(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, s);
  }
}

void AppendTranscriptEntryJson(std::string& out, const TranscriptEntry& e) {
  out += "{\"offset_us\":";
  out += std::to_string(e.offset_us);
  out += ",\"kind\":\"";
  out += TranscriptKindName(e.kind);
  out += "\",\"text\":";
  AppendJsonString(out, e.text);
  out += '}';
}

// Entries [begin, end) of the session's transcript, clamped to it, after
// `first` ones already written into the array.
void AppendTranscriptRange(std::string& out, const CapturedSession& session, uint64_t begin,
                           uint64_t end, bool& first) {
  const uint64_t size = session.transcript.size();
  end = std::min(end, size);
  for (uint64_t i = std::min(begin, end); i < end; ++i) {
    if (!first) out += ',';
    first = false;
    AppendTranscriptEntryJson(out, session.transcript[i]);
  }
}

// Stored messages have CRLF line ends (capture.h), but a client may have sent
// anything inside them: split leniently, as a mail reader would display it.
message::HeaderBlockOptions DisplayOptions() {
  message::HeaderBlockOptions options;
  options.allow_bare_lf = true;
  options.allow_wsp_before_colon = true;
  options.allow_unterminated_last_field = true;
  return options;
}

}  // namespace

const char* TranscriptKindName(TranscriptEntry::Kind kind) {
  switch (kind) {
    case TranscriptEntry::Kind::kCommand:
      return "command";
    case TranscriptEntry::Kind::kReply:
      return "reply";
    case TranscriptEntry::Kind::kNote:
      return "note";
  }
  return "note";
}

void AppendMessageJson(std::string& out, const CapturedSession& session,
                       const CapturedMessage& message, bool detail) {
  const std::string_view raw = message.raw.view();
  const message::HeaderBlockResult headers = message::SplitHeaderBlock(raw, DisplayOptions());
  out += "{\"id\":";
  out += std::to_string(message.id);
  out += ",\"session_id\":";
  out += std::to_string(session.id);
  out += ",\"receiver\":";
  AppendJsonString(out, session.receiver);
  out += ",\"scenario\":";
  AppendJsonString(out, session.scenario);
  out += ",\"read\":";
  out += Bool(message.read);
  out += ",\"subject\":";
  if (const message::HeaderField* subject = headers.block.FindFirst("Subject")) {
    AppendJsonString(out, message::UnfoldHeaderValue(subject->raw_value));
  } else {
    out += "null";
  }
  out += ",\"size\":";
  out += std::to_string(raw.size());
  out += ",\"delivery\":";
  std::string delivery = DeliveryToJson(message.delivery, message.maildir_name, raw.size());
  if (!delivery.empty() && delivery.back() == '\n') delivery.pop_back();
  out += delivery;
  out += ",\"verdict\":";
  const std::string lock_reason = MessageLockReason(
      message.verdict->summary.encrypted, message.delivery.tls, session.verdict, session.receiver);
  const std::string sender_reason = SenderReason(*message.verdict);
  const VerdictReasonTexts reasons{lock_reason, sender_reason};
  AppendMessageVerdictJson(out, *message.verdict, &reasons);
  if (detail) {
    out += ",\"headers\":[";
    for (size_t i = 0; i < headers.block.fields.size(); ++i) {
      if (i > 0) out += ',';
      out += "{\"name\":";
      AppendJsonString(out, headers.block.fields[i].name);
      out += ",\"value\":";
      AppendJsonString(out, message::UnfoldHeaderValue(headers.block.fields[i].raw_value));
      out += '}';
    }
    out += "],\"header_error\":";
    AppendStringOrNull(out, headers.ok() ? std::string_view() : headers.message);
    const TranscriptSlice slice = MessageTranscriptSlice(session, message);
    out += ",\"transcript\":";
    AppendMessageTranscriptJson(out, session, slice);
    out += ",\"transcript_omitted\":";
    AppendTranscriptOmittedJson(out, slice);
  }
  out += '}';
}

void AppendMessageTranscriptJson(std::string& out, const CapturedSession& session,
                                 const TranscriptSlice& slice) {
  out += '[';
  bool first = true;
  AppendTranscriptRange(out, session, 0, slice.opening, first);
  AppendTranscriptRange(out, session, slice.begin, slice.end, first);
  out += ']';
}

void AppendTranscriptOmittedJson(std::string& out, const TranscriptSlice& slice) {
  out += "{\"at\":";
  out += std::to_string(slice.opening);
  out += ",\"entries\":";
  out += std::to_string(slice.omitted_before());
  out += ",\"after\":";
  out += std::to_string(slice.omitted_after());
  out += ",\"session_entries\":";
  out += std::to_string(slice.total);
  out += '}';
}

void AppendSessionJson(std::string& out, const CapturedSession& session, bool detail,
                       TranscriptPage page) {
  out += "{\"id\":";
  out += std::to_string(session.id);
  out += ",\"receiver\":";
  AppendJsonString(out, session.receiver);
  out += ",\"scenario\":";
  AppendJsonString(out, session.scenario);
  out += ",\"started_at\":";
  AppendJsonString(out, FormatRfc3339Micros(session.started_at_us));
  out += ",\"ended_at\":";
  if (session.ended_at_us) {
    AppendJsonString(out, FormatRfc3339Micros(*session.ended_at_us));
  } else {
    out += "null";
  }
  out += ",\"open\":";
  out += Bool(!session.ended_at_us.has_value());
  out += ",\"client\":{\"address\":";
  AppendJsonString(out, session.client_address);
  out += ",\"port\":";
  out += std::to_string(session.client_port);
  out += "},\"local\":{\"address\":";
  AppendJsonString(out, session.local_address);
  out += ",\"port\":";
  out += std::to_string(session.local_port);
  out += "},\"implicit_tls\":";
  out += Bool(session.implicit_tls);
  out += ",\"tls\":";
  AppendDeliveryTlsJson(out, session.tls);
  out += ",\"tls_error\":";
  AppendStringOrNull(out, session.tls_error);
  out += ",\"end_reason\":";
  AppendStringOrNull(out, session.end_reason);
  out += ",\"evicted\":";
  out += Bool(session.evicted);
  out += ",\"messages_evicted\":";
  out += std::to_string(session.messages_evicted);
  out += ",\"transcript_dropped\":";
  out += std::to_string(session.transcript_dropped);
  out += ",\"message_ids\":[";
  for (size_t i = 0; i < session.messages.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(session.messages[i].id);
  }
  out += "],\"verdict\":";
  const std::string lock_reason = SessionLockReason(session.verdict, session.tls, session.receiver);
  AppendSessionVerdictJson(out, session.verdict, &lock_reason);
  if (detail) {
    const uint64_t total = session.transcript.size();
    const uint64_t start = std::min(page.start, total);
    out += ",\"transcript_start\":";
    out += std::to_string(start);
    out += ",\"transcript_total\":";
    out += std::to_string(total);
    out += ",\"transcript\":[";
    bool first = true;
    const uint64_t end = page.limit >= total - start ? total : start + page.limit;
    AppendTranscriptRange(out, session, start, end, first);
    out += ']';
  }
  out += '}';
}

}  // namespace mxkit::fakemx
