#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer; only common/ and io/) in build-fuzz/ and runs
# each for SECONDS (default 45), the three side by side:
#   config_fuzz      common/config.*: config text and --set overrides
#   corpus_fuzz      io/manifest, shard, corpus: a corpus directory
#   checkpoint_fuzz  io/checkpoint*: a checkpoint file
# It prints the executions each ran and exits non-zero if any crashed, hung
# (10 s on one input), allocated more than 256 MB at once, threw anything
# but a UserError, let HDF5 print its error stack, or a sanitizer reported.
# The inputs that failed are in build-fuzz/artifacts/TARGET/; rerun one
# with build-fuzz/tests/fuzz/TARGET FILE. The corpora grow across runs in
# build-fuzz/corpus/TARGET/. The mutations follow FUZZ_SEED (default 1), so
# that a run that fails can be run again with the same inputs (on a fresh
# build directory; the grown corpora steer later runs); FUZZ_SEED=0 draws a
# new seed each run.
#   scripts/fuzz.sh [SECONDS]     BUILD_DIR=dir  build directory
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-45}"
targets=(config_fuzz corpus_fuzz checkpoint_fuzz)
"$root/scripts/install-deps.sh"
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# CC/CXX choose clang for a new build directory only (a compiler given with
# -D would wipe the cache of an existing one, options included).
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRNNSEARCH_FUZZ=ON -DRNNSEARCH_WERROR=ON "${launcher[@]}" >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${build_targets[@]}"

scratch="$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/rnnsearch_fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"  # the targets' scratch files
seed="${FUZZ_SEED:-1}"
echo "fuzz: $seconds s per target, seed $seed"
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  "$build/tests/fuzz/$t" "$build/corpus/$t" -max_total_time="$seconds" -seed="$seed" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t/" >"$scratch/$t.log" 2>&1 &
  echo $! >"$scratch/$t.pid"
done
failed=0
for t in "${targets[@]}"; do
  status=0
  wait "$(cat "$scratch/$t.pid")" || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log")"
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "fuzz: $t FAILED (exit status $status) after ${runs:-?} executions; its log:" >&2
    # The report from its first line (a sanitizer's ==PID==ERROR, a
    # FUZZ FAILURE, a libFuzzer ERROR), stacks cut at 12 frames, then where
    # the input that failed was written.
    awk '/==ERROR|^FUZZ FAILURE|^ERROR: libFuzzer|runtime error:/ { on = 1 }
         on && !/^ +#(1[2-9]|[2-9][0-9]|[0-9][0-9][0-9]+) / && !/^#[0-9]+\t/ { print; if (++n == 60) exit }' \
      "$scratch/$t.log" >&2
    grep -a 'Test unit written' "$scratch/$t.log" >&2 || true
  else
    echo "fuzz: $t: $runs executions in $seconds s, no failure"
  fi
done
exit "$failed"
