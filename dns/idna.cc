#include "dns/idna.h"

#include <idn2.h>

#include <string>

namespace mxkit::dns {

bool HasNonAscii(std::string_view name) {
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

IdnaResult ToALabels(std::string_view name) {
  IdnaResult out;
  if (!HasNonAscii(name)) {
    out.name = std::string(name);
    return out;
  }
  if (name.size() > kMaxIdnaInputLength) {
    out.error = "internationalized domain name of " + std::to_string(name.size()) +
                " octets is longer than any name that fits in 253 A-label characters";
    return out;
  }
  // libidn2 reads a C string; a NUL would silently cut the name short.
  if (name.find('\0') != std::string_view::npos) {
    out.error = "internationalized domain name contains a NUL octet";
    return out;
  }
  const std::string input(name);
  char* converted = nullptr;
  const int rc = idn2_to_ascii_8z(input.c_str(), &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    // idn2_strerror gives the cause ("string contains a disallowed
    // character", "domain label longer than 63 characters", ...).
    out.error = std::string("not a valid internationalized domain name: ") + idn2_strerror(rc);
    return out;
  }
  out.name = converted;
  idn2_free(converted);
  // libidn2 checks labels (63) and the whole (255 with the root) but not
  // the 253 characters a name has as text without the trailing dot.
  std::string_view text = out.name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.size() > 253) {
    out.error = "internationalized domain name is " + std::to_string(text.size()) +
                " characters in A-label form, over the 253 a domain name may have (RFC 1035 §2.3.4)";
    out.name.clear();
  }
  return out;
}

}  // namespace mxkit::dns
