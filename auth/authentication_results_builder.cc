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
// A view of `s` itself when it has none (the usual case), else of `scratch`.
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

// The first n characters of the base64 of `bytes`: each 4 characters come
// from 3 bytes, so only the first 3 * ceil(n / 4) bytes are encoded.
std::string Base64Prefix(std::string_view bytes, std::size_t n) {
  return base::EncodeBase64(bytes.substr(0, (n + 3) / 4 * 3)).substr(0, n);
}

// What the field says, in order, for a Sink with Method(method, result),
// Reason(reason) (to be written with its control characters as spaces, as
// Sanitized makes them) and Property(ptype, property, value): the one home of the
// rules of BuildAuthenticationResults, whether it makes a value to keep or
// is written at once.
template <typename Sink>
void Emit(const AuthResInput& input, Sink& sink) {
  std::string scratch;
  for (const SpfReport& spf : input.spf) {
    sink.Method("spf", spf::ResultName(spf.result));
    if (spf.result != spf::Result::kPass && !spf.reason.empty()) {
      sink.Reason(spf.reason);
    }
    if (!spf.value.empty()) {
      sink.Property("smtp", spf.identity == "helo" ? "helo" : "mailfrom",
                    Sanitized(spf.value, scratch));
    }
  }
  if (input.dkim) {
    if (input.dkim->empty()) sink.Method("dkim", "none");
    for (const dkim::SignatureResult& sig : *input.dkim) {
      sink.Method("dkim", dkim::DkimResultKeyword(sig.result));
      if (sig.result != dkim::DkimResult::kPass && !sig.reason.empty()) {
        sink.Reason(sig.reason);
      }
      if (sig.signature) {
        const dkim::Signature& s = *sig.signature;
        sink.Property("header", "d", s.domain);
        sink.Property("header", "i", Sanitized(s.identity, scratch));
        sink.Property("header", "s", s.selector);
        sink.Property("header", "a", dkim::SignatureAlgorithmName(s.algorithm));
        std::string b = Base64Prefix(s.signature, kHeaderBPrefixLength);
        if (!b.empty()) sink.Property("header", "b", b);
      }
    }
  }
  if (input.dmarc) {
    const dmarc::Evaluation& ev = *input.dmarc;
    sink.Method("dmarc", dmarc::DmarcResultKeyword(ev.result));
    if (ev.result != dmarc::DmarcResult::kPass && !ev.reason.empty()) {
      sink.Reason(ev.reason);
    }
    if (!ev.author_domain.empty()) sink.Property("header", "from", ev.author_domain);
    if (input.policy_dmarc && ev.record) {
      sink.Property("policy", "dmarc", dmarc::PolicyName(ev.disposition));
    }
  }
}

// Makes the AuthenticationResults.
struct ValueSink {
  AuthenticationResults& ar;
  std::string scratch;
  void Method(std::string_view method, std::string_view result) {
    ar.results.push_back(
        AuthResInfo{std::string(method), std::nullopt, std::string(result), std::nullopt, {}});
  }
  void Reason(std::string_view reason) {
    ar.results.back().reason = std::string(Sanitized(reason, scratch));
  }
  void Property(std::string_view ptype, std::string_view property, std::string_view value) {
    ar.results.back().properties.push_back(
        {std::string(ptype), std::string(property), std::string(value)});
  }
};

// Writes the field body.
struct WriterSink {
  AuthResWriter& w;
  void Method(std::string_view method, std::string_view result) {
    w.Method(method, std::nullopt, result);
  }
  // One pass: the writer turns the controls into spaces as it quotes.
  void Reason(std::string_view reason) { w.Reason(reason, /*controls_to_spaces=*/true); }
  void Property(std::string_view ptype, std::string_view property, std::string_view value) {
    w.Property(ptype, property, value);
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
  WriterSink sink{w};
  Emit(input, sink);
  return std::move(w).Finish();
}

}  // namespace mxkit::auth
