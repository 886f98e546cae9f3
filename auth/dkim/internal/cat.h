// Message building for the dkim package. absl::StrCat does not take
// std::string_view in this abseil build (absl::string_view is its own type),
// and our public APIs use std::string_view, so messages are built with Cat.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_CAT_H_
#define MXKIT_AUTH_DKIM_INTERNAL_CAT_H_

#include <cstddef>
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

// Bytes a piece adds, or 0 when only appending tells (numbers): for one
// reservation up front instead of a string growing piece by piece.
inline std::size_t PieceSize(std::string_view piece) { return piece.size(); }
inline std::size_t PieceSize(const char* piece) { return std::char_traits<char>::length(piece); }
inline std::size_t PieceSize(const std::string& piece) { return piece.size(); }
inline std::size_t PieceSize(char) { return 1; }
template <typename T, typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, char>>>
std::size_t PieceSize(T) {
  return 20;  // the digits of any 64-bit integer
}

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  out.reserve((PieceSize(args) + ... + 0));
  (AppendPiece(out, args), ...);
  return out;
}

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_CAT_H_
