# Shared by the Multi30k recipe scripts (sourced, not run).

# The checkpoint a run directory translates with: its best.h5, else its
# newest ckpt-<step>.h5 (nothing when it has neither).
model_of() {
  if [ -f "$1/best.h5" ]; then echo "$1/best.h5"; return; fi
  ls "$1"/ckpt-*.h5 2>/dev/null | sed 's/.*ckpt-\([0-9]*\)\.h5$/\1 &/' | sort -n | tail -n 1 | cut -d' ' -f2
}

log() { echo "== $(date '+%H:%M:%S') $*"; }

# Reverses the words of each line (stdin to stdout): the targets of the
# right-to-left members and the n-best TEXT they rescore.
reverse_words() {
  awk '{ line = ""; for (i = NF; i >= 1; i--) line = line $i (i > 1 ? " " : ""); print line }'
}

# The same for the TEXT of n-best lines "LINE ||| TEXT ||| SCORE".
reverse_nbest_text() {
  awk -F' [|][|][|] ' -v OFS=' ||| ' '{ n = split($2, w, " "); t = "";
    for (i = n; i >= 1; i--) t = t w[i] (i > 1 ? " " : ""); print $1, t, $3 }'
}
