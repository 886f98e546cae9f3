#include "fakemx/delivery.h"

#include <cstdio>
#include <ctime>
#include <string_view>

#include "base/json.h"
#include "fakemx/verdict_json.h"

namespace mxkit::fakemx {
namespace {

using base::AppendJsonString;

void AppendParams(std::string& out, const std::vector<DeliveryParam>& params) {
  out += '[';
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += ',';
    out += '[';
    AppendJsonString(out, params[i].first);
    out += ',';
    AppendJsonString(out, params[i].second);
    out += ']';
  }
  out += ']';
}

const char* Bool(bool b) { return b ? "true" : "false"; }

// A string, or null when it is empty (or when `present` is false).
void AppendStringOrNull(std::string& out, std::string_view s, bool present) {
  if (present && !s.empty()) {
    AppendJsonString(out, s);
  } else {
    out += "null";
  }
}

void AppendTls(std::string& out, const DeliveryTls& t) {
  out += "{\"used\":";
  out += Bool(t.used);
  out += ",\"implicit\":";
  out += Bool(t.used && t.implicit);
  out += ",\"version\":";
  AppendStringOrNull(out, t.version, t.used);
  out += ",\"cipher\":";
  AppendStringOrNull(out, t.cipher, t.used);
  out += ",\"group\":";
  AppendStringOrNull(out, t.group, t.used);
  out += ",\"sni\":";
  // An empty server_name is not a name (RFC 6066 §3: HostName is 1..2^16-1).
  AppendStringOrNull(out, t.sni ? *t.sni : std::string_view(), t.used && t.sni.has_value());
  out += ",\"certificate\":";
  AppendStringOrNull(out, t.certificate, t.used);
  out += ",\"plaintext_discarded_bytes\":";
  out += std::to_string(t.plaintext_discarded_bytes);
  out += '}';
}

}  // namespace

void AppendDeliveryTlsJson(std::string& out, const DeliveryTls& tls) { AppendTls(out, tls); }

std::string FormatRfc3339Micros(int64_t unix_micros) {
  int64_t seconds = unix_micros / 1000000;
  int64_t micros = unix_micros % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

std::string DeliveryToJson(const Delivery& d, const std::string& name, uint64_t message_size) {
  std::string out;
  out.reserve(512 + 64 * d.recipients.size());
  out += "{\"name\":";
  AppendJsonString(out, name);
  out += ",\"received_at\":";
  AppendJsonString(out, FormatRfc3339Micros(d.received_at_us));
  out += ",\"client\":{\"address\":";
  AppendJsonString(out, d.client_address);
  out += ",\"port\":";
  out += std::to_string(d.client_port);
  out += "},\"server_hostname\":";
  AppendJsonString(out, d.server_hostname);
  out += ",\"helo\":{\"command\":";
  out += d.esmtp ? "\"EHLO\"" : "\"HELO\"";
  out += ",\"domain\":";
  AppendJsonString(out, d.helo);
  out += "},\"tls\":";
  AppendTls(out, d.tls);
  out += ",\"mail_from\":{\"address\":";
  AppendJsonString(out, d.reverse_path);
  out += ",\"params\":";
  AppendParams(out, d.mail_params);
  out += "},\"rcpt_to\":[";
  for (size_t i = 0; i < d.recipients.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"address\":";
    AppendJsonString(out, d.recipients[i].address);
    out += ",\"params\":";
    AppendParams(out, d.recipients[i].params);
    out += '}';
  }
  out += "],\"body\":";
  AppendJsonString(out, d.body);
  out += ",\"smtputf8\":";
  out += Bool(d.smtputf8);
  out += ",\"via_bdat\":";
  out += Bool(d.via_bdat);
  out += ",\"size\":";
  out += std::to_string(message_size);
  if (d.verdict) {
    out += ",\"verdict\":";
    AppendMessageVerdictJson(out, *d.verdict);
  }
  out += "}\n";
  return out;
}

}  // namespace mxkit::fakemx
