// Message building for the dkim package. absl::StrCat does not take
// std::string_view in this abseil build (absl::string_view is its own type),
// and our public APIs use std::string_view, so messages are built with Cat.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_CAT_H_
#define MXKIT_AUTH_DKIM_INTERNAL_CAT_H_

#include <string>
#include <string_view>
#include <type_traits>

namespace mxkit::auth::dkim::internal {

inline void AppendPiece(std::string& out, std::string_view piece) { out.append(piece); }
inline void AppendPiece(std::string& out, const char* piece) { out.append(piece); }
inline void AppendPiece(std::string& out, const std::string& piece) { out.append(piece); }
inline void AppendPiece(std::string& out, char c) { out.push_back(c); }
template <typename T, typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, char>>>
void AppendPiece(std::string& out, T value) {
  out.append(std::to_string(value));
}

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (AppendPiece(out, args), ...);
  return out;
}

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_CAT_H_
