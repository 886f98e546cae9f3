"""mxkit_fuzz_test: one fuzz target, two ways to run it.

For a target NAME this declares:
  NAME             a binary. Under --config=fuzz it is a real libFuzzer binary
                   (clang, -fsanitize=fuzzer, ASan+UBSan); otherwise it is the
                   replay driver, which runs the target over the files and
                   directories named on its command line.
  NAME_regression  a cc_test that replays every file of the seed corpus and of
                   fuzz/regressions/NAME/ through the target, so plain
                   `bazel test //...` with gcc re-checks every input a campaign
                   ever kept or crashed on (Envoy's habit).
  NAME_corpus, NAME_dict
                   the data fuzz/run.sh hands to libFuzzer.
"""

def mxkit_fuzz_test(name, srcs, deps = [], corpus = None, dict = None, copts = [], **kwargs):
    """Declares a fuzz target; see the file comment.

    Args:
      name: the target name, by convention `<thing>_fuzzer`.
      srcs: sources defining LLVMFuzzerTestOneInput.
      deps: libraries under test.
      corpus: directory (relative to this package) of seed inputs; required and
        non-empty, so a target can never silently replay nothing.
      dict: a libFuzzer dictionary file, optional.
      copts: extra compiler flags.
      **kwargs: passed to both the binary and the test (tags, size, ...).
    """
    if not corpus:
        fail("mxkit_fuzz_test(%s): a seed corpus is required" % name)
    corpus_files = native.glob([corpus + "/**"], exclude_directories = 1)
    if not corpus_files:
        fail("mxkit_fuzz_test(%s): seed corpus %s is empty" % (name, corpus))
    regression_files = native.glob(["regressions/%s/**" % name], exclude_directories = 1)

    native.filegroup(name = name + "_corpus", srcs = corpus_files)
    native.filegroup(
        name = name + "_dict",
        srcs = [dict] if dict else [],
    )

    # The fuzz entry point as a library, so the binary and the test share one
    # compile and the libFuzzer link flags stay on the binary alone.
    native.cc_library(
        name = name + "_lib",
        srcs = srcs,
        deps = deps,
        copts = copts + ["-Wall", "-Wextra", "-Werror"],
        testonly = 1,
        alwayslink = 1,
        visibility = ["//visibility:private"],
    )

    native.cc_binary(
        name = name,
        deps = [":" + name + "_lib"] + select({
            "//fuzz:libfuzzer": [],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
        linkopts = select({
            "//fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        testonly = 1,
        **kwargs
    )

    native.cc_test(
        name = name + "_regression",
        deps = [":" + name + "_lib", "//fuzz:replay_main"],
        data = corpus_files + regression_files,
        args = ["$(rootpath %s)" % f for f in corpus_files + regression_files],
        **kwargs
    )
