#!/usr/bin/env python3
"""Golden values for r1kit's GRPO math (rl/advantages.*, rl/grpo_loss.*) from TRL's own GRPOTrainer.

Writes tests/fixtures/grpo/trl_advantages.json and tests/fixtures/grpo/trl_loss.json, read by
tests/rl/test_trl_parity.cpp. CI never runs this script; the fixtures are committed.

How TRL is driven (no TRL code is copied; TRL is imported and its own methods are called):
  * A real `trl.GRPOTrainer` is built on a tiny random Qwen2 (1 layer, vocab 8) saved to a temp dir, on CPU,
    one process, per_device_train_batch_size = the whole batch, gradient_accumulation_steps = 1 (so TRL's
    micro-batch = optimizer step = generation batch; the setting in which TRL and r1kit's DESIGN.md agree).
  * Advantages: `GRPOTrainer._generate_and_score_completions` is called on a crafted batch. `_generate` is
    replaced by a stub returning fixed token ids, and the single reward function returns the crafted reward
    column (None -> TRL's NaN, "unscorable"). The returned `advantages` and the logged metrics `reward`,
    `reward_std`, `frac_reward_zero_std` are recorded.
  * Loss: `GRPOTrainer._compute_loss` is called with crafted inputs. `_get_per_token_logps_and_entropies` is
    replaced by a stub that returns a leaf tensor `logp` [N,T] (requires_grad) instead of running the model, so
    the loss is exactly TRL's function of (logp, old_logp, ref_logp, advantages, completion_mask). The loss, the
    full gradient d loss / d logp and the logged `kl`, `clip_ratio/*` metrics are recorded.

Usage: /work/fixenv/venv/bin/python scripts/fixtures_grpo_loss.py   (needs `pip install trl`; used: trl 1.16.0)
"""
import json
import math
import os
import sys
import tempfile
import warnings

import torch

warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

transformers.logging.set_verbosity_error()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "fixtures", "grpo")


