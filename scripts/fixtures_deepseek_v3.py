#!/usr/bin/env python3
"""Golden values for the DeepSeek-V3 tests (tests/model/test_deepseek_v3*.cpp).

Reference: Hugging Face transformers DeepseekV3ForCausalLM (models/deepseek_v3/modeling_deepseek_v3.py) on CPU,
float32, SDPA attention. Run by developers (`make fixtures`), never by CI; the outputs are committed:

  tests/fixtures/deepseek_v3/<name>/           tiny random checkpoints written by transformers' save_pretrained
                                               (config.json + model.safetensors, on-disk tensor names)
  tests/fixtures/deepseek_v3/<name>.golden.safetensors
      input_ids [B,T] int64, position_ids [B,T] int64, attention_mask [B,T] int64 (row 1 left-padded),
      logits [B,T,V] float32 (prefill), decode_tokens [B,K] int64 (greedy token fed at decode step k),
      decode_logits [B,K,V] float32 (transformers with use_cache=True, one token per step)

Cases:
  tiny_v3_a    q_lora_rank set, YaRN rope_scaling (mscale != mscale_all_dim so both corrections matter),
               rope_interleave=true, attention_bias=true, norm_topk_prob=true, 4 groups keep 2, top-3
  tiny_v3_b    q_lora_rank null (plain q_proj), no rope scaling, rope_interleave=false, norm_topk_prob=false,
               2 groups keep 1, top-2
  tiny_v3_fp8  a checkpoint laid out as the released DeepSeek-V3 one: legacy `rope_scaling`, scoring_func /
               topk_method keys, quantization_config fp8 e4m3 with weight_block_size [16,16] (partial blocks
               included), every linear weight of the decoder layers (router excepted) stored as F8_E4M3 with a
               float32 `weight_scale_inv` per block, plus MTP tensors under model.layers.{num_hidden_layers}.
               Its golden logits come from transformers loading the dequantised weights (w = fp8 * scale_inv).

Every case has first_k_dense_replace=1, 8 routed experts and a random non-zero e_score_correction_bias; weights are
drawn with unit-scale variance so routing, norms and biases all move the logits.
"""
import json
import math
import os
import shutil
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, DeepseekV3Config

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "deepseek_v3")

COMMON = dict(vocab_size=128, hidden_size=32, intermediate_size=48, moe_intermediate_size=8, num_hidden_layers=3,
              num_attention_heads=4, num_key_value_heads=4, kv_lora_rank=16, qk_nope_head_dim=8,
              qk_rope_head_dim=8, v_head_dim=12, n_routed_experts=8, n_shared_experts=1, first_k_dense_replace=1,
              max_position_embeddings=128, rms_norm_eps=1e-6, routed_scaling_factor=2.5, tie_word_embeddings=False,
              bos_token_id=0, eos_token_id=1)

YARN = dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=32, beta_fast=2.0, beta_slow=0.1,
            mscale=0.707, mscale_all_dim=1.0)

CASES = {
    "tiny_v3_a": dict(COMMON, q_lora_rank=16, n_group=4, topk_group=2, num_experts_per_tok=3, norm_topk_prob=True,
                      rope_interleave=True, attention_bias=True,
                      rope_parameters=dict(YARN, rope_theta=100.0)),
    "tiny_v3_b": dict(COMMON, q_lora_rank=None, n_group=2, topk_group=1, num_experts_per_tok=2, norm_topk_prob=False,
                      rope_interleave=False, attention_bias=False,
                      rope_parameters=dict(rope_type="default", rope_theta=10000.0)),
}


