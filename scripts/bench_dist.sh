#!/usr/bin/env bash
# Data-parallel training on this machine: `rnnsearch bench dist` (see
# launch/bench_dist.cc) under mpirun with 2 ranks x 1 thread, each rank
# bound to its own core, once over shared memory (Open MPI's default
# transports) and once over TCP (--mca btl tcp,self). Each run measures in
# the same process: rank 0 alone (1 rank x 1 thread), both ranks with the
# overlapped and with the blocking gradient sync (same per-rank batch:
# weak scaling), and a plain MPI_Allreduce of the gradient's bytes. Prints
# the bench's JSON lines (each with "transport": "shm" or "tcp").
#
# The machine must be quiet: the figures are ratios between phases that
# alternate within a run, but two ranks need both cores. The script prints
# the load average first.
#
# Options (environment): RNNSEARCH (default build/launch/rnnsearch),
# CONFIG (base or small; default base), STEPS (timed steps per phase and
# round, default 5), ROUNDS (default 3), BUCKET_MB (default 25),
# TRANSPORTS (default "shm tcp"), MPIRUN_ARGS (extra mpirun arguments,
# e.g. the ring allreduce: "--mca coll_tuned_use_dynamic_rules 1
# --mca coll_tuned_allreduce_algorithm 4").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${RNNSEARCH:-$root/build/launch/rnnsearch}"
config="${CONFIG:-base}"
steps="${STEPS:-5}"
rounds="${ROUNDS:-3}"
bucket_mb="${BUCKET_MB:-25}"
transports="${TRANSPORTS:-shm tcp}"
read -r -a extra <<< "${MPIRUN_ARGS:-}"

die() { echo "bench_dist: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no rnnsearch at '$bin': build it (scripts/build.sh) or set RNNSEARCH"
command -v mpirun >/dev/null || die "mpirun not found: apt-get install openmpi-bin"
cores=$(nproc)
[ "$cores" -ge 2 ] || die "needs 2 cores for 2 ranks x 1 thread (this machine has $cores)"

echo "bench_dist: load average $(cut -d' ' -f1-3 /proc/loadavg) on $cores cores" >&2
root_flag=()
[ "$(id -u)" != 0 ] || root_flag=(--allow-run-as-root)
for transport in $transports; do
  case "$transport" in
    shm) btl=() ;;
    tcp) btl=(--mca btl tcp,self) ;;
    *) die "TRANSPORTS: expected shm and/or tcp, found '$transport'" ;;
  esac
  echo "bench_dist: $transport" >&2
  mpirun -np 2 --map-by slot:PE=1 --bind-to core "${root_flag[@]}" ${btl[@]+"${btl[@]}"} \
    ${extra[@]+"${extra[@]}"} "$bin" bench dist --config "$config" --threads 1 \
    --steps "$steps" --rounds "$rounds" --bucket-mb "$bucket_mb" --transport "$transport"
done
