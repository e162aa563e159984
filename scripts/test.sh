#!/usr/bin/env bash
# The test command (.ci/run runs it): installs dependencies if missing, then
#  0. checks the code style (scripts/check-format.sh, .clang-format);
#  1. builds build/ (Release, warnings as errors) and runs the whole suite
#     (GoogleTest through CTest; MPI tests under mpiexec -n 2 and -n 3);
#  2. builds build-sanitize/ (assertions on, AddressSanitizer and
#     UndefinedBehaviorSanitizer; -O0 builds in 4 minutes on 2 cores, -O1
#     in 6.5, for a tenth less test time) and runs the suite again there
#     but for the longest end-to-end runs (kSanitizeSkip below, whose code the
#     other tests cover): any report (a bad access, a leak of ours,
#     undefined behaviour) fails its test;
#  3. runs the fuzzers of the config, corpus and checkpoint readers
#     (scripts/fuzz.sh, FUZZ_SECONDS each, default 45, side by side).
# Extra arguments go to both ctest runs, e.g. scripts/test.sh -R config.
#   BUILD_DIR=dir           the Release build directory (default: build)
#   SANITIZE_BUILD_DIR=dir  the sanitizer build directory (default: build-sanitize)
#   RNNSEARCH_SANITIZE=0    skip step 2;  FUZZ_SECONDS=0  skip step 3
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
sanitize_build="${SANITIZE_BUILD_DIR:-$root/build-sanitize}"
# Open MPI refuses to run as root without these; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs="$(nproc)"
started=$SECONDS

"$root/scripts/install-deps.sh"
echo "== test: code style (scripts/check-format.sh)"
"$root/scripts/check-format.sh"
"$root/scripts/build.sh"
echo "== test: Release suite ($build)"
(cd "$build" && ctest --output-on-failure --timeout 600 -j "$jobs" "$@")

# The end-to-end runs of many training or translation jobs (their parts run
# in the other tests) and the model against its float64 reference for every
# variant; under the sanitizers they would take 7 of 9 minutes.
kSanitizeSkip='trainer_model_test|trainer_train_cli_test|trainer_dist_failure_test|trainer_node_loss_test|trainer_multinode_test|trainer_dist_cli_test|launch_translate_cli_test|launch_demo_test|io_preprocess_mpi_test[.]np'
if [ "${RNNSEARCH_SANITIZE:-1}" != 0 ]; then
  echo "== test: building with AddressSanitizer and UndefinedBehaviorSanitizer ($sanitize_build)"
  cmake -S "$root" -B "$sanitize_build" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DRNNSEARCH_SANITIZE=ON -DRNNSEARCH_WERROR=ON >/dev/null
  cmake --build "$sanitize_build" -j "$jobs"
  echo "== test: sanitizer suite ($sanitize_build)"
  # Leaks are reported except those of the MPI runtime, whose plugins stay
  # loaded (disable_dlclose) so that the full stacks (slow unwinding) name
  # them for tests/sanitizer/lsan.supp.
  export OMPI_MCA_mca_base_component_disable_dlclose=1
  export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:check_initialization_order=1"
  export LSAN_OPTIONS="suppressions=$root/tests/sanitizer/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  (cd "$sanitize_build" &&
    ctest --output-on-failure --timeout 900 -j "$jobs" -E "$kSanitizeSkip" "$@")
fi

if [ "${FUZZ_SECONDS:-45}" != 0 ]; then
  echo "== test: fuzzing the readers"
  "$root/scripts/fuzz.sh" "${FUZZ_SECONDS:-45}"
fi
echo "== test: all passed in $((SECONDS - started)) s"
