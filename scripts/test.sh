#!/usr/bin/env bash
# The test command: install dependencies if missing, build, run the whole
# suite (GoogleTest through CTest; MPI tests under mpiexec -n 2 and -n 3).
# Extra arguments go to ctest, e.g. scripts/test.sh -R config.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
# Open MPI refuses to run as root without these; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$build"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
