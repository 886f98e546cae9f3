// Internationalized domain names to the A-label form DNS queries use.
//
// RFC 8616 has SPF (§4) and DMARC (§6) work on A-labels: a U-label
// ("bücher") in an SMTPUTF8 MAIL FROM, HELO or RFC 6532 From field is
// converted to its A-label ("xn--bcher-kva") before it is looked up or
// compared. The conversion is IDNA2008 (RFC 5891) after UTS #46
// nontransitional mapping, so "Bücher.Example" and "bücher.example" convert
// alike, as browsers and libidn2's own tools do; the mapping is done by
// libidn2, which is pure computation (no I/O, no global state we depend on).

#ifndef MXKIT_DNS_IDNA_H_
#define MXKIT_DNS_IDNA_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mxkit::dns {

// Longest input we hand to the converter (ours). A name is at most 253
// characters in A-label form (RFC 1035 §2.3.4) and UTF-8 spends at most four
// octets per code point, so no convertible name is longer.
inline constexpr std::size_t kMaxIdnaInputLength = 4 * 253;

struct IdnaResult {
  std::string name;   // on success: the name with every label in A-label or ASCII form
  std::string error;  // on failure: what is wrong, for humans (the input is not repeated)

  bool ok() const { return error.empty(); }
};

// True if `name` has a byte outside ASCII, i.e. may hold U-labels.
bool HasNonAscii(std::string_view name);

// Converts `name`, UTF-8 with labels separated by '.', to A-labels. A name
// that is all ASCII is returned as it is (case kept, no validation: ASCII
// names are the resolver's business). Otherwise the whole name goes through
// UTS #46 nontransitional mapping (which lowercases) and IDNA2008 validation;
// invalid UTF-8, an embedded NUL, a disallowed code point, a label or name
// too long, or input over kMaxIdnaInputLength is an error naming the cause.
// A trailing '.' is kept.
IdnaResult ToALabels(std::string_view name);

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_IDNA_H_
