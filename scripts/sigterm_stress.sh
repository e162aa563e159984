#!/usr/bin/env bash
# Stops a real training with SIGTERM at random moments, many times, and
# counts the runs that did not end cleanly (exit status 0, "stopped by a
# signal", a checkpoint of the step reached). Not a test: it takes minutes
# and its failures were random (before the stop signals got a thread of
# their own, about 4 in 10 SIGTERMs to a Multi30k training crashed with
# "corrupted size vs. prev_size" a few steps later; trainer/run/stop_signal.h).
#
#   scripts/sigterm_stress.sh CORPUS_DIR [TRIALS]
#
# CORPUS_DIR holds train/ and val/ shards (for example OUT/data of
# recipes/multi30k/run.sh --preprocess-only). Environment: RNNSEARCH (the
# program, default build/launch/rnnsearch), CONFIG (default
# recipes/multi30k/config.yaml), MIN_S and MAX_S (the SIGTERM comes after a
# random whole number of seconds in [MIN_S, MAX_S], default 8 and 40;
# validation and a checkpoint every 40 steps, so most runs are stopped
# after the first validation), WORK (scratch directory, default a new one
# under /tmp, removed at the end unless a run failed).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="${1:?usage: scripts/sigterm_stress.sh CORPUS_DIR [TRIALS]}"
trials="${2:-20}"
bin="${RNNSEARCH:-$root/build/launch/rnnsearch}"
config="${CONFIG:-$root/recipes/multi30k/config.yaml}"
min_s="${MIN_S:-8}" max_s="${MAX_S:-40}"
for d in "$corpus/train" "$corpus/val"; do
  [ -d "$d" ] || { echo "sigterm_stress.sh: expected a shard directory '$d'" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "sigterm_stress.sh: no program '$bin' (build first, or set RNNSEARCH)" >&2; exit 2; }
work="${WORK:-$(mktemp -d /tmp/sigterm_stress.XXXXXX)}"
mkdir -p "$work"
bad=0
for i in $(seq 1 "$trials"); do
  run="$work/run$i"
  rm -rf "$run"
  "$bin" train --config "$config" --set data.train="$corpus/train" --set data.valid="$corpus/val" \
    --set dist.threads_per_rank=1 --set train.valid_every=40 --set checkpoint.every=40 \
    --run-dir "$run" > "$work/log$i" 2>&1 &
  pid=$!
  after=$((min_s + RANDOM % (max_s - min_s + 1)))
  sleep "$after"
  kill -TERM "$pid"
  wait "$pid"
  rc=$?
  if [ "$rc" = 0 ] && grep -q "stopped by a signal" "$work/log$i"; then
    verdict=clean
    rm -rf "$run"
  else
    verdict="FAILED (log: $work/log$i)"
    bad=$((bad + 1))
  fi
  echo "{\"trial\": $i, \"sigterm_after_s\": $after, \"exit_status\": $rc, \"result\": \"${verdict%% *}\"}"
  [ "$verdict" = clean ] || echo "  $verdict: $(tail -n 1 "$work/log$i")" >&2
done
echo "{\"name\": \"sigterm_stress.failed_runs\", \"value\": $bad, \"trials\": $trials}"
[ "$bad" = 0 ] && [ -z "${WORK:-}" ] && rm -rf "$work"
exit $((bad > 0))
