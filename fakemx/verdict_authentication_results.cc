#include "fakemx/verdict_authentication_results.h"

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "auth/authentication_results.h"
#include "auth/authentication_results_resinfo.h"

namespace mxkit::fakemx {
std::string AuthenticationResultsValue(const MessageVerdict& v) {
  if (!v.evaluated) return {};
  const std::string_view authserv_id =
      v.authserv_id != nullptr ? std::string_view(*v.authserv_id) : std::string_view();
  // The rules are auth/'s, over the keywords the verdict keeps.
  auth::AuthResWriter w(authserv_id);
  auth::WriteSpfResinfo(w, v.spf_mail_from.result, v.spf_mail_from.reason, "mailfrom",
                        v.spf_mail_from.identity);
  auth::WriteSpfResinfo(w, v.spf_helo.result, v.spf_helo.reason, "helo", v.spf_helo.identity);
  if (v.dkim.empty()) auth::WriteDkimNoneResinfo(w);
  for (const DkimVerdict& d : v.dkim) {
    const auth::DkimResinfoSignature parsed{d.domain, d.identity, d.selector, d.algorithm,
                                            d.header_b};
    auth::WriteDkimResinfo(w, d.result, d.reason, d.parsed ? &parsed : nullptr);
  }
  std::optional<std::string_view> policy_dmarc;
  if (v.dmarc.record_found) policy_dmarc = v.dmarc.disposition;
  auth::WriteDmarcResinfo(w, v.dmarc.result, v.dmarc.reason, v.dmarc.author_domain,
                          policy_dmarc);
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
