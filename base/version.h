// The mxkit release, printed by --version of fakemx and the mxkit CLI.

#ifndef MXKIT_BASE_VERSION_H_
#define MXKIT_BASE_VERSION_H_

namespace mxkit {

inline constexpr char kMxkitVersion[] = "0.3.0";

}  // namespace mxkit

#endif  // MXKIT_BASE_VERSION_H_
