// The rules that say what each method's resinfo in an RFC 8601
// Authentication-Results value holds, over result keywords and strings
// rather than auth/'s result types. They are the one home of those rules:
// auth/authentication_results_builder.h writes with them after naming its
// results, and a caller that keeps only the keywords (fakemx's verdicts,
// written when someone reads them) writes the same bytes without linking
// the SPF, DKIM and DMARC evaluators and their DNS and BoringSSL code.
//
// Each function writes to a Sink with the Method, Reason and Property of
// AuthResWriter (auth/authentication_results.h): the writer itself, or
// anything that takes the same calls (the builder's AuthenticationResults
// maker). Reasons are passed with controls_to_spaces set.

#ifndef MXKIT_AUTH_AUTHENTICATION_RESULTS_RESINFO_H_
#define MXKIT_AUTH_AUTHENTICATION_RESULTS_RESINFO_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/ascii.h"

namespace mxkit::auth {

// RFC 6008 §4: header.b carries at least the first 8 characters of b=.
inline constexpr std::size_t kHeaderBPrefixLength = 8;

// The header.b value of a DKIM signature whose b= decoded to `signature`:
// the first kHeaderBPrefixLength characters of its base64 (fewer when b= is
// shorter, empty when it is empty).
std::string HeaderBPrefix(std::string_view signature);

namespace internal_resinfo {

// method=result, with reason= only for results other than pass: a reason
// explains what went wrong (RFC 8601 §2.2 reasonspec), and a pass's reason
// would only repeat the evaluator's working.
template <typename Sink>
void WriteResult(Sink& sink, std::string_view method, std::string_view result,
                 std::string_view reason) {
  sink.Method(method, std::nullopt, result);
  if (result != "pass" && !reason.empty()) sink.Reason(reason, /*controls_to_spaces=*/true);
}

}  // namespace internal_resinfo

// spf=<result> [reason=] smtp.<smtp_property>=<identity> (RFC 8601 §2.7.2):
// `smtp_property` is "mailfrom" (identity: the MAIL FROM address) or "helo"
// (the HELO/EHLO name). An empty identity (the null sender) writes no
// property; the identity's control characters are written as spaces.
template <typename Sink>
void WriteSpfResinfo(Sink& sink, std::string_view result, std::string_view reason,
                     std::string_view smtp_property, std::string_view identity) {
  internal_resinfo::WriteResult(sink, "spf", result, reason);
  if (identity.empty()) return;
  std::string scratch;
  sink.Property("smtp", smtp_property, base::ControlsToSpaces(identity, scratch));
}

// The parts of a DKIM-Signature that parsed which dkim= reports, as its
// header.* properties (RFC 8601 §2.7.1, RFC 6008).
struct DkimResinfoSignature {
  std::string_view domain;     // d=
  std::string_view identity;   // i=, written with its controls as spaces
  std::string_view selector;   // s=
  std::string_view algorithm;  // a=, "rsa-sha256"
  std::string_view header_b;   // HeaderBPrefix of b=; empty writes no header.b
};

// dkim=<result> [reason=] for one signature, with header.d, i, s, a and b
// when `signature` is not null (the field parsed).
template <typename Sink>
void WriteDkimResinfo(Sink& sink, std::string_view result, std::string_view reason,
                      const DkimResinfoSignature* signature) {
  internal_resinfo::WriteResult(sink, "dkim", result, reason);
  if (signature == nullptr) return;
  std::string scratch;
  sink.Property("header", "d", signature->domain);
  sink.Property("header", "i", base::ControlsToSpaces(signature->identity, scratch));
  sink.Property("header", "s", signature->selector);
  sink.Property("header", "a", signature->algorithm);
  if (!signature->header_b.empty()) sink.Property("header", "b", signature->header_b);
}

// dkim=none: DKIM was checked and the message has no signature (RFC 8601
// §2.7.1), rather than leaving dkim= out, which would say it was not checked.
template <typename Sink>
void WriteDkimNoneResinfo(Sink& sink) {
  sink.Method("dkim", std::nullopt, "none");
}

// dmarc=<result> [reason=] header.from=<author_domain> (RFC 7489 §11.2),
// without header.from when the author domain is unknown, and with
// policy.dmarc=<policy_dmarc> (the disposition applied) when given: the
// caller gives it only when a record was found.
template <typename Sink>
void WriteDmarcResinfo(Sink& sink, std::string_view result, std::string_view reason,
                       std::string_view author_domain,
                       std::optional<std::string_view> policy_dmarc) {
  internal_resinfo::WriteResult(sink, "dmarc", result, reason);
  if (!author_domain.empty()) sink.Property("header", "from", author_domain);
  if (policy_dmarc) sink.Property("policy", "dmarc", *policy_dmarc);
}

}  // namespace mxkit::auth

#endif  // MXKIT_AUTH_AUTHENTICATION_RESULTS_RESINFO_H_
