// The 5 KiB message of the DKIM benchmarks (dkim_benchmark.cc's fixture,
// shared so that every DKIM comparison measures the same bytes): a Postfix
// Received field, the usual originator fields with one folded Subject, and a
// text body of lines with runs of spaces, a tab and trailing spaces for
// relaxed canonicalization to work on. Test-only.

#ifndef MXKIT_AUTH_BENCHMARKS_DKIM_FIXTURE_H_
#define MXKIT_AUTH_BENCHMARKS_DKIM_FIXTURE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace mxkit::auth::benchmarks {

// 2023-11-14T22:13:20Z: the t= of every benchmark signature and the
// verifiers' "now".
inline constexpr int64_t kDkimFixtureNow = 1700000000;
// The signed message's size the body grows to.
inline constexpr std::size_t kDkimFixtureMessageBytes = 5 * 1024;

inline constexpr char kDkimFixtureHeaders[] =
    "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n"
    "\tby mx.example.net (Postfix) with ESMTPS id 4SVd0k1x2Bz9vBD\r\n"
    "\tfor <bob@example.net>; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\r\n"
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob Example <bob@example.net>\r\n"
    "Subject: Quarterly report, with a subject long enough to be\r\n"
    " folded onto a second line\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <20231114221320.12345@mail.example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n";

struct DkimFixtureMessage {
  std::string unsigned_message;  // headers + body
  std::string signature_field;   // what `sign` returned for it (CRLF-terminated)
  std::string body;
};

// Adds body lines until signature_field + unsigned_message reaches
// kDkimFixtureMessageBytes. `sign` returns the DKIM-Signature field for an
// unsigned message (a signature is over 400 bytes, so it is called only
// near the end).
inline DkimFixtureMessage BuildDkimFixtureMessage(
    const std::function<std::string(const std::string&)>& sign) {
  DkimFixtureMessage m;
  int line = 0;
  while (m.signature_field.size() + m.unsigned_message.size() < kDkimFixtureMessageBytes) {
    m.body += "Line " + std::to_string(line++) +
              " of the report:  figures\tfor the quarter are below, as usual.  \r\n";
    m.unsigned_message = kDkimFixtureHeaders + m.body;
    if (m.unsigned_message.size() + 400 < kDkimFixtureMessageBytes) continue;
    m.signature_field = sign(m.unsigned_message);
  }
  return m;
}

}  // namespace mxkit::auth::benchmarks

#endif  // MXKIT_AUTH_BENCHMARKS_DKIM_FIXTURE_H_
