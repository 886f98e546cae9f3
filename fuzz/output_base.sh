# Sourced by run.sh and smoke.sh: the Bazel output base for --config=fuzz builds.
# One per checkout (Bazel ties an output base to one workspace), apart from the
# everyday one so switching to clang does not discard the gcc build cache.
fuzz_output_base() {
  if [[ -n "${MXKIT_FUZZ_OUTPUT_BASE:-}" ]]; then
    echo "$MXKIT_FUZZ_OUTPUT_BASE"
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/mxkit/fuzz-$(printf '%s' "$root" | md5sum | cut -c1-12)"
  fi
}
