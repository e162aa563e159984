#!/usr/bin/python3
"""Pictures of rnnsearch runs: attention heatmaps and learning curves.

    scripts/plot.py attention ALIGNMENTS.jsonl --out DIR [--sentences 0,3,7]
    scripts/plot.py curves RUN_DIR/metrics.jsonl --out FILE.png

attention: one PNG per chosen sentence, DIR/attention-<line>.png, from the
file `rnnsearch translate --alignments` writes (a JSON object per input
line with "line", "source", "target" and "attention"). As in the figures of
Bahdanau et al. (2014): source subwords along x (at the top), target
subwords along y, each cell the weight alpha_ij in grayscale, black = 0 and
white = 1. --sentences lists input lines (0-based, the "line" field); by
default the first 10 lines with a translation.

curves: one PNG with the learning curves of a run's metrics file (JSON
lines, trainer/run/metrics.h): training loss (and validation loss) per target
token, validation perplexity and validation BLEU against the step; panels
whose keys the file lacks are left out (a run without validation has only
the loss).

Needs Debian's python3-matplotlib and python3-numpy (scripts/install-deps.sh
installs them), hence /usr/bin/python3. Errors name the file and line and
exit with status 1.
"""

import argparse
import json
import math
import os
import sys


def fail(message):
    sys.stderr.write("plot.py: error: " + message + "\n")
    sys.exit(1)


def load_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy
    except ImportError as e:
        fail("%s: this tool needs Debian's python3-matplotlib and python3-numpy "
             "(apt-get install python3-matplotlib python3-numpy; scripts/install-deps.sh "
             "installs them) and runs with /usr/bin/python3" % e)
    return plt, numpy


