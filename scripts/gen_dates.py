#!/usr/bin/python3
"""The demo's synthetic translation task: dates in human formats -> ISO dates.

    scripts/gen_dates.py OUT_DIR [--train N] [--valid N] [--test N] [--seed S]

Writes OUT_DIR/{train,valid,test}.{src,tgt}, one example per line, tokens
separated by spaces so that `rnnsearch preprocess` with the whitespace
tokenizer keeps them as they are:

    src: Tuesday , 3 rd of March 1 9 9 8      tgt: 1 9 9 8 - 0 3 - 0 3
    src: 0 3 . 0 3 . 9 8                      tgt: 1 9 9 8 - 0 3 - 0 3
    src: MAR 3 , 1 9 9 8                      tgt: 1 9 9 8 - 0 3 - 0 3

Source tokens are whole words (month and weekday names, "of", "the",
ordinal suffixes), single digits and single punctuation marks, so that an
attention heatmap shows which source token each output digit came from.
Each separator means one order: "." is day.month.year, "/" is
month/day/year (as in the US), "-" is year-month-day. Two-digit years stand
for 1950-2049 (50-99 -> 19xx, 00-49 -> 20xx), the range of all dates.

The splits have disjoint dates: the held-out test and validation dates never
occur in training in any format, so a model must read the date, not recall
it. The same arguments give the same files (a fixed seed).
"""

import argparse
import datetime
import os
import random
import re
import sys

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
            "Saturday", "Sunday"]
FIRST = datetime.date(1950, 1, 1)
LAST = datetime.date(2049, 12, 31)


def ordinal(day):
    if day in (11, 12, 13):
        return "%d th" % day
    return "%d %s" % (day, {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th"))


def month_name(d, rng):
    """Full, abbreviated, in one of three cases."""
    name = MONTHS[d.month - 1]
    if rng.random() < 0.35:
        name = name[:3]
    return rng.choice([name, name.lower(), name.upper()])


def weekday_name(d, rng):
    name = WEEKDAYS[d.weekday()]
    if rng.random() < 0.4:
        name = name[:3]
    return rng.choice([name, name, name.lower()])


def two(n):
    return "%02d" % n


def numeric_day(n, rng):
    return two(n) if rng.random() < 0.5 else str(n)


# Each format: a function of (date, rng) -> the human text (before tokenizing).
FORMATS = [
    lambda d, r: "%s, %s of %s %d" % (weekday_name(d, r), ordinal(d.day), month_name(d, r), d.year),
    lambda d, r: "%s, %s %d, %d" % (weekday_name(d, r), month_name(d, r), d.day, d.year),
    lambda d, r: "%d %s %d" % (d.day, month_name(d, r), d.year),
    lambda d, r: "%s %d, %d" % (month_name(d, r), d.day, d.year),
    lambda d, r: "%s %s, %d" % (month_name(d, r), ordinal(d.day), d.year),
    lambda d, r: "the %s of %s %d" % (ordinal(d.day), month_name(d, r), d.year),
    lambda d, r: "%d %s %s" % (d.day, month_name(d, r), two(d.year % 100)),
    lambda d, r: "%s.%s.%s" % (numeric_day(d.day, r), numeric_day(d.month, r), two(d.year % 100)),
    lambda d, r: "%s.%s.%d" % (numeric_day(d.day, r), numeric_day(d.month, r), d.year),
    lambda d, r: "%s/%s/%d" % (numeric_day(d.month, r), numeric_day(d.day, r), d.year),
    lambda d, r: "%s/%s/%s" % (numeric_day(d.month, r), numeric_day(d.day, r), two(d.year % 100)),
    lambda d, r: "%d-%s-%s" % (d.year, two(d.month), two(d.day)),
    lambda d, r: "%s %d %s %d" % (weekday_name(d, r), d.day, month_name(d, r), d.year),
    lambda d, r: "%s %d" % (month_name(d, r), d.year) + (", the %s" % ordinal(d.day)),
]


def tokenize(text):
    """Words stay whole; every digit and every punctuation mark is a token."""
    return " ".join(re.findall(r"[A-Za-z]+|[0-9]|[^\sA-Za-z0-9]", text))


def example(d, rng):
    src = tokenize(rng.choice(FORMATS)(d, rng))
    tgt = " ".join(d.isoformat())
    return src, tgt


def write_split(out_dir, name, dates, count, rng):
    with open(os.path.join(out_dir, name + ".src"), "w", encoding="utf-8") as s, \
         open(os.path.join(out_dir, name + ".tgt"), "w", encoding="utf-8") as t:
        for _ in range(count):
            src, tgt = example(rng.choice(dates), rng)
            s.write(src + "\n")
            t.write(tgt + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out_dir")
    p.add_argument("--train", type=int, default=30000, help="training examples (default 30000)")
    p.add_argument("--valid", type=int, default=500, help="validation examples (default 500)")
    p.add_argument("--test", type=int, default=1000, help="held-out test examples (default 1000)")
    p.add_argument("--seed", type=int, default=1998, help="random seed (default 1998)")
    args = p.parse_args()
    for name in ("train", "valid", "test"):
        if getattr(args, name) < 1:
            p.error("--%s: expected a positive count, found %d" % (name, getattr(args, name)))

    rng = random.Random(args.seed)
    dates = [FIRST + datetime.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    rng.shuffle(dates)
    # Held-out dates: as many as the examples drawn from them (at most a
    # fifth of all dates each), never used for training.
    n_test = min(args.test, len(dates) // 5)
    n_valid = min(args.valid, len(dates) // 5)
    test_dates, valid_dates = dates[:n_test], dates[n_test:n_test + n_valid]
    train_dates = dates[n_test + n_valid:]

    os.makedirs(args.out_dir, exist_ok=True)
    write_split(args.out_dir, "train", train_dates, args.train, rng)
    write_split(args.out_dir, "valid", valid_dates, args.valid, rng)
    write_split(args.out_dir, "test", test_dates, args.test, rng)
    sys.stdout.write("gen_dates: %d train, %d valid, %d test examples in %s "
                     "(%d, %d and %d distinct dates, disjoint; seed %d)\n"
                     % (args.train, args.valid, args.test, args.out_dir,
                        len(train_dates), len(valid_dates), len(test_dates), args.seed))


if __name__ == "__main__":
    main()