def randomise(model, seed):
    """Unit-scale random weights: matrices N(0, 1/fan_in), embeddings N(0,1), norms 1 + N(0, 0.1), biases
    N(0, 0.1), router N(0, 4/fan_in) and e_score_correction_bias N(0, 0.05)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in n:
                p.copy_(torch.randn(p.shape, generator=g))
            elif n.endswith("mlp.gate.weight"):
                p.copy_(2.0 * torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
        for n, b in model.named_buffers():
            if n.endswith("e_score_correction_bias"):
                b.copy_(0.05 * torch.randn(b.shape, generator=g))


def inputs(vocab):
    g = torch.Generator().manual_seed(7)
    B, T = 2, 9
    ids = torch.randint(2, vocab, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, :2] = 0
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids, mask, pos


def golden(model, path, steps=4):
    ids, mask, pos = inputs(model.config.vocab_size)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
        logits = out.logits.float()
        cache = out.cache if hasattr(out, "cache") else out.past_key_values
        tok = logits[:, -1].argmax(-1)
        toks, step_logits = [], []
        m, p = mask, pos[:, -1:]
        for _ in range(steps):
            m = torch.cat([m, torch.ones(m.shape[0], 1, dtype=m.dtype)], 1)
            p = p + 1
            o = model(input_ids=tok[:, None], attention_mask=m, position_ids=p, cache=cache, use_cache=True)
            cache = o.cache if hasattr(o, "cache") else o.past_key_values
            toks.append(tok)
            step_logits.append(o.logits[:, -1].float())
            tok = o.logits[:, -1].argmax(-1)
    save_file({"input_ids": ids.contiguous(), "position_ids": pos.contiguous(), "attention_mask": mask.contiguous(),
               "logits": logits.contiguous(), "decode_tokens": torch.stack(toks, 1).contiguous(),
               "decode_logits": torch.stack(step_logits, 1).contiguous()}, path)
    return logits


def build(kwargs, seed):
    torch.manual_seed(seed)
    config = DeepseekV3Config(**kwargs, dtype="float32")
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
    randomise(model, seed)
    return model


def save_model(model, d):
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d, safe_serialization=True)
    gen = os.path.join(d, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)


def quantise_blocks(w, block):
    """w [O,I] float32 -> (q [O,I] float8_e4m3fn, scale_inv [ceil(O/bo), ceil(I/bi)] float32) with
    w ≈ q * scale_inv per block (DeepSeek-V3's weight_dequant convention)."""
    bo, bi = block
    O, I = w.shape
    no, ni = -(-O // bo), -(-I // bi)
    scale = torch.empty(no, ni)
    q = torch.empty(O, I, dtype=torch.float8_e4m3fn)
    for a in range(no):
        for b in range(ni):
            blk = w[a * bo:(a + 1) * bo, b * bi:(b + 1) * bi]
            s = blk.abs().max().clamp(min=1e-12) / 448.0
            scale[a, b] = s
            q[a * bo:(a + 1) * bo, b * bi:(b + 1) * bi] = (blk / s).to(torch.float8_e4m3fn)
    return q, scale


def dequantise_blocks(q, scale, block):
    bo, bi = block
    O, I = q.shape
    s = scale.repeat_interleave(bo, 0)[:O].repeat_interleave(bi, 1)[:, :I]
    return q.to(torch.float32) * s


def fp8_case():
    name = "tiny_v3_fp8"
    block = [16, 16]
    kwargs = dict(CASES["tiny_v3_a"])
    kwargs.pop("rope_parameters")
    model = build(dict(kwargs, rope_parameters=dict(YARN, rope_theta=100.0)), seed=303)
    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, os.path.join(tmp, "src"))
        with safe_open(os.path.join(tmp, "src", "model.safetensors"), "pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
        cfg = json.load(open(os.path.join(tmp, "src", "config.json")))
    L = cfg["num_hidden_layers"]
    fp8, deq = {}, {}
    for k, t in state.items():
        quantised = (k.startswith("model.layers.") and k.endswith("proj.weight") or
                     "proj_with_mqa.weight" in k) and ".mlp.gate." not in k
        if quantised:
            q, s = quantise_blocks(t, block)
            fp8[k] = q.contiguous()
            fp8[k[: -len("weight")] + "weight_scale_inv"] = s.contiguous()
            deq[k] = dequantise_blocks(q, s, block).contiguous()
        else:
            fp8[k] = t.contiguous()
            deq[k] = t.contiguous()
    # Multi-token-prediction module as released checkpoints carry it (model.layers.{L}.*); r1kit skips it.
    g = torch.Generator().manual_seed(5)
    C = cfg["hidden_size"]
    fp8[f"model.layers.{L}.enorm.weight"] = torch.ones(C)
    fp8[f"model.layers.{L}.hnorm.weight"] = torch.ones(C)
    q, s = quantise_blocks(torch.randn(C, 2 * C, generator=g), block)
    fp8[f"model.layers.{L}.eh_proj.weight"] = q
    fp8[f"model.layers.{L}.eh_proj.weight_scale_inv"] = s
    fp8[f"model.layers.{L}.shared_head.norm.weight"] = torch.ones(C)
    # config.json in the released DeepSeek-V3 layout (legacy rope_scaling, router keys, quantization_config).
    release = {k: v for k, v in cfg.items() if k not in ("rope_parameters", "dtype", "transformers_version",
                                                         "qk_head_dim", "head_dim")}
    release.update(rope_theta=100.0, torch_dtype="bfloat16", scoring_func="sigmoid", topk_method="noaux_tc",
                   num_nextn_predict_layers=1,
                   rope_scaling={"type": "yarn", "factor": YARN["factor"], "beta_fast": YARN["beta_fast"],
                                 "beta_slow": YARN["beta_slow"], "mscale": YARN["mscale"],
                                 "mscale_all_dim": YARN["mscale_all_dim"],
                                 "original_max_position_embeddings": YARN["original_max_position_embeddings"]},
                   quantization_config={"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                        "weight_block_size": block})
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as fh:
        json.dump(release, fh, indent=2, sort_keys=True)
    save_file(fp8, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    # Reference: transformers loading the dequantised float32 weights under the same (legacy-style) config.
    with tempfile.TemporaryDirectory() as tmp:
        ref_cfg = {k: v for k, v in release.items() if k != "quantization_config"}
        ref_cfg["torch_dtype"] = "float32"
        with open(os.path.join(tmp, "config.json"), "w") as fh:
            json.dump(ref_cfg, fh)
        save_file(deq, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        ref = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32, attn_implementation="sdpa").eval()
        logits = golden(ref, os.path.join(OUT, f"{name}.golden.safetensors"))
    print(f"{name}: {len(fp8)} tensors, logits {tuple(logits.shape)}, "
          f"{os.path.getsize(os.path.join(d, 'model.safetensors'))} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    for i, (name, kwargs) in enumerate(CASES.items()):
        model = build(kwargs, seed=101 + i)
        d = os.path.join(OUT, name)
        save_model(model, d)
        # Reload from disk so the golden values come from exactly what was saved.
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="sdpa").eval()
        logits = golden(model, os.path.join(OUT, f"{name}.golden.safetensors"))
        print(f"{name}: {sum(p.numel() for p in model.parameters())} params, logits {tuple(logits.shape)}, "
              f"{os.path.getsize(os.path.join(d, 'model.safetensors'))} bytes")
    fp8_case()


if __name__ == "__main__":
    main()
