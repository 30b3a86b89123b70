// Per-token KL estimators between the policy and the frozen reference, evaluated at the sampled tokens.
// Source: J. Schulman, "Approximating KL Divergence" (2020) k1/k2/k3; DeepSeekMath (arXiv 2402.03300) eq. 4
// uses k3 (also DeepSeek-R1 §2.2.1 and TRL's GRPOTrainer, which implements k3 only).
#pragma once

#include <torch/torch.h>

#include <string>

namespace r1kit::rl {

/// TRL-style name `kl_estimator` (TRL itself only has k3).
enum class KlEstimator {
  k1,  // logp − ref                                 (unbiased, can be negative)
  k2,  // ½ (logp − ref)²                           (biased, ≥ 0)
  k3,  // exp(ref − logp) − (ref − logp) − 1        (unbiased, ≥ 0; DeepSeekMath eq. 4) — default
};

/// Parses "k1" | "k2" | "k3"; throws ConfigError naming the value and the choices.
KlEstimator parse_kl_estimator(const std::string& value);
/// "k1" | "k2" | "k3".
std::string to_string(KlEstimator k);

/// Per-token KL estimate of KL(π_θ ‖ π_ref) at the sampled tokens.
///   logp, ref_logp: [N,T] floating (same shape and dtype): log π_θ and log π_ref of the completion tokens.
///   returns [N,T], differentiable w.r.t. logp (and ref_logp).
/// k3's log-ratio (ref − logp) is clamped to [−20, 20] so the result is finite and ≥ 0 for any finite inputs
/// (TRL does not clamp; identical whenever |ref − logp| ≤ 20). k1 and k2 are not clamped.
/// Throws InvalidArgument on a shape or dtype mismatch.
torch::Tensor kl_divergence(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator);

}  // namespace r1kit::rl
