// The reasons behind the two icons a mailbox user sees (docs/verdicts.md):
// why the lock is closed or red, and why the sender is authenticated or a
// "?". One sentence each, in plain words, built only from facts fakemx
// recorded (the TLS facts of the delivery or session, the session's TLS
// outcome, the SPF and DKIM results), so a tooltip never says more than
// fakemx knows. The web UI shows them (fakemx/ui/README.md); the API
// serves them as "lock_reason" / "sender_reason" and Mailpit's
// "FakeMX.LockReason" / "FakeMX.SenderReason".

#ifndef MXKIT_FAKEMX_VERDICT_REASONS_H_
#define MXKIT_FAKEMX_VERDICT_REASONS_H_

#include <string>
#include <string_view>

#include "fakemx/delivery.h"
#include "fakemx/verdict_types.h"

namespace mxkit::fakemx {

// A message's lock. `summary_encrypted` is the icon (the verdict summary),
// `tls` the delivery's TLS facts, `session` the verdict of the session that
// carried it (why there was no TLS), `receiver` the scenario receiver's name.
//   "TLS 1.3 via STARTTLS, TLS_AES_128_GCM_SHA256, X25519, certificate good"
//   "no TLS: starttls not offered by receiver no-starttls"
//   "no TLS: client did not use starttls"
//   "no TLS: handshake failed: <the error>"
std::string MessageLockReason(bool summary_encrypted, const DeliveryTls& tls,
                              const SessionVerdict& session, std::string_view receiver);

// A session's lock, from its verdict and the TLS facts of its connection.
std::string SessionLockReason(const SessionVerdict& verdict, const DeliveryTls& tls,
                              std::string_view receiver);

// A message's sender icon, from its verdict:
//   "SPF pass for example.com (MAIL FROM), DKIM pass for example.com"
//   "SPF none for example.org (MAIL FROM), DKIM none (no signature):
//    neither authenticated the sender"
//   "not checked: verdicts are off"
std::string SenderReason(const MessageVerdict& verdict);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_VERDICT_REASONS_H_
