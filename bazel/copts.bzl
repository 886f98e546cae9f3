"""Compiler flags for mxkit's own targets.

Warnings are errors in our code only; system headers come in through -isystem
and are never held to these. The C++ standard is set once in .bazelrc, never
here (per-target -std breaks ODR downstream).
"""

MXKIT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]
