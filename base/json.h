// JSON string literals (RFC 8259 §7) from arbitrary bytes, for the JSON that
// fakemx's envelope sidecars and mxkit's reports carry.

#ifndef MXKIT_BASE_JSON_H_
#define MXKIT_BASE_JSON_H_

#include <string>
#include <string_view>

namespace mxkit::base {

// Appends `bytes` to `out` as one JSON string literal, quotes included.
// '"' and '\' are escaped, as are the control characters (below U+0020, and
// U+007F): \n, \r and \t by name, the others as \u00XX. JSON text must be
// UTF-8 (RFC 8259 §8.1), so each maximal ill-formed subpart of `bytes`
// becomes U+FFFD (see AppendUtf8Replacing in base/utf8.h): an escape such as
// \u00FF would instead claim the character U+00FF, indistinguishable from a
// client that really sent "\xC3\xBF". Well-formed UTF-8 passes through raw.
void AppendJsonString(std::string& out, std::string_view bytes);

}  // namespace mxkit::base

#endif  // MXKIT_BASE_JSON_H_
