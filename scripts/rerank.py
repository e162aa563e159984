#!/usr/bin/python3
"""Rerank n-best lists with the scores of other models.

    scripts/rerank.py NBEST --scores FILE [--scores FILE ...] [--weights W0,W1,...] [--out FILE]

NBEST: the lines of `rnnsearch translate --nbest N`, "LINE ||| TEXT |||
SCORE" (LINE the 0-based input line, SCORE the translating model's ranking
score: log-probability / length^alpha). Each --scores FILE: the output of
`rnnsearch rescore --nbest` over the same NBEST (or over a copy whose TEXT
was transformed, e.g. its words reversed for a right-to-left model): one
"LOGPROB TOKENS" line per NBEST line.

Each hypothesis gets

    W0 * SCORE + W1 * LOGPROB_1 / TOKENS_1 + W2 * LOGPROB_2 / TOKENS_2 + ...

(default: all weights 1), and the best of each input line (the first of
equal ones, i.e. the translating model's order) is written, one line per
input line 0 .. the largest LINE (a line without hypotheses gives an empty
line). Errors name the file and line and exit with status 1.
"""

import argparse
import sys

SEP = " ||| "


def fail(message):
    sys.stderr.write("rerank.py: error: " + message + "\n")
    sys.exit(1)


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        fail("cannot read '%s': %s" % (path, e))


def parse_nbest(path):
    out = []
    for i, line in enumerate(read_lines(path), 1):
        first, last = line.find(SEP), line.rfind(SEP)
        if first < 0 or last < first + len(SEP):
            fail("%s:%d: expected 'LINE ||| TEXT ||| SCORE', found '%s'" % (path, i, line[:80]))
        try:
            number = int(line[:first])
            score = float(line[last + len(SEP):])
        except ValueError:
            fail("%s:%d: expected an integer LINE and a number SCORE, found '%s'"
                 % (path, i, line[:80]))
        if number < 0:
            fail("%s:%d: LINE must be 0 or more, found %d" % (path, i, number))
        out.append((number, line[first + len(SEP):last], score))
    return out


def parse_scores(path, expected):
    lines = read_lines(path)
    if len(lines) != expected:
        fail("%s has %d lines, expected %d (one per n-best line)" % (path, len(lines), expected))
    out = []
    for i, line in enumerate(lines, 1):
        fields = line.split()
        try:
            logprob, tokens = float(fields[0]), int(fields[1])
            if len(fields) != 2 or tokens < 1:
                raise ValueError
        except (ValueError, IndexError):
            fail("%s:%d: expected 'LOGPROB TOKENS' (TOKENS >= 1), found '%s'" % (path, i, line))
        out.append(logprob / tokens)
    return out


def main():
    parser = argparse.ArgumentParser(description="Rerank n-best lists with other models' scores.")
    parser.add_argument("nbest")
    parser.add_argument("--scores", action="append", default=[], required=True)
    parser.add_argument("--weights", default="")
    parser.add_argument("--out", default="-")
    args = parser.parse_args()
    nbest = parse_nbest(args.nbest)
    features = [parse_scores(p, len(nbest)) for p in args.scores]
    if args.weights:
        try:
            weights = [float(w) for w in args.weights.split(",")]
        except ValueError:
            fail("--weights: expected numbers separated by commas, found '%s'" % args.weights)
        if len(weights) != 1 + len(features):
            fail("--weights: expected %d numbers (the n-best score and one per --scores), found %d"
                 % (1 + len(features), len(weights)))
    else:
        weights = [1.0] * (1 + len(features))
    best = {}
    for k, (line, text, score) in enumerate(nbest):
        total = weights[0] * score + sum(w * f[k] for w, f in zip(weights[1:], features))
        if line not in best or total > best[line][0]:
            best[line] = (total, text)
    lines = max(best) + 1 if best else 0
    text = "".join((best[i][1] if i in best else "") + "\n" for i in range(lines))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            fail("cannot write '%s': %s" % (args.out, e))


if __name__ == "__main__":
    main()
