#!/usr/bin/env python3
"""Golden token ids for r1kit's tokenizer tests, from Hugging Face `tokenizers` (the reference implementation).

Run: /work/fixenv/venv/bin/python scripts/fixtures_tokenizer.py   (from the repo root; needs `tokenizers`)

Writes tests/fixtures/tokenizer/:
  corpus.json              the test corpus: references (file, line, fields, separator) into ../shared/data plus
                           the hand-made hard cases and invalid-UTF-8 byte strings (hex). The C++ test re-reads the
                           referenced records, so no data set text is committed.
  <name>.json              per tokenizer: vocab size, the ids HF's post-processor adds (prefix/suffix), HF's decode
                           where it differs from the input text, decodes with skip_special_tokens for hand cases.
  <name>.ids.bin           the expected ids (add_special_tokens=False) of every corpus text, LEB128 varints:
                           for each text: count, then the ids.
  synthetic_*/tokenizer.json  small byte-level BPEs trained here on the corpus, shaped like SmolLM2's
                           (Digits + ByteLevel(use_regex)), with TemplateProcessing, "a b" merges, added tokens with
                           lstrip/rstrip/single_word/normalized, and pre-tokenizer variants (split behaviours,
                           tiktoken-style regexes with possessive quantifiers, prefix space, NFKC).
Sources: openai/grade-school-math, MATH-500, openai/human-eval, MBPP (see ../shared/data/README.md).
"""
import json
import os
import sys

from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, processors, trainers
from tokenizers import AddedToken

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

# (file, number of records taken from the start, fields, separator)
SOURCES = [
    ("gsm8k/test.jsonl", 300, ["question", "answer"], "\n\n"),
    ("math/math500_test.jsonl", 300, ["problem", "solution"], "\n\n"),
    ("code/humaneval.jsonl", 100, ["prompt", "canonical_solution"], ""),
    ("code/mbpp.jsonl", 100, ["text", "code"], "\n"),
]

HAND = [
    "",
    " ",
    "Hello world",
    " Hello  world ",
    "DON'T YOU'LL WE'VE I'M SHE'D THEY'RE IT'S don't you'll we've i'm she'd they're it's",
    "x'ſ 'Ss 'T 'K'",
    "中文分词测试：北京欢迎你！汉字和English混合。",
    "日本語のテキスト、カタカナとひらがな。東京タワー",
    "مرحبا بالعالم، هذا اختبار.",
    "Ça va? Où est l'hôtel? Élève, naïve, façade, crème brûlée.",
    "e\u0301 vs \u00e9, A\u030a vs \u00c5, \ufb01 ligature, \u2126 ohm, \uff21 fullwidth",
    "emoji 😀😃👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷 and ✔︎",
    "1234567890 3.14159265358979 12,345,678 -42 1e-10 ٣٤٥ ²³ ½",
    "000000000000000000001111111111222222222233333",
    "tabs\tand\t\ttabs\n\nnew\n\n\nlines\r\nwindows\r\n\r\nend   \n   trailing spaces   ",
    "    indented code\n        more\n\t\tmixed \t \n",
    "a  b   c    d     e\u00a0f\u3000g\u2003h\u200bi\u0085j\u000bk\u000cl",
    "<｜begin▁of▁sentence｜>Hello<｜end▁of▁sentence｜>",
    "word<｜begin▁of▁sentence｜>word in<|im_start|>side<|im_end|>x and<|eot_id|>y<|begin_of_text|>",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nok</think>4<|im_end|>",
    "<｜User｜>hi<｜Assistant｜><think>\nfine\n</think>\n\nanswer<｜end▁of▁sentence｜>",
    "<|endoftext|><|endoftext|> <|fim_prefix|>def f():<|fim_suffix|>",
    "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜><|EOT|> <|EOT|>",
    "Unicode punct: “quotes” ‘single’ — dash – en … ellipsis «guillemets» ¿¡ §¶ †‡ •",
    "Symbols: ∑∫∂√∞≈≠≤≥ ±×÷ €£¥₹ ©®™ ° µ ← → ↑ ↓ ⇒ ∀∃∈∉ \\frac{a}{b} $x^2$",
    "Marks: a\u0300\u0301\u0302 \u0915\u094d\u0937 \u0e01\u0e34 \u05e9\u05c1 combining\u20dd",
    "https://example.com/path?q=1&r=2#frag user@example.org C:\\Users\\x",
    "def f(x):\n    return x**2 + 3*x - 1  # comment\n\nprint(f(10))\n",
    "!!!???...,,,;;;::: ((([[[{{{}}}]]]))) ''' \"\"\" ``` ~~~",
    "'s'S 'll'LL 're 'RE 've 'VE 'm 'M 'd 'D 't 'T",
    "Mixed   \n  \n\t\r\n   x",
    "      ",
    "\n",
    "\n\n\n",
    " \n \n ",
    "a\u2028b\u2029c",
    "Ǆǅǆ ǈ ﬀ Ⅻ ⅻ ① ㊿",
    "Русский текст, Ελληνικά, עברית, हिन्दी, ไทย, 한국어 텍스트",
    "<think>\nLet me think step by step.\n</think>\n\n**Answer:** $\\boxed{42}$",
    "A" * 300,
    "ab" * 200 + " " + "9" * 100,
    " " * 40 + "x" + "\t" * 10 + "y" + "\n" * 7,
]