def tiny_model_dir(tmp):
    vocab = {"<pad>": 0, "<eos>": 1, "a": 2, "b": 3, "c": 4, "d": 5, "e": 6, "<unk>": 7}
    tok_obj = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok_obj.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tok_obj, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")
    cfg = Qwen2Config(vocab_size=8, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    path = os.path.join(tmp, "tiny-qwen2")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path, tok


def make_trainer(model_dir, tok, tmp, batch, **cfg):
    prompts = ["a b"] * batch
    ds = Dataset.from_dict({"prompt": prompts, "r": [0.0] * batch})

    def reward_r(completions, r, **kwargs):
        return [None if (x is None or (isinstance(x, float) and math.isnan(x))) else float(x) for x in r]

    args = GRPOConfig(output_dir=os.path.join(tmp, "out"), per_device_train_batch_size=batch,
                      gradient_accumulation_steps=1, report_to=[], use_cpu=True, save_strategy="no",
                      logging_steps=1, **cfg)
    trainer = GRPOTrainer(model=model_dir, reward_funcs=[reward_r], args=args, train_dataset=ds,
                          processing_class=tok)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    return trainer


def last_metric(trainer, name):
    values = trainer._metrics["train"].get(name)
    return None if not values else float(values[-1])


def advantages_case(model_dir, tok, tmp, name, rewards, G, scale):
    n = len(rewards)
    trainer = make_trainer(model_dir, tok, tmp, n, num_generations=G, scale_rewards=scale, beta=0.0,
                           max_completion_length=4)

    def fake_generate(prompts):
        prompt_ids = [[2, 3] for _ in prompts]
        completion_ids = [[4, 5, 1] for _ in prompts]
        completions = ["c d" for _ in prompts]
        return prompt_ids, completion_ids, None, completions, None, None, None, None

    trainer._generate = fake_generate
    inputs = [{"prompt": "a b", "r": (float("nan") if r is None else r)} for r in rewards]
    with torch.no_grad():
        out = trainer._generate_and_score_completions(inputs)
    return {
        "name": name, "G": G, "scale_rewards": scale,
        "rewards": rewards,  # null = NaN (every rewarder returned None)
        "advantages": [float(x) for x in out["advantages"].tolist()],
        "reward": last_metric(trainer, "reward"),
        "reward_std": last_metric(trainer, "reward_std"),
        "frac_reward_zero_std": last_metric(trainer, "frac_reward_zero_std"),
    }


def loss_case(model_dir, tok, tmp, name, inputs, loss_type, beta, epsilon, epsilon_high, delta, max_len,
              bias_kl=False):
    logp0, old, ref, adv, mask = inputs
    n, t = logp0.shape
    cfg = dict(num_generations=2, loss_type=loss_type, beta=beta, epsilon=epsilon, epsilon_high=epsilon_high,
               max_completion_length=max_len, use_bias_correction_kl=bias_kl)
    if delta is not None:
        cfg["delta"] = delta
    trainer = make_trainer(model_dir, tok, tmp, n, **cfg)
    logp = logp0.clone().requires_grad_(True)

    def fake_logps(model, input_ids, attention_mask, logits_to_keep, **kwargs):
        return logp, torch.zeros_like(logp0), None

    trainer._get_per_token_logps_and_entropies = fake_logps
    batch = {
        "prompt_ids": torch.full((n, 2), 2, dtype=torch.long),
        "prompt_mask": torch.ones((n, 2), dtype=torch.long),
        "completion_ids": torch.full((n, t), 4, dtype=torch.long),
        "completion_mask": mask.long(),
        "advantages": adv,
        "num_items_in_batch": mask.sum(),
    }
    if old is not None:
        batch["old_per_token_logps"] = old
    if beta != 0.0:
        batch["ref_per_token_logps"] = ref
    loss = trainer._compute_loss(trainer.model, batch)
    loss.backward()
    return {
        "name": name, "loss_type": loss_type, "beta": beta, "epsilon": epsilon, "epsilon_high": epsilon_high,
        "delta": delta, "max_completion_length": max_len, "use_old": old is not None,
        "use_bias_correction_kl": bias_kl,
        "loss": float(loss.item()),
        "grad": [float(x) for x in logp.grad.reshape(-1).tolist()],
        "kl": last_metric(trainer, "kl"),
        "clip_low": last_metric(trainer, "clip_ratio/low_mean"),
        "clip_high": last_metric(trainer, "clip_ratio/high_mean"),
        "clip_region": last_metric(trainer, "clip_ratio/region_mean"),
    }


def crafted_loss_inputs():
    """N=6 sequences x T=7 tokens; ratios spread across both clip edges, mixed-sign advantages, ragged masks."""
    g = torch.Generator().manual_seed(1234)
    n, t = 6, 7
    logp = -(torch.rand(n, t, generator=g) * 3.0 + 0.05)
    old = logp + torch.randn(n, t, generator=g) * 0.5
    ref = logp + torch.randn(n, t, generator=g) * 0.5
    adv = torch.tensor([-1.2, 0.7, -0.3, 0.0, 1.5, 0.9])
    lengths = [7, 3, 5, 1, 6, 4]
    mask = torch.zeros(n, t)
    for i, L in enumerate(lengths):
        mask[i, :L] = 1.0
    return logp, old, ref, adv, mask


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, tok = tiny_model_dir(tmp)

        # ---------------------------------------------------------------- advantages
        adv_cases = []
        hand = [("hand_3333", [3.0, 3.0, 3.0, 3.0], 4), ("hand_1001", [1.0, 0.0, 0.0, 1.0], 4),
                ("hand_112", [1.0, 1.0, 2.0], 3)]
        g = torch.Generator().manual_seed(7)
        rand = (torch.rand(12, generator=g) * 2.0 - 0.5).tolist()  # float32-exact, as TRL holds rewards
        mixed = [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.25, 2.0, 0.0, 2.0, 0.0]  # group 0 has zero std
        with_nan = [1.0, None, 0.0, 1.0, None, None, None, 2.0, 0.5, 0.5, None, 1.5]  # G=4; group 1 has 1 valid
        for scale in ("group", "batch", "none"):
            for name, r, G in hand:
                adv_cases.append(advantages_case(model_dir, tok, tmp, name, r, G, scale))
            adv_cases.append(advantages_case(model_dir, tok, tmp, "random_3x4", rand, 4, scale))
            adv_cases.append(advantages_case(model_dir, tok, tmp, "mixed_3x4", mixed, 4, scale))
            adv_cases.append(advantages_case(model_dir, tok, tmp, "nan_3x4", with_nan, 4, scale))
            adv_cases.append(advantages_case(model_dir, tok, tmp, "random_6x2", rand, 2, scale))

        # ---------------------------------------------------------------- loss
        logp, old, ref, adv, mask = crafted_loss_inputs()
        loss_cases = []
        for loss_type in ("grpo", "bnpo", "dr_grpo", "dapo"):
            for beta in (0.0, 0.04):
                for eps_high in (0.2, 0.28):
                    name = f"{loss_type}_beta{beta}_eh{eps_high}"
                    loss_cases.append(loss_case(model_dir, tok, tmp, name, (logp, old, ref, adv, mask),
                                                loss_type, beta, 0.2, eps_high, None, 10))
            # on-policy (old = logp.detach(), ratio == 1) and two-sided clipping (delta)
            loss_cases.append(loss_case(model_dir, tok, tmp, f"{loss_type}_onpolicy_beta0.04",
                                        (logp, None, ref, adv, mask), loss_type, 0.04, 0.2, 0.2, None, 10))
            loss_cases.append(loss_case(model_dir, tok, tmp, f"{loss_type}_delta1.1",
                                        (logp, old, ref, adv, mask), loss_type, 0.0, 0.2, 0.28, 1.1, 10))
            # TRL 1.16 default use_bias_correction_kl=True: KL times the ratio (DeepSeek-V3.2); r1kit opt-in
            loss_cases.append(loss_case(model_dir, tok, tmp, f"{loss_type}_biaskl_beta0.04",
                                        (logp, old, ref, adv, mask), loss_type, 0.04, 0.2, 0.28, None, 10,
                                        bias_kl=True))
            loss_cases.append(loss_case(model_dir, tok, tmp, f"{loss_type}_biaskl_onpolicy_beta0.04",
                                        (logp, None, ref, adv, mask), loss_type, 0.04, 0.2, 0.2, None, 10,
                                        bias_kl=True))

    meta = {"generator": "scripts/fixtures_grpo_loss.py", "trl": trl.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__}
    with open(os.path.join(OUT, "trl_advantages.json"), "w") as f:
        json.dump({"meta": meta, "cases": adv_cases}, f, indent=1)
    with open(os.path.join(OUT, "trl_loss.json"), "w") as f:
        json.dump({"meta": meta,
                   "inputs": {"shape": list(logp.shape), "logp": logp.reshape(-1).tolist(),
                              "old_logp": old.reshape(-1).tolist(), "ref_logp": ref.reshape(-1).tolist(),
                              "advantages": adv.tolist(), "mask": mask.reshape(-1).tolist()},
                   "cases": loss_cases}, f, indent=1)
    print(f"wrote {len(adv_cases)} advantage cases and {len(loss_cases)} loss cases to {OUT} (trl {trl.__version__})")


if __name__ == "__main__":
    sys.exit(main())
