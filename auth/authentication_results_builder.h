// Building an RFC 8601 Authentication-Results value from mxkit's SPF, DKIM
// and DMARC results; parsing and formatting are auth/authentication_results.h.

#ifndef MXKIT_AUTH_AUTHENTICATION_RESULTS_BUILDER_H_
#define MXKIT_AUTH_AUTHENTICATION_RESULTS_BUILDER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/authentication_results.h"
#include "auth/authentication_results_resinfo.h"  // kHeaderBPrefixLength
#include "auth/dkim/verifier.h"
#include "auth/dmarc/evaluator.h"
#include "auth/spf/evaluator.h"

namespace mxkit::auth {

// What an SPF check says about one identity.
struct SpfReport {
  spf::Result result = spf::Result::kNone;
  // RFC 8601 §2.7.2: "mailfrom" (value: the MAIL FROM address) or "helo"
  // (value: the HELO/EHLO name).
  std::string identity = "mailfrom";
  std::string value;
  std::string reason;  // emitted as reason= for results other than pass
};

struct AuthResInput {
  std::string authserv_id;
  std::vector<SpfReport> spf;
  // Absent: DKIM not checked (no dkim= resinfo); present and empty: dkim=none.
  std::optional<std::vector<dkim::SignatureResult>> dkim;
  std::optional<dmarc::Evaluation> dmarc;
  // Add policy.dmarc=<disposition> to a dmarc= resinfo that found a record.
  bool policy_dmarc = true;
};

// Builds the RFC 8601 value for a message: spf= with smtp.mailfrom / smtp.helo
// (§2.7.2), one dkim= per signature with header.d, header.i, header.s,
// header.a and the first kHeaderBPrefixLength characters of b= in header.b
// (RFC 6008), dmarc= with header.from (RFC 7489 §11.2). Reasons for non-pass
// results go in reason= with control characters replaced by spaces. With no
// method at all the result is the "none" form. The rules are those of
// auth/authentication_results_resinfo.h.
AuthenticationResults BuildAuthenticationResults(const AuthResInput& input);

// FormatAuthenticationResults(BuildAuthenticationResults(input)), byte for
// byte and error for error, written straight from `input` without the
// intermediate AuthenticationResults (fakemx makes one for every message).
absl::StatusOr<std::string> FormatBuiltAuthenticationResults(const AuthResInput& input);

}  // namespace mxkit::auth

#endif  // MXKIT_AUTH_AUTHENTICATION_RESULTS_BUILDER_H_
