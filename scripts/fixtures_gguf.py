#!/usr/bin/env python3
"""Golden fixtures for r1kit's checkpoint formats (safetensors, GGUF, GGUF -> Hugging Face conversion).

Reference implementations: `safetensors` (writer/reader), `gguf` (GGUFWriter, gguf.quants.quantize/dequantize),
`transformers` (GGUF loading: config, dequantised + un-permuted weights, tokenizer), `tokenizers`.

Writes (all small):
  tests/fixtures/safetensors/all_dtypes.safetensors   every supported dtype, written by Python safetensors
  tests/fixtures/safetensors/all_dtypes.json          the stored values (exact) and shapes
  tests/fixtures/gguf/quants.gguf                     one tensor per type (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q4_K Q6_K)
                                                      + metadata of every value kind
  tests/fixtures/gguf/quants_expected.safetensors     gguf.quants.dequantize of each tensor (float32)
  tests/fixtures/gguf/quants_metadata.json            expected metadata values and types
  tests/fixtures/gguf/tiny_llama.gguf                 a 2-layer llama written as llama.cpp does (Q/K permuted),
                                                      byte-level BPE tokenizer in its metadata
  tests/fixtures/gguf/tiny_llama_expected.safetensors the state dict transformers builds from tiny_llama.gguf
  tests/fixtures/gguf/tiny_llama_expected.json        transformers' config + tokenizer facts for tiny_llama.gguf
  tests/fixtures/gguf/tiny_qwen2{.gguf,_expected.*}  the same for a tied qwen2 with q/k/v biases
  tests/fixtures/gguf/smollm2_check.json              (with --r1kit and the SmolLM2 GGUF) tokenizer + logits parity

Usage (developer only; CI never runs it):
  /work/fixenv/venv/bin/python scripts/fixtures_gguf.py [--r1kit build/cli/r1kit] [--smollm2 models/.cache/X.gguf]
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file

import gguf
from gguf import GGMLQuantizationType as Q

ROOT = Path(__file__).resolve().parent.parent
FIX_ST = ROOT / "tests/fixtures/safetensors"
FIX_GG = ROOT / "tests/fixtures/gguf"


def safetensors_fixtures():
    FIX_ST.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    t = {
        "f32": torch.randn(2, 3, generator=g),
        "f16": torch.randn(3, 2, generator=g).half(),
        "bf16": torch.randn(4, generator=g).bfloat16(),
        "f64": torch.randn(2, 2, generator=g).double(),
        "i64": torch.tensor([[-(2**40), 7, 0]], dtype=torch.int64),
        "i32": torch.tensor([-5, 2**30], dtype=torch.int32),
        "i16": torch.tensor([[-300], [300]], dtype=torch.int16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "b.name with space/é": torch.arange(3, dtype=torch.float32),
    }
    torch_save_file(t, str(FIX_ST / "all_dtypes.safetensors"), metadata={"format": "pt"})
    expect = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                  "values": v.double().flatten().tolist() if v.dtype != torch.bool else v.flatten().tolist()}
              for k, v in t.items()}
    (FIX_ST / "all_dtypes.json").write_text(json.dumps(expect, indent=1, ensure_ascii=False) + "\n")


def random_blocks(rng, n_blocks, block_bytes, half_offsets):
    """Random bytes for a K-quant (gguf-py has no K-quant quantiser); the f16 scales are set to sane values."""
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in half_offsets:
        vals = rng.uniform(0.001, 0.05, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = vals.view(np.uint8).reshape(n_blocks, 2)
    return raw


def quant_fixtures():
    FIX_GG.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    w = gguf.GGUFWriter(str(FIX_GG / "quants.gguf"), "test")
    meta = {}

    def kv(key, kind, value):
        getattr(w, "add_" + kind)(key, value)
        meta[key] = {"type": kind, "value": value}

    kv("t.u8", "uint8", 200)
    kv("t.i8", "int8", -100)
    kv("t.u16", "uint16", 60000)
    kv("t.i16", "int16", -30000)
    kv("t.u32", "uint32", 4000000000)
    kv("t.i32", "int32", -2000000000)
    kv("t.f32", "float32", 0.25)
    kv("t.bool", "bool", True)
    kv("t.str", "string", "héllo wörld")
    kv("t.u64", "uint64", 2**63 + 5)
    kv("t.i64", "int64", -(2**62))
    kv("t.f64", "float64", 1.0 / 3.0)
    w.add_array("t.arr_i", [1, -2, 3])
    meta["t.arr_i"] = {"type": "array[int32]", "value": [1, -2, 3]}
    w.add_array("t.arr_s", ["a", "", "ünï"])
    meta["t.arr_s"] = {"type": "array[string]", "value": ["a", "", "ünï"]}
    meta["general.architecture"] = {"type": "string", "value": "test"}

    expected = {}
    base = rng.standard_normal((4, 64)).astype(np.float32)
    w.add_tensor("f32", base)
    expected["f32"] = base
    f16 = base.astype(np.float16)
    w.add_tensor("f16", f16)
    expected["f16"] = f16.astype(np.float32)
    bf = gguf.quants.quantize(base, Q.BF16)
    w.add_tensor("bf16", bf, raw_dtype=Q.BF16)
    expected["bf16"] = gguf.quants.dequantize(bf, Q.BF16)
    for name, qt in (("q8_0", Q.Q8_0), ("q4_0", Q.Q4_0), ("q4_1", Q.Q4_1)):
        qd = gguf.quants.quantize(base, qt)
        w.add_tensor(name, qd, raw_dtype=qt)
        expected[name] = gguf.quants.dequantize(qd, qt)
    # 3-D tensor: PyTorch shape must be the GGUF dims reversed.
    three = rng.standard_normal((2, 3, 32)).astype(np.float32)
    q3 = gguf.quants.quantize(three, Q.Q8_0)
    w.add_tensor("q8_0_3d", q3, raw_dtype=Q.Q8_0)
    expected["q8_0_3d"] = gguf.quants.dequantize(q3, Q.Q8_0)
    # K-quants: 2 rows x 256 (one super-block per row); Q4_K has d, dmin at 0, 2; Q6_K has d at 208.
    q4k = random_blocks(rng, 2, 144, [0, 2])
    w.add_tensor("q4_k", q4k, raw_dtype=Q.Q4_K)
    expected["q4_k"] = gguf.quants.dequantize(q4k, Q.Q4_K)
    q6k = random_blocks(rng, 2, 210, [208])
    w.add_tensor("q6_k", q6k, raw_dtype=Q.Q6_K)
    expected["q6_k"] = gguf.quants.dequantize(q6k, Q.Q6_K)
    # A type r1kit does not dequantise (Q5_0): must be reported by name.
    q5 = gguf.quants.quantize(base, Q.Q5_0)
    w.add_tensor("q5_0", q5, raw_dtype=Q.Q5_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    np_save_file({k: np.ascontiguousarray(v.astype(np.float32)) for k, v in expected.items()},
                 str(FIX_GG / "quants_expected.safetensors"))
    (FIX_GG / "quants_metadata.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def llama_permute(w, n_head):
    """What llama.cpp's convert_hf_to_gguf.py does to q_proj/k_proj rows (re-implemented here)."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


