#!/usr/bin/env python3
"""Golden values for the SFT tests (tests/sft/).

References: transformers 5.x `apply_chat_template` (token ids, `return_assistant_tokens_mask`) and TRL's
SFTTrainer tokenisation rule for conversational data (prompt = template(messages[:-1], add_generation_prompt=True),
completion mask = the tokens of template(messages) after the prompt's); transformers' LlamaForCausalLM loss with
labels = -100 on masked positions. CPU, float32. Developers run it (`make fixtures`); CI never does.

  tests/fixtures/sft/chatml_tok/tokenizer_config.json  SmolLM2's chat template + special tokens, for the synthetic
                                                       SmolLM2 tokenizer (tests/fixtures/tokenizer/synthetic_smollm2)
  tests/fixtures/sft/masks.json        per case: record, ids, loss mask (TRL rule), and transformers'
                                       return_assistant_tokens_mask on the same template with {% generation %}
  tests/fixtures/sft/tiny_parity/      a tiny random Llama saved by transformers
  tests/fixtures/sft/parity.json       input_ids, attention_mask, labels, transformers' loss and a few gradients
"""
import json
import os

import torch
from safetensors.torch import save_file  # noqa: F401  (save_pretrained uses safetensors)
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "sft")


def chatml_tokenizer():
    tmpl = json.load(open(os.path.join(FIX, "chat_template", "smollm2.json")))
    cfg = {"chat_template": tmpl["template"], "bos_token": tmpl["bos_token"], "eos_token": tmpl["eos_token"],
           "pad_token": tmpl["eos_token"]}
    os.makedirs(os.path.join(OUT, "chatml_tok"), exist_ok=True)
    with open(os.path.join(OUT, "chatml_tok", "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1, ensure_ascii=False)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(FIX, "tokenizer", "synthetic_smollm2", "tokenizer.json"),
                                  bos_token=cfg["bos_token"], eos_token=cfg["eos_token"])
    tok.chat_template = cfg["chat_template"]
    return tok, cfg["chat_template"]


# The same template with the assistant turn (content + end of turn) inside {% generation %}, so that transformers
# returns its assistant-token mask.
GEN_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>\n' }}{% endgeneration %}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

CASES = [
    ("messages_single", {"messages": [{"role": "user", "content": "What is 2+3?"},
                                      {"role": "assistant", "content": "<think>\n2+3=5\n</think>\n\nThe answer is 5."}]}),
    ("messages_system_multi", {"messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "Hi there"},
                                            {"role": "assistant", "content": "Hello!"},
                                            {"role": "user", "content": "Add 10 and 32."},
                                            {"role": "assistant", "content": "It is 42."}]}),
    ("prompt_completion", {"prompt": "Name a prime.", "completion": "Seven is prime."}),
    ("prompt_reasoning_answer", {"prompt": "Tom has 3 apples and buys 4 more. How many?",
                                 "reasoning": "He has 3 + 4 = 7 apples.",
                                 "answer": "<answer>\nThe answer is \\boxed{7}.\n</answer>"}),
]


def to_messages(rec):
    if "messages" in rec:
        return rec["messages"]
    if "reasoning" in rec:
        completion = "<think>\n" + rec["reasoning"] + "\n</think>\n\n" + rec["answer"]
    else:
        completion = rec["completion"]
    return [{"role": "user", "content": rec["prompt"]}, {"role": "assistant", "content": completion}]


def ids_of(x):
    return list(x["input_ids"]) if isinstance(x, dict) or hasattr(x, "keys") else list(x)


def masks(tok, template):
    out = []
    for name, rec in CASES:
        msgs = to_messages(rec)
        prompt = ids_of(tok.apply_chat_template(msgs[:-1], add_generation_prompt=True, tokenize=True,
                                                chat_template=template))
        full = ids_of(tok.apply_chat_template(msgs, tokenize=True, chat_template=template))
        assert full[:len(prompt)] == prompt, name
        mask = [0] * len(prompt) + [1] * (len(full) - len(prompt))
        gen = tok.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
                                      chat_template=GEN_TEMPLATE)
        hf_ids = list(gen["input_ids"])
        assert hf_ids == full, name
        hf_mask = list(gen["assistant_masks"])
        # Only the LAST assistant turn is trained by r1kit (earlier ones are context): keep HF's mask from there.
        last = [0] * len(prompt) + hf_mask[len(prompt):]
        out.append({"name": name, "record": rec, "ids": full, "mask": mask, "hf_assistant_mask_last_turn": last,
                    "hf_assistant_mask": hf_mask})
    with open(os.path.join(OUT, "masks.json"), "w") as f:
        json.dump({"source": "transformers apply_chat_template + TRL SFT completion-mask rule", "cases": out}, f,
                  ensure_ascii=False)


def parity():
    torch.manual_seed(1234)
    cfg = LlamaConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False)
    cfg._attn_implementation = "sdpa"
    model = LlamaForCausalLM(cfg).float()
    model.save_pretrained(os.path.join(OUT, "tiny_parity"))
    g = torch.Generator().manual_seed(7)
    lengths, prompts = [9, 6, 12], [3, 2, 5]
    T = max(lengths)
    ids = torch.zeros(len(lengths), T, dtype=torch.long)
    attn = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for r, (L, P) in enumerate(zip(lengths, prompts)):
        ids[r, :L] = torch.randint(1, 97, (L,), generator=g)
        attn[r, :L] = 1
        labels[r, P:L] = ids[r, P:L]
    out = model(input_ids=ids, attention_mask=attn, labels=labels)
    out.loss.backward()
    grads = {}
    for name in ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
                 "model.layers.1.mlp.down_proj.weight", "lm_head.weight", "model.norm.weight"]:
        p = dict(model.named_parameters())[name]
        flat = p.grad.reshape(-1)
        idx = [0, 5, 17, int(flat.abs().argmax())]
        grads[name] = {"index": idx, "value": [float(flat[i]) for i in idx]}
    with open(os.path.join(OUT, "parity.json"), "w") as f:
        json.dump({"source": "transformers LlamaForCausalLM(labels=...) loss, float32 CPU sdpa",
                   "input_ids": ids.tolist(), "attention_mask": attn.tolist(), "labels": labels.tolist(),
                   "loss": float(out.loss), "grads": grads}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    tok, template = chatml_tokenizer()
    masks(tok, template)
    parity()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
