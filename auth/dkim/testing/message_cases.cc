#include "auth/dkim/testing/message_cases.h"

#include <string>
#include <vector>

namespace mxkit::auth::dkim::testing {

std::vector<MessageCase> CanonicalizationMessages() {
  const std::string from = "From: Alice <alice@example.com>\r\n";
  const std::string std_headers = from +
                                  "To: bob@example.net\r\n"
                                  "Subject: Hello\r\n"
                                  "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                                  "Message-ID: <m1@example.com>\r\n";
  std::string big;
  for (int i = 0; i < 80; ++i) {
    big += "Line " + std::to_string(i) + " of a longer body,\twith  some   spacing. \r\n";
  }
  return {
      {"plain", std_headers + "\r\nHello Bob.\r\n"},
      {"folded-headers",
       from + "To: bob@example.net,\r\n\tcarol@example.net,\r\n   dave@example.net\r\n"
              "Subject:   spaced   out  \r\n\t continued\t \r\n"
              "Date:Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nBody.\r\n"},
      {"mixed-case-names",
       "FROM: Alice <alice@example.com>\r\nsUbJeCt: Case\r\nTO: bob@example.net\r\n\r\nx\r\n"},
      {"empty-body", std_headers + "\r\n"},
      {"only-empty-lines", std_headers + "\r\n\r\n\r\n\r\n"},
      {"trailing-wsp-lines",
       std_headers + "\r\nline one  \r\n \t \r\n  indented\t\tline\r\n\r\n  \r\n\t\r\n"},
      {"wsp-only-last-line", std_headers + "\r\ntext\r\n \t \r\n"},
      {"long-body", std_headers + "\r\n" + big},
      {"empty-values",
       from + "X-Empty:\r\nX-Empty2: \r\nSubject:\r\n \r\nTo: b@example.net\r\n\r\nb\r\n"},
      {"duplicate-fields",
       from + "To: first@example.net\r\nSubject: one\r\nTo: second@example.net\r\n"
              "Subject: two\r\n\r\nbody\r\n"},
      {"utf8-and-tabs",
       from + "Subject: caf\xc3\xa9 \xe2\x98\x95\r\nTo: b@example.net\r\n\r\n"
              "\tna\xc3\xafve\t text\r\n\xe2\x82\xac 5\r\n"},
      {"no-final-crlf", std_headers + "\r\nno newline at the end"},
      {"no-final-crlf-trailing-wsp", std_headers + "\r\nends with spaces  "},
      {"bare-lf-in-body", std_headers + "\r\nline1\nline2\r\n"},
      {"bare-cr-in-body", std_headers + "\r\nline1\rline2\r\n"},
      {"headers-only-no-separator", std_headers},
  };
}

}  // namespace mxkit::auth::dkim::testing
