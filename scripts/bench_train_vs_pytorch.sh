#!/usr/bin/env bash
# Training throughput and peak memory of rnnsearch against the PyTorch peer
# (../shared/peers/pytorch_rnnsearch.py), run side by side in this script
# so that the ratios are measured under the same machine load.
#
# For each shape preset (small, base) and thread count (1, 2), REPS times
# in alternation: `rnnsearch bench train` (whole training steps: batches
# from shards, forward, backward, clipping, Adam) and the peer (forward,
# backward, Adam), both on full-length batches of the same shapes, each in
# its own process. Prints each run's figures, then per (config, threads)
# the medians and the ratios as JSON lines:
#   {"name": "base.train_vs_pytorch.tgt_tokens_per_s", "threads": 2, "value": 1.41, "unit": "ratio"}
#   {"name": "base.train_vs_pytorch.peak_rss", ...}    ours / the peer's (lower is better)
#
# Needs (it checks each and stops with what to do):
#   - the peers directory: ../shared/peers beside the repository, or PEERS_DIR;
#   - PyTorch for /usr/bin/python3: apt-get install python3-torch (for this
#     benchmark only; it is not a dependency of rnnsearch);
#   - the OpenMP build of OpenBLAS unpacked by the peers' setup_openblas_openmp.sh
#     (run here once if missing: it downloads Debian's libopenblas0-openmp);
#   - a built rnnsearch: build/launch/rnnsearch, or RNNSEARCH=path.
# Options (environment): REPS (default 3), STEPS (timed steps, default 10),
# CONFIGS (default "small base"), THREADS (default "1 2").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${PEERS_DIR:-$root/../shared/peers}"
bin="${RNNSEARCH:-$root/build/launch/rnnsearch}"
reps="${REPS:-3}"
steps="${STEPS:-10}"
configs="${CONFIGS:-small base}"
threads_list="${THREADS:-1 2}"

die() { echo "bench_train_vs_pytorch: $*" >&2; exit 1; }

[ -f "$peers/pytorch_rnnsearch.py" ] ||
  die "the PyTorch peer is not at '$peers/pytorch_rnnsearch.py': this benchmark needs the shared peers directory (../shared/peers beside the repository, or set PEERS_DIR)"
/usr/bin/python3 -c "import torch" 2>/dev/null ||
  die "PyTorch is missing for /usr/bin/python3: install it with 'apt-get install python3-torch' (needed by this benchmark only)"
blas="$peers/deps/root/usr/lib/x86_64-linux-gnu/openblas-openmp"
if [ ! -d "$blas" ]; then
  echo "bench_train_vs_pytorch: unpacking the OpenMP OpenBLAS for the peer (setup_openblas_openmp.sh)" >&2
  (cd "$peers" && ./setup_openblas_openmp.sh >&2) ||
    die "setup_openblas_openmp.sh failed: the peer would run with the pthread OpenBLAS, which is unfair on 2 threads"
fi
[ -x "$bin" ] || die "no rnnsearch binary at '$bin': build it first (scripts/build.sh) or set RNNSEARCH"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for config in $configs; do
  for threads in $threads_list; do
    for rep in $(seq 1 "$reps"); do
      "$bin" bench train --configs "$config" --threads "$threads" --steps "$steps" --warmup 2 \
        2>/dev/null | tee -a "$out/ours.$config.$threads"
      LD_LIBRARY_PATH="$blas" /usr/bin/python3 "$peers/pytorch_rnnsearch.py" --config "$config" \
        --threads "$threads" --steps "$steps" --warmup 2 2>/dev/null | tee -a "$out/peer.$config.$threads"
    done
  done
done
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

/usr/bin/python3 - "$out" $configs -- $threads_list <<'PY'
import json, statistics, sys
out = sys.argv[1]
sep = sys.argv.index("--")
configs, threads = sys.argv[2:sep], sys.argv[sep + 1:]
def line(name, t, value, unit):
    print(json.dumps({"name": name, "threads": int(t), "value": round(value, 4), "unit": unit}))
for c in configs:
    for t in threads:
        ours = [json.loads(l) for l in open(f"{out}/ours.{c}.{t}") if l.startswith("{")]
        peer = [json.loads(l) for l in open(f"{out}/peer.{c}.{t}") if l.startswith("{")]
        tok = statistics.median(d["value"] for d in ours if d["name"] == f"{c}.train.tgt_tokens_per_s")
        rss = statistics.median(d["value"] for d in ours if d["name"] == f"{c}.train.peak_rss_mb")
        ptok = statistics.median(d["tgt_tokens_per_s"] for d in peer)
        prss = statistics.median(d["peak_rss_mb_rank0"] for d in peer)
        line(f"{c}.train.tgt_tokens_per_s.median", t, tok, "tokens/s")
        line(f"{c}.pytorch.tgt_tokens_per_s.median", t, ptok, "tokens/s")
        line(f"{c}.train_vs_pytorch.tgt_tokens_per_s", t, tok / ptok, "ratio")
        line(f"{c}.train.peak_rss_mb.median", t, rss, "MB")
        line(f"{c}.pytorch.peak_rss_mb.median", t, prss, "MB")
        line(f"{c}.train_vs_pytorch.peak_rss", t, rss / prss, "ratio")
PY
