// Fuzzes fakemx's scenario file parser (fakemx/scenario.h): YAML text in.
//
// Properties:
//   - never crashes or hangs (yaml-cpp throws; ParseScenario must catch it;
//     alias bombs and deep nesting must stay bounded);
//   - an error is InvalidArgument shaped "fuzz.yaml:LINE:COLUMN: what",
//     LINE and COLUMN positive and within the input, "what" not empty and
//     printable (a message never carries a raw control byte);
//   - a parsed scenario obeys the bounds of scenario.h: counts, delays,
//     reply shapes, the RFC floors of the limits, unique receiver names;
//     and for DNS and MTA-STS (issue 10): TLSA usages 2/3 only with TLS,
//     absolute fault names, MTA-STS ids, statuses and redirects as RFC 8461
//     allows, zone records and faults at or below their apex (whole labels,
//     ASCII case ignored as RFC 4343 says; the apex itself lower-cased).

#include <arpa/inet.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "base/absl_interop.h"
#include "base/ascii.h"
#include "fakemx/scenario.h"
#include "fuzz/property_check.h"

namespace {

using mxkit::fakemx::kMaxScenarioDelay;
using std::chrono::milliseconds;

constexpr std::string_view kSource = "fuzz.yaml";

// "LINE:COLUMN: " after the source; returns the rest, or npos on a bad shape.
size_t AfterPosition(std::string_view message, std::string_view input) {
  if (message.substr(0, kSource.size() + 1) != std::string(kSource) + ":") {
    return std::string_view::npos;
  }
  size_t i = kSource.size() + 1;
  uint64_t numbers[2] = {0, 0};
  for (int part = 0; part < 2; ++part) {
    const size_t start = i;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9' && i - start < 10) {
      numbers[part] = numbers[part] * 10 + static_cast<uint64_t>(message[i] - '0');
      ++i;
    }
    if (i == start || i >= message.size() || message[i] != ':') return std::string_view::npos;
    ++i;
  }
  if (numbers[0] == 0 || numbers[1] == 0) return std::string_view::npos;
  // The line exists in the input (an error at the very end may name the
  // line after the last newline).
  uint64_t lines = 1;
  for (char c : input) lines += c == '\n';
  if (numbers[0] > lines + 1) return std::string_view::npos;
  if (i >= message.size() || message[i] != ' ') return std::string_view::npos;
  return i + 1;
}

bool ValidReply(const mxkit::fakemx::ScenarioReply& r) {
  if (!r.raw.empty()) {
    return r.code == 0 && r.enhanced.empty() && r.lines.empty() &&
           r.raw.size() <= mxkit::fakemx::kMaxRawReplyBytes;
  }
  if (r.code < 200 || r.code > 599) return false;
  if (r.lines.size() > mxkit::fakemx::kMaxReplyLines) return false;
  if (!r.enhanced.empty() && r.enhanced[0] - '0' != r.code / 100) return false;
  for (const std::string& line : r.lines) {
    for (char c : line) {
      if (c < 0x20 || c > 0x7E) return false;
    }
  }
  return true;
}

bool ValidDelay(milliseconds d) { return d >= milliseconds(0) && d <= kMaxScenarioDelay; }

bool ValidText(const mxkit::fakemx::DnsTextSetting& t) {
  return !t.text || (t.publish && t.text->size() <= mxkit::fakemx::kMaxDnsTextBytes);
}

// Whole labels, compared without regard to ASCII case (RFC 4343 §3): a
// zone's text keeps the case it was written in ("x.B.TEST."), while the
// parser lower-cases the apex, and "x.B.TEST" lies in the zone b.test.
bool AtOrBelow(std::string_view name, std::string_view apex) {
  const std::string n = mxkit::base::AsciiLower(name);
  const std::string a = mxkit::base::AsciiLower(apex);
  return n == a ||
         (n.size() > a.size() && n.ends_with(a) && n[n.size() - a.size() - 1] == '.');
}

