#!/usr/bin/env python3
"""Rollout throughput, r1kit vs transformers generate(), same run, same machine.

    python bench/bench_rollout.py --model models/smollm2-135m-instruct --r1kit build/bench/r1kit_bench_rollout

Same prompts (first --prompts GSM8K test questions with the model's chat template), same n (num_return_sequences),
max_new_tokens 256, fp32, sampling at T = 1.0, stop at EOS, same thread count. Throughput = generated completion
tokens (up to and including EOS) per wall-clock second. Prints both and the ratio r1kit / transformers.
"""
import argparse
import json
import subprocess
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def hf_generate(model_dir, data, P, n, max_new, threads, seed):
    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    qs = [json.loads(l)["question"] for l in open(data)][:P]
    texts = [tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
             for q in qs]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    eos = model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos])
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**enc, do_sample=True, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=max_new,
                             num_return_sequences=n, pad_token_id=tok.pad_token_id or 0)
    secs = time.perf_counter() - t0
    comp = out[:, enc["input_ids"].shape[1]:]
    tokens = 0
    for row in comp.tolist():
        for t in row:
            tokens += 1
            if t in eos:
                break
    return {"impl": "transformers", "threads": threads, "completions": comp.shape[0], "generated_tokens": tokens,
            "seconds": secs, "tokens_per_s": tokens / secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--r1kit", required=True)
    ap.add_argument("--data", default="../shared/data/gsm8k/test.jsonl")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gemm", action="append", choices=["default", "onednn", "avx2"],
                    help="r1kit generation GEMM(s) to measure (repeatable; default: both)")
    a = ap.parse_args()
    ours = []
    for gemm in a.gemm or ["default", "onednn", "avx2"]:
        ours.append(json.loads(subprocess.check_output(
            [a.r1kit, a.model, a.data, "--prompts", str(a.prompts), "--n", str(a.n), "--max-new-tokens",
             str(a.max_new_tokens), "--threads", str(a.threads), "--seed", str(a.seed), "--gemm", gemm])))
    ref = hf_generate(a.model, a.data, a.prompts, a.n, a.max_new_tokens, a.threads, a.seed)
    for o in ours:
        print(json.dumps(o))
    print(json.dumps(ref))
    for o in ours:
        print(f"tokens/s: r1kit (gemm {o['gemm']}) {o['tokens_per_s']:.1f}  transformers {ref['tokens_per_s']:.1f}  "
              f"ratio {o['tokens_per_s'] / ref['tokens_per_s']:.2f}x")


if __name__ == "__main__":
    main()
