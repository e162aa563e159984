#!/usr/bin/env bash
# Multi30k English->German: three models trained side by side on the 2
# cores, then translated as one ensemble (rnnsearch translate --ensemble):
#
#   recipes/multi30k/ensemble.sh DATA_DIR [OUT_DIR] [--max-time SECONDS] [--beam K]
#
# OUT_DIR (default runs/multi30k-ensemble) receives one recipe run
# (recipes/multi30k/run.sh) per member, all on the same shards and
# vocabularies (preprocessed once, in OUT_DIR/large/data):
#   large/   recipes/multi30k/config-large.yaml (the `base` shapes, 12.4 M parameters)
#   small1/  recipes/multi30k/config.yaml (tied embeddings, 7.1 M parameters)
#   small2/  the same config with another seed (4321)
# each with its own best.h5, single-model translations and bleu.txt; then
#   val.hyp.de, test2016.hyp.de  the ensemble's beam-search translations
#   bleu.txt                     their BLEU and chrF (--tokenize none, as run.sh)
#
# The members train at once, one thread each (3 processes on the 2
# cores), each for at most --max-time seconds of training (default 7200)
# or until it stops early. Rerunning resumes every member.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run="$root/recipes/multi30k/run.sh"
bin="${BUILD_DIR:-$root/build}/launch/rnnsearch"
usage() { sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

data="" out="" max_time=7200 beam=5
while [ $# -gt 0 ]; do
  case "$1" in
    --max-time) max_time="$2"; shift 2 ;;
    --beam) beam="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "ensemble.sh: unknown option $1" >&2; usage ;;
    *) if [ -z "$data" ]; then data="$1"; elif [ -z "$out" ]; then out="$1"; else usage; fi; shift ;;
  esac
done
[ -n "$data" ] || usage
out="${out:-runs/multi30k-ensemble}"
log() { echo "== $(date '+%H:%M:%S') $*"; }
mkdir -p "$out"

"$run" "$data" "$out/large" --config "$root/recipes/multi30k/config-large.yaml" --preprocess-only
common=(--max-time "$max_time" --threads 1 --beam "$beam" --data-from "$out/large")
log "training 3 members side by side (logs: $out/{large,small1,small2}.log)"
pids=()
"$run" "$data" "$out/large" --config "$root/recipes/multi30k/config-large.yaml" "${common[@]}" \
  > "$out/large.log" 2>&1 & pids+=($!)
"$run" "$data" "$out/small1" "${common[@]}" > "$out/small1.log" 2>&1 & pids+=($!)
"$run" "$data" "$out/small2" --seed 4321 "${common[@]}" > "$out/small2.log" 2>&1 & pids+=($!)
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || { echo "ensemble.sh: a member failed (see $out/*.log)" >&2; exit 1; }
for m in large small1 small2; do echo "$m:"; cat "$out/$m/bleu.txt"; done

# As run.sh: each member's best.h5, else its newest checkpoint.
model_of() {
  if [ -f "$1/best.h5" ]; then echo "$1/best.h5"; return; fi
  ls "$1"/ckpt-*.h5 | sed 's/.*ckpt-\([0-9]*\)\.h5$/\1 &/' | sort -n | tail -n 1 | cut -d' ' -f2
}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
: > "$out/bleu.txt"
for split in val:val test2016:test_2016_flickr; do
  name="${split%%:*}" file="${split#*:}"
  log "translate $name with the ensemble of the 3 members, beam $beam"
  "$bin" translate --model "$(model_of "$out/small1/run")" --ensemble "$(model_of "$out/small2/run")" \
    --ensemble "$(model_of "$out/large/run")" --beam-size "$beam" \
    --input "$data/$file.lc.norm.tok.en.gz" --output "$out/$name.hyp.de"
  {
    echo "$name, ensemble of 3 ($(wc -l < "$out/small1/$name.ref.de") sentences):"
    "$bin" score --hyp "$out/$name.hyp.de" --ref "$out/small1/$name.ref.de" --tokenize none
  } | tee -a "$out/bleu.txt"
done
log "done: $out/bleu.txt (members: $out/{large,small1,small2}/bleu.txt)"
