#!/usr/bin/env bash
# Multi30k English->German: the ensemble of an ensemble.sh run's left-to-right
# members, its n-best lists reranked with its right-to-left members:
#
#   recipes/multi30k/rerank.sh DATA_DIR OUT_DIR [--beam K]
#
# OUT_DIR is an ensemble.sh --r2l run: left-to-right members m1 .. mN (and
# large) and right-to-left members r1 .. rM (trained on targets whose words
# are reversed), each with its run/best.h5. For val and test2016:
#   1. the left-to-right ensemble translates with beam K and writes the K
#      best of each sentence (rnnsearch translate --nbest K; SCORE =
#      log-probability / length) into OUT_DIR/SPLIT.nbest;
#   2. the right-to-left ensemble scores every hypothesis with its words
#      reversed (rnnsearch rescore) into OUT_DIR/SPLIT.r2l-scores;
#   3. each sentence's translation is the hypothesis with the highest
#      (1 - w) SCORE + w LOGPROB_r2l / TOKENS_r2l (scripts/rerank.py).
# w is chosen on val among 0, 0.1, .., 1 (by BLEU, --tokenize none as
# run.sh; ties: the smaller w) and then applied to test2016 once. w = 0 is
# the plain ensemble (its 1-best). Writes OUT_DIR/SPLIT.hyp.de (the plain
# ensemble), OUT_DIR/SPLIT.rerank.de, OUT_DIR/rerank-weights.txt (val BLEU
# per w) and OUT_DIR/bleu.txt (both, for both splits).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib.sh
. "$root/recipes/multi30k/lib.sh"
bin="${BUILD_DIR:-$root/build}/launch/rnnsearch"
usage() { sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

data="" out="" beam=10
while [ $# -gt 0 ]; do
  case "$1" in
    --beam) beam="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "rerank.sh: unknown option $1" >&2; usage ;;
    *) if [ -z "$data" ]; then data="$1"; elif [ -z "$out" ]; then out="$1"; else usage; fi; shift ;;
  esac
done
[ -n "$out" ] || usage
[ -x "$bin" ] || { echo "rerank.sh: no rnnsearch at $bin (scripts/build.sh, or set BUILD_DIR)" >&2; exit 1; }
l2r=() r2l=()
for d in "$out"/m[0-9]* "$out"/large; do
  [ -d "$d/run" ] || continue
  f="$(model_of "$d/run")"
  [ -n "$f" ] || { echo "rerank.sh: no checkpoint in $d/run" >&2; exit 1; }
  l2r+=("$f")
done
for d in "$out"/r[0-9]*; do
  [ -d "$d/run" ] || continue
  f="$(model_of "$d/run")"
  [ -n "$f" ] || { echo "rerank.sh: no checkpoint in $d/run" >&2; exit 1; }
  r2l+=("$f")
done
[ "${#l2r[@]}" -gt 0 ] || { echo "rerank.sh: no left-to-right member (OUT_DIR/m1/run ...) in $out" >&2; exit 1; }
[ "${#r2l[@]}" -gt 0 ] || { echo "rerank.sh: no right-to-left member (OUT_DIR/r1/run ...) in $out" >&2; exit 1; }
members() {  # --model FIRST --ensemble OTHER ...
  echo "--model $1"; shift
  for f in "$@"; do echo "--ensemble $f"; done
}
read -r -a l2r_args <<< "$(members "${l2r[@]}" | tr '\n' ' ')"
read -r -a r2l_args <<< "$(members "${r2l[@]}" | tr '\n' ' ')"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
threads="$(nproc)"

bleu() {  # HYP REF -> the BLEU figure
  "$bin" score --hyp "$1" --ref "$2" --tokenize none --metrics bleu | sed 's/^BLEU[^=]*= \([0-9.]*\) .*/\1/'
}
for split in val:val test2016:test_2016_flickr; do
  name="${split%%:*}" file="${split#*:}"
  src="$data/$file.lc.norm.tok.en.gz"
  gzip -dc "$data/$file.lc.norm.tok.de.gz" > "$out/$name.ref.de"
  log "$name: n-best lists of the ${#l2r[@]} left-to-right members, beam $beam"
  "$bin" translate "${l2r_args[@]}" --beam-size "$beam" --nbest "$beam" --threads "$threads" \
    --input "$src" --output "$out/$name.nbest"
  reverse_nbest_text < "$out/$name.nbest" > "$out/$name.nbest.r2l"
  log "$name: rescored by the ${#r2l[@]} right-to-left members"
  # One pair at a time per process: the cores' ranks share the pairs.
  mpirun -np "$threads" --bind-to none "$bin" rescore "${r2l_args[@]}" --threads 1 --source "$src" \
    --hyp "$out/$name.nbest.r2l" --nbest --output "$out/$name.r2l-scores"
  "$root/scripts/rerank.py" "$out/$name.nbest" --scores "$out/$name.r2l-scores" --weights 1,0 \
    --out "$out/$name.hyp.de"
done

: > "$out/rerank-weights.txt"
best_w=0 best_bleu=-1
for w in 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1; do
  "$root/scripts/rerank.py" "$out/val.nbest" --scores "$out/val.r2l-scores" \
    --weights "$(awk -v w="$w" 'BEGIN { print 1 - w }'),$w" --out "$out/val.rerank.tmp"
  b="$(bleu "$out/val.rerank.tmp" "$out/val.ref.de")"
  echo "w $w val BLEU $b" | tee -a "$out/rerank-weights.txt"
  if awk -v a="$b" -v b="$best_bleu" 'BEGIN { exit !(a > b) }'; then best_w="$w" best_bleu="$b"; fi
done
rm -f "$out/val.rerank.tmp"
log "right-to-left weight chosen on val: $best_w (BLEU $best_bleu)"
weights="$(awk -v w="$best_w" 'BEGIN { print 1 - w }'),$best_w"
: > "$out/bleu.txt"
for name in val test2016; do
  "$root/scripts/rerank.py" "$out/$name.nbest" --scores "$out/$name.r2l-scores" \
    --weights "$weights" --out "$out/$name.rerank.de"
  lines="$(wc -l < "$out/$name.ref.de")"
  {
    echo "$name, ensemble of ${#l2r[@]} left-to-right members ($lines sentences):"
    "$bin" score --hyp "$out/$name.hyp.de" --ref "$out/$name.ref.de" --tokenize none
    echo "$name, reranked with ${#r2l[@]} right-to-left members, weight $best_w ($lines sentences):"
    "$bin" score --hyp "$out/$name.rerank.de" --ref "$out/$name.ref.de" --tokenize none
  } | tee -a "$out/bleu.txt"
done
log "done: $out/bleu.txt"