void CheckDns(const mxkit::fakemx::Receiver& r) {
  namespace fx = mxkit::fakemx;
  const fx::ReceiverDns& d = r.dns;
  if (d.mx) MXKIT_FUZZ_CHECK(d.mx->size() <= fx::kMaxMxRecords);
  MXKIT_FUZZ_CHECK(ValidText(d.spf) && ValidText(d.dmarc) && ValidText(d.tls_rpt));
  MXKIT_FUZZ_CHECK(!d.dkim.text || d.dkim.text->size() <= fx::kMaxDnsTextBytes);
  MXKIT_FUZZ_CHECK(!d.dkim.selector.empty() && d.dkim.selector.size() <= 63);
  MXKIT_FUZZ_CHECK(d.tlsa.size() <= fx::kMaxTlsaRecords);
  MXKIT_FUZZ_CHECK(d.tlsa.empty() || r.tls.enabled);
  for (const fx::TlsaSpec& t : d.tlsa) {
    MXKIT_FUZZ_CHECK((t.usage == 2 || t.usage == 3) && t.selector <= 1 && t.matching <= 2);
  }
  MXKIT_FUZZ_CHECK(d.faults.size() <= fx::kMaxDnsFaults);
  for (const fx::DnsFaultSpec& f : d.faults) {
    MXKIT_FUZZ_CHECK(!f.name.empty() && f.name.size() <= 253 && f.name.back() != '.');
    MXKIT_FUZZ_CHECK(f.position.line >= 1 && f.position.column >= 1);
  }
  if (!r.mta_sts) return;
  const fx::MtaStsSpec& m = *r.mta_sts;
  if (m.mx) MXKIT_FUZZ_CHECK(m.mx->size() <= fx::kMaxMtaStsPatterns);
  MXKIT_FUZZ_CHECK(m.max_age <= fx::kMaxMtaStsMaxAge);
  if (m.id) {
    MXKIT_FUZZ_CHECK(!m.id->empty() && m.id->size() <= fx::kMaxMtaStsId);
    for (char c : *m.id) MXKIT_FUZZ_CHECK(mxkit::base::IsAlnum(c));
  }
  MXKIT_FUZZ_CHECK(!m.body || m.body->size() <= fx::kMaxMtaStsBodyBytes);
  MXKIT_FUZZ_CHECK(m.status >= 100 && m.status <= 599);
  MXKIT_FUZZ_CHECK(m.location.empty() == (m.status < 300 || m.status > 399));
  MXKIT_FUZZ_CHECK(ValidDelay(m.delay));
  MXKIT_FUZZ_CHECK(ValidText(m.txt));
  MXKIT_FUZZ_CHECK(!m.host || !m.host->empty());
}