INVALID_UTF8 = [
    b"abc\xffdef",
    b"\xc3\x28 x",
    b"trunc\xe2\x82",
    b"\xf0\x9f\x98 smile",
    b"\xed\xa0\x80 surrogate",
    b"\xc0\xaf overlong",
    b"\x80\x80\x80",
    b"ok \xf4\x90\x80\x80 too big",
]

TOKENIZERS = ["deepseek_v3", "qwen3", "llama3"]


def read_corpus():
    refs, texts = [], []
    for path, n, fields, sep in SOURCES:
        with open(os.path.join(DATA, path), encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= n:
                    break
                rec = json.loads(line)
                texts.append(sep.join(str(rec[k]) for k in fields))
        refs.append({"file": path, "count": n, "fields": fields, "separator": sep})
    texts += HAND
    texts += [b.decode("utf-8", errors="replace") for b in INVALID_UTF8]
    return refs, texts


def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def golden(tk, texts, n_hand_from, name, out_dir):
    """Writes <name>.ids.bin and <name>.json for tokenizer `tk` over `texts`."""
    blob = bytearray()
    prefix = suffix = None
    decode_differs = {}
    skip_special = {}
    for i, t in enumerate(texts):
        ids = tk.encode(t, add_special_tokens=False).ids
        with_special = tk.encode(t, add_special_tokens=True).ids
        # The post-processor only adds a fixed prefix/suffix for single sequences; verify that here.
        for k in range(len(with_special) - len(ids) + 1):
            if with_special[k:k + len(ids)] == ids:
                p, s = with_special[:k], with_special[k + len(ids):]
                break
        else:
            sys.exit(f"{name}: text {i}: ids with special tokens do not contain the plain ids")
        if prefix is None:
            prefix, suffix = p, s
        elif (p, s) != (prefix, suffix) and ids:
            sys.exit(f"{name}: text {i}: post-processor prefix/suffix is not constant")
        blob += uleb(len(ids))
        for x in ids:
            blob += uleb(x)
        dec = tk.decode(ids, skip_special_tokens=False)
        if dec != t:
            decode_differs[str(i)] = dec
        if i >= n_hand_from:
            skip_special[str(i)] = tk.decode(ids, skip_special_tokens=True)
    with open(os.path.join(out_dir, name + ".ids.bin"), "wb") as f:
        f.write(bytes(blob))
    meta = {
        "vocab_size": tk.get_vocab_size(with_added_tokens=True),
        "num_texts": len(texts),
        "prefix": prefix,
        "suffix": suffix,
        "decode_differs": decode_differs,
        "decode_skip_special": skip_special,
    }
    with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=0)
    return meta


