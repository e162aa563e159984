#!/usr/bin/env bash
# Multi30k English->German: several models trained side by side on the
# machine's cores, then translated as one ensemble (rnnsearch translate
# --ensemble):
#
#   recipes/multi30k/ensemble.sh DATA_DIR [OUT_DIR] [--members N] [--large] [--r2l N] [--max-time SECONDS] [--beam K]
#
# OUT_DIR (default runs/multi30k-ensemble) receives one recipe run
# (recipes/multi30k/run.sh) per member, all on the same shards and
# vocabularies (preprocessed once, in OUT_DIR/m1/data):
#   m1 .. mN  recipes/multi30k/config.yaml (7.1 M parameters), each with
#             its own seed (1234, 4321, 2718, 3141, 1618, 5772, 1414, 2236)
#   large/    with --large: recipes/multi30k/config-large.yaml as one more
#             member (the `base` shapes, 12.4 M parameters)
#   r1 .. rN  with --r2l N: right-to-left members, config.yaml with the
#             same seeds, trained on a copy of the data whose German words
#             are reversed (OUT_DIR/r2l-data; shards in OUT_DIR/r1/data);
#             their own bleu.txt scores reversed translations against
#             reversed references
# each with its own best.h5, single-model translations and bleu.txt; then
#   val.hyp.de, test2016.hyp.de  the ensemble's beam-search translations
#                                (the left-to-right members)
#   bleu.txt                     their BLEU and chrF (--tokenize none, as run.sh)
# and with --r2l, recipes/multi30k/rerank.sh: the ensemble's n-best lists
# reranked with the right-to-left members' scores (weight chosen on val),
#   val.rerank.de, test2016.rerank.de, and both results in bleu.txt.
#
# The members train at once, one thread each (default 5 members on the
# cores there are), each for at most --max-time seconds of training
# (default 7500) or until it stops early. Beam 10 (length normalisation
# 1.0) is what the validation set chose. Rerunning resumes every member.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run="$root/recipes/multi30k/run.sh"
# shellcheck source=lib.sh
. "$root/recipes/multi30k/lib.sh"
bin="${BUILD_DIR:-$root/build}/launch/rnnsearch"
usage() { sed -n '6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

data="" out="" max_time=7500 beam=10 members=5 large=0 r2l=0
seeds=(1234 4321 2718 3141 1618 5772 1414 2236)
while [ $# -gt 0 ]; do
  case "$1" in
    --max-time) max_time="$2"; shift 2 ;;
    --beam) beam="$2"; shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --large) large=1; shift ;;
    --r2l) r2l="$2"; shift 2 ;;
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
case "$r2l" in
  [0-8]) ;;
  *) echo "ensemble.sh: --r2l expects 0 to ${#seeds[@]}, found '$r2l'" >&2; exit 2 ;;
esac
out="${out:-runs/multi30k-ensemble}"
mkdir -p "$out"

names=()
for i in $(seq 1 "$members"); do names+=("m$i"); done
[ "$large" = 0 ] || names+=(large)
rnames=()
for i in $(seq 1 "$r2l"); do rnames+=("r$i"); done
"$run" "$data" "$out/m1" --preprocess-only
if [ "$r2l" -gt 0 ]; then
  # The right-to-left copy of the data: the same English files, the German
  # words of each line reversed; preprocessed once for all r members.
  rdata="$out/r2l-data"
  if [ ! -f "$rdata/done" ]; then
    mkdir -p "$rdata"
    for split in train val test_2016_flickr; do
      ln -sf "$(cd "$data" && pwd)/$split.lc.norm.tok.en.gz" "$rdata/$split.lc.norm.tok.en.gz"
      gzip -dc "$data/$split.lc.norm.tok.de.gz" | reverse_words | gzip > "$rdata/$split.lc.norm.tok.de.gz"
    done
    touch "$rdata/done"
  fi
  "$run" "$rdata" "$out/r1" --preprocess-only
fi
common=(--max-time "$max_time" --threads 1 --beam "$beam" --data-from "$out/m1")
log "training $((${#names[@]} + ${#rnames[@]})) members side by side (logs: $out/<member>.log)"
pids=()
for i in $(seq 1 "$members"); do
  "$run" "$data" "$out/m$i" --seed "${seeds[$((i - 1))]}" "${common[@]}" > "$out/m$i.log" 2>&1 & pids+=($!)
done
if [ "$large" = 1 ]; then
  "$run" "$data" "$out/large" --config "$root/recipes/multi30k/config-large.yaml" "${common[@]}" \
    > "$out/large.log" 2>&1 & pids+=($!)
fi
for i in $(seq 1 "$r2l"); do
  "$run" "$rdata" "$out/r$i" --seed "${seeds[$((i - 1))]}" --max-time "$max_time" --threads 1 \
    --beam "$beam" --data-from "$out/r1" > "$out/r$i.log" 2>&1 & pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" = 0 ] || { echo "ensemble.sh: a member failed (see $out/*.log)" >&2; exit 1; }
for m in "${names[@]}" ${rnames[@]+"${rnames[@]}"}; do echo "$m:"; cat "$out/$m/bleu.txt"; done
if [ "$r2l" -gt 0 ]; then
  exec "$root/recipes/multi30k/rerank.sh" "$data" "$out" --beam "$beam"
fi

# Each member's best.h5, else its newest checkpoint.
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
