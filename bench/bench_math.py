#!/usr/bin/env python3
"""Math verification throughput: r1kit math_accuracy (C++, GiNaC) vs PyPI math-verify, same pairs, same run.

Both verify every (gold, prediction) pair of tests/fixtures/math/agreement.jsonl on one thread: math-verify as
verify(parse("\\boxed{gold}"), parse("\\boxed{pred}")) (what open-r1's accuracy reward does per sample), r1kit as
math_accuracy on the completion "\\boxed{pred}" with gold "gold" (extraction + normalisation + equivalence).
Prints both rates and the ratio (goal: >= 100x).

Usage: /work/fixenv/venv/bin/python bench/bench_math.py [PATH/TO/r1kit_bench_math] [--rounds N]
Build the binary first: cmake --build build --target r1kit_bench_math
"""
import argparse
import json
import pathlib
import subprocess
import time

from math_verify import parse, verify

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAIRS = ROOT / "tests" / "fixtures" / "math" / "agreement.jsonl"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?", default=str(ROOT / "build" / "bench" / "r1kit_bench_math"))
    ap.add_argument("--rounds", type=int, default=1, help="passes of math-verify over the pairs")
    ap.add_argument("--pairs", default=str(PAIRS), help="JSONL with gold/pred fields (default: the agreement fixture)")
    args = ap.parse_args()
    pairs = pathlib.Path(args.pairs)
    rows = [json.loads(line) for line in pairs.read_text().splitlines() if line.strip()]

    t0 = time.perf_counter()
    equivalent = 0
    per_pair = []
    for _ in range(args.rounds):
        equivalent = 0
        for row in rows:
            t = time.perf_counter()
            g = parse("\\boxed{" + row["gold"] + "}")
            p = parse("\\boxed{" + row["pred"] + "}")
            equivalent += bool(verify(g, p))
            per_pair.append(time.perf_counter() - t)
    mv_secs = time.perf_counter() - t0
    mv_rate = len(rows) * args.rounds / mv_secs
    fast = [t for t in per_pair if t < 1.0]  # without pairs that ran into math-verify's own time-outs
    mv_rate_fast = len(fast) / sum(fast)

    out = subprocess.run([args.binary, str(pairs), "2.0"], check=True, capture_output=True, text=True).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    print(f"pairs: {len(rows)}")
    print(f"math-verify (Python, 1 thread):      {mv_rate:10.1f} verifications/s  ({equivalent} equivalent)")
    print(f"r1kit math_accuracy (C++, 1 thread): {ours['verifications_per_s']:10.1f} verifications/s  "
          f"({ours['equivalent']} equivalent)")
    print(f"ratio: {ours['verifications_per_s'] / mv_rate:.1f}x  (goal >= 100x)")
    print(f"math-verify without its {len(per_pair) - len(fast)} time-out pair(s) (>= 1 s): {mv_rate_fast:.1f}/s; "
          f"ratio {ours['verifications_per_s'] / mv_rate_fast:.1f}x")


if __name__ == "__main__":
    main()
