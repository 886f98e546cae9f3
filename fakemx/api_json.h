// The JSON of fakemx's own HTTP API (fakemx/api.h, docs/api.md): sessions and
// messages with their envelope, header fields, TLS facts, transcript and
// verdicts. Built from the pieces that already have a JSON form (the
// sidecar's delivery object, fakemx/delivery.h; the verdicts,
// fakemx/verdict_json.h), so the API, the Maildir sidecar and the event
// stream spell every field the same way. Every string goes through
// base::AppendJsonString: any bytes a client sent yield valid JSON.

#ifndef MXKIT_FAKEMX_API_JSON_H_
#define MXKIT_FAKEMX_API_JSON_H_

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
// "header_error":"<why>") and the session's "transcript" (see
// AppendSessionJson).
void AppendMessageJson(std::string& out, const CapturedSession& session,
                       const CapturedMessage& message, bool detail);

// Appends a session as one JSON object:
//   {"id":3,"receiver":..,"scenario":..,"started_at":"RFC 3339","ended_at":..|null,
//    "open":true,"client":{"address":..,"port":..},"local":{...},
//    "implicit_tls":false,"tls":{...as the sidecar's...},"tls_error":..|null,
//    "end_reason":..|null,"evicted":false,"transcript_dropped":0,
//    "message_ids":[7,8],"verdict":{...fakemx/verdict_json.h...}}
// With `detail`, also "transcript": [{"offset_us":..,"kind":"command"|"reply"|
// "note","text":..}].
void AppendSessionJson(std::string& out, const CapturedSession& session, bool detail);

// "command", "reply", "note".
const char* TranscriptKindName(TranscriptEntry::Kind kind);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_API_JSON_H_
