#!/usr/bin/env bash
# The demo, the README's first command: a whole rnnsearch run in a few
# minutes on 2 cores, with no download.
#
#   scripts/demo.sh [--out DIR] [--quick] [--bin RNNSEARCH]
#
#  1. builds the program (scripts/build.sh: Debian packages if missing, then
#     the rnnsearch target in build/, or BUILD_DIR);
#  2. generates a small translation task (scripts/gen_dates.py): dates in
#     many human formats -> ISO dates ("Tuesday , 3 rd of March 1 9 9 8" ->
#     "1 9 9 8 - 0 3 - 0 3"), train / valid / held-out test splits whose
#     dates are disjoint;
#  3. preprocesses them into HDF5 shards (whitespace tokens);
#  4. trains with 2 MPI ranks (mpirun -np 2, configs/demo.yaml), stops at a
#     checkpoint, and resumes from it in a new process to the end;
#  5. translates the held-out test sentences (beam search, 2 ranks) and
#     reports the exact-match accuracy (at least 95% is required, else it
#     exits 1);
#  6. draws attention heatmaps of a few test sentences and the learning
#     curve (scripts/plot.py), and prints where everything is.
#
# Options: --out DIR (default demo-output/; a previous demo's directory is
# replaced, any other non-empty directory is refused), --quick (a reduced
# run for the test suite: less data and fewer steps, a lower bar of
# --min-accuracy), --min-accuracy PERCENT (default 95; --quick: 50), --bin
# (use this rnnsearch binary and skip the build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

out="$root/demo-output" quick=0 bin="" min_accuracy=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --bin) bin="$2"; shift 2 ;;
    --min-accuracy) min_accuracy="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1'" >&2; usage ;;
  esac
done

# Sizes. Full: 30,000 training examples, 250 + 350 steps of 1,200 target
# tokens (about 2.4 epochs); the model reaches 100% on the validation set
# after about 300 steps. Quick: a fifth of the data and 120 steps.
if [ "$quick" = 1 ]; then
  n_train=6000 n_valid=200 n_test=300 stop_step=60 last_step=120 valid_every=60 ckpt_every=30
  min_accuracy="${min_accuracy:-50}"
else
  n_train=30000 n_valid=500 n_test=1000 stop_step=250 last_step=600 valid_every=100 ckpt_every=50
  min_accuracy="${min_accuracy:-95}"
fi

t0=$(date +%s)
stage() { echo; echo "== [$(( $(date +%s) - t0 ))s] $*"; }

if [ -z "$bin" ]; then
  stage "build (scripts/build.sh rnnsearch)"
  build="${BUILD_DIR:-$root/build}"
  "$root/scripts/build.sh" rnnsearch
  bin="$build/launch/rnnsearch"
fi
[ -x "$bin" ] || { echo "demo.sh: no rnnsearch program at '$bin'" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ] && [ ! -f "$out/.rnnsearch-demo" ]; then
  echo "demo.sh: '$out' exists, is not empty and is not a demo output directory; give another --out" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out/logs" "$out/pictures"
touch "$out/.rnnsearch-demo"
out="$(cd "$out" && pwd)"
cd "$out"
logs="$out/logs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # Open MPI as root (containers)
mpirun=(mpirun -np 2 --oversubscribe --bind-to none)
config="$root/configs/demo.yaml"

stage "generate the task: dates in human formats -> ISO dates (scripts/gen_dates.py)"
"$root/scripts/gen_dates.py" data/text --train "$n_train" --valid "$n_valid" --test "$n_test" \
  | tee "$logs/generate.log"
echo "   for example:"
paste -d '\t' data/text/train.src data/text/train.tgt \
  | awk -F '\t' 'NR <= 6 {printf "   %-40s -> %s\n", $1, $2}'

stage "preprocess into HDF5 shards (whitespace tokens; logs/preprocess.log)"
{
  "$bin" preprocess --config "$config" --src data/text/train.src --tgt data/text/train.tgt --out data/train
  "$bin" preprocess --config "$config" --src data/text/valid.src --tgt data/text/valid.tgt --out data/valid \
    --vocab-from data/train
} > "$logs/preprocess.log" 2>&1 || { cat "$logs/preprocess.log" >&2; exit 1; }
grep -E "^corpus|sentence pairs|vocabulary  " "$logs/preprocess.log" | sed 's/^/   /'

