// Delivery: what fakemx records about one accepted message besides its bytes
// (the SMTP envelope and the session it arrived in), and its JSON form, the
// "envelope sidecar" stored next to a Maildir message (see fakemx/README.md).
//
// Kept free of Asio and of smtp::ServerSession so storage can be tested and
// reused (the HTTP API will serve the same JSON) without a network.

#ifndef MXKIT_FAKEMX_DELIVERY_H_
#define MXKIT_FAKEMX_DELIVERY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "fakemx/verdict_types.h"

namespace mxkit::fakemx {

// An ESMTP parameter as the client sent it: {"SIZE", "1000"}, {"BODY", "8BITMIME"}.
using DeliveryParam = std::pair<std::string, std::string>;

struct DeliveryRecipient {
  std::string address;  // forward-path without angle brackets
  std::vector<DeliveryParam> params;
};

// The TLS facts of the session a message arrived in (the sidecar's "tls"
// object). Plain strings, so storage needs no TLS library.
struct DeliveryTls {
  bool used = false;       // the message came over TLS (STARTTLS or implicit)
  bool implicit = false;   // on the implicit-TLS listener (--smtps, RFC 8314 §3.3)
  std::string version;     // "TLSv1.3" (OpenSSL's spelling); written as null when !used
  std::string cipher;      // IANA name, "TLS_AES_128_GCM_SHA256"; null when !used
  std::string group;       // "X25519"; null when !used or when there was none (RSA kx)
  std::optional<std::string> sni;  // the server_name the client sent; null when none
  std::string certificate;  // the variant served, "good"; null when !used
  // Plaintext the client pipelined behind STARTTLS and the server discarded
  // unprocessed (CVE-2011-0411); counted also when TLS was not used after all.
  uint64_t plaintext_discarded_bytes = 0;
};

struct Delivery {
  // Microseconds since the Unix epoch when the end of data was received; also
  // the time part of the Maildir name.
  int64_t received_at_us = 0;
  std::string client_address;  // "127.0.0.1", "::1"
  uint16_t client_port = 0;
  std::string server_hostname;  // our name in the greeting
  bool esmtp = false;           // EHLO (true) or HELO (false)
  std::string helo;             // the HELO/EHLO argument as sent
  DeliveryTls tls;
  std::string reverse_path;     // without angle brackets; "" is the null path <>
  std::vector<DeliveryParam> mail_params;
  std::vector<DeliveryRecipient> recipients;
  std::string body;             // "7BIT", "8BITMIME" or "BINARYMIME"
  bool smtputf8 = false;
  bool via_bdat = false;        // RFC 3030 BDAT rather than DATA
  // The message's verdict (fakemx/verdict.h), when a verdict engine judged
  // it and a Maildir sidecar will carry it (the "verdict" object); null
  // otherwise. A pointer, not the verdict itself: the capture keeps every
  // Delivery and the verdict once elsewhere (CapturedMessage::verdict), and
  // ~600 bytes of empty MessageVerdict per stored message were a seventh of
  // the fresh memory each message cost.
  std::shared_ptr<const MessageVerdict> verdict;
};

// The sidecar JSON for `delivery` whose stored message is `message_size`
// octets under Maildir name `name`: one object, keys in a fixed order, ending
// in a newline. Strings are written by base::AppendJsonString: bytes that
// are not valid UTF-8 (a client may send them in an address without
// SMTPUTF8) become U+FFFD, so every input yields valid JSON. A judged
// delivery gains "verdict" (fakemx/verdict_json.h) after "size".
std::string DeliveryToJson(const Delivery& delivery, const std::string& name,
                           uint64_t message_size);

// Appends `tls` as the sidecar's "tls" object (the same fields and nulls), for
// the HTTP API's session objects, so a session's TLS facts and a message's
// are written by one function.
void AppendDeliveryTlsJson(std::string& out, const DeliveryTls& tls);

// RFC 3339 UTC time with microseconds, "2026-11-23T11:15:45.123456Z".
std::string FormatRfc3339Micros(int64_t unix_micros);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_DELIVERY_H_
