#include "auth/authentication_results_builder.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "auth/authentication_results_resinfo.h"
#include "base/ascii.h"

namespace mxkit::auth {
namespace {

// The builder's results named by their keywords, written with the rules of
// auth/authentication_results_resinfo.h, to a Sink with AuthResWriter's
// calls: whether it makes a value to keep or is written at once.
template <typename Sink>
void Emit(const AuthResInput& input, Sink& sink) {
  for (const SpfReport& spf : input.spf) {
    WriteSpfResinfo(sink, spf::ResultName(spf.result), spf.reason,
                    spf.identity == "helo" ? "helo" : "mailfrom", spf.value);
  }
  if (input.dkim) {
    if (input.dkim->empty()) WriteDkimNoneResinfo(sink);
    for (const dkim::SignatureResult& sig : *input.dkim) {
      if (!sig.signature) {
        WriteDkimResinfo(sink, dkim::DkimResultKeyword(sig.result), sig.reason, nullptr);
        continue;
      }
      const dkim::Signature& s = *sig.signature;
      const std::string header_b = HeaderBPrefix(s.signature);
      const DkimResinfoSignature parsed{s.domain, s.identity, s.selector,
                                        dkim::SignatureAlgorithmName(s.algorithm), header_b};
      WriteDkimResinfo(sink, dkim::DkimResultKeyword(sig.result), sig.reason, &parsed);
    }
  }
  if (input.dmarc) {
    const dmarc::Evaluation& ev = *input.dmarc;
    std::optional<std::string_view> policy_dmarc;
    if (input.policy_dmarc && ev.record) policy_dmarc = dmarc::PolicyName(ev.disposition);
    WriteDmarcResinfo(sink, dmarc::DmarcResultKeyword(ev.result), ev.reason, ev.author_domain,
                      policy_dmarc);
  }
}

// Makes the AuthenticationResults.
struct ValueSink {
  AuthenticationResults& ar;
  std::string scratch;
  void Method(std::string_view method, std::optional<uint32_t> method_version,
              std::string_view result) {
    ar.results.push_back(
        AuthResInfo{std::string(method), method_version, std::string(result), std::nullopt, {}});
  }
  // As AuthResWriter::Reason stores it, so the value formats to the same bytes.
  void Reason(std::string_view reason, bool controls_to_spaces) {
    ar.results.back().reason =
        std::string(controls_to_spaces ? base::ControlsToSpaces(reason, scratch) : reason);
  }
  void Property(std::string_view ptype, std::string_view property, std::string_view value) {
    ar.results.back().properties.push_back(
        {std::string(ptype), std::string(property), std::string(value)});
  }
};

}  // namespace

AuthenticationResults BuildAuthenticationResults(const AuthResInput& input) {
  AuthenticationResults ar;
  ar.authserv_id = input.authserv_id;
  ValueSink sink{ar, {}};
  Emit(input, sink);
  return ar;
}

absl::StatusOr<std::string> FormatBuiltAuthenticationResults(const AuthResInput& input) {
  AuthResWriter w(input.authserv_id);
  Emit(input, w);
  return std::move(w).Finish();
}

}  // namespace mxkit::auth
