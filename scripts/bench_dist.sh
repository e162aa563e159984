#!/usr/bin/env bash
# Data-parallel training on this machine: `rnnsearch bench dist` (see
# launch/bench_dist.cc) under mpirun with 2 ranks x 1 thread, each rank
# bound to its own core, once over shared memory (Open MPI's default
# transports) and once over TCP (--mca btl tcp,self). Each run measures in
# the same process: rank 0 alone (1 rank x 1 thread), both ranks with the
# overlapped and with the blocking gradient sync, and with the
# shared-memory sync, with a state per rank (`shared`) and with the state
# shared (`sharded`, the default of `rnnsearch train` on one node; these
# two do not use the MPI transport) (same per-rank batch: weak scaling),
# and a plain MPI_Allreduce of the gradient's bytes, with
# dist.bound (the no-sync step plus one plain allreduce: the best a sync
# can do on cores that have nothing spare). Prints the bench's JSON lines
# (each with "transport": "shm" or "tcp").
#
# TRANSPORTS=box (root): the same between 2 nodes of the cluster in a box
# (scripts/cluster.sh: network namespaces, real TCP over a bridge), one
# rank per node, once per link rate of BOX_RATES (default "unshaped 10gbit
# 1gbit"; tc's units, both ways), labelled "box-RATE"; `solo` is then rank
# 0 alone on its node, the 1 node x 1 rank baseline. The two nodes share
# this machine's cores (one rank each, unbound: the OS spreads them). The
# box is made and removed by the script (refused if one is up already).
# With the PyTorch peer, its DDP runs between the same two nodes at each
# rate (one rank per node, gloo over the box's bridge).
#
# The machine must be quiet: the figures are ratios between phases that
# alternate within a run, but two ranks need both cores. The script prints
# the load average first.
#
# Options (environment): RNNSEARCH (default build/launch/rnnsearch),
# CONFIG (base or small; default base), STEPS (timed steps per phase and
# round, default 5), ROUNDS (default 3), BUCKET_MB (default 25), POLL_US
# (dist.comm_poll_us of the `overlap` phase, default 200; `overlap_spin` is
# the same sync with blocking allreduces),
# TRANSPORTS (default "shm tcp"), MPIRUN_ARGS (extra mpirun arguments,
# e.g. the ring allreduce: "--mca coll_tuned_use_dynamic_rules 1
# --mca coll_tuned_allreduce_algorithm 4"), PEER (auto, 1 or 0; default
# auto: when the PyTorch peer can run, i.e. ../shared/peers or PEERS_DIR
# holds pytorch_rnnsearch.py and /usr/bin/python3 imports torch, it is run
# after ours at the same shapes with 1 rank and with 2 DDP ranks x 1
# thread, alternating PEER_REPS times (default 2), and its weak-scaling
# efficiency is printed as dist.pytorch_ddp.weak_scaling_efficiency).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${RNNSEARCH:-$root/build/launch/rnnsearch}"
config="${CONFIG:-base}"
steps="${STEPS:-5}"
rounds="${ROUNDS:-3}"
bucket_mb="${BUCKET_MB:-25}"
poll_us="${POLL_US:-200}"
transports="${TRANSPORTS:-shm tcp}"
box_rates="${BOX_RATES:-unshaped 10gbit 1gbit}"
cluster="$root/scripts/cluster.sh"
read -r -a extra <<< "${MPIRUN_ARGS:-}"

die() { echo "bench_dist: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no rnnsearch at '$bin': build it (scripts/build.sh) or set RNNSEARCH"
command -v mpirun >/dev/null || die "mpirun not found: apt-get install openmpi-bin"
cores=$(nproc)
[ "$cores" -ge 2 ] || die "needs 2 cores for 2 ranks x 1 thread (this machine has $cores)"

# Whether the PyTorch peer runs after ours (checked before any benchmark).
peer_mode="${PEER:-auto}"
peers="${PEERS_DIR:-$root/../shared/peers}"
peer_reps="${PEER_REPS:-2}"
peer_ok=0
if [ -f "$peers/pytorch_rnnsearch.py" ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
  peer_ok=1
fi
peer_run=$peer_ok
case "$peer_mode" in
  0) peer_run=0 ;;
  auto) [ "$peer_ok" = 1 ] || echo "bench_dist: the PyTorch peer is not available (PEERS_DIR or ../shared/peers, python3-torch): it will be skipped" >&2 ;;
  1) [ "$peer_ok" = 1 ] || die "PEER=1 but the PyTorch peer cannot run: needs $peers/pytorch_rnnsearch.py and python3-torch for /usr/bin/python3" ;;
  *) die "PEER: expected auto, 1 or 0, found '$peer_mode'" ;;
esac

echo "bench_dist: load average $(cut -d' ' -f1-3 /proc/loadavg) on $cores cores" >&2
root_flag=()
[ "$(id -u)" != 0 ] || root_flag=(--allow-run-as-root)
box=0
for transport in $transports; do
  case "$transport" in
    shm|tcp) ;;
    box) box=1 ;;
    *) die "TRANSPORTS: expected shm, tcp and/or box, found '$transport'" ;;
  esac