def read_json_lines(path):
    """[(line number, object)]; a malformed line is an error, except an
    unfinished last line (a run writing it right now), which is skipped."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        fail("%s: %s" % (path, e.strerror or e))
    except UnicodeDecodeError as e:
        fail("%s: not UTF-8 text (%s)" % (path, e))
    lines = text.split("\n")
    unfinished = not text.endswith("\n")
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as e:
            if unfinished and number == len(lines):
                sys.stderr.write("plot.py: warning: %s:%d: skipping an unfinished last line\n"
                                 % (path, number))
                continue
            fail("%s:%d: expected a JSON object, found %r (%s)" % (path, number, line[:60], e))
        if not isinstance(value, dict):
            fail("%s:%d: expected a JSON object, found %s" % (path, number, type(value).__name__))
        out.append((number, value))
    return out


def check_alignment(path, number, row):
    for key in ("line", "source", "target", "attention"):
        if key not in row:
            fail("%s:%d: missing key '%s' (is this an rnnsearch translate --alignments file?)"
                 % (path, number, key))
    source, target, attention = row["source"], row["target"], row["attention"]
    if not isinstance(row["line"], int):
        fail("%s:%d: 'line' must be an integer, found %r" % (path, number, row["line"]))
    for key, value in (("source", source), ("target", target)):
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            fail("%s:%d: '%s' must be a list of strings" % (path, number, key))
    if not isinstance(attention, list) or len(attention) != len(target):
        fail("%s:%d: 'attention' must have one row per target subword (%d), found %s"
             % (path, number, len(target),
                len(attention) if isinstance(attention, list) else type(attention).__name__))
    for i, r in enumerate(attention):
        if not isinstance(r, list) or len(r) != len(source):
            fail("%s:%d: attention row %d must have one weight per source subword (%d)"
                 % (path, number, i, len(source)))
        for x in r:
            if not isinstance(x, (int, float)) or isinstance(x, bool) or not 0 <= x <= 1:
                fail("%s:%d: attention row %d: expected weights in [0, 1], found %r"
                     % (path, number, i, x))


def plot_attention(args):
    rows = read_json_lines(args.alignments)
    if not rows:
        fail("%s: no alignment lines" % args.alignments)
    by_line = {}
    for number, row in rows:
        check_alignment(args.alignments, number, row)
        by_line[row["line"]] = row
    if args.sentences:
        try:
            wanted = [int(s) for s in args.sentences.split(",") if s.strip()]
        except ValueError:
            fail("--sentences: expected comma-separated line numbers, found %r" % args.sentences)
        for line in wanted:
            if line not in by_line:
                fail("--sentences: line %d is not in %s (it has lines %d to %d)"
                     % (line, args.alignments, min(by_line), max(by_line)))
            if not by_line[line]["target"]:
                fail("--sentences: line %d of the input has no tokens: nothing to draw" % line)
    else:
        wanted = [line for line in sorted(by_line) if by_line[line]["target"]][:10]
    plt, numpy = load_pyplot()  # after the checks: importing matplotlib takes a while
    os.makedirs(args.out, exist_ok=True)
    for line in wanted:
        row = by_line[line]
        weights = numpy.array(row["attention"], dtype=float)
        src, tgt = row["source"], row["target"]
        fig, ax = plt.subplots(figsize=(max(3.0, 0.32 * len(src) + 1.6),
                                        max(3.0, 0.32 * len(tgt) + 1.2)))
        ax.imshow(weights, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest",
                  aspect="equal")
        ax.set_xticks(range(len(src)))
        ax.set_xticklabels(src, rotation=90)
        ax.set_yticks(range(len(tgt)))
        ax.set_yticklabels(tgt)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        ax.set_xlabel("source (line %d)" % line)
        ax.set_ylabel("translation")
        fig.tight_layout()
        path = os.path.join(args.out, "attention-%d.png" % line)
        fig.savefig(path, dpi=150)
        plt.close(fig)
        print(path)


def series(rows, kind, key):
    """(steps, values) of the rows of this kind that have a number under key."""
    xs, ys = [], []
    for _, row in rows:
        if row.get("kind", "train") != kind:
            continue
        x, y = row.get("step"), row.get(key)
        if isinstance(x, (int, float)) and isinstance(y, (int, float)) and \
                not isinstance(y, bool) and math.isfinite(y):
            xs.append(x)
            ys.append(y)
    return xs, ys


def plot_curves(args):
    rows = read_json_lines(args.metrics)  # lines without a step are not plotted
    panels = []  # (ylabel, [(label, xs, ys, style)], y scale)
    loss = [("training", *series(rows, "train", "loss"), "-"),
            ("validation", *series(rows, "valid", "loss"), "o-")]
    loss = [c for c in loss if c[1]]
    if loss:
        panels.append(("loss per target token", loss, "linear"))
    ppl = series(rows, "valid", "ppl")
    if ppl[0]:
        # logarithmic: the first validations (thousands) would flatten the rest
        panels.append(("validation perplexity (log scale)", [("validation", *ppl, "o-")], "log"))
    bleu = series(rows, "valid", "bleu")
    if bleu[0]:
        panels.append(("validation BLEU", [("validation", *bleu, "o-")], "linear"))
    if not panels:
        fail("%s: no line has a loss, perplexity or BLEU with a step to plot" % args.metrics)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        fail("--out %s: the directory %s does not exist" % (args.out, out_dir))
    plt, _ = load_pyplot()
    fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False,
                             figsize=(7.0, 2.4 * len(panels) + 0.6))
    for ax, (ylabel, curves, yscale) in zip(axes[:, 0], panels):
        for label, xs, ys, style in curves:
            ax.plot(xs, ys, style, label=label, markersize=3)
        ax.set_ylabel(ylabel)
        ax.set_yscale(yscale)
        ax.grid(True, which="both", alpha=0.3)
        if len(curves) > 1:
            ax.legend()
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(args.out, dpi=150)
    plt.close(fig)
    print(args.out)


def main():
    parser = argparse.ArgumentParser(
        prog="plot.py", description="Attention heatmaps and learning curves of rnnsearch runs.")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("attention", help="heatmaps from rnnsearch translate --alignments")
    a.add_argument("alignments", help="the JSON-lines file of --alignments")
    a.add_argument("--out", required=True, help="directory for attention-<line>.png")
    a.add_argument("--sentences", default="",
                   help="input lines to draw, e.g. 0,3,7 (default: the first 10)")
    c = sub.add_parser("curves", help="learning curves from a run's metrics.jsonl")
    c.add_argument("metrics", help="RUN_DIR/metrics.jsonl")
    c.add_argument("--out", required=True, help="the PNG file to write")
    args = parser.parse_args()
    if args.command == "attention":
        plot_attention(args)
    else:
        plot_curves(args)


if __name__ == "__main__":
    main()
