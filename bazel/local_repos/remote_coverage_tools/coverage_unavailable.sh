#!/bin/sh
echo "mxkit: 'bazel coverage' is not supported: Bazel's coverage tools cannot be fetched offline." >&2
exit 1
