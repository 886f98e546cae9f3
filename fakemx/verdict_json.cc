#include "fakemx/verdict_json.h"

#include <string_view>

#include "base/json.h"
#include "fakemx/verdict_authentication_results.h"

namespace mxkit::fakemx {
namespace {

using base::AppendJsonString;

const char* Bool(bool b) { return b ? "true" : "false"; }

void AppendKey(std::string& out, std::string_view key, bool first = false) {
  if (!first) out += ',';
  AppendJsonString(out, key);
  out += ':';
}

void AppendSpf(std::string& out, const SpfVerdict& spf) {
  out += '{';
  AppendKey(out, "result", true);
  AppendJsonString(out, spf.result);
  AppendKey(out, "domain");
  AppendJsonString(out, spf.domain);
  AppendKey(out, "mechanism");
  AppendJsonString(out, spf.mechanism);
  AppendKey(out, "reason");
  AppendJsonString(out, spf.reason);
  out += '}';
}

void AppendDkim(std::string& out, const DkimVerdict& dkim) {
  out += '{';
  AppendKey(out, "result", true);
  AppendJsonString(out, dkim.result);
  AppendKey(out, "domain");
  AppendJsonString(out, dkim.domain);
  AppendKey(out, "selector");
  AppendJsonString(out, dkim.selector);
  AppendKey(out, "algorithm");
  AppendJsonString(out, dkim.algorithm);
  AppendKey(out, "key_bits");
  out += std::to_string(dkim.key_bits);
  AppendKey(out, "reason");
  AppendJsonString(out, dkim.reason);
  out += '}';
}

void AppendDmarc(std::string& out, const DmarcVerdict& d) {
  out += '{';
  AppendKey(out, "result", true);
  AppendJsonString(out, d.result);
  AppendKey(out, "disposition");
  AppendJsonString(out, d.disposition);
  AppendKey(out, "requested_policy");
  AppendJsonString(out, d.requested_policy);
  AppendKey(out, "author_domain");
  AppendJsonString(out, d.author_domain);
  AppendKey(out, "policy_domain");
  AppendJsonString(out, d.policy_domain);
  AppendKey(out, "spf_aligned");
  out += Bool(d.spf_aligned);
  AppendKey(out, "dkim_aligned");
  out += Bool(d.dkim_aligned);
  AppendKey(out, "reason");
  AppendJsonString(out, d.reason);
  out += '}';
}

void AppendSummary(std::string& out, const VerdictSummary& s,
                   const VerdictReasonTexts* reasons) {
  out += '{';
  AppendKey(out, "lock", true);
  AppendJsonString(out, LockWord(s));
  AppendKey(out, "sender");
  AppendJsonString(out, SenderWord(s));
  AppendKey(out, "dmarc");
  AppendJsonString(out, s.dmarc);
  if (reasons != nullptr) {
    AppendKey(out, "lock_reason");
    AppendJsonString(out, reasons->lock);
    AppendKey(out, "sender_reason");
    AppendJsonString(out, reasons->sender);
  }
  out += '}';
}

}  // namespace

void AppendMessageVerdictJson(std::string& out, const MessageVerdict& v,
                              const VerdictReasonTexts* reasons) {
  out += '{';
  AppendKey(out, "evaluated", true);
  out += Bool(v.evaluated);
  AppendKey(out, "client_ip");
  if (v.client_ip.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, v.client_ip);
  }
  AppendKey(out, "spf");
  if (v.evaluated) {
    out += '{';
    AppendKey(out, "mail_from", true);
    AppendSpf(out, v.spf_mail_from);
    AppendKey(out, "helo");
    AppendSpf(out, v.spf_helo);
    out += '}';
  } else {
    out += "null";
  }
  AppendKey(out, "dkim");
  if (v.evaluated) {
    out += '[';
    for (size_t i = 0; i < v.dkim.size(); ++i) {
      if (i > 0) out += ',';
      AppendDkim(out, v.dkim[i]);
    }
    out += ']';
  } else {
    out += "null";
  }
  AppendKey(out, "dmarc");
  if (v.evaluated) {
    AppendDmarc(out, v.dmarc);
  } else {
    out += "null";
  }
  AppendKey(out, "authentication_results");
  if (v.evaluated) {
    AppendJsonString(out, AuthenticationResultsValue(v));
  } else {
    out += "null";
  }
  AppendKey(out, "summary");
  AppendSummary(out, v.summary, reasons);
  out += '}';
}

void AppendSessionVerdictJson(std::string& out, const SessionVerdict& v,
                              const std::string* lock_reason) {
  out += '{';
  AppendKey(out, "encrypted", true);
  out += Bool(v.encrypted);
  AppendKey(out, "lock");
  AppendJsonString(out, v.encrypted ? "encrypted" : "red_lock");
  if (lock_reason != nullptr) {
    AppendKey(out, "lock_reason");
    AppendJsonString(out, *lock_reason);
  }
  AppendKey(out, "tls_outcome");
  if (v.tls_outcome.empty()) {
    out += "null";
  } else {
    AppendJsonString(out, v.tls_outcome);
  }
  AppendKey(out, "messages");
  out += std::to_string(v.messages);
  out += '}';
}

}  // namespace mxkit::fakemx
