// Group-relative advantages (DeepSeekMath §4.1.2, Dr. GRPO §3). See advantages.h.
#include "rl/advantages.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace r1kit::rl {
namespace {

constexpr double kStdFloor = 1e-4;  // TRL: advantages / (std_rewards + 1e-4)
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Moments {
  int n = 0;
  double mean = kNaN;
  double std = 0.0;     // Bessel (n − 1); 0 when n < 2
  bool all_equal = true;
};

// Mean and Bessel std of the non-NaN values of `r` (two passes, float64).
Moments moments(std::span<const double> r) {
  Moments m;
  double sum = 0.0, first = 0.0;
  for (double x : r) {
    if (std::isnan(x)) continue;
    if (m.n == 0) first = x;
    if (x != first) m.all_equal = false;
    sum += x;
    ++m.n;
  }
  if (m.n == 0) return m;
  m.mean = m.all_equal ? first : sum / m.n;
  if (m.n >= 2 && !m.all_equal) {
    double ss = 0.0;
    for (double x : r)
      if (!std::isnan(x)) ss += (x - m.mean) * (x - m.mean);
    m.std = std::sqrt(ss / (m.n - 1));
  }
  return m;
}

}  // namespace

ScaleRewards parse_scale_rewards(const std::string& value) {
  if (value == "group" || value == "true") return ScaleRewards::group;
  if (value == "batch") return ScaleRewards::batch;
  if (value == "none" || value == "false") return ScaleRewards::none;
  throw ConfigError("scale_rewards: unknown value \"" + value +
                    "\"; choose one of \"group\" (default), \"batch\", \"none\" (TRL's legacy true/false mean "
                    "\"group\"/\"none\")");
}

std::string to_string(ScaleRewards s) {
  switch (s) {
    case ScaleRewards::group: return "group";
    case ScaleRewards::batch: return "batch";
    case ScaleRewards::none: return "none";
  }
  return "group";
}

Advantages compute_advantages(std::span<const double> rewards, int G, ScaleRewards scale) {
  if (G < 2)
    throw InvalidArgument("compute_advantages: G (num_generations) = " + std::to_string(G) +
                          "; group-relative advantages need at least 2 completions per prompt — set "
                          "num_generations >= 2");
  if (rewards.size() % static_cast<size_t>(G) != 0)
    throw InvalidArgument("compute_advantages: " + std::to_string(rewards.size()) +
                          " rewards is not a multiple of G = " + std::to_string(G) +
                          "; pass whole groups, laid out group by group (sample g of prompt b at b*G+g)");
  for (size_t i = 0; i < rewards.size(); ++i)
    if (std::isinf(rewards[i]))
      throw InvalidArgument("compute_advantages: reward of sample " + std::to_string(i) + " is " +
                            (rewards[i] > 0 ? "+inf" : "-inf") +
                            "; rewarders must return a finite score or NaN (not applicable)");

  const size_t B = rewards.size() / static_cast<size_t>(G);
  Advantages out;
  out.advantages.assign(rewards.size(), 0.0);
  out.valid.assign(rewards.size(), false);
  out.group_mean.assign(B, kNaN);
  out.group_std.assign(B, 0.0);

  const Moments batch = moments(rewards);
  out.reward_mean = batch.mean;                     // NaN with no valid sample (TRL nanmean)
  out.reward_std = batch.n >= 2 ? batch.std : kNaN;  // TRL nanstd: NaN with < 2 valid samples

  size_t zero_std_groups = 0;
  for (size_t b = 0; b < B; ++b) {
    const auto group = rewards.subspan(b * G, static_cast<size_t>(G));
    const Moments m = moments(group);
    out.group_mean[b] = m.mean;
    out.group_std[b] = m.std;
    if (m.std == 0.0) ++zero_std_groups;
    for (int g = 0; g < G; ++g) out.valid[b * G + g] = !std::isnan(group[g]);
    // No learning signal: < 2 valid samples (TRL: NaN std -> NaN -> 0) or all equal (exactly 0, never NaN).
    if (m.n < 2 || m.all_equal) continue;
    // DeepSeekMath §4.1.2: Â_i = (r_i − mean(r)) / std(r); Dr. GRPO drops the division.
    const double denom = scale == ScaleRewards::group   ? m.std + kStdFloor
                         : scale == ScaleRewards::batch ? batch.std + kStdFloor
                                                        : 1.0;
    for (int g = 0; g < G; ++g)
      if (!std::isnan(group[g])) out.advantages[b * G + g] = (group[g] - m.mean) / denom;
  }
  out.frac_reward_zero_std = B == 0 ? 0.0 : static_cast<double>(zero_std_groups) / static_cast<double>(B);
  return out;
}

}  // namespace r1kit::rl
