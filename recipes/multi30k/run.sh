#!/usr/bin/env bash
# Multi30k (task 1) English->German with rnnsearch, end to end:
#
#   recipes/multi30k/run.sh DATA_DIR [OUT_DIR] [--max-time SECONDS] [--ranks N]
#                           [--threads N] [--beam K] [--config FILE] [--seed N]
#                           [--data-from OUT] [--ensemble-with OUT]... [--skip-train]
#                           [--preprocess-only]
#
# DATA_DIR holds the Multi30k files SPLIT.lc.norm.tok.{en,de}.gz for SPLIT =
# train, val, test_2016_flickr (tokenized, lowercased; the files published
# results report BLEU on). OUT_DIR (default: runs/multi30k) receives:
#   data/{train,val}/          shards (BPE SentencePiece vocabularies of the training data, one per language)
#   run/                       checkpoints (best.h5: best validation BLEU), metrics.jsonl, train.log
#   val.hyp.de, test2016.hyp.de  beam-search translations with run/best.h5
#   bleu.txt                   BLEU and chrF of both against the references
#   learning-curve.png         training loss, validation perplexity and BLEU against step
#
# Steps: preprocess (skipped when OUT_DIR/data exists), train (validation
# BLEU every epoch, early stopping, halving the learning rate on plateaus,
# stops at --max-time seconds of training; rerunning with the same OUT_DIR
# resumes from the newest checkpoint), translate val and test2016 with beam
# search, score, plot.
#
# Scoring: the hypotheses and references are already tokenized and
# lowercased, so BLEU is computed on them as they are, `rnnsearch score
# --tokenize none` = sacreBLEU's `-tok none` (signature
# nrefs:1|case:mixed|eff:no|tok:none|smooth:exp); on these files it is the
# same figure as Moses' multi-bleu.perl, which the Multi30k literature uses.
#
# Options: --max-time (seconds of training, default the config's 10800 =
# 3 hours), --ranks (MPI ranks through mpirun, default 1), --threads (compute
# threads per rank, default 0: the cores shared by the ranks), --beam
# (default 5), --config (default recipes/multi30k/config.yaml), --seed
# (train.seed: initialisation, shuffling, dropout; default the config's).
# Ensembles: --data-from OUT copies another run's OUT/data (its shards and
# vocabularies) instead of preprocessing, so that the models share their
# vocabularies; --ensemble-with OUT (repeatable) translates with OUT_DIR's
# best.h5 and OUT/run/best.h5 of each such run together (rnnsearch
# translate --ensemble); --skip-train only translates and scores;
# --preprocess-only stops after the data. recipes/multi30k/ensemble.sh
# uses these to train several models side by side and ensemble them.
# Environment: BUILD_DIR (default build/; the program is built if missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
. "$root/recipes/multi30k/lib.sh"
build="${BUILD_DIR:-$root/build}"
bin="$build/launch/rnnsearch"
usage() { sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

data="" out="" max_time="" ranks=1 threads=0 beam=5 config="$root/recipes/multi30k/config.yaml"
seed="" data_from="" skip_train=0 preprocess_only=0 members=()
while [ $# -gt 0 ]; do
  case "$1" in
    --max-time) max_time="$2"; shift 2 ;;
    --ranks) ranks="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --beam) beam="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --data-from) data_from="$2"; shift 2 ;;
    --ensemble-with) members+=("$2"); shift 2 ;;
    --skip-train) skip_train=1; shift ;;
    --preprocess-only) preprocess_only=1; shift ;;
    -h|--help) usage ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) if [ -z "$data" ]; then data="$1"; elif [ -z "$out" ]; then out="$1"; else usage; fi; shift ;;
  esac
done
[ -n "$data" ] || usage
out="${out:-runs/multi30k}"
for split in train val test_2016_flickr; do
  for lang in en de; do
    f="$data/$split.lc.norm.tok.$lang.gz"
    [ -f "$f" ] || { echo "run.sh: missing $f (expected the Multi30k task-1 lc.norm.tok files)" >&2; exit 1; }
  done
