// The one JSON form of fakemx's verdicts (fakemx/verdict_types.h): the
// Maildir sidecar's "verdict", the HTTP API's message and session objects
// and its event stream all write them through these two functions, so the
// field names cannot drift between them. Field names are snake_case, as the
// sidecar's; docs/verdicts.md describes each field.

#ifndef MXKIT_FAKEMX_VERDICT_JSON_H_
#define MXKIT_FAKEMX_VERDICT_JSON_H_

#include <string>
#include <string_view>

#include "fakemx/verdict_types.h"

namespace mxkit::fakemx {

// Appends `verdict` as one JSON object (no trailing newline):
//   {"evaluated":true,"client_ip":"192.0.2.1",
//    "spf":{"mail_from":{"result":..,"domain":..,"mechanism":..,"reason":..},
//           "helo":{...}},
//    "dkim":[{"result":..,"domain":..,"selector":..,"algorithm":..,
//             "key_bits":2048,"reason":..}],
//    "dmarc":{"result":..,"disposition":..,"requested_policy":..,
//             "author_domain":..,"policy_domain":..,"spf_aligned":false,
//             "dkim_aligned":true,"reason":..},
//    "authentication_results":"mx.example; spf=pass ...",
//    "summary":{"lock":"encrypted"|"red_lock",
//               "sender":"authenticated"|"question_mark",
//               "dmarc":"none"|"quarantine"|"reject"}}
// When !evaluated, "spf", "dkim", "dmarc" and "authentication_results" are
// null and client_ip is null when empty; "summary" is always present (its
// lock needs no DNS). Strings go through base::AppendJsonString, so any bytes
// yield valid JSON.
//
// With `reasons` (fakemx/verdict_reasons.h), "summary" also carries
// "lock_reason" and "sender_reason": the API's forms do, the Maildir
// sidecar does not (it is written before the session's TLS outcome is final).
struct VerdictReasonTexts {
  std::string_view lock;
  std::string_view sender;
};
void AppendMessageVerdictJson(std::string& out, const MessageVerdict& verdict,
                              const VerdictReasonTexts* reasons = nullptr);

// Appends `verdict` as one JSON object:
//   {"encrypted":false,"lock":"red_lock","tls_outcome":"starttls not offered",
//    "messages":0}
// "tls_outcome" is null when empty (an encrypted session). With a non-null
// `lock_reason` (fakemx/verdict_reasons.h), "lock_reason" follows "lock".
void AppendSessionVerdictJson(std::string& out, const SessionVerdict& verdict,
                              const std::string* lock_reason = nullptr);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_VERDICT_JSON_H_
