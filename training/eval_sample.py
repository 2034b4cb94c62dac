"""A larger held-out sample for `alltools eval`: the four suites of build_data.py (math, research, function,
choice) drawn again with another seed and size, over the same held-out corpus (tests/eval/corpus) and held-out
names. 100 tasks per suite give a 95 % interval of about ±6 points at 90 %; 400 give about ±3.

Usage: /usr/bin/python3 training/eval_sample.py --seed 99 --n 400 --out /tmp/eval400
then   alltools eval --suite /tmp/eval400/math.jsonl --search-index IDX   (IDX: alltools index build tests/eval/corpus)
"""
import argparse
import json
import os

import build_data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True, help="not 1241 (= 1234 + 7, the shipped suites' seed)")
    ap.add_argument("--n", type=int, default=400, help="tasks per suite")
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus-seed", type=int, default=1234, help="build_data.py's --seed (fixes the held-out corpus)")
    args = ap.parse_args()
    _, held = build_data.corpora(args.corpus_seed)
    os.makedirs(args.out, exist_ok=True)
    for name, rows in build_data.eval_suites(held, args.seed, args.n).items():
        with open(os.path.join(args.out, name + ".jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(name, len(rows), "tasks")


if __name__ == "__main__":
    main()