done
ensemble=()
for m in ${members[@]+"${members[@]}"}; do
  f="$(model_of "$m/run")"
  [ -n "$f" ] || { echo "run.sh: --ensemble-with $m: no checkpoint in $m/run (train that run first)" >&2; exit 1; }
  ensemble+=(--ensemble "$f")
done
if [ -n "$data_from" ] && [ ! -f "$out/data/val/manifest.yaml" ]; then
  [ -f "$data_from/data/val/manifest.yaml" ] || { echo "run.sh: --data-from $data_from: no preprocessed data in $data_from/data" >&2; exit 1; }
fi
[ -x "$bin" ] || BUILD_DIR="$build" "$root/scripts/build.sh"
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launch=()
[ "$ranks" -gt 1 ] && launch=(mpirun -np "$ranks" --oversubscribe --bind-to none)

if [ -n "$data_from" ] && [ ! -f "$out/data/val/manifest.yaml" ]; then
  log "data: a copy of $data_from/data (the same shards and vocabularies)"
  rm -rf "$out/data.tmp" && cp -r "$data_from/data" "$out/data.tmp" && mv "$out/data.tmp" "$out/data"
fi
if [ ! -f "$out/data/val/manifest.yaml" ]; then
  log "preprocess: BPE vocabularies of the training data (per the config), shards"
  "$bin" preprocess --config "$config" --overwrite --out "$out/data/train" \
    --src "$data/train.lc.norm.tok.en.gz" --tgt "$data/train.lc.norm.tok.de.gz"
  "$bin" preprocess --config "$config" --overwrite --out "$out/data/val" --vocab-from "$out/data/train" \
    --set data.max_len=400 --set data.max_ratio=0 \
    --src "$data/val.lc.norm.tok.en.gz" --tgt "$data/val.lc.norm.tok.de.gz"
fi

[ "$preprocess_only" = 0 ] || { log "preprocessed: $out/data"; exit 0; }

sets=(--set "data.train=$out/data/train" --set "data.valid=$out/data/val" --set "dist.threads_per_rank=$threads")
[ -n "$max_time" ] && sets+=(--set "train.max_time=$max_time")
[ -n "$seed" ] && sets+=(--set "train.seed=$seed")
if [ "$skip_train" = 0 ]; then
  log "train: $out/run (log: $out/run/train.log)"
  start=$(date +%s)
  mkdir -p "$out/run"
  "${launch[@]}" "$bin" train --config "$config" "${sets[@]}" --run-dir "$out/run" 2>&1 | tee -a "$out/run/train.log"
  log "train: $(( $(date +%s) - start )) s wall this time"
fi
model="$(model_of "$out/run")"
[ -n "$model" ] || { echo "run.sh: no checkpoint in $out/run to translate with" >&2; exit 1; }

for split in val:val test2016:test_2016_flickr; do
  name="${split%%:*}" file="${split#*:}"
  log "translate $name with $model${members[0]+ and ${ensemble[*]}}, beam $beam"
  "${launch[@]}" "$bin" translate --model "$model" ${ensemble[@]+"${ensemble[@]}"} \
    --beam-size "$beam" --threads "$threads" \
    --input "$data/$file.lc.norm.tok.en.gz" --output "$out/$name.hyp.de"
done

log "score (tokenized lowercased references, --tokenize none)"
: > "$out/bleu.txt"
for split in val:val test2016:test_2016_flickr; do
  name="${split%%:*}" file="${split#*:}"
  gzip -dc "$data/$file.lc.norm.tok.de.gz" > "$out/$name.ref.de"
  {
    echo "$name ($(wc -l < "$out/$name.ref.de") sentences):"
    "$bin" score --hyp "$out/$name.hyp.de" --ref "$out/$name.ref.de" --tokenize none
  } | tee -a "$out/bleu.txt"
done

"$root/scripts/plot.py" curves "$out/run/metrics.jsonl" --out "$out/learning-curve.png"
log "done: $out/bleu.txt, $out/learning-curve.png, model $model"
