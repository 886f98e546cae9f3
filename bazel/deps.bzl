"""Every external repository mxkit needs, from Debian packages only.

A downstream workspace loads this file and calls mxkit_dependencies() exactly as
mxkit's own WORKSPACE does. Each repository is wrapped in maybe() under its usual
upstream name, so a workspace that already defines (say) com_google_googletest
keeps its own copy.

mxkit_offline_stand_ins() is separate and opt-in: it declares minimal local
stand-ins for repositories Bazel 4.2.3 would otherwise download (rules_cc,
rules_java, remote_coverage_tools). Inside mxkit_dependencies() they would
shadow a downstream workspace's real rules_cc whenever that workspace's own
deps macros ran later (their maybe() sees ours and keeps it), and a workspace
cannot redefine a repository after a load statement. So a workspace calls it
only when it is offline and has nothing better, after declaring whatever real
ones it has.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//bazel:debian_boringssl.bzl", "debian_boringssl")

def mxkit_offline_stand_ins(mxkit_path = None):
    """Declares offline stand-ins for Bazel's own downloaded repositories.

    Each is wrapped in maybe(): a repository the workspace declared before this
    call is kept. The stand-ins: rules_cc forwarding to the native C++ rules
    (no toolchain helpers), rules_java likewise, and remote_coverage_tools
    whose tools say that `bazel coverage` is unavailable offline.

    Args:
      mxkit_path: where mxkit's checkout is, relative to the calling workspace
        or absolute; unset inside mxkit itself.
    """
    prefix = (mxkit_path + "/") if mxkit_path else ""
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        maybe(
            native.local_repository,
            name = name,
            path = prefix + "bazel/local_repos/" + name,
        )

def mxkit_dependencies(mxkit_path = None):
    """Declares mxkit's external repositories (system libraries from Debian).

    Args:
      mxkit_path: accepted for symmetry with mxkit_offline_stand_ins(); every
        repository here names its files by Label, so it is not needed.
    """

    # build_file wants a string; str(Label(...)) names our own repository both
    # here ("//...") and downstream ("@mxkit//...").

    # BoringSSL: android-libboringssl-dev. Its headers sit apart from OpenSSL's
    # so both can be installed; the libraries are found through an rpath under
    # /usr/lib/<multiarch triplet>/android, the triplet asked of this machine.
    maybe(
        debian_boringssl,
        name = "boringssl",
        build_file_template = Label("//third_party:boringssl.BUILD.tpl"),
    )

    # Boost 1.81 (libboost1.81-dev), header-only use of Asio, Beast and JSON.
    # Debian's default Boost 1.74 Asio does not compile as C++20 with gcc 12.
    maybe(
        native.new_local_repository,
        name = "boost",
        path = "/usr/include/boost",
        build_file = str(Label("//third_party:boost.BUILD")),
    )

    # Abseil 20220623 (libabsl-dev), shared libraries.
    maybe(
        native.new_local_repository,
        name = "com_google_absl",
        path = "/usr/include/absl",
        build_file = str(Label("//third_party:absl.BUILD")),
    )

    # GoogleTest and GoogleMock compiled from Debian's sources (googletest),
    # the way upstream intends: with the same flags as the code under test.
    maybe(
        native.new_local_repository,
        name = "com_google_googletest",
        path = "/usr/src/googletest",
        build_file = str(Label("//third_party:googletest.BUILD")),
    )

    # Google Benchmark (libbenchmark-dev).
    maybe(
        native.new_local_repository,
        name = "com_github_google_benchmark",
        path = "/usr/include/benchmark",
        build_file = str(Label("//third_party:benchmark.BUILD")),
    )

    # c-ares (libc-ares-dev) for dns/'s real resolver.
    maybe(
        native.new_local_repository,
        name = "c-ares",
        path = "/usr/include",
        build_file = str(Label("//third_party:c_ares.BUILD")),
    )

    # libpsl (libpsl-dev) with Debian's publicsuffix data, for DMARC's
    # organizational domain.
    maybe(
        native.new_local_repository,
        name = "libpsl",
        path = "/usr/include",
        build_file = str(Label("//third_party:libpsl.BUILD")),
    )

    # libidn2 (libidn2-dev): U-labels to A-labels for SPF and DMARC (RFC 8616).
    maybe(
        native.new_local_repository,
        name = "libidn2",
        path = "/usr/include",
        build_file = str(Label("//third_party:libidn2.BUILD")),
    )

    # yaml-cpp (libyaml-cpp-dev): reads the OpenSPF conformance suite in tests.
    maybe(
        native.new_local_repository,
        name = "yaml-cpp",
        path = "/usr/include/yaml-cpp",
        build_file = str(Label("//third_party:yaml_cpp.BUILD")),
    )

    # The C implementations auth/ is compared with (issue 13), for test-only
    # targets: never a dependency of a library. libspf2 (libspf2-dev),
    # libopendkim (libopendkim-dev, which links OpenSSL's libcrypto.so.3: a
    # binary that also links BoringSSL must load it in isolation, see
    # third_party/opendkim.BUILD) and libopendmarc (libopendmarc-dev).
    maybe(
        native.new_local_repository,
        name = "libspf2",
        path = "/usr/include/spf2",
        build_file = str(Label("//third_party:libspf2.BUILD")),
    )
    maybe(
        native.new_local_repository,
        name = "opendkim",
        path = "/usr/include/opendkim",
        build_file = str(Label("//third_party:opendkim.BUILD")),
    )
    maybe(
        native.new_local_repository,
        name = "opendmarc",
        path = "/usr/include/opendmarc",
        build_file = str(Label("//third_party:opendmarc.BUILD")),
    )
