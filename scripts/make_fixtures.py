#!/usr/bin/env python3
"""Regenerates every committed fixture under tests/fixtures/ from the reference implementations.

Run through scripts/make_fixtures.sh (`make fixtures`), which creates .venv-fixtures with the pinned reference
packages. Developers only; CI never runs this. Each step is a script of its own, runnable alone:

  fixtures_models.py        tiny Llama/Qwen2 checkpoints + transformers logits; SmolLM2 (GGUF) logits;
                            with --r1kit: r1kit's save_pretrained output loaded back in transformers
  fixtures_gguf.py          GGUF files per quant type + gguf-py dequantised values; safetensors byte fixtures;
                            with --r1kit: converted SmolLM2 vs transformers' own GGUF loading
  fixtures_tokenizer.py     HF tokenizers ids for the shared corpus and hard cases
  fixtures_smollm2_tokenizer.py  HF tokenizers ids on the SmolLM2 tokenizer.json that r1kit convert gguf rebuilt
  fixtures_chat_template.py transformers apply_chat_template strings (needs the SmolLM2 GGUF)
  fixtures_math_verify.py   math-verify verdicts on (gold, prediction) pairs
  fixtures_grpo_loss.py     TRL GRPOTrainer advantages, losses and gradients on crafted inputs
  fixtures_sft.py           SFT loss masks (apply_chat_template / TRL rule), transformers loss + gradients
  fixtures_deepseek_v3.py   tiny DeepseekV3ForCausalLM checkpoints (MLA + MoE, YaRN, FP8) + transformers logits
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(args):
    print("+", " ".join(args), flush=True)
    subprocess.check_call([sys.executable] + args, cwd=ROOT)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--r1kit", default=os.path.join(ROOT, "build", "cli", "r1kit"))
    ap.add_argument("--only", help="run only the fixtures_<ONLY>.py step")
    a = ap.parse_args()
    gguf = os.path.join(ROOT, "models", ".cache", "SmolLM2-135M-Instruct.Q4_1.gguf")
    have_r1kit = os.path.exists(a.r1kit)
    steps = {
        "models": ["scripts/fixtures_models.py"] + (["--r1kit", a.r1kit] if have_r1kit else []),
        "gguf": ["scripts/fixtures_gguf.py"] + (["--r1kit", a.r1kit] if have_r1kit else []),
        "tokenizer": ["scripts/fixtures_tokenizer.py"],
        "smollm2_tokenizer": ["scripts/fixtures_smollm2_tokenizer.py"],
        "chat_template": ["scripts/fixtures_chat_template.py", "--gguf", gguf],
        "math_verify": ["scripts/fixtures_math_verify.py"],
        "grpo_loss": ["scripts/fixtures_grpo_loss.py"],
        "sft": ["scripts/fixtures_sft.py"],
        "deepseek_v3": ["scripts/fixtures_deepseek_v3.py"],
    }
    for name, args in steps.items():
        if a.only and a.only != name:
            continue
        run(args)
    if not have_r1kit:
        print(f"note: {a.r1kit} not built; the r1kit round-trip checks were skipped (run `make build` first)")


if __name__ == "__main__":
    main()
