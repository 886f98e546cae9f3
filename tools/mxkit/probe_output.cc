#include "tools/mxkit/probe_output.h"

#include <cstdio>
#include <ostream>
#include <string>

#include "policy/dane.h"
#include "policy/mta_sts.h"
#include "policy/tls_policy.h"
#include "policy/tls_report_types.h"
#include "probe/certificate_info.h"
#include "tls/version.h"

namespace mxkit::cli {
namespace {

namespace json = boost::json;
using probe::HopReport;
using probe::MxReport;
using probe::ProbeReport;

std::string_view ErrorKindName(tls::EngineError::Kind k) {
  switch (k) {
    case tls::EngineError::Kind::kProtocol: return "protocol";
    case tls::EngineError::Kind::kPeerAlert: return "peer-alert";
    case tls::EngineError::Kind::kCertificate: return "certificate";
    case tls::EngineError::Kind::kTruncated: return "truncated";
    case tls::EngineError::Kind::kUsage: return "usage";
  }
  return "unknown";
}


std::string_view TlsaLookupName(policy::TlsaLookup l) {
  switch (l) {
    case policy::TlsaLookup::kNoRecords: return "no-records";
    case policy::TlsaLookup::kUnauthenticated: return "unauthenticated";
    case policy::TlsaLookup::kAuthenticated: return "authenticated";
    case policy::TlsaLookup::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view StsStateName(policy::MtaStsObservation::State s) {
  switch (s) {
    case policy::MtaStsObservation::State::kNoPolicy: return "no-policy";
    case policy::MtaStsObservation::State::kPolicy: return "policy";
    case policy::MtaStsObservation::State::kFailed: return "failed";
  }
  return "unknown";
}

json::object VerdictJson(const policy::PolicyVerdict& v) {
  json::object o;
  o["deliver"] = v.deliver;
  o["encrypted"] = v.encrypted;
  o["authenticated"] = v.authenticated;
  if (v.failure) {
    o["result_type"] = std::string(policy::TlsResultTypeName(*v.failure));
  } else {
    o["result_type"] = nullptr;
  }
  o["reason"] = v.reason;
  return o;
}

json::object MtaStsJson(const probe::MtaStsReport& m) {
  json::object o;
  o["applicable"] = m.applicable;
  o["state"] = std::string(StsStateName(m.observation.state));
  o["txt"] = m.txt_detail;
  o["id"] = m.id;
  o["policy_host"] = m.policy_host;
  o["policy_host_address"] = m.policy_host_address;
  if (m.observation.policy) {
    const policy::StsPolicy& p = *m.observation.policy;
    json::object po;
    po["mode"] = std::string(policy::StsModeName(p.mode));
    po["max_age"] = p.max_age;
    json::array mx;
    for (const std::string& pattern : p.mx) mx.emplace_back(pattern);
    po["mx"] = std::move(mx);
    o["policy"] = std::move(po);
  } else {
    o["policy"] = nullptr;
  }
  if (m.observation.failure) {
    o["result_type"] = std::string(policy::TlsResultTypeName(*m.observation.failure));
  } else {
    o["result_type"] = nullptr;
  }
  if (m.fetch) o["http_status"] = m.fetch->http_status;
  o["detail"] = m.observation.detail;
  return o;
}

json::value ReplyJson(const std::optional<smtp::Reply>& r) {
  if (!r) return nullptr;
  json::object o;
  o["code"] = r->code;
  json::array lines;
  for (const std::string& l : r->lines) lines.emplace_back(l);
  o["lines"] = std::move(lines);
  return o;
}

// lines[1..] of an EHLO reply: the keywords with their parameters.
json::array KeywordsJson(const std::optional<smtp::Reply>& r, bool helo) {
  json::array a;
  if (!r || helo || r->code != 250) return a;
  for (size_t i = 1; i < r->lines.size(); ++i) a.emplace_back(r->lines[i]);
  return a;
}

json::object CertificateJson(const probe::CertificateInfo& c) {
  json::object o;
  o["subject"] = c.subject;
  o["issuer"] = c.issuer;
  o["not_before"] = c.not_before_text;
  o["not_after"] = c.not_after_text;
  json::array names;
  for (const std::string& n : c.dns_names) names.emplace_back(n);
  o["dns_names"] = std::move(names);
  o["sha256"] = c.sha256_fingerprint;
  o["spki_sha256"] = c.spki_sha256;
  o["key_type"] = c.key_type;
  o["key_bits"] = c.key_bits;
  return o;
}

json::object TlsJson(const HopReport& h) {
  json::object o;
  o["established"] = h.tls_established;
  if (h.tls) {
    o["version"] = std::string(tls::VersionName(h.tls->version));
    o["cipher"] = h.tls->cipher;
    o["group"] = h.tls->group;
    o["sni"] = h.tls->sni;
    o["verify_result"] = h.tls->verify_result;
    o["verify_error"] = h.tls->verify_result == 0 ? "" : probe::X509ErrorText(h.tls->verify_result);
    o["verified"] = h.verified();
  }
  if (h.tls_error) {
    json::object e;
    e["kind"] = std::string(ErrorKindName(h.tls_error->kind));
    e["reason"] = h.tls_error->reason;
    e["alert"] = h.tls_error->alert;
    e["message"] = h.tls_error->ToString();
    o["error"] = std::move(e);
  } else {
    o["error"] = nullptr;
  }
  json::array chain;
  for (const probe::CertificateInfo& c : h.chain) chain.emplace_back(CertificateJson(c));
  o["chain"] = std::move(chain);
  if (!h.chain_error.empty()) o["chain_error"] = h.chain_error;
  return o;
}

json::object HopJson(const HopReport& h) {
  json::object o;
  o["banner"] = ReplyJson(h.greeting);
  o["helo_fallback"] = h.helo_fallback;
  o["ehlo_before_tls"] = KeywordsJson(h.hello_before_tls, h.helo_fallback);
  o["hello_reply"] = ReplyJson(h.hello_before_tls);
  o["starttls_offered"] = h.starttls_offered;
  o["starttls_reply"] = ReplyJson(h.starttls_reply);
  o["starttls_accepted"] = h.starttls_reply.has_value() && h.starttls_reply->code == 220;
  o["tls"] = TlsJson(h);
  o["ehlo_after_tls"] = KeywordsJson(h.hello_after_tls, false);
  o["injection_detected"] = h.injected_bytes > 0;
  o["injected_bytes"] = h.injected_bytes;
  o["outcome"] = std::string(smtp::SessionOutcomeName(h.outcome));
  o["detail"] = h.detail;
  o["timed_out"] = h.timed_out;
  o["red_lock"] = h.red_lock();
  return o;
}

json::object MxJson(const MxReport& m) {
  json::object o;
  o["host"] = m.host;
  if (m.preference >= 0) {
    o["preference"] = m.preference;
  } else {
    o["preference"] = nullptr;
  }
  o["implicit_mx"] = m.implicit_mx;
  o["mx_authenticated"] = m.mx_authenticated;
  o["addresses_authenticated"] = m.addresses_authenticated;
  json::array addresses;
  for (const std::string& a : m.addresses) addresses.emplace_back(a);
  o["addresses"] = std::move(addresses);
  if (!m.address_error.empty()) o["address_error"] = m.address_error;
  json::array attempts;
  for (const probe::ConnectAttempt& a : m.attempts) {
    json::object t;
    t["address"] = a.address;
    t["connected"] = a.connected;
    t["timed_out"] = a.timed_out;
    t["error"] = a.error;
    t["ms"] = a.ms;
    attempts.emplace_back(std::move(t));
  }
  o["attempts"] = std::move(attempts);
  if (m.hop) {
    o["address"] = m.hop_address;
    o["hop"] = HopJson(*m.hop);
    o["red_lock"] = m.hop->red_lock();
    json::object t;
    t["connect_ms"] = m.timings.connect_ms;
    t["greeting_ms"] = m.timings.greeting_ms;
    t["tls_handshake_ms"] = m.timings.tls_ms;
    t["total_ms"] = m.timings.total_ms;
    o["timings"] = std::move(t);
  } else {
    o["address"] = nullptr;
    o["hop"] = nullptr;
    o["red_lock"] = false;
  }
  if (m.tlsa) {
    json::object t;
    t["name"] = m.tlsa->name;
    t["lookup"] = std::string(TlsaLookupName(m.tlsa->lookup));
    t["authenticated"] = m.tlsa->authenticated;
    if (m.tlsa->insecure_reason.empty()) {
      t["insecure_reason"] = nullptr;
    } else {
      t["insecure_reason"] = m.tlsa->insecure_reason;
    }
    json::array records;
    for (const policy::TlsaRecord& r : m.tlsa->records) {
      records.emplace_back(policy::TlsaRecordToString(r));
    }
    t["records"] = std::move(records);
    t["detail"] = m.tlsa->detail;
    o["tlsa"] = std::move(t);
  } else {
    o["tlsa"] = nullptr;
  }
  if (m.chain_verification) {
    json::object c;
    c["ok"] = m.chain_verification->ok;
    c["x509_error"] = m.chain_verification->x509_error;
    c["detail"] = m.chain_verification->detail;
    o["chain_verification"] = std::move(c);
  } else {
    o["chain_verification"] = nullptr;
  }
  json::object policies;
  for (const policy::PolicyVerdict& v : m.verdicts) {
    policies[std::string(policy::SenderPolicyName(v.policy))] = VerdictJson(v);
  }
  o["policies"] = std::move(policies);
  return o;
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

std::string ReplyText(const smtp::Reply& r) {
  std::string s = std::to_string(r.code);
  for (size_t i = 0; i < r.lines.size(); ++i) {
    s += (i == 0 ? " " : " / ") + r.lines[i];
  }
  return s;
}

void PrintHop(std::ostream& out, const MxReport& m) {
  const HopReport& h = *m.hop;
  if (h.greeting) out << "  banner: " << ReplyText(*h.greeting) << "\n";
  if (h.hello_before_tls) {
    out << "  " << (h.helo_fallback ? "HELO" : "EHLO") << ": ";
    if (h.hello_before_tls->code != 250 || h.helo_fallback) {
      out << ReplyText(*h.hello_before_tls);
    } else {
      for (size_t i = 1; i < h.hello_before_tls->lines.size(); ++i) {
        out << (i > 1 ? ", " : "") << h.hello_before_tls->lines[i];
      }
    }
    out << "\n";
  }
  if (h.hello_accepted()) {
    out << "  STARTTLS: " << (h.starttls_offered ? "offered" : "not offered");
    if (h.starttls_reply) out << "; answered " << ReplyText(*h.starttls_reply);
    out << "\n";
  }
  if (h.injected_bytes > 0) {
    out << "  injection detected: " << h.injected_bytes
        << " plaintext reply bytes after the STARTTLS 220 were discarded\n";
  }
  if (h.tls_established) {
    out << "  TLS: " << tls::VersionName(h.tls->version) << " " << h.tls->cipher;
    if (!h.tls->group.empty()) out << " " << h.tls->group;
    if (m.timings.tls_ms >= 0) out << " (handshake " << Ms(m.timings.tls_ms) << ")";
    out << "\n";
    out << "  certificate: "
        << (h.verified() ? std::string("verified")
                         : "NOT verified: " + probe::X509ErrorText(h.tls->verify_result) +
                               " (X.509 error " + std::to_string(h.tls->verify_result) + ")")
        << (h.tls->sni.empty() ? " (no host name checked)" : " for " + h.tls->sni) << "\n";
    for (size_t i = 0; i < h.chain.size(); ++i) {
      const probe::CertificateInfo& c = h.chain[i];
      out << "    [" << i << "] " << c.subject << "\n        issuer " << c.issuer << "\n        valid "
          << c.not_before_text << " to " << c.not_after_text << "\n";
      if (!c.dns_names.empty()) {
        out << "        DNS:";
        for (const std::string& n : c.dns_names) out << " " << n;
        out << "\n";
      }
    }
    if (h.hello_after_tls) {
      out << "  EHLO after TLS: ";
      for (size_t i = 1; i < h.hello_after_tls->lines.size(); ++i) {
        out << (i > 1 ? ", " : "") << h.hello_after_tls->lines[i];
      }
      if (h.hello_after_tls->code != 250) out << ReplyText(*h.hello_after_tls);
      out << "\n";
    }
  } else if (h.tls_error) {
    out << "  TLS: " << h.tls_error->ToString() << "\n";
  }
  if (m.tlsa) out << "  TLSA: " << m.tlsa->detail << "\n";
  for (const policy::PolicyVerdict& v : m.verdicts) {
    out << "  policy " << policy::SenderPolicyName(v.policy) << ": "
        << (!v.deliver ? "REFUSED" : v.authenticated ? "delivered, authenticated"
                                   : v.encrypted     ? "delivered, encrypted"
                                                     : "delivered in plaintext");
    if (v.failure) out << " [" << policy::TlsResultTypeName(*v.failure) << "]";
    if (!v.reason.empty()) out << " (" << v.reason << ")";
    out << "\n";
  }
  out << "  session: " << smtp::SessionOutcomeName(h.outcome);
  if (!h.detail.empty()) out << " (" << h.detail << ")";
  out << "\n";
  if (h.hello_accepted()) {
    out << "  red lock: " << (h.red_lock() ? "YES, mail on this hop would travel unencrypted" : "no, encrypted")
        << "\n";
  }
}

}  // namespace

json::object ProbeReportJson(const ProbeReport& r) {
  json::object o;
  o["method"] = "probe";
  o["target"] = r.target.name;
  o["port"] = r.port;
  o["mx_lookup"] = r.target.mx_lookup();
  o["mx_lookup_detail"] = r.mx_lookup_detail;
  o["result"] = r.failure == probe::ProbeFailure::kNone ? "probed"
                                                        : std::string(probe::ProbeFailureName(r.failure));
  if (r.failure != probe::ProbeFailure::kNone) o["error"] = r.error;
  o["red_lock"] = r.red_lock();
  const MxReport* d = r.delivery_mx();
  if (d != nullptr) {
    o["delivery_mx"] = d->host;
  } else {
    o["delivery_mx"] = nullptr;
  }
  o["mx_truncated"] = r.mx_truncated;
  json::array mx;
  for (const MxReport& m : r.mx) mx.emplace_back(MxJson(m));
  o["mx"] = std::move(mx);
  o["mta_sts"] = MtaStsJson(r.mta_sts);
  return o;
}

void PrintProbeReport(std::ostream& out, const ProbeReport& r) {
  out << "probe " << r.target.name << " port " << r.port << ": " << r.mx_lookup_detail << "\n";
  if (r.mta_sts.applicable) {
    out << "MTA-STS: " << StsStateName(r.mta_sts.observation.state);
    if (r.mta_sts.observation.policy) {
      const policy::StsPolicy& p = *r.mta_sts.observation.policy;
      out << ", mode " << policy::StsModeName(p.mode) << ", mx";
      for (const std::string& pattern : p.mx) out << " " << pattern;
    }
    if (r.mta_sts.observation.failure) {
      out << " [" << policy::TlsResultTypeName(*r.mta_sts.observation.failure) << "]";
    }
    out << " (" << r.mta_sts.observation.detail << ")\n";
  }
  for (const MxReport& m : r.mx) {
    out << (m.implicit_mx ? "implicit MX " : m.preference >= 0 ? "MX " : "host ");
    if (m.preference >= 0) out << m.preference << " ";
    out << m.host;
    if (m.addresses.empty()) out << ": no address" << (m.address_error.empty() ? "" : " (" + m.address_error + ")");
    out << "\n";
    for (const probe::ConnectAttempt& a : m.attempts) {
      out << "  connect " << a.address << ": "
          << (a.connected ? "connected in " + Ms(a.ms) : a.error) << "\n";
    }
    if (m.hop) PrintHop(out, m);
  }
  if (r.failure != probe::ProbeFailure::kNone) {
    out << "result: " << probe::ProbeFailureName(r.failure) << ": " << r.error << "\n";
    return;
  }
  const MxReport* d = r.delivery_mx();
  if (d == nullptr) {
    out << "result: no MX took EHLO or HELO; no mail would be delivered\n";
  } else if (d->hop->red_lock()) {
    out << "result: RED LOCK: mail to " << r.target.name << " would travel unencrypted (via "
        << d->host << ")\n";
  } else {
    out << "result: encrypted: mail to " << r.target.name << " would travel over "
        << tls::VersionName(d->hop->tls->version) << " (via " << d->host << ")"
        << (d->hop->verified() ? "" : ", the certificate not verified") << "\n";
  }
}

}  // namespace mxkit::cli
