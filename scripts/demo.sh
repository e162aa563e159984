#!/usr/bin/env bash
# The main job: installs dependencies if missing, builds, and runs the demo.
#
# The full demo (generate a small translation task, preprocess it, train
# with 2 MPI ranks, stop and resume, translate, draw the attention) arrives
# with the translate issue. Until then this shows what exists in this
# build: the program, its commands, and one config checked under mpirun
# with 2 ranks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
bin="$build/launch/rnnsearch"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo
echo "== $("$bin" --version)"
echo
"$bin" --help
echo
echo "== the example config, checked by rank 0 and agreed by both ranks (mpirun -np 2):"
mpirun -np 2 --oversubscribe --bind-to none "$bin" train \
  --config "$root/configs/example.yaml" --set train.max_steps=100 --print-config
echo
echo "== what this build does not do yet: preprocessing, training, translation"
echo "   and the attention pictures are later issues; the demo grows with them."
echo "   Binary: $bin"
