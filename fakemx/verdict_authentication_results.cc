#include "fakemx/verdict_authentication_results.h"

#include <string_view>

#include "absl/status/statusor.h"
#include "auth/authentication_results.h"
#include "base/ascii.h"

namespace mxkit::fakemx {
namespace {

// The rules of auth/authentication_results_builder.cc's Emit, over the
// verdict's keywords instead of auth/'s result types (which the readers do
// not link); tests/perf/verdict_identity.sh compares the two byte for byte.

// A value from DNS or the message with its control characters as spaces
// (RFC 5322 §3.2.5): a view of `s` when it has none, else of `scratch`.
std::string_view Sanitized(std::string_view s, std::string& scratch) {
  std::size_t i = 0;
  while (i < s.size() && !base::IsCtl(s[i])) ++i;
  if (i == s.size()) return s;
  scratch.assign(s);
  for (char& c : scratch) {
    if (base::IsCtl(c)) c = ' ';
  }
  return scratch;
}

void Result(auth::AuthResWriter& w, std::string_view method, std::string_view result,
            std::string_view reason) {
  w.Method(method, std::nullopt, result);
  if (result != "pass" && !reason.empty()) w.Reason(reason, /*controls_to_spaces=*/true);
}

void Spf(auth::AuthResWriter& w, const SpfVerdict& spf, std::string_view property,
         std::string& scratch) {
  Result(w, "spf", spf.result, spf.reason);
  if (!spf.identity.empty()) w.Property("smtp", property, Sanitized(spf.identity, scratch));
}

}  // namespace

std::string AuthenticationResultsValue(const MessageVerdict& v) {
  if (!v.evaluated) return {};
  const std::string_view authserv_id =
      v.authserv_id != nullptr ? std::string_view(*v.authserv_id) : std::string_view();
  auth::AuthResWriter w(authserv_id);
  std::string scratch;
  Spf(w, v.spf_mail_from, "mailfrom", scratch);
  Spf(w, v.spf_helo, "helo", scratch);
  if (v.dkim.empty()) w.Method("dkim", std::nullopt, "none");
  for (const DkimVerdict& d : v.dkim) {
    Result(w, "dkim", d.result, d.reason);
    if (!d.parsed) continue;
    w.Property("header", "d", d.domain);
    w.Property("header", "i", Sanitized(d.identity, scratch));
    w.Property("header", "s", d.selector);
    w.Property("header", "a", d.algorithm);
    if (!d.header_b.empty()) w.Property("header", "b", d.header_b);
  }
  Result(w, "dmarc", v.dmarc.result, v.dmarc.reason);
  if (!v.dmarc.author_domain.empty()) w.Property("header", "from", v.dmarc.author_domain);
  if (v.dmarc.record_found) w.Property("policy", "dmarc", v.dmarc.disposition);
  absl::StatusOr<std::string> value = std::move(w).Finish();
  if (!value.ok()) {
    // The engine checked the authserv-id; what remains is a value from the
    // message itself the grammar cannot carry. Said, not hidden.
    std::string none(authserv_id);
    none += "; none (";
    none.append(value.status().message().data(), value.status().message().size());
    none += ")";
    return none;
  }
  // The writer writes the field body with its leading space (the one after
  // the colon); the value is without it, folding included.
  std::string_view text = *value;
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  // At its length: the writer's buffer is sized for any usual field.
  return std::string(text);
}

}  // namespace mxkit::fakemx
