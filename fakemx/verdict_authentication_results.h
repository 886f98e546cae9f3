// The RFC 8601 Authentication-Results value of a judged message, written
// from its MessageVerdict when someone reads it (the HTTP API, a Maildir
// sidecar, the field prepended to the stored copy). The engine does not
// keep the text with every message: formatting it was about a tenth of
// fakemx's instructions per message, and most messages are never read.
//
// Kept free of the evaluators (only auth/'s writer), so the readers (the
// capture, the API, the sidecar) need no DNS or crypto library.

#ifndef MXKIT_FAKEMX_VERDICT_AUTHENTICATION_RESULTS_H_
#define MXKIT_FAKEMX_VERDICT_AUTHENTICATION_RESULTS_H_

#include <string>

#include "fakemx/verdict_types.h"

namespace mxkit::fakemx {

// The field value without the "Authentication-Results:" name, folded as
// auth::AuthResWriter folds it: byte for byte what
// auth::FormatBuiltAuthenticationResults writes from the results the
// verdict was made of (spf= for MAIL FROM and HELO with smtp.mailfrom /
// smtp.helo, one dkim= per signature, or dkim=none, with header.d, i, s, a,
// b, then dmarc= with header.from and policy.dmarc; reason= for results
// other than pass, control characters as spaces). When a value from the
// message cannot be written, "<authserv-id>; none (<why>)". Empty for a
// verdict that was not evaluated.
std::string AuthenticationResultsValue(const MessageVerdict& verdict);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_VERDICT_AUTHENTICATION_RESULTS_H_
