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
#      best of each sentence (rnnsearch translate --nbest K) into
#      OUT_DIR/SPLIT.nbest; its first per sentence is the plain ensemble's
#      translation, OUT_DIR/SPLIT.hyp.de;
#   2. the right-to-left ensemble does the same on its side
#      (OUT_DIR/SPLIT.r2l.nbest), and its hypotheses, their words put back
#      in order, join the others: OUT_DIR/SPLIT.pool, up to 2K distinct
#      candidates per sentence;
#   3. both ensembles score every candidate (rnnsearch rescore; the
#      right-to-left one on the reversed words) into
#      OUT_DIR/SPLIT.{l2r,r2l}-scores;
#   4. each sentence's translation is the candidate with the highest
#      (1 - w) LOGPROB_l2r / TOKENS_l2r + w LOGPROB_r2l / TOKENS_r2l
#      (scripts/rerank.py).
# w is chosen on val among 0, 0.1, .., 1 (by BLEU, --tokenize none as
# run.sh; ties: the smaller w) and then applied to test2016 once. Writes
# OUT_DIR/SPLIT.rerank.de, OUT_DIR/rerank-weights.txt (val BLEU per w) and
# OUT_DIR/bleu.txt (the plain ensemble and the reranked pool, both splits).
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
# member_args ARRAY DIR...: ARRAY = (--model CKPT --ensemble CKPT ...) of
# those member directories that hold a run; an error when one has no
# checkpoint.
member_args() {
  local -n args="$1"; shift
  args=()
  local d f
  for d in "$@"; do
    [ -d "$d/run" ] || continue
    f="$(model_of "$d/run")"
    [ -n "$f" ] || { echo "rerank.sh: no checkpoint in $d/run" >&2; exit 1; }
    if [ "${#args[@]}" = 0 ]; then args=(--model "$f"); else args+=(--ensemble "$f"); fi
  done
}
member_args l2r_args "$out"/m[0-9]* "$out"/large
member_args r2l_args "$out"/r[0-9]*
[ "${#l2r_args[@]}" -gt 0 ] || { echo "rerank.sh: no left-to-right member (OUT_DIR/m1/run ...) in $out" >&2; exit 1; }
[ "${#r2l_args[@]}" -gt 0 ] || { echo "rerank.sh: no right-to-left member (OUT_DIR/r1/run ...) in $out" >&2; exit 1; }
l2r_count=$(( ${#l2r_args[@]} / 2 )) r2l_count=$(( ${#r2l_args[@]} / 2 ))
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
threads="$(nproc)"

bleu() {  # HYP REF -> the BLEU figure
  "$bin" score --hyp "$1" --ref "$2" --tokenize none --metrics bleu | sed 's/^BLEU[^=]*= \([0-9.]*\) .*/\1/'
}
rescore() {  # MEMBERS_ARRAY_NAME SRC HYP OUT: batches of similar lengths, the cores' ranks share them
  local -n args="$1"
  mpirun -np "$threads" --bind-to none "$bin" rescore "${args[@]}" --threads 1 --source "$2" \
    --hyp "$3" --nbest --output "$4"
}
for split in val:val test2016:test_2016_flickr; do
  name="${split%%:*}" file="${split#*:}"
  src="$data/$file.lc.norm.tok.en.gz"
  gzip -dc "$data/$file.lc.norm.tok.de.gz" > "$out/$name.ref.de"
  log "$name: n-best lists of the $l2r_count left-to-right and the $r2l_count right-to-left members, beam $beam"
  "$bin" translate "${l2r_args[@]}" --beam-size "$beam" --nbest "$beam" --threads "$threads" \
    --input "$src" --output "$out/$name.nbest"
  "$bin" translate "${r2l_args[@]}" --beam-size "$beam" --nbest "$beam" --threads "$threads" \
    --input "$src" --output "$out/$name.r2l.nbest"
  awk -F' [|][|][|] ' '!seen[$1]++ { print $2 }' "$out/$name.nbest" > "$out/$name.hyp.de"
  # The pool: both lists, the right-to-left words put back in order,
  # duplicates dropped, grouped by sentence (left-to-right ones first).
  reverse_nbest_text < "$out/$name.r2l.nbest" | cat "$out/$name.nbest" - |
    awk -F' [|][|][|] ' '!seen[$1 FS $2]++ { print $1 " ||| " $2 " ||| 0" }' |
    sort -t' ' -k1,1n -s > "$out/$name.pool"
  reverse_nbest_text < "$out/$name.pool" > "$out/$name.pool.r2l"
  log "$name: $(wc -l < "$out/$name.pool") candidates rescored by both ensembles"
  rescore l2r_args "$src" "$out/$name.pool" "$out/$name.l2r-scores"
  rescore r2l_args "$src" "$out/$name.pool.r2l" "$out/$name.r2l-scores"
done

: > "$out/rerank-weights.txt"
best_w=0 best_bleu=-1
for w in 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1; do
  "$root/scripts/rerank.py" "$out/val.pool" --scores "$out/val.l2r-scores" --scores "$out/val.r2l-scores" \
    --weights "0,$(awk -v w="$w" 'BEGIN { print 1 - w }'),$w" --out "$out/val.rerank.tmp"
  b="$(bleu "$out/val.rerank.tmp" "$out/val.ref.de")"
  echo "w $w val BLEU $b" | tee -a "$out/rerank-weights.txt"
  if awk -v a="$b" -v b="$best_bleu" 'BEGIN { exit !(a > b) }'; then best_w="$w" best_bleu="$b"; fi
done
rm -f "$out/val.rerank.tmp"
log "right-to-left weight chosen on val: $best_w (BLEU $best_bleu)"
weights="0,$(awk -v w="$best_w" 'BEGIN { print 1 - w }'),$best_w"
: > "$out/bleu.txt"
for name in val test2016; do
  "$root/scripts/rerank.py" "$out/$name.pool" --scores "$out/$name.l2r-scores" \
    --scores "$out/$name.r2l-scores" --weights "$weights" --out "$out/$name.rerank.de"
  lines="$(wc -l < "$out/$name.ref.de")"
  {
    echo "$name, ensemble of $l2r_count left-to-right members ($lines sentences):"
    "$bin" score --hyp "$out/$name.hyp.de" --ref "$out/$name.ref.de" --tokenize none
    echo "$name, both directions' candidates reranked, right-to-left weight $best_w ($lines sentences):"
    "$bin" score --hyp "$out/$name.rerank.de" --ref "$out/$name.ref.de" --tokenize none
  } | tee -a "$out/bleu.txt"
done
log "done: $out/bleu.txt"