def train_synthetic(texts):
    """A small SmolLM2-shaped byte-level BPE (Digits(individual) + ByteLevel(use_regex)), trained on the corpus."""
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tk.train_from_iterator(texts, trainer=trainer)
    tk.add_tokens([AddedToken("<tool>", lstrip=True, rstrip=False, normalized=False),
                   AddedToken("</tool>", lstrip=False, rstrip=True, normalized=False),
                   AddedToken("magic", single_word=True, normalized=True),
                   AddedToken("ÅNGSTRÖM", normalized=True)])
    return tk


CL100K = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|"
          r"\s*[\r\n]|\s+(?!\S)|\s+")
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def variants(base):
    """(name, tokenizer.json dict) pairs: the base SmolLM2 shape plus pre-tokenizer/normalizer variants."""
    bl = lambda prefix, regex: {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": True,
                                "use_regex": regex}
    split = lambda pat, behavior, invert=False, kind="Regex": {"type": "Split", "pattern": {kind: pat},
                                                               "behavior": behavior, "invert": invert}
    out = []
    d = json.loads(base.to_str())
    # Legacy "a b" merges form (as older tokenizer.json files, e.g. SmolLM2's).
    d["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in d["model"]["merges"]]
    d["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}}],
         "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {
             "<|im_start|>": {"id": "<|im_start|>", "ids": [1], "tokens": ["<|im_start|>"]},
             "<|im_end|>": {"id": "<|im_end|>", "ids": [2], "tokens": ["<|im_end|>"]}}}]}
    out.append(("synthetic_smollm2", d))

    def with_pre(name, pre, normalizer=None, ignore_merges=False):
        v = json.loads(json.dumps(d))
        v["pre_tokenizer"] = pre
        v["normalizer"] = normalizer
        v["model"]["ignore_merges"] = ignore_merges
        v["post_processor"] = None
        out.append((name, v))

    with_pre("synthetic_cl100k", {"type": "Sequence", "pretokenizers": [
        split(CL100K, "Isolated"), bl(False, False)]}, ignore_merges=True)
    with_pre("synthetic_o200k", {"type": "Sequence", "pretokenizers": [
        split(O200K, "Isolated"), bl(False, False)]})
    with_pre("synthetic_behaviors", {"type": "Sequence", "pretokenizers": [
        split(r"\p{P}", "MergedWithPrevious"), split(" ", "MergedWithNext", kind="String"),
        split(r"[aeiou]", "Contiguous"), split(r"\d", "Removed", invert=True),
        {"type": "Digits", "individual_digits": False}, bl(True, True)]},
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}]})
    with_pre("synthetic_prefix", bl(True, True), normalizer={"type": "NFC"})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    refs, texts = read_corpus()
    n_hand_from = len(texts) - len(HAND) - len(INVALID_UTF8)
    corpus = {"sources": refs, "hand": HAND, "invalid_utf8_hex": [b.hex() for b in INVALID_UTF8],
              "tokenizers": TOKENIZERS}
    for name in TOKENIZERS:
        tk = Tokenizer.from_file(os.path.join(DATA, "tokenizers", name, "tokenizer.json"))
        meta = golden(tk, texts, n_hand_from, name, OUT)
        print(name, "vocab", meta["vocab_size"], "decode differs on", len(meta["decode_differs"]), "texts")

    base = train_synthetic(texts[:n_hand_from])
    synthetic = []
    for name, d in variants(base):
        path = os.path.join(OUT, name)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(d, f, ensure_ascii=False, separators=(",", ":"))
        tk = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))  # HF must accept the file as written
        # Synthetic tokenizers are checked on the hand cases plus every 10th corpus text (keeps fixtures small).
        sub = [t for i, t in enumerate(texts) if i >= n_hand_from or i % 10 == 0]
        meta = golden(tk, sub, len(sub) - len(HAND) - len(INVALID_UTF8), name, OUT)
        synthetic.append(name)
        print(name, "vocab", meta["vocab_size"], "prefix", meta["prefix"], "suffix", meta["suffix"])
    corpus["synthetic"] = synthetic
    corpus["synthetic_subset"] = "hand and invalid cases plus corpus texts whose index is a multiple of 10"
    with open(os.path.join(OUT, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