train=("$bin" train --config "$config" --run-dir run --set data.train=data/train --set data.valid=data/valid
       --set "train.valid_every=$valid_every" --set "checkpoint.every=$ckpt_every")
stage "train with 2 MPI ranks x 1 thread (configs/demo.yaml), stopping at step $stop_step"
"${mpirun[@]}" "${train[@]}" --set "train.max_steps=$stop_step" 2>&1 | tee "$logs/train-1.log"
ls run/ckpt-"$stop_step".h5 > /dev/null

stage "resume from the checkpoint in a new process, to step $last_step"
"${mpirun[@]}" "${train[@]}" --set "train.max_steps=$last_step" 2>&1 | tee "$logs/train-2.log"
resumed=$(sed -n "s/.*resume from '\([^']*\)': step \([0-9]*\),.*/\2 (\1)/p" "$logs/train-2.log")
[ -n "$resumed" ] || { echo "demo.sh: the second run did not resume from a checkpoint" >&2; exit 1; }
echo "   resumed from step $resumed"

stage "translate the $n_test held-out test dates (beam search, 2 ranks; logs/translate.log)"
"${mpirun[@]}" "$bin" translate --run-dir run --threads 1 --beam-size 5 \
  --input data/text/test.src --output test.hyp --alignments test.alignments.jsonl 2> "$logs/translate.log" \
  || { cat "$logs/translate.log" >&2; exit 1; }
grep -E "translate: |translated " "$logs/translate.log" | cut -c 25- | sed 's/^/   /'
# Exact match of whole lines (every digit and '-' right).
read -r correct total < <(paste -d '\t' test.hyp data/text/test.tgt \
  | awk -F '\t' '$1 == $2 { n++ } END { print n + 0, NR }')
accuracy=$(awk -v c="$correct" -v t="$total" 'BEGIN { printf "%.2f", 100 * c / t }')
echo "   some translations:"
paste -d '\t' data/text/test.src test.hyp data/text/test.tgt \
  | awk -F '\t' 'NR <= 8 {printf "   %-40s -> %-22s %s\n", $1, $2, ($2 == $3 ? "right" : "WRONG, expected " $3)}'
{
  echo "exact_match_correct $correct"
  echo "exact_match_total $total"
  echo "exact_match_percent $accuracy"
  echo "resumed_from_step ${resumed%% *}"
} > summary.txt
echo "   exact-match accuracy on held-out dates: $correct / $total = $accuracy%"

stage "pictures (scripts/plot.py)"
# Attention of the first test sentence of each kind: month name first,
# weekday and ordinal, day.month.year, month/day/year, year-month-day.
lines=$(awk '
  function pick(k) { if (!(k in seen)) { seen[k] = 1; chosen = chosen (chosen == "" ? "" : ",") NR - 1 } }
  /^[A-Za-z]+ [0-9]/ && !/^the/ && !/^[A-Z][a-z]+ ,/ { pick("month") }
  / of / && / , / { pick("weekday") }
  / \. / { pick("dots") }
  / \/ / { pick("slashes") }
  / - / { pick("iso") }
  END { print chosen }' data/text/test.src)
"$root/scripts/plot.py" attention test.alignments.jsonl --out pictures --sentences "$lines"
"$root/scripts/plot.py" curves run/metrics.jsonl --out pictures/learning-curve.png

pass=$(awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { print (a >= m) ? 1 : 0 }')
stage "done in $(( $(date +%s) - t0 )) s"
cat <<EOF
   model:        $out/run/best.h5 (the best validation BLEU; checkpoints run/ckpt-*.h5)
   translations: $out/test.hyp (attention: test.alignments.jsonl)
   pictures:     $out/pictures/attention-*.png, $out/pictures/learning-curve.png
   logs:         $out/logs/ (generate, preprocess, train-1, train-2, translate), $out/run/metrics.jsonl
   data:         $out/data/text (generated text), $out/data/{train,valid} (shards)
   accuracy:     $accuracy% exact match on $total held-out dates (required: $min_accuracy%)
   try:          echo "Friday , 1 3 th of March 2 0 2 6" | $bin translate --run-dir $out/run
EOF
if [ "$pass" != 1 ]; then
  echo "demo.sh: the accuracy $accuracy% is below the required $min_accuracy%" >&2
  exit 1
fi
