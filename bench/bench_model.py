#!/usr/bin/env python3
"""Forward-pass throughput, r1kit vs transformers, same checkpoint, shapes, thread count and machine, same run.

    python bench/bench_model.py --model models/smollm2-135m-instruct --r1kit build/bench/r1kit_bench_model

Prefill: logits for B×T random tokens (no cache). Decode: greedy, one token per row per step with the KV cache
(transformers: DynamicCache via past_key_values). Best of --repeats after one warm-up. Prints both and the ratio
r1kit / transformers (> 1 means r1kit is faster). Needs torch + transformers (the fixture venv).
"""
import argparse
import json
import subprocess
import time

import torch
from transformers import AutoModelForCausalLM


def hf_bench(model_dir, B, T, steps, repeats, threads):
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(model.config.vocab_size, (B, T), generator=g)
    best_p, best_d = 1e30, 1e30
    with torch.no_grad():
        for r in range(repeats + 1):
            t0 = time.perf_counter()
            model(input_ids=ids, use_cache=False)
            t1 = time.perf_counter()
            out = model(input_ids=ids, use_cache=True)
            past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            t2 = time.perf_counter()
            for s in range(steps):
                out = model(input_ids=nxt, past_key_values=past, use_cache=True,
                            position_ids=torch.full((B, 1), T + s))
                past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            t3 = time.perf_counter()
            if r:
                best_p, best_d = min(best_p, t1 - t0), min(best_d, t3 - t2)
    return {"impl": "transformers", "threads": threads, "prefill_tok_s": B * T / best_p,
            "decode_tok_s": B * steps / best_d}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--r1kit", required=True, help="path to the r1kit_bench_model binary")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--decode-steps", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    ours = json.loads(subprocess.check_output([a.r1kit, a.model, "--batch", str(a.batch), "--prompt-len",
                                               str(a.prompt_len), "--decode-steps", str(a.decode_steps),
                                               "--repeats", str(a.repeats), "--threads", str(a.threads)]))
    ref = hf_bench(a.model, a.batch, a.prompt_len, a.decode_steps, a.repeats, a.threads)
    print(json.dumps(ours))
    print(json.dumps(ref))
    for k in ("prefill_tok_s", "decode_tok_s"):
        print(f"{k}: r1kit {ours[k]:.1f}  transformers {ref[k]:.1f}  ratio {ours[k] / ref[k]:.2f}x")


if __name__ == "__main__":
    main()
