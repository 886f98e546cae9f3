"""This workspace's own dependencies macro, as a C++ project would have one.

It declares its own rules_cc with maybe(), the way such macros do, and it runs
after mxkit_dependencies(): had mxkit's macro declared a rules_cc of its own by
then, this one would be skipped without a word and the marker target below
would not exist.

A real project would fetch rules_cc with http_archive. Offline, the only
rules_cc that Debian's Bazel 4.2.3 can load (its @bazel_tools loads
@rules_cc//cc:defs.bzl) is one of its own vintage; Debian's bazel-rules-cc
0.0.4 needs a newer Bazel. So this one is built from the files of mxkit's
forwarding stand-in with a root BUILD of this workspace's own, whose marker
target is what proves whose rules_cc won.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")

def downstream_dependencies(mxkit_path):
    maybe(
        native.new_local_repository,
        name = "rules_cc",
        path = mxkit_path + "/bazel/local_repos/rules_cc",
        build_file_content = "\n".join([
            "# rules_cc as declared by mxkit_downstream's own deps macro.",
            'filegroup(name = "declared_by_mxkit_downstream", visibility = ["//visibility:public"])',
            "",
        ]),
    )
