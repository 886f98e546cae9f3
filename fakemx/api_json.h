// The JSON of fakemx's own HTTP API (fakemx/api.h, docs/api.md): sessions and
// messages with their envelope, header fields, TLS facts, transcript and
// verdicts. Built from the pieces that already have a JSON form (the
// sidecar's delivery object, fakemx/delivery.h; the verdicts,
// fakemx/verdict_json.h), so the API, the Maildir sidecar and the event
// stream spell every field the same way. Every string goes through
// base::AppendJsonString: any bytes a client sent yield valid JSON.

#ifndef MXKIT_FAKEMX_API_JSON_H_
#define MXKIT_FAKEMX_API_JSON_H_

#include <cstdint>
#include <string>

#include "fakemx/capture.h"

namespace mxkit::fakemx {

// Appends a message as one JSON object:
//   {"id":7,"session_id":3,"receiver":"example.test","scenario":"good",
//    "read":false,"subject":"hi"|null,"size":1234,
//    "delivery":{...the sidecar object, fakemx/README.md...},
//    "verdict":{...fakemx/verdict_json.h...}}
// With `detail`, also "headers": [{"name":..,"value":..}] (every field in
// order, the value unfolded, split by //message:header_block; a header block
// that does not split yields the fields before the error and
// "header_error":"<why>"), the message's part of its session's transcript,
// "transcript" (the session's opening and this message's transaction,
// fakemx/capture.h TranscriptSlice), and "transcript_omitted" (see
// AppendTranscriptOmittedJson). On a reused connection the whole session
// transcript can be 40,000 entries; GET /fakemx/v1/sessions/{id} pages it.
void AppendMessageJson(std::string& out, const CapturedSession& session,
                       const CapturedMessage& message, bool detail);

// Appends a session as one JSON object:
//   {"id":3,"receiver":..,"scenario":..,"started_at":"RFC 3339","ended_at":..|null,
//    "open":true,"client":{"address":..,"port":..},"local":{...},
//    "implicit_tls":false,"tls":{...as the sidecar's...},"tls_error":..|null,
//    "end_reason":..|null,"evicted":false,"messages_evicted":0,"transcript_dropped":0,
//    "message_ids":[7,8],"verdict":{...fakemx/verdict_json.h...}}
// With `detail`, also "transcript": [{"offset_us":..,"kind":"command"|"reply"|
// "note","text":..}], entries [transcript_start, transcript_start +
// transcript_limit) of the session's transcript (clamped to it), and
// "transcript_start" and "transcript_total" (entries the session holds).
struct TranscriptPage {
  uint64_t start = 0;
  uint64_t limit = UINT64_MAX;  // the whole transcript
};
void AppendSessionJson(std::string& out, const CapturedSession& session, bool detail,
                       TranscriptPage page = {});

// The entries of `slice` (the opening, then the transaction) as a JSON
// array of {"offset_us":..,"kind":..,"text":..}.
void AppendMessageTranscriptJson(std::string& out, const CapturedSession& session,
                                 const TranscriptSlice& slice);
// What a message's transcript left out:
//   {"at":3,"entries":16,"after":2,"session_entries":29}
// "entries" entries of earlier transactions were left out before index
// "at" of the message's transcript (where its transaction starts), "after"
// entries follow its final reply (later transactions, QUIT), and the whole
// session transcript holds "session_entries" (not counting
// transcript_dropped).
void AppendTranscriptOmittedJson(std::string& out, const TranscriptSlice& slice);

// "command", "reply", "note".
const char* TranscriptKindName(TranscriptEntry::Kind kind);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_API_JSON_H_