// verdicts: a client_ip SPF can check, an authserv-id that is a host name.
void CheckVerdicts(const mxkit::fakemx::VerdictSpec& v) {
  if (v.client_ip) {
    unsigned char addr[16];
    MXKIT_FUZZ_CHECK(inet_pton(AF_INET, v.client_ip->c_str(), addr) == 1 ||
                     inet_pton(AF_INET6, v.client_ip->c_str(), addr) == 1);
  }
  if (v.authserv_id) {
    MXKIT_FUZZ_CHECK(!v.authserv_id->empty() &&
                     v.authserv_id->size() <= mxkit::smtp::kMaxDomain);
    for (char c : *v.authserv_id) {
      MXKIT_FUZZ_CHECK(mxkit::base::IsAlnum(c) || c == '-' || c == '_' || c == '.');
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto scenario = mxkit::fakemx::ParseScenario(input, kSource);
  if (!scenario.ok()) {
    MXKIT_FUZZ_CHECK(scenario.status().code() == absl::StatusCode::kInvalidArgument);
    const std::string message = mxkit::base::StatusText(scenario.status());
    const size_t what = AfterPosition(message, input);
    MXKIT_FUZZ_CHECK(what != std::string_view::npos);
    MXKIT_FUZZ_CHECK(what < message.size());
    for (size_t i = what; i < message.size(); ++i) {
      // Printable ASCII, or the UTF-8 of a "§" in an RFC citation.
      const unsigned char c = static_cast<unsigned char>(message[i]);
      MXKIT_FUZZ_CHECK(c >= 0x20 && c != 0x7F);
    }
    return 0;
  }

  const mxkit::fakemx::Scenario& s = *scenario;
  MXKIT_FUZZ_CHECK(!s.name.empty());
  MXKIT_FUZZ_CHECK(s.source == kSource);
  MXKIT_FUZZ_CHECK(s.description.size() <= mxkit::fakemx::kMaxScenarioDescription);
  MXKIT_FUZZ_CHECK(!s.receivers.empty() && s.receivers.size() <= mxkit::fakemx::kMaxReceivers);
  std::set<std::string> names;
  for (const mxkit::fakemx::Receiver& r : s.receivers) {
    MXKIT_FUZZ_CHECK(!r.name.empty() && names.insert(r.name).second);
    MXKIT_FUZZ_CHECK(!r.hostname.empty() && r.hostname.size() <= mxkit::smtp::kMaxDomain);
    MXKIT_FUZZ_CHECK(!r.listeners.empty() &&
                     r.listeners.size() <= mxkit::fakemx::kMaxListenersPerReceiver);
    for (const mxkit::fakemx::ListenerSpec& l : r.listeners) {
      MXKIT_FUZZ_CHECK(!l.host.empty());
      MXKIT_FUZZ_CHECK(r.tls.enabled || l.mode == mxkit::fakemx::ListenerMode::kSmtp);
    }
    if (r.greeting.reply) MXKIT_FUZZ_CHECK(ValidReply(*r.greeting.reply));
    MXKIT_FUZZ_CHECK(ValidDelay(r.greeting.delay));
    MXKIT_FUZZ_CHECK(!(r.greeting.drop && r.greeting.reset));
    if (r.ehlo.before_tls) {
      MXKIT_FUZZ_CHECK(r.ehlo.esmtp &&
                       r.ehlo.before_tls->size() <= mxkit::fakemx::kMaxEhloKeywords);
    }
    if (r.ehlo.after_tls) {
      MXKIT_FUZZ_CHECK(r.ehlo.esmtp && r.ehlo.after_tls->size() <= mxkit::fakemx::kMaxEhloKeywords);
    }
    if (r.tls.reply) MXKIT_FUZZ_CHECK(ValidReply(*r.tls.reply));
    MXKIT_FUZZ_CHECK(r.auth.credentials.size() <= mxkit::fakemx::kMaxCredentials);
    MXKIT_FUZZ_CHECK(!r.auth.required || !r.auth.mechanisms.empty());
    MXKIT_FUZZ_CHECK(r.rules.size() <= mxkit::fakemx::kMaxRulesPerReceiver);
    for (const mxkit::fakemx::Rule& rule : r.rules) {
      MXKIT_FUZZ_CHECK(!rule.name.empty() && !rule.at.empty());
      MXKIT_FUZZ_CHECK(rule.position.line >= 1 && rule.position.column >= 1);
      MXKIT_FUZZ_CHECK(ValidDelay(rule.delay));
      if (rule.reply) MXKIT_FUZZ_CHECK(ValidReply(*rule.reply));
      MXKIT_FUZZ_CHECK(!rule.nth || *rule.nth >= 1);
      MXKIT_FUZZ_CHECK(!rule.after_recipients || rule.at == "RCPT");
    }
    if (r.greylist) {
      MXKIT_FUZZ_CHECK(r.greylist->delay > milliseconds(0) && ValidDelay(r.greylist->delay));
      MXKIT_FUZZ_CHECK(ValidReply(r.greylist->reply));
      MXKIT_FUZZ_CHECK(r.greylist->max_entries >= 1 &&
                       r.greylist->max_entries <= mxkit::fakemx::kMaxGreylistEntries);
    }
    MXKIT_FUZZ_CHECK(ValidDelay(r.tarpit.per_reply) && ValidDelay(r.tarpit.per_byte));
    if (r.chaos) {
      MXKIT_FUZZ_CHECK(!r.chaos->stages.empty());
      for (const auto& [stage, p] : r.chaos->stages) {
        MXKIT_FUZZ_CHECK(!stage.empty() && p >= 0.0 && p <= 1.0);
      }
      MXKIT_FUZZ_CHECK(r.chaos->replies.size() <= mxkit::fakemx::kMaxChaosReplies);
      for (const auto& reply : r.chaos->replies) MXKIT_FUZZ_CHECK(ValidReply(reply));
    }
    // RFC 5321 §4.5.3.1 floors.
    MXKIT_FUZZ_CHECK(r.limits.max_message_size >= mxkit::smtp::kMinMessageContent);
    MXKIT_FUZZ_CHECK(r.limits.max_command_line >= mxkit::smtp::kMaxCommandLine);
    MXKIT_FUZZ_CHECK(r.limits.max_text_line >= mxkit::smtp::kMaxTextLine);
    MXKIT_FUZZ_CHECK(r.limits.max_recipients >= 1);
    if (r.idle_timeout) MXKIT_FUZZ_CHECK(r.idle_timeout->count() >= 1);
    MXKIT_FUZZ_CHECK(r.max_protocol_errors >= 1 &&
                     r.max_protocol_errors <= mxkit::smtp::kMaxProtocolErrorsCeiling);
    CheckDns(r);
    CheckVerdicts(r.verdicts);
  }
  MXKIT_FUZZ_CHECK(s.zones.size() <= mxkit::fakemx::kMaxExtraZones);
  std::set<std::string> apexes;
  for (const mxkit::fakemx::ExtraZone& z : s.zones) {
    MXKIT_FUZZ_CHECK(!z.apex.empty() && apexes.insert(z.apex).second);
    MXKIT_FUZZ_CHECK(z.apex == mxkit::base::AsciiLower(z.apex));
    for (const auto& record : z.records) MXKIT_FUZZ_CHECK(AtOrBelow(record.name, z.apex));
    for (const auto& fault : z.faults) MXKIT_FUZZ_CHECK(AtOrBelow(fault.name, z.apex));
  }
  return 0;
}
