// What fakemx concluded about a message or a session, as plain data: the
// capture stores it, the HTTP API serves it, a C++ test reads it. Computed by
// fakemx/verdict.h (which stands on auth/); kept free of auth/ here so the
// capture and the API need no DNS or crypto library.
//
// The summary is in the terms a mailbox user sees (docs/verdicts.md gives the
// rules and their sources):
//   lock:   "encrypted" when this hop used TLS, else "red_lock" (Gmail shows a
//           red open padlock for mail that arrived without TLS);
//   sender: "authenticated" when SPF (MAIL FROM identity) or any DKIM
//           signature passed, else "question_mark" (Gmail's "?" avatar for
//           mail it could not authenticate);
//   dmarc:  the DMARC disposition asked for by the From domain's owner
//           ("none", "quarantine", "reject"), "none" also without a record.

#ifndef MXKIT_FAKEMX_VERDICT_TYPES_H_
#define MXKIT_FAKEMX_VERDICT_TYPES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mxkit::fakemx {

struct SpfVerdict {
  std::string result;     // RFC 8601 keyword: "none", "neutral", "pass", "fail",
                          // "softfail", "temperror", "permerror"
  std::string domain;     // the domain check_host() started from
  std::string mechanism;  // the deciding term, "" for the default or an error
  std::string reason;     // for humans
  // The identity checked, as the Authentication-Results value names it
  // (smtp.mailfrom, smtp.helo): the MAIL FROM address as sent ("" for the
  // null reverse-path) or the HELO/EHLO name.
  std::string identity;

  friend bool operator==(const SpfVerdict&, const SpfVerdict&) = default;
};

struct DkimVerdict {
  std::string result;     // "pass", "fail", "neutral", "temperror", "permerror", "policy"
  std::string domain;     // d=, "" when the field did not parse
  std::string selector;   // s=
  std::string algorithm;  // a=, "rsa-sha256"
  unsigned key_bits = 0;
  std::string reason;
  // For the Authentication-Results value (RFC 6008): whether the field
  // parsed (then it has header.d/i/s/a/b), its i=, and auth::HeaderBPrefix
  // of its b=.
  bool parsed = false;
  std::string identity;
  std::string header_b;

  friend bool operator==(const DkimVerdict&, const DkimVerdict&) = default;
};

struct DmarcVerdict {
  std::string result;        // "none", "pass", "fail", "temperror", "permerror"
  std::string disposition;   // "none", "quarantine", "reject" (after pct / t=y)
  std::string requested_policy;  // p=/sp=/np= as found, "" without a record
  std::string author_domain;     // the RFC5322.From domain
  std::string policy_domain;     // where the record was found
  bool spf_aligned = false;
  bool dkim_aligned = false;
  // A record was found (the Authentication-Results value then carries
  // policy.dmarc=<disposition>).
  bool record_found = false;
  std::string reason;

  friend bool operator==(const DmarcVerdict&, const DmarcVerdict&) = default;
};

struct VerdictSummary {
  bool encrypted = false;      // "encrypted" / "red_lock"
  bool authenticated = false;  // "authenticated" / "question_mark"
  std::string dmarc = "none";  // the disposition

  friend bool operator==(const VerdictSummary&, const VerdictSummary&) = default;
};

// "encrypted" or "red_lock"; "authenticated" or "question_mark".
inline const char* LockWord(const VerdictSummary& s) {
  return s.encrypted ? "encrypted" : "red_lock";
}
inline const char* SenderWord(const VerdictSummary& s) {
  return s.authenticated ? "authenticated" : "question_mark";
}

struct MessageVerdict {
  // False when verdicts are off (or not computed yet): every field below is
  // then empty, except summary.encrypted, which needs no DNS.
  bool evaluated = false;
  std::string client_ip;  // the IP SPF was checked for (scenario-mapped; see docs/verdicts.md)
  SpfVerdict spf_mail_from;
  SpfVerdict spf_helo;
  std::vector<DkimVerdict> dkim;  // one per DKIM-Signature, message order
  DmarcVerdict dmarc;
  // The authserv-id (RFC 8601 §2.5) of the engine that judged; shared by
  // every verdict of that engine. The Authentication-Results value is not
  // kept: AuthenticationResultsValue (fakemx/verdict_authentication_results.h)
  // writes it from this verdict when it is read (the API, a Maildir sidecar,
  // the prepended field), which most stored messages never are.
  std::shared_ptr<const std::string> authserv_id;
  VerdictSummary summary;

  // Field by field; authserv_id by pointer (one engine shares one).
  friend bool operator==(const MessageVerdict&, const MessageVerdict&) = default;
};

// The verdict of a message no engine judged (`evaluated` false, the lock
// red): one shared instance, the default of CapturedMessage::verdict. Never
// destroyed, so a message outliving static destruction still has it.
inline const std::shared_ptr<const MessageVerdict>& NotEvaluatedVerdict() {
  static const auto* const kVerdict =
      new std::shared_ptr<const MessageVerdict>(std::make_shared<const MessageVerdict>());
  return *kVerdict;
}

// A session's own verdict: kept also for sessions that never delivered.
struct SessionVerdict {
  bool encrypted = false;  // a TLS handshake completed on this connection
  // Why the session was not encrypted, when it was not: "starttls not offered",
  // "client did not use starttls", "handshake failed: <error>", "client
  // closed after the handshake" ...; empty when encrypted.
  std::string tls_outcome;
  uint64_t messages = 0;  // messages delivered in the session
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_VERDICT_TYPES_H_
