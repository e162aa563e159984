#!/usr/bin/env bash
# Installs missing dependencies, then configures and builds rnnsearch in
# build/ (Release, warnings as errors). Used by test.sh and demo.sh.
#   BUILD_DIR=dir  build directory (default: build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRNNSEARCH_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
