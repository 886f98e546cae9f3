// Crossing from std:: to absl:: string types. Debian's abseil 20220623 is
// built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so absl::string_view is its
// own type and a std::string_view does not convert to it implicitly.

#ifndef MXKIT_BASE_ABSL_INTEROP_H_
#define MXKIT_BASE_ABSL_INTEROP_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mxkit::base {

// "absl view": the same bytes as an absl::string_view, for absl::StrCat,
// absl::EqualsIgnoreCase and friends.
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A formatter for absl::StrJoin over std::string_view (or std::string)
// elements, which absl's AlphaNum does not take here:
// absl::StrJoin(names, ", ", base::AppendStdView).
inline void AppendStdView(std::string* out, std::string_view s) { out->append(s); }

// The message of `status` as a std::string (absl::Status::message() is an
// absl::string_view here).
inline std::string StatusText(const absl::Status& status) {
  const absl::string_view m = status.message();
  return std::string(m.data(), m.size());
}

}  // namespace mxkit::base

#endif  // MXKIT_BASE_ABSL_INTEROP_H_
