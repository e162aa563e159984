#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds rnnsearch in
# build/ (Release, warnings as errors). Used by test.sh and demo.sh.
#   scripts/build.sh [TARGET ...]   only these targets (default: all; the
#                                   demo builds only the program, rnnsearch)
#   BUILD_DIR=dir  build directory (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRNNSEARCH_WERROR=ON >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
