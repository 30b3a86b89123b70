// Group-relative advantages: the critic-free baseline of GRPO. Each prompt's G completions form a group; a
// completion's advantage is its reward minus the group mean, optionally divided by a standard deviation.
//
// Source: DeepSeekMath (arXiv 2402.03300) §4.1.2 "outcome supervision" (Â_i = (r_i − mean(r)) / std(r));
// Dr. GRPO (arXiv 2503.20783) §3 (no std scaling); "batch" scaling from PPO-Lite (arXiv 2508.08221). Behaviour
// matches TRL's GRPOTrainer (trl 1.16.0, `_generate_and_score_completions`, multi_objective_aggregation =
// "sum_then_normalize"); differences are listed in compute_advantages' docstring.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace r1kit::rl {

/// How rewards are scaled into advantages (TRL `GRPOConfig.scale_rewards`).
enum class ScaleRewards {
  group,  // A = (r − mean_group) / (std_group + 1e-4)   (default; DeepSeekMath)
  batch,  // A = (r − mean_group) / (std_batch + 1e-4)   (PPO-Lite)
  none,   // A = r − mean_group                          (Dr. GRPO)
};

/// Parses "group" | "batch" | "none"; also TRL's legacy booleans "true" (= group) and "false" (= none), which TRL
/// maps the same way in `GRPOConfig.__post_init__`. Throws ConfigError naming the value and the choices.
ScaleRewards parse_scale_rewards(const std::string& value);
/// "group" | "batch" | "none".
std::string to_string(ScaleRewards s);

struct Advantages {
  /// [B*G] float64, group by group (sample g of prompt b at b*G+g). Exactly 0 for excluded samples, for every
  /// sample of a group with fewer than 2 valid samples, and for every sample of a group whose valid rewards
  /// are all equal.
  std::vector<double> advantages;
  /// [B*G] false when the sample's total reward is NaN (every rewarder said "not applicable"): the caller
  /// must drop it from the loss (mask 0) — its advantage is 0 but it would still count in denominators.
  std::vector<bool> valid;
  /// [B] mean and Bessel-corrected std (n−1) of each group's valid rewards. mean: NaN when the group has no
  /// valid sample; std: 0 when it has fewer than 2 (or all its rewards are equal).
  std::vector<double> group_mean, group_std;
  /// Fraction of the B groups whose group_std is 0 (all valid rewards equal, or < 2 valid samples) — groups
  /// with no learning signal; TRL metric `frac_reward_zero_std` (see differences below).
  double frac_reward_zero_std = 0.0;
  /// TRL metrics `reward` and `reward_std`: mean and Bessel-corrected std of the valid total rewards over the
  /// whole generation batch (TRL: `nanmean(rewards)`, `nanstd(rewards)` — a global std, NOT the mean of the
  /// group stds). reward_mean is NaN with no valid sample, reward_std NaN with fewer than 2 (as in TRL).
  double reward_mean = 0.0, reward_std = 0.0;
};

/// Group-relative advantages of one generation batch (all prompts of an optimizer step's generation, all ranks
/// — groups must be whole).
///
///   rewards: [B*G] weighted total rewards, float64, group by group; NaN = excluded sample (all rewarders
///            returned NaN). ±inf is rejected.
///   G:       completions per prompt (TRL num_generations), >= 2.
///
/// Inside a group only valid (non-NaN) samples count: mean_g and std_g are over them (Bessel, n_valid − 1).
/// Computed in float64; the std floor is 1e-4 (A = (r − mean) / (std + 1e-4)); "batch" uses the Bessel std
/// of all valid rewards of the batch. A group whose valid rewards are all equal gets A = 0 exactly, never NaN
/// (also for scale "none" and "batch").
///
/// Differences from TRL 1.16 (all only in degenerate cases; tests/rl/test_trl_parity.cpp checks the rest):
///   * TRL computes in float32; r1kit in float64.
///   * frac_reward_zero_std: TRL tests torch.isclose(std, 0) on the std it divides by, so with
///     scale_rewards = "batch" it is 0 or 1 for the whole batch; r1kit always counts groups by their own std.
///     TRL does not count a group with < 2 valid samples (its std is NaN); r1kit does (no learning signal).
///   * Equal rewards: TRL's float32 mean of equal values can differ from them by rounding, leaving |A| ~ 1e-7;
///     r1kit returns exactly 0.
///
/// Throws InvalidArgument when G < 2, rewards.size() is not a multiple of G, or a reward is ±inf.
Advantages compute_advantages(std::span<const double> rewards, int G, ScaleRewards scale);

}  // namespace r1kit::rl
