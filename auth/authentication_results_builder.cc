#include "auth/authentication_results_builder.h"

#include <string>
#include <string_view>
#include <utility>

#include "base/ascii.h"
#include "base/base64.h"

namespace mxkit::auth {
namespace {

// Reasons and values come from DNS and from the message: a control
// character would break the field (RFC 5322 §3.2.5), so it becomes a space.
std::string Sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (base::IsCtl(c)) c = ' ';
  }
  return out;
}

std::string Base64Prefix(std::string_view bytes, std::size_t n) {
  return base::EncodeBase64(bytes).substr(0, n);
}

}  // namespace

AuthenticationResults BuildAuthenticationResults(const AuthResInput& input) {
  AuthenticationResults ar;
  ar.authserv_id = input.authserv_id;
  for (const SpfReport& spf : input.spf) {
    AuthResInfo info;
    info.method = "spf";
    info.result = std::string(spf::ResultName(spf.result));
    if (spf.result != spf::Result::kPass && !spf.reason.empty()) info.reason = Sanitize(spf.reason);
    if (!spf.value.empty()) {
      info.properties.push_back({"smtp", spf.identity == "helo" ? "helo" : "mailfrom",
                                 Sanitize(spf.value)});
    }
    ar.results.push_back(std::move(info));
  }
  if (input.dkim) {
    if (input.dkim->empty()) {
      ar.results.push_back(AuthResInfo{"dkim", std::nullopt, "none", std::nullopt, {}});
    }
    for (const dkim::SignatureResult& sig : *input.dkim) {
      AuthResInfo info;
      info.method = "dkim";
      info.result = std::string(dkim::DkimResultKeyword(sig.result));
      if (sig.result != dkim::DkimResult::kPass && !sig.reason.empty()) {
        info.reason = Sanitize(sig.reason);
      }
      if (sig.signature) {
        const dkim::Signature& s = *sig.signature;
        info.properties.push_back({"header", "d", s.domain});
        info.properties.push_back({"header", "i", Sanitize(s.identity)});
        info.properties.push_back({"header", "s", s.selector});
        info.properties.push_back(
            {"header", "a", std::string(dkim::SignatureAlgorithmName(s.algorithm))});
        std::string b = Base64Prefix(s.signature, kHeaderBPrefixLength);
        if (!b.empty()) info.properties.push_back({"header", "b", b});
      }
      ar.results.push_back(std::move(info));
    }
  }
  if (input.dmarc) {
    const dmarc::Evaluation& ev = *input.dmarc;
    AuthResInfo info;
    info.method = "dmarc";
    info.result = std::string(dmarc::DmarcResultKeyword(ev.result));
    if (ev.result != dmarc::DmarcResult::kPass && !ev.reason.empty()) {
      info.reason = Sanitize(ev.reason);
    }
    if (!ev.author_domain.empty()) info.properties.push_back({"header", "from", ev.author_domain});
    if (input.policy_dmarc && ev.record) {
      info.properties.push_back({"policy", "dmarc", std::string(dmarc::PolicyName(ev.disposition))});
    }
    ar.results.push_back(std::move(info));
  }
  return ar;
}

}  // namespace mxkit::auth
