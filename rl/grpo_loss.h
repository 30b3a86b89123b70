// The GRPO loss: clipped surrogate on group-relative advantages plus a KL penalty to the reference, aggregated
// over tokens by one of four `loss_type`s. The exact definitions are DESIGN.md's "The GRPO loss" section.
//
// Sources: DeepSeekMath (arXiv 2402.03300) eq. 3 (GRPO objective, per-sequence length normalisation) and eq. 4
// (k3 KL); DAPO (arXiv 2503.14476) eq. 8 (token-level normalisation) and eq. 10 (clip-higher ε_high);
// Dr. GRPO (arXiv 2503.20783) eq. 3 (constant normaliser, no std); DeepSeek-V3.2 (arXiv 2512.02556) eq. 9
// (`delta` two-sided clip) and the unbiased-KL correction (`use_bias_correction_kl`). Names follow TRL's
// GRPOConfig; parity with TRL 1.16.0 `GRPOTrainer._compute_loss` is tested in tests/rl/test_trl_parity.cpp.
//
// Shapes: N = completions in this micro-batch, T = completion tokens (padded).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "rl/kl.h"

namespace r1kit::rl {

/// How per-token losses are normalised (TRL `GRPOConfig.loss_type`). M = completion mask.
enum class LossType {
  grpo,     // mean over sequences of (Σ_t ℓM / Σ_t M)           DeepSeekMath eq. 3
  bnpo,     // Σ ℓM / Σ M over the micro-batch (÷ micro-batches)  TRL "bnpo" — NOT micro-batch invariant
  dr_grpo,  // Σ ℓM / (N_seq · max_completion_length)            Dr. GRPO eq. 3
  dapo,     // Σ ℓM / (active tokens of the whole step)           DAPO eq. 8 — default
};

/// Parses "grpo" | "bnpo" | "dr_grpo" | "dapo"; throws ConfigError naming the value and the choices.
LossType parse_loss_type(const std::string& value);
/// "grpo" | "bnpo" | "dr_grpo" | "dapo".
std::string to_string(LossType t);

struct LossConfig {
  LossType loss_type = LossType::dapo;
  double epsilon = 0.2;             // ε_low: ratio clipped below at 1 − ε (TRL `epsilon`)
  double epsilon_high = 0.2;        // ε_high: ratio clipped above at 1 + ε_high (TRL defaults it to epsilon;
                                    // DAPO clip-higher uses 0.28)
  std::optional<double> delta;      // cap on the unclipped ratio term, e.g. 1.5 (TRL `delta`, DeepSeek-V3.2 eq. 9);
                                    // should be > 1 + epsilon_high
  double beta = 0.0;                // KL coefficient, e.g. 0.04 (TRL default 0.0 ⇒ no reference model)
  KlEstimator kl_estimator = KlEstimator::k3;
  bool use_bias_correction_kl = false;  // multiply the per-token KL by the ratio c (TRL `use_bias_correction_kl`,
                                        // default True in TRL 1.16; false here = DeepSeekMath/R1 and DESIGN.md)
  int64_t max_completion_length = 256;  // tokens; the dr_grpo normaliser
};

/// Global sizes of one optimizer step — all micro-batches and all ranks — so that each micro-batch's loss is
/// normalised such that SUMMING the micro-batch gradients (and summing, not averaging, across ranks) gives the
/// whole-batch gradient. A data-parallel all-reduce that averages must multiply the loss by the world size.
struct StepTotals {
  double num_sequences = 0;   // completions in the step (grpo, dr_grpo normaliser); TRL counts every row
  double num_tokens = 0;      // Σ mask over the step (dapo normaliser; clamped to ≥ 1 like TRL)
  int num_micro_batches = 1;  // micro-batches in the step on one rank (bnpo: TRL's gradient_accumulation_steps)
};

struct LossInputs {
  torch::Tensor logp;        // [N,T] float, requires grad: log π_θ of the completion tokens (logits / temperature)
  torch::Tensor old_logp;    // [N,T] or undefined (=> logp.detach(), ratio ≡ 1): log π_old, no grad
  torch::Tensor ref_logp;    // [N,T] or undefined (required when beta != 0): log π_ref, no grad
  torch::Tensor advantages;  // [N] float: one advantage per completion
  torch::Tensor mask;        // [N,T] float (or bool/int): 1 = completion token that counts, 0 = padding/excluded
};

/// Diagnostics of one micro-batch (no grad). Fractions are over its masked tokens; to combine micro-batches or
/// ranks, weight them by num_tokens (TRL's `global_masked_mean`).
struct LossStats {
  double kl_mean = 0.0;      // masked mean of the KL term (× ratio when use_bias_correction_kl) — TRL `kl`;
                             // computed whenever ref_logp is given, 0 when it is not
  double clip_low = 0.0;     // c < 1 − ε and A < 0        — TRL `clip_ratio/low_mean`
  double clip_high = 0.0;    // c > 1 + ε_high and A > 0   — TRL `clip_ratio/high_mean`
  double clip_region = 0.0;  // either                     — TRL `clip_ratio/region_mean`
                             // (c after the `delta` cap, as in TRL)
  double loss = 0.0;         // value of the returned scalar (this micro-batch's share of the step loss)
  double num_tokens = 0.0;   // Σ mask of this micro-batch
};

/// Normalises per-token losses into this micro-batch's share of the step loss (see LossType).
///   per_token: [N,T] float (differentiable); mask: [N,T] (any dtype, converted to per_token's dtype).
///   Masked-out positions never contribute, even if per_token is NaN/inf there.
///   grpo:    Σ_i (Σ_t ℓM / max(Σ_t M, 1)) / totals.num_sequences
///   bnpo:    (Σ ℓM / max(Σ M, 1)) / totals.num_micro_batches
///   dr_grpo: Σ ℓM / (totals.num_sequences · max_completion_length)
///   dapo:    Σ ℓM / max(totals.num_tokens, 1)
/// Returns a 0-dim tensor. Throws InvalidArgument on shape mismatch, num_sequences ≤ 0 (grpo, dr_grpo),
/// num_micro_batches < 1 (bnpo) or max_completion_length < 1 (dr_grpo).
torch::Tensor aggregate_loss(const torch::Tensor& per_token, const torch::Tensor& mask, LossType loss_type,
                             const StepTotals& totals, int64_t max_completion_length);

/// The per-token GRPO loss (DESIGN.md; DeepSeekMath eq. 3, DAPO eq. 10):
///   c   = exp(clamp(logp − old, −20, 20))
///   ℓ_t = −min(min(c, delta)·A, clamp(c, 1 − ε, 1 + ε_high)·A) + β·KL_t      [min(c, delta) only when set]
///   KL_t = kl_divergence(logp, ref, kl_estimator) (× c when use_bias_correction_kl)
/// Returns [N,T]; masked positions are computed from zeroed inputs (finite) and must be masked by the caller.
/// Throws InvalidArgument on shape mismatches or beta != 0 without ref_logp.
torch::Tensor per_token_grpo_loss(const LossInputs& in, const LossConfig& cfg);

/// This micro-batch's share of the step loss: aggregate_loss(per_token_grpo_loss(in, cfg), in.mask, ...).
/// Summing the returned scalars (or their gradients) over the micro-batches of a step gives the step's loss
/// (gradient) for grpo, dr_grpo and dapo, independent of how the step is cut (tests/rl/test_grpo_loss.cpp).
/// In a single micro-batch (totals = this batch) the value and gradient equal TRL 1.16's `_compute_loss`
/// (gradient_accumulation_steps = 1, one process). Fills *stats when given.
torch::Tensor grpo_loss(const LossInputs& in, const LossConfig& cfg, const StepTotals& totals,
                        LossStats* stats = nullptr);

}  // namespace r1kit::rl