done
if [ "$box" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "TRANSPORTS=box needs root (network namespaces)"
  [ ! -f /run/rnnsearch-box/hostfile ] || die "a cluster box is up already (scripts/cluster.sh down)"
  trap '"$cluster" down >/dev/null 2>&1' EXIT
  "$cluster" up 2 >&2
fi
# Sets the box's links to RATE (or unshaped).
box_shape() {
  if [ "$1" = unshaped ]; then "$cluster" shape off >&2; else "$cluster" shape "$1" >&2; fi
}
for transport in $transports; do
  case "$transport" in
    shm) btl=() ;;
    tcp) btl=(--mca btl tcp,self) ;;
    box)
      for rate in $box_rates; do
        box_shape "$rate"
        echo "bench_dist: box, 2 nodes x 1 rank, links $rate" >&2
        # shellcheck disable=SC2046
        mpirun -np 2 --map-by ppr:1:node --bind-to none "${root_flag[@]}" $("$cluster" mpirun-args) \
          ${extra[@]+"${extra[@]}"} "$bin" bench dist --config "$config" --threads 1 \
          --steps "$steps" --rounds "$rounds" --bucket-mb "$bucket_mb" --poll-us "$poll_us" \
          --transport "box-$rate"
      done
      continue ;;
  esac
  echo "bench_dist: $transport" >&2
  mpirun -np 2 --map-by slot:PE=1 --bind-to core "${root_flag[@]}" ${btl[@]+"${btl[@]}"} \
    ${extra[@]+"${extra[@]}"} "$bin" bench dist --config "$config" --threads 1 \
    --steps "$steps" --rounds "$rounds" --bucket-mb "$bucket_mb" --poll-us "$poll_us" --transport "$transport"
done

# The PyTorch peer's DDP (gloo) on the same machine in the same script: its
# weak scaling is the figure ours is compared with.
[ "$peer_run" = 1 ] || exit 0
blas="$peers/deps/root/usr/lib/x86_64-linux-gnu/openblas-openmp"
[ -d "$blas" ] || echo "bench_dist: the peer runs with the default OpenBLAS (run $peers/setup_openblas_openmp.sh for the OpenMP one)" >&2
peer_out="$(mktemp)"
if [ "$box" = 1 ]; then
  trap 'rm -f "$peer_out"; "$cluster" down >/dev/null 2>&1' EXIT
else
  trap 'rm -f "$peer_out"' EXIT
fi
# One run of the peer (ARGS: --ranks and the rest), its JSON line
# prefixed with "ranks_run": R; PREFIX runs it (e.g. on a node of the box).
peer() {
  local ranks=$1 prefix=$2
  shift 2
  $prefix env LD_LIBRARY_PATH="$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" /usr/bin/python3 \
    "$peers/pytorch_rnnsearch.py" --config "$config" --threads 1 --ranks "$ranks" \
    --steps "$((steps * rounds))" --warmup 2 "$@" 2>/dev/null | sed -n 1p |
    sed "s/^{/{\"ranks_run\": $ranks, /"
}
# The peer's figures from the runs in $peer_out, labelled TRANSPORT.
peer_figures() {
  /usr/bin/python3 - "$peer_out" "$config" "$1" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
config, transport = sys.argv[2], sys.argv[3]
rate = {r: statistics.median(d["tgt_tokens_per_s"] for d in runs if d["ranks_run"] == r) for r in (1, 2)}
def line(name, value, unit):
    print(json.dumps({"name": name, "config": config, "transport": transport, "ranks": 2, "threads": 1, "value": round(value, 4), "unit": unit}))
line("dist.pytorch_ddp.solo.tgt_tokens_per_s", rate[1], "tokens/s")
line("dist.pytorch_ddp.tgt_tokens_per_s", rate[2], "tokens/s")
line("dist.pytorch_ddp.weak_scaling_efficiency", rate[2] / (2 * rate[1]), "ratio")
PY
}
for transport in $transports; do
  case "$transport" in
    shm)
      echo "bench_dist: PyTorch peer, $config, 1 rank vs 2 DDP ranks x 1 thread, $peer_reps rounds" >&2
      : >"$peer_out"
      for rep in $(seq 1 "$peer_reps"); do
        for ranks in 1 2; do peer "$ranks" "" >>"$peer_out"; done
      done
      peer_figures local ;;
    box)
      # One DDP rank per node (gloo on the node's eth0, box1 the master);
      # the solo run on box1.
      master=$("$cluster" status | awk '$1 == "box1" { print $2 }')
      for rate in $box_rates; do
        box_shape "$rate"
        echo "bench_dist: PyTorch peer in the box, links $rate, $peer_reps rounds" >&2
        : >"$peer_out"
        for rep in $(seq 1 "$peer_reps"); do
          peer 1 "$cluster exec box1" >>"$peer_out"
          port=$((29500 + RANDOM % 1000))
          for node in 2 1; do
            peer 2 "$cluster exec box$node env GLOO_SOCKET_IFNAME=eth0" --node-rank "$((node - 1))" \
              --master-addr "$master" --port "$port" >>"$peer_out" &
          done
          wait
        done
        peer_figures "box-$rate"
      done ;;
  esac
done
