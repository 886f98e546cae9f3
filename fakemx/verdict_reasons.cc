#include "fakemx/verdict_reasons.h"

#include <cstddef>

namespace mxkit::fakemx {
namespace {

// DKIM signatures named one by one; a message with more (rare, and a
// tooltip is short) ends with "and N more".
constexpr size_t kMaxSignaturesNamed = 3;

// "TLSv1.3" (OpenSSL's spelling, in the facts) as "TLS 1.3".
std::string VersionWords(std::string_view v) {
  if (v.size() > 4 && v.substr(0, 4) == "TLSv") return "TLS " + std::string(v.substr(4));
  if (v.empty()) return "TLS";
  return std::string(v);
}

std::string TlsFacts(const DeliveryTls& tls) {
  std::string out = VersionWords(tls.version);
  out += tls.implicit ? " (implicit TLS)" : " via STARTTLS";
  if (!tls.cipher.empty()) out += ", " + tls.cipher;
  if (!tls.group.empty()) out += ", " + tls.group;
  if (!tls.certificate.empty()) out += ", certificate " + tls.certificate;
  return out;
}

// The session's TLS outcome (fakemx/verdict.h JudgeSession) with the
// receiver named where the receiver was the cause.
std::string NoTlsWhy(const SessionVerdict& session, std::string_view receiver) {
  const std::string& o = session.tls_outcome;
  if (o.empty()) return "no TLS on this connection";
  if (o == "starttls not offered" || o == "starttls refused by the receiver") {
    std::string out = o == "starttls not offered" ? "starttls not offered" : "starttls refused";
    if (!receiver.empty()) out += " by receiver " + std::string(receiver);
    return out;
  }
  return o;
}

}  // namespace

std::string MessageLockReason(bool summary_encrypted, const DeliveryTls& tls,
                              const SessionVerdict& session, std::string_view receiver) {
  if (summary_encrypted) return TlsFacts(tls);
  if (session.encrypted) {
    // The connection went to TLS, but after this message (a client may send
    // in plain text, then STARTTLS, then send again).
    return "no TLS: sent before the session's STARTTLS";
  }
  return "no TLS: " + NoTlsWhy(session, receiver);
}

std::string SessionLockReason(const SessionVerdict& verdict, const DeliveryTls& tls,
                              std::string_view receiver) {
  if (verdict.encrypted) return TlsFacts(tls);
  return "no TLS: " + NoTlsWhy(verdict, receiver);
}

std::string SenderReason(const MessageVerdict& v) {
  if (!v.evaluated) return "not checked: verdicts are off";
  std::string out = "SPF " + (v.spf_mail_from.result.empty() ? std::string("none")
                                                             : v.spf_mail_from.result);
  if (!v.spf_mail_from.domain.empty()) out += " for " + v.spf_mail_from.domain;
  out += " (MAIL FROM)";
  if (v.dkim.empty()) {
    out += ", DKIM none (no signature)";
  } else {
    for (size_t i = 0; i < v.dkim.size() && i < kMaxSignaturesNamed; ++i) {
      out += ", DKIM " + v.dkim[i].result;
      if (!v.dkim[i].domain.empty()) out += " for " + v.dkim[i].domain;
    }
    if (v.dkim.size() > kMaxSignaturesNamed) {
      out += " and " + std::to_string(v.dkim.size() - kMaxSignaturesNamed) + " more";
    }
  }
  // The summary's rule (docs/verdicts.md): SPF or any DKIM signature passed.
  if (!v.summary.authenticated) out += ": neither authenticated the sender";
  return out;
}

}  // namespace mxkit::fakemx
