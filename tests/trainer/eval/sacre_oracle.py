#!/usr/bin/env python3
"""A second, independent reading of sacreBLEU 2.x's default BLEU and chrF,
written with Python's own str methods and re module, as the oracle of
tests/trainer/eval/sacre_python_test.cc (which checks that the C++ scorer
reproduces Python's Unicode handling on generated text).

Usage: sacre_oracle.py HYPS REFS OUT
HYPS and REFS have one segment per '\\n'-terminated line. OUT receives, per
segment, 3 lines: the 13a tokenization of the right-stripped hypothesis,
hypothesis.lower(), and the hypothesis's whitespace-split tokens joined by
U+241F; then 4 lines: the BLEU statistics and score (mixed case, then
lowercased) and the chrF statistics and score (mixed case, then lowercased).
"""
import math
import re
import sys
from collections import Counter

# mteval-v13a's substitutions, as sacreBLEU's Tokenizer13a applies them.
SUBS = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tok13a(line):
    for old, new in (("<skipped>", ""), ("-\n", ""), ("\n", " "), ("&quot;", '"'),
                     ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        line = line.replace(old, new)
    line = " " + line + " "
    for pattern, repl in SUBS:
        line = pattern.sub(repl, line)
    return " ".join(line.split())


def word_ngrams(tokens, order):
    return Counter(tuple(tokens[i:i + n]) for n in range(1, order + 1)
                   for i in range(len(tokens) - n + 1))


def bleu(hyps, refs, lowercase):
    sys_len = ref_len = 0
    correct, total = [0] * 4, [0] * 4
    for hyp, ref in zip(hyps, refs):
        if lowercase:
            hyp, ref = hyp.lower(), ref.lower()
        h = tok13a(hyp.rstrip()).split()
        r = tok13a(ref.rstrip()).split()
        sys_len += len(h)
        ref_len += len(r)
        rc = word_ngrams(r, 4)
        for gram, count in word_ngrams(h, 4).items():
            total[len(gram) - 1] += count
            correct[len(gram) - 1] += min(count, rc.get(gram, 0))
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len else 0.0)
    if not any(correct):
        score = 0.0
    else:
        precisions, smooth = [0.0] * 4, 1.0
        for n in range(4):
            if total[n] == 0:
                break
            if correct[n] == 0:
                smooth *= 2
                precisions[n] = 100.0 / (smooth * total[n])
            else:
                precisions[n] = 100.0 * correct[n] / total[n]
        logs = [math.log(p) if p > 0 else -9999999999 for p in precisions]
        score = bp * math.exp(sum(logs) / 4)
    return [sys_len, ref_len] + correct + total, score


def chrf(hyps, refs, lowercase):
    stats = [0] * 18
    for hyp, ref in zip(hyps, refs):
        if lowercase:
            hyp, ref = hyp.lower(), ref.lower()
        h, r = "".join(hyp.split()), "".join(ref.split())
        for n in range(1, 7):
            hc = Counter(h[i:i + n] for i in range(len(h) - n + 1))
            rc = Counter(r[i:i + n] for i in range(len(r) - n + 1))
            stats[3 * n - 3] += sum(hc.values()) if rc else 0
            stats[3 * n - 2] += sum(rc.values())
            stats[3 * n - 1] += sum(min(c, rc[g]) for g, c in hc.items() if g in rc)
    prec = rec = 0.0
    orders = 0
    for n in range(6):
        nh, nr, nm = stats[3 * n:3 * n + 3]
        if nh > 0 and nr > 0:
            prec += nm / nh
            rec += nm / nr
            orders += 1
    if orders:
        prec, rec = prec / orders, rec / orders
    score = 100 * 5 * prec * rec / (4 * prec + rec) if prec + rec else 0.0
    return stats, score


def read(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line[:-1] if line.endswith("\n") else line for line in f]


def main():
    hyps, refs = read(sys.argv[1]), read(sys.argv[2])
    with open(sys.argv[3], "w", encoding="utf-8", newline="\n") as out:
        for hyp in hyps:
            out.write(tok13a(hyp.rstrip()) + "\n")
            out.write(hyp.lower() + "\n")
            out.write("\u241f".join(hyp.split()) + "\n")
        for metric in (bleu, chrf):
            for lowercase in (False, True):
                stats, score = metric(hyps, refs, lowercase)
                out.write(" ".join(map(str, stats)) + " " + repr(score) + "\n")


if __name__ == "__main__":
    main()
