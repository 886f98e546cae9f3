# BoringSSL from Debian's android-libboringssl-dev, written by
# //bazel:debian_boringssl.bzl for this machine's architecture.
# Headers: /usr/include/android/openssl (linked as this repository's openssl/).
# Libraries: %{libdir}, found at run time via rpath.
package(default_visibility = ["//visibility:public"])

_LIBDIR = "%{libdir}"

cc_library(
    name = "crypto",
    hdrs = glob(["openssl/**/*.h"]),
    includes = ["."],
    linkopts = [
        "-L" + _LIBDIR,
        "-Wl,-rpath," + _LIBDIR,
        "-lcrypto",
        "-lpthread",
    ],
)

cc_library(
    name = "ssl",
    linkopts = [
        "-L" + _LIBDIR,
        "-Wl,-rpath," + _LIBDIR,
        "-lssl",
    ],
    deps = [":crypto"],
)
