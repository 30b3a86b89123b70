#!/usr/bin/env python3
"""The tokenizer of the tiny DeepSeek-V3 demo ("the whole R1 recipe in miniature", configs/demo/tiny_v3.json).

A byte-level BPE with a few hundred tokens, trained with Hugging Face `tokenizers` on synthetic arithmetic text of the
shape `r1kit data arithmetic` writes (sft/arithmetic.h), so a tiny model does not pay for a 49k-token vocabulary:

  - pre-tokenizer: Digits(individual_digits) then ByteLevel (GPT-2 regex) — every digit is its own token, as in
    SmolLM2 / DeepSeek-V3, which is what column-wise arithmetic needs;
  - 256 byte tokens + BPE merges up to VOCAB_SIZE (words such as " carry", "\\n\\n");
  - added tokens: <|endoftext|> (special: EOS and padding), and <think>, </think>, <answer>, </answer> as ordinary
    (non-special) added tokens, as in DeepSeek-R1's tokenizer — decoding keeps them, so the format and math
    rewarders see them;
  - tokenizer_config.json: eos/pad token; no chat template (the recipe uses the `none` prompt template).

Writes configs/demo/tiny_v3_tokenizer/{tokenizer.json, tokenizer_config.json}. Deterministic (fixed corpus seed).
Run with the fixture venv:  /work/fixenv/venv/bin/python scripts/make_tiny_v3_tokenizer.py
"""
import json
import os
import random

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "configs", "demo", "tiny_v3_tokenizer")
VOCAB_SIZE = 320  # 256 bytes + merges; the 5 added tokens come on top
EOS = "<|endoftext|>"
TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


def corpus(n=4000, seed=0):
    """Arithmetic problems with column-wise reasoning, in the shape of sft/arithmetic.cpp's records."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        k = rng.choice([2, 3])
        nums = [rng.randint(0, 999) for _ in range(k)]
        prompt = "+".join(map(str, nums)) + "="
        steps, carry = [], 0
        for col in range(3):
            ds = [(x // 10 ** col) % 10 for x in nums]
            s = sum(ds) + carry
            steps.append(("carry %d: " % carry if carry else "") + "+".join(map(str, ds)) + "=" + str(s))
            carry = s // 10
        lines.append(prompt + "<think>\n" + "\n".join(steps) + "\n</think>\n\n<answer>" + str(sum(nums)) +
                     "</answer>" + EOS)
        lines.append("What is " + prompt[:-1] + "? The answer is " + str(sum(nums)) + ".")
    return lines


def main():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(EOS, special=True, normalized=False)])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAGS])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[EOS])
    def plain(text):  # the added tokens are matched before BPE: no merges are spent on them
        for t in TAGS + [EOS]:
            text = text.replace(t, "")
        return text
    tok.train_from_iterator((plain(t) for t in corpus()), trainer=trainer)
    # The tags were registered before training: re-adding is a no-op that keeps their ids.
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAGS])
    os.makedirs(OUT, exist_ok=True)
    tok.save(os.path.join(OUT, "tokenizer.json"))
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": EOS, "pad_token": EOS, "model_max_length": 256,
                   "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=1)
        f.write("\n")
    sample = "47+35=<think>\n7+5=12\ncarry 1: 4+3=8\n</think>\n\n<answer>82</answer>" + EOS
    enc = tok.encode(sample)
    print("vocab", tok.get_vocab_size(), "| sample:", len(enc.ids), "tokens", enc.tokens)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