TINY_TEXT = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "The quick brown fox jumps over the lazy dog. 1234567890 + 42 = 1234567932!",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))  # 5",
    "Ünïcödé, 中文, emoji 🤖 and tabs\tand  double  spaces.",
]


def tiny_model_fixture(arch):
    """llama: untied, Q/K permuted, pre "smollm". qwen2: tied, q/k/v biases, pre "qwen2" (Split regex)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
    from transformers import (AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM,
                              Qwen2Config, Qwen2ForCausalLM)

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TINY_TEXT * 20, trainer)
    tj = json.loads(tok.to_str())
    vocab = tj["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    token_type = [3 if t in specials else 1 for t in tokens]
    V = len(tokens)
    V_pad = (V + 31) // 32 * 32  # rows of the embedding need not be a multiple of 32, but keep it tidy
    tokens += [f"[PAD{i}]" for i in range(V, V_pad)]
    token_type += [5] * (V_pad - V)  # UNUSED

    config_cls, model_cls = (LlamaConfig, LlamaForCausalLM) if arch == "llama" else (Qwen2Config, Qwen2ForCausalLM)
    tied = arch == "qwen2"
    cfg = config_cls(vocab_size=V_pad, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    model = model_cls(cfg).eval()
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    for k in sd:  # make the norms non-trivial
        if k.endswith("norm.weight"):
            sd[k] = (1.0 + 0.1 * np.random.default_rng(len(k)).standard_normal(sd[k].shape)).astype(np.float32)
        if k.endswith("bias"):  # HF initialises biases to zero; make them visible
            sd[k] = (0.1 * np.random.default_rng(len(k) + 1).standard_normal(sd[k].shape)).astype(np.float32)

    path = FIX_GG / f"tiny_{arch}.gguf"
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"tiny {arch} (r1kit fixture)")
    w.add_context_length(256)
    w.add_embedding_length(32)
    w.add_block_count(2)
    w.add_feed_forward_length(64)
    if arch == "llama":
        w.add_rope_dimension_count(8)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(V_pad)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm" if arch == "llama" else "qwen2")
    w.add_token_list(tokens)
    w.add_token_types(token_type)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}")

    def put(name, arr, qt):
        if qt == Q.F32:
            w.add_tensor(name, np.ascontiguousarray(arr, dtype=np.float32))
        else:
            w.add_tensor(name, gguf.quants.quantize(np.ascontiguousarray(arr, dtype=np.float32), qt), raw_dtype=qt)

    put("token_embd.weight", sd["model.embed_tokens.weight"], Q.Q8_0)
    if not tied:
        put("output.weight", sd["lm_head.weight"], Q.Q8_0)
    put("output_norm.weight", sd["model.norm.weight"], Q.F32)
    kinds = {"self_attn.q_proj": ("attn_q", Q.Q4_0), "self_attn.k_proj": ("attn_k", Q.Q4_1),
             "self_attn.v_proj": ("attn_v", Q.Q8_0), "self_attn.o_proj": ("attn_output", Q.Q4_1),
             "mlp.gate_proj": ("ffn_gate", Q.Q4_1), "mlp.up_proj": ("ffn_up", Q.Q4_0),
             "mlp.down_proj": ("ffn_down", Q.Q8_0)}
    for layer in range(2):
        p = f"model.layers.{layer}."
        put(f"blk.{layer}.attn_norm.weight", sd[p + "input_layernorm.weight"], Q.F32)
        put(f"blk.{layer}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"], Q.F32)
        for hf, (gg, qt) in kinds.items():
            x = sd[p + hf + ".weight"]
            if arch == "llama" and hf.endswith("q_proj"):
                x = llama_permute(x, 4)
            elif arch == "llama" and hf.endswith("k_proj"):
                x = llama_permute(x, 2)
            put(f"blk.{layer}.{gg}.weight", x, qt)
            if p + hf + ".bias" in sd:
                put(f"blk.{layer}.{gg}.bias", sd[p + hf + ".bias"], Q.F32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # What transformers makes of it: the golden state dict, config and tokenizer.
    tconf = AutoConfig.from_pretrained(str(FIX_GG), gguf_file=path.name)
    tmodel = AutoModelForCausalLM.from_pretrained(str(FIX_GG), gguf_file=path.name, dtype=torch.float32).eval()
    torch_save_file({k: v.contiguous() for k, v in tmodel.state_dict().items() if not (tied and k == "lm_head.weight")},
                    str(FIX_GG / f"tiny_{arch}_expected.safetensors"), metadata={"format": "pt"})
    ttok = AutoTokenizer.from_pretrained(str(FIX_GG), gguf_file=path.name)
    ttj = json.loads(ttok.backend_tokenizer.to_str())
    samples = ["Hello world", "Natalia sold 48 clips!", "<|im_start|>user\nhi<|im_end|>\n", "  x\ty 12 中文 🤖"]
    facts = {
        "config": {k: v for k, v in tconf.to_dict().items() if not k.startswith("_") and k != "transformers_version"},
        "vocab_size": len(ttj["model"]["vocab"]),
        "merges": [m if isinstance(m, list) else m.split(" ") for m in ttj["model"]["merges"]],
        "vocab": ttj["model"]["vocab"],
        "added_tokens": ttj["added_tokens"],
        "samples": [{"text": s, "ids": ttok.encode(s, add_special_tokens=True)} for s in samples],
        "bos_token": ttok.bos_token, "eos_token": ttok.eos_token, "pad_token": ttok.pad_token,
        "unk_token": ttok.unk_token,
    }
    (FIX_GG / f"tiny_{arch}_expected.json").write_text(json.dumps(facts, indent=1, ensure_ascii=False) + "\n")
    return path


def varied_strings(n=300):
    rng = random.Random(7)
    pieces = ["Hello", " world", "!", " 12", "345", "3.14159", "  ", "\n", "\t", "don't", " I'm", "中文", "日本語",
              "🤖", "é", "ß", " <|im_start|>", "<|im_end|>", "def f(x):", "    return x*2", "$", "%", "  ", "ÄÖÜ",
              " the", " THE", "1,000,000", "x=y+z", "```python", "<think>", "</think>", "\\boxed{42}", "café",
              " -", "--", "...", "?!", "#### 18", "\r\n", " naïve", "0x1F", "İ", "ﬁ"]
    out = ["", " ", "a", "12345", " 2024", "Hello world", "<|im_start|>system\nYou are helpful<|im_end|>\n"]
    while len(out) < n:
        out.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))))
    return out


def compare_dir_with_gguf(r1kit, gguf_path, name):
    """Convert with r1kit; compare tokenizer (and logits) with transformers' own GGUF loading."""
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = Path(tempfile.mkdtemp(prefix="r1kit_conv_")) / name
    subprocess.run([r1kit, "convert", "gguf", str(gguf_path), "--out", str(out)], check=True)
    ours = Tokenizer.from_file(str(out / "tokenizer.json"))
    ref = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    strings = varied_strings()
    same = 0
    mismatches = []
    for s in strings:
        a = ours.encode(s, add_special_tokens=True).ids
        b = ref.encode(s, add_special_tokens=True)
        if a == b:
            same += 1
        elif len(mismatches) < 5:
            mismatches.append({"text": s, "ours": a, "transformers": b})
    # transformers' GGUF tokenizer ignores tokenizer.ggml.pre == "smollm"; llama.cpp (llama-vocab.cpp) splits digits
    # off first (regex \p{N}, then the GPT-2 regex), as SmolLM2's own tokenizer.json does (Digits + ByteLevel).
    # The same reference with that pre-tokenizer must agree with ours on every string.
    from tokenizers import pre_tokenizers
    ref_digits = Tokenizer.from_str(ref.backend_tokenizer.to_str())
    ref_digits.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    same_llamacpp = sum(ours.encode(s).ids == ref_digits.encode(s).ids for s in strings)
    # Our tokenizer.json through transformers too (AutoTokenizer on the converted dir).
    hf_ours = AutoTokenizer.from_pretrained(str(out))
    same_auto = sum(hf_ours.encode(s) == ref.encode(s) for s in strings)
    decode_ok = sum(ours.decode(ours.encode(s).ids, skip_special_tokens=False) == s for s in strings)

    prompt = "<|im_start|>user\nWhat is 12 + 30? Think step by step.<|im_end|>\n<|im_start|>assistant\n"
    ids = torch.tensor([ref.encode(prompt)])
    with torch.no_grad():
        m_ours = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
        l_ours = m_ours(ids).logits
        del m_ours
        m_ref = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                     dtype=torch.float32).eval()
        l_ref = m_ref(ids).logits
    diff = (l_ours - l_ref).abs().max().item()
    result = {
        "gguf": gguf_path.name,
        "strings": len(strings), "identical_ids": same, "identical_ids_via_AutoTokenizer": same_auto,
        "identical_ids_vs_transformers_with_llamacpp_smollm_pretokenizer": same_llamacpp,
        "decode_roundtrip": decode_ok, "mismatches": mismatches,
        "samples": [{"text": s, "ids": ref.encode(s)} for s in strings[:12]],
        "logits_prompt_tokens": ids.shape[1], "logits_max_abs_diff": diff,
        "logits_max_abs": l_ref.abs().max().item(),
        "argmax_equal": bool((l_ours.argmax(-1) == l_ref.argmax(-1)).all()),
    }
    print(f"[{name}] tokenizer: {same}/{len(strings)} identical (AutoTokenizer on our dir: {same_auto}); "
          f"with llama.cpp's digit pre-split in the reference: {same_llamacpp}/{len(strings)}; "
          f"decode round trip {decode_ok}/{len(strings)}; logits max |diff| = {diff:.3g} over {ids.shape[1]} tokens "
          f"(max |logit| {result['logits_max_abs']:.3g})")
    return result, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--r1kit", help="r1kit binary: also convert and compare against transformers")
    ap.add_argument("--smollm2", default=str(ROOT / "models/.cache/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    safetensors_fixtures()
    quant_fixtures()
    tiny = tiny_model_fixture("llama")
    tiny_qwen2 = tiny_model_fixture("qwen2")
    if args.r1kit:
        for path, name in ((tiny, "tiny_llama"), (tiny_qwen2, "tiny_qwen2")):
            shutil.rmtree(compare_dir_with_gguf(args.r1kit, path, name)[1].parent)
        smol = Path(args.smollm2)
        if smol.exists():
            result, out = compare_dir_with_gguf(args.r1kit, smol, "smollm2")
            shutil.rmtree(out.parent)
            (FIX_GG / "smollm2_check.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        else:
            print(f"SmolLM2 GGUF not at {smol}: run scripts/fetch_smollm2.sh first for the parity check")
    for d in (FIX_ST, FIX_GG):
        for f in d.iterdir():
            f.chmod(0o644)  # safetensors writes through mkstemp (0600)
        total = sum(f.stat().st_size for f in d.iterdir())
        print(f"{d.relative_to(ROOT)}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    sys.exit(main())
