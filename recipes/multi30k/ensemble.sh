#!/usr/bin/env bash
# Multi30k English->German: several models trained side by side on the
# machine's cores, then translated as one ensemble (rnnsearch translate
# --ensemble):
#
#   recipes/multi30k/ensemble.sh DATA_DIR [OUT_DIR] [--members N] [--large] [--max-time SECONDS] [--beam K]
#
# OUT_DIR (default runs/multi30k-ensemble) receives one recipe run
# (recipes/multi30k/run.sh) per member, all on the same shards and
# vocabularies (preprocessed once, in OUT_DIR/m1/data):
#   m1 .. mN  recipes/multi30k/config.yaml (7.1 M parameters), each with
#             its own seed (1234, 4321, 2718, 3141, 1618, 5772, 1414, 2236)
#   large/    with --large: recipes/multi30k/config-large.yaml as one more
#             member (the `base` shapes, 12.4 M parameters)
# each with its own best.h5, single-model translations and bleu.txt; then
#   val.hyp.de, test2016.hyp.de  the ensemble's beam-search translations
#   bleu.txt                     their BLEU and chrF (--tokenize none, as run.sh)
#
# The members train at once, one thread each (default 5 members on the
# cores there are), each for at most --max-time seconds of training
# (default 7500) or until it stops early. Beam 10 (length normalisation
# 1.0) is what the validation set chose. Rerunning resumes every member.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run="$root/recipes/multi30k/run.sh"
bin="${BUILD_DIR:-$root/build}/launch/rnnsearch"
usage() { sed -n '6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

data="" out="" max_time=7500 beam=10 members=5 large=0
seeds=(1234 4321 2718 3141 1618 5772 1414 2236)
while [ $# -gt 0 ]; do
  case "$1" in
    --max-time) max_time="$2"; shift 2 ;;
    --beam) beam="$2"; shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --large) large=1; shift ;;
    -h|--help) usage ;;
    -*) echo "ensemble.sh: unknown option $1" >&2; usage ;;
    *) if [ -z "$data" ]; then data="$1"; elif [ -z "$out" ]; then out="$1"; else usage; fi; shift ;;
  esac
done
[ -n "$data" ] || usage
case "$members" in
  [1-8]) ;;
  *) echo "ensemble.sh: --members expects 1 to ${#seeds[@]}, found '$members'" >&2; exit 2 ;;
esac
out="${out:-runs/multi30k-ensemble}"
log() { echo "== $(date '+%H:%M:%S') $*"; }
mkdir -p "$out"

names=()
for i in $(seq 1 "$members"); do names+=("m$i"); done
[ "$large" = 0 ] || names+=(large)
"$run" "$data" "$out/m1" --preprocess-only
common=(--max-time "$max_time" --threads 1 --beam "$beam" --data-from "$out/m1")
log "training ${#names[@]} members side by side (logs: $out/<member>.log)"
pids=()
for i in $(seq 1 "$members"); do
  "$run" "$data" "$out/m$i" --seed "${seeds[$((i - 1))]}" "${common[@]}" > "$out/m$i.log" 2>&1 & pids+=($!)
done
if [ "$large" = 1 ]; then
  "$run" "$data" "$out/large" --config "$root/recipes/multi30k/config-large.yaml" "${common[@]}" \
    > "$out/large.log" 2>&1 & pids+=($!)
fi
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || { echo "ensemble.sh: a member failed (see $out/*.log)" >&2; exit 1; }
for m in "${names[@]}"; do echo "$m:"; cat "$out/$m/bleu.txt"; done

# As run.sh: each member's best.h5, else its newest checkpoint.
model_of() {
  if [ -f "$1/best.h5" ]; then echo "$1/best.h5"; return; fi
  ls "$1"/ckpt-*.h5 | sed 's/.*ckpt-\([0-9]*\)\.h5$/\1 &/' | sort -n | tail -n 1 | cut -d' ' -f2
}
models=(--model "$(model_of "$out/m1/run")")
for m in "${names[@]:1}"; do models+=(--ensemble "$(model_of "$out/$m/run")"); done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
: > "$out/bleu.txt"
for split in val:val test2016:test_2016_flickr; do
  name="${split%%:*}" file="${split#*:}"
  log "translate $name with the ensemble of the ${#names[@]} members, beam $beam"
  "$bin" translate "${models[@]}" --beam-size "$beam" --threads "$(nproc)" \
    --input "$data/$file.lc.norm.tok.en.gz" --output "$out/$name.hyp.de"
  {
    echo "$name, ensemble of ${#names[@]} ($(wc -l < "$out/m1/$name.ref.de") sentences):"
    "$bin" score --hyp "$out/$name.hyp.de" --ref "$out/m1/$name.ref.de" --tokenize none
  } | tee -a "$out/bleu.txt"
done
log "done: $out/bleu.txt (each member's own: $out/<member>/bleu.txt for ${names[*]})"
