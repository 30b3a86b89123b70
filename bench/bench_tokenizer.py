#!/usr/bin/env python3
"""Tokenizer throughput: r1kit (bench_tokenizer binary) vs Hugging Face `tokenizers`, same corpus, one thread.

Usage: /work/fixenv/venv/bin/python bench/bench_tokenizer.py [--binary build/bench_tokenizer]
       [--tokenizers deepseek_v3,qwen3,llama3] [--repeats 3]
Corpus: GSM8K train (question + answer), MATH 12k train (problem + solution), HumanEval, MBPP from ../shared/data,
written to a temporary JSONL. HF is timed with Tokenizer.encode in a loop (single-threaded; rayon is not used by
encode), best of --repeats, a fresh tokenizer each repeat (cold word cache, as the C++ side).
Prints per tokenizer: MB/s for each, the ratio r1kit / HF, and checks both produced the same number of tokens.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
SOURCES = [("gsm8k/train.jsonl", ["question", "answer"], "\n\n"),
           ("math/math_train_12k.jsonl", ["problem", "solution"], "\n\n"),
           ("code/humaneval.jsonl", ["prompt", "canonical_solution"], ""),
           ("code/mbpp.jsonl", ["text", "code"], "\n")]


def corpus():
    texts = []
    for path, fields, sep in SOURCES:
        with open(os.path.join(DATA, path), encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                texts.append(sep.join(str(rec[k]) for k in fields))
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bench", "bench_tokenizer"))
    ap.add_argument("--tokenizers", default="deepseek_v3,qwen3,llama3")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    texts = corpus()
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
        path = f.name
    print(f"corpus: {len(texts)} texts, {nbytes / 1e6:.2f} MB")
    try:
        for name in args.tokenizers.split(","):
            d = os.path.join(DATA, "tokenizers", name)
            best, ntok = 1e30, 0
            for _ in range(args.repeats):
                tk = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
                t0 = time.perf_counter()
                ntok = sum(len(tk.encode(t, add_special_tokens=False).ids) for t in texts)
                best = min(best, time.perf_counter() - t0)
            hf = nbytes / best / 1e6
            out = subprocess.run([args.binary, d, path, str(args.repeats)], capture_output=True, text=True, check=True)
            res = {ln.split()[0]: ln.split() for ln in out.stdout.splitlines()}
            ours = float(res["single_thread_mb_s"][1])
            our_tokens = int(res["single_thread_mb_s"][3])
            batch = float(res["batch_mb_s"][1])
            same = "same token count" if our_tokens == ntok else f"TOKEN COUNT DIFFERS ({our_tokens} vs {ntok})"
            print(f"{name:12s} HF tokenizers {hf:7.2f} MB/s | r1kit {ours:7.2f} MB/s | ratio {ours / hf:5.2f}x | "
                  f"r1kit encode_batch {batch:7.2f} MB/s ({res['batch_mb_s'][3]} threads) | {same}")
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
