#!/usr/bin/env python3
"""Agreement fixture for math_accuracy: (gold, prediction) pairs scored by PyPI `math-verify` (the reference
verifier used by open-r1 / TRL). Writes tests/fixtures/math/agreement.jsonl, one object per pair:
  {"source": "math500" | "math500_shifted" | "hard", "id": str, "gold": str, "pred": str, "math_verify": bool}

Pairs:
  - math500:         MATH-500 gold `answer` vs the last \\boxed{} of the record's own `solution` (should agree);
  - math500_shifted: MATH-500 gold of record i vs the solution answer of record i+1 (mostly different: negatives);
  - hard:            hand-picked hard cases (inputs only — the verdict always comes from math-verify).
Both sides are given to math-verify as "\\boxed{...}" (parse with its default extraction configs, then
verify(gold, pred)), exactly what the C++ test feeds math_accuracy.

Usage: /work/fixenv/venv/bin/python scripts/fixtures_math_verify.py   (needs `pip install math-verify`)
Data: ../shared/data/math/math500_test.jsonl (MATH-500, PRM800K test split, MIT).
"""
import importlib.metadata
import json
import pathlib

from math_verify import parse, verify

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "math" / "math500_test.jsonl"
OUT = ROOT / "tests" / "fixtures" / "math" / "agreement.jsonl"

# (gold, pred) hard cases: the proof cases and the documented policies.
HARD = [
    ("0.5", "\\frac{1}{2}"), ("42", "42"), ("[2,5)", "[2,5)"), ("(2,5)", "[2,5)"), ("840", "840"),
    ("004", "004"), ("4.123105625617661", "\\sqrt{17}"), ("4\\sqrt{2}", "4"), ("7425000", "7,425,000"),
    ("0,1", "(0,1)"), ("\\frac{1}{2006!}", "\\frac{1}{2004!}"), ("\\frac{1}{2004!}", "\\frac{1}{2004!}"),
    ("3", "x = 3"), ("x = 3", "3"), ("\\text{(C)}", "C"), ("C", "D"), ("\\frac{1}{3}", "0.33"),
    ("1500", "1.5 \\times 10^{3}"), ("2\\sqrt{2}", "\\sqrt{8}"), ("90", "90^\\circ"), ("5", "5\\text{ cm}"),
    ("50", "50\\%"), ("0.5", "50\\%"), ("3.5", "3,5"), ("1, 2", "2, 1"), ("1, 2", "1"), ("(1,2)", "(2,1)"),
    ("\\{1,2\\}", "\\{2,1\\}"), ("(-\\infty, 2) \\cup (3, \\infty)", "(3,\\infty)\\cup(-\\infty,2)"),
    ("(-\\infty, 2) \\cup (3, \\infty)", "(-\\infty, 2] \\cup (3, \\infty)"), ("[-2,7]", "x \\in [-2,7]"),
    ("\\pm 3", "3, -3"), ("y = 2x + 1", "y = 1 + 2x"), ("x^2+7x+10", "(x+2)(x+5)"), ("x^2+7x+10", "(x+2)(x+6)"),
    ("6 - 5i", "-5i + 6"), ("\\text{Evelyn}", "Evelyn"), ("\\frac{\\sqrt{6}-\\sqrt{2}}{4}", "\\sin(\\pi/12)"),
    ("1", "10^{10^{10}}"), ("3", "-3"), ("\\$32,\\!348", "32348"), ("\\dfrac{3}{4}", "0.75"), ("\\pi", "3.14"),
    ("\\frac{\\pi}{2}", "90"), ("2", "\\sqrt{4}"), ("1000", "1,000"), ("10", "10.0"), ("-\\frac{1}{2}", "-0.5"),
    ("\\frac{7}{2}", "3\\frac{1}{2}"), ("2^{10}", "1024"), ("\\infty", "\\infty"), ("e", "2.718281828"),
]


def last_boxed(text: str):
    """Content of the last \\boxed{...} (balanced braces) in text, or None."""
    i = text.rfind("\\boxed")
    if i < 0:
        return None
    j = text.find("{", i)
    if j < 0:
        return None
    depth = 0
    for k in range(j, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return text[j + 1:k]
    return None


def mv(gold: str, pred: str) -> bool:
    g = parse("\\boxed{" + gold + "}")
    p = parse("\\boxed{" + pred + "}")
    return bool(verify(g, p))


def main():
    records = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    preds = [last_boxed(r["solution"]) for r in records]
    rows = []
    for r, p in zip(records, preds):
        if p is not None:
            rows.append({"source": "math500", "id": r["unique_id"], "gold": r["answer"], "pred": p})
    for i in range(0, len(records) - 1, 5):  # every 5th record vs its neighbour's solution answer
        if preds[i + 1] is not None:
            rows.append({"source": "math500_shifted", "id": records[i]["unique_id"], "gold": records[i]["answer"],
                         "pred": preds[i + 1]})
    for n, (g, p) in enumerate(HARD):
        rows.append({"source": "hard", "id": f"hard/{n}", "gold": g, "pred": p})
    for row in rows:
        row["math_verify"] = mv(row["gold"], row["pred"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"math-verify {importlib.metadata.version('math-verify')}: wrote {len(rows)} pairs to {OUT}")


if __name__ == "__main__":
    main()
