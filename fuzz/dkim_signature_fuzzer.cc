// Fuzz target for //auth/dkim:signature (ParseSignature, RFC 6376 §3.5, and
// the §3.7 header hash input).
//
// Input: a raw DKIM-Signature field ("DKIM-Signature:" is prepended when the
// input has no colon).
// Properties checked (a violation traps):
//  1. On success: the b= range lies inside the field and starts right after
//     "b="; d= is a valid domain name; h= includes "from"; the i= domain is
//     d= or a subdomain of it; x= > t= when both are present.
//  2. The header hash input ends with the field's canonical form with b=
//     emptied, and never with CRLF (§3.7).
//  3. Parsing never depends on what follows the b= value: the field with b=
//     emptied (allow_empty_b) parses to the same signature otherwise.
//  4. On failure the offset lies within the field (or at its end).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim/signature.h"

namespace {

using namespace mxkit::auth::dkim;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string field(reinterpret_cast<const char*>(data), size);
  if (field.find(':') == std::string::npos) field = "DKIM-Signature:" + field;
  SignatureParseResult r = ParseSignature(field);
  if (!r.ok()) {
    Check(r.offset <= field.size());
    Check(!r.message.empty());
    return 0;
  }
  const Signature& sig = r.signature;
  Check(sig.b_value_begin >= 2 && sig.b_value_begin <= sig.b_value_end &&
        sig.b_value_end <= field.size());
  Check(field.compare(sig.b_value_begin - 2, 2, "b=") == 0 ||
        field[sig.b_value_begin - 1] == '=');
  Check(IsValidDomainName(sig.domain));
  bool from = false;
  for (const std::string& h : sig.signed_headers) from = from || h == "from";
  Check(from);
  const std::string& d = sig.domain;
  const std::string& id = sig.identity_domain;
  Check(id == d || (id.size() > d.size() && EndsWith(id, "." + d)));
  if (sig.timestamp && sig.expiration) Check(*sig.expiration > *sig.timestamp);

  std::string emptied = field.substr(0, sig.b_value_begin) + field.substr(sig.b_value_end);
  SignatureParseOptions options;
  options.allow_empty_b = true;
  SignatureParseResult again = ParseSignature(emptied, options);
  Check(again.ok());
  Check(again.signature.domain == sig.domain && again.signature.selector == sig.selector &&
        again.signature.signed_headers == sig.signed_headers &&
        again.signature.body_hash == sig.body_hash && again.signature.signature.empty());

  std::vector<HeaderField> headers = {{"From", "From: a@example.com"},
                                      {"Subject", "Subject:  x\r\n y"},
                                      {"DKIM-Signature", field}};
  std::string input;
  AppendHeaderHashInput(headers, sig, field, &input);
  std::string canonical = CanonicalizeHeader(sig.header_canonicalization, emptied);
  canonical.resize(canonical.size() - 2);
  Check(EndsWith(input, canonical));
  Check(!EndsWith(input, "\r\n") || EndsWith(canonical, "\r\n"));
  return 0;
}
