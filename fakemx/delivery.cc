#include "fakemx/delivery.h"

#include <cstdio>
#include <ctime>

namespace mxkit::fakemx {
namespace {

// Length of the valid UTF-8 sequence (RFC 3629 §4) starting at s[i], or 0
// when the bytes there are not one (overlong forms, surrogates and code
// points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void AppendEscapedByte(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

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

}  // namespace

void AppendJsonString(std::string& out, std::string_view bytes) {
  out += '"';
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            AppendEscapedByte(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) {
      AppendEscapedByte(out, c);
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

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
  out += Bool(d.tls);
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
  out += "}\n";
  return out;
}

}  // namespace mxkit::fakemx
