// Data-parallel GRPO step helpers. See grpo_distributed.h.
#include "rl/grpo_distributed.h"

#include "core/error.h"

namespace r1kit::rl {
namespace {
uint64_t splitmix64(uint64_t x) {  // Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (2014)
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t prompt_seed(uint64_t batch_seed, int64_t global_index) {
  return splitmix64(batch_seed ^ splitmix64(static_cast<uint64_t>(global_index)));
}

std::vector<rollout::Completion> generate_per_prompt(rollout::RolloutEngine& engine,
                                                     const std::vector<std::vector<int64_t>>& prompts,
                                                     const rollout::SamplingParams& params, int64_t first_global_index,
                                                     rollout::RolloutStats* stats) {
  std::vector<rollout::Completion> out;
  out.reserve(prompts.size() * static_cast<size_t>(params.n));
  rollout::SamplingParams sp = params;
  for (size_t i = 0; i < prompts.size(); ++i) {
    sp.seed = prompt_seed(params.seed, first_global_index + static_cast<int64_t>(i));
    auto part = engine.generate({prompts[i]}, sp);
    for (auto& c : part) {
      c.prompt_index = i;
      out.push_back(std::move(c));
    }
    if (stats) {
      const auto& st = engine.last_stats();
      stats->prefill_seconds += st.prefill_seconds;
      stats->decode_seconds += st.decode_seconds;
      stats->sample_seconds += st.sample_seconds;
      stats->prompt_tokens += st.prompt_tokens;
      stats->generated_tokens += st.generated_tokens;
    }
  }
  return out;
}

Advantages advantages_over_ranks(train::DistributedContext& dist, const std::vector<double>& local_totals, int G,
                                 ScaleRewards scale) {
  if (!dist.is_distributed()) return compute_advantages(local_totals, G, scale);
  size_t offset = 0;
  const auto all = dist.all_gather(local_totals, &offset);
  auto whole = compute_advantages(all, G, scale);
  Advantages a = whole;
  const auto n = static_cast<std::ptrdiff_t>(local_totals.size());
  const auto off = static_cast<std::ptrdiff_t>(offset);
  a.advantages.assign(whole.advantages.begin() + off, whole.advantages.begin() + off + n);
  a.valid.assign(whole.valid.begin() + off, whole.valid.begin() + off + n);
  a.group_mean.assign(whole.group_mean.begin() + off / G, whole.group_mean.begin() + (off + n) / G);
  a.group_std.assign(whole.group_std.begin() + off / G, whole.group_std.begin() + (off + n) / G);
  return a;
}

StepView gather_step(train::DistributedContext& dist, const rewards::BatchScores& local,
                     const std::vector<rollout::Completion>& completions, int64_t tokens, int64_t kept_groups,
                     int64_t zero_std_groups, int64_t generated_groups) {
  StepView v;
  v.scores = local;
  for (const auto& c : completions) {
    v.lengths.push_back(static_cast<double>(c.ids.size()));
    v.clipped += c.finish == rollout::Completion::Finish::length;
  }
  const size_t K = local.names.size();
  std::vector<double> sums{static_cast<double>(v.clipped), static_cast<double>(tokens),
                           static_cast<double>(kept_groups), static_cast<double>(zero_std_groups),
                           static_cast<double>(generated_groups)};
  for (size_t k = 0; k < K; ++k) {
    sums.push_back(static_cast<double>(local.timeouts.size() > k ? local.timeouts[k] : 0));
    sums.push_back(static_cast<double>(local.errors.size() > k ? local.errors[k] : 0));
    sums.push_back(local.seconds.size() > k ? local.seconds[k] : 0.0);
  }
  if (dist.is_distributed()) {
    dist.all_reduce_sum(sums);
    v.scores.totals = dist.all_gather(local.totals);
    for (size_t k = 0; k < K; ++k) v.scores.per_rewarder[k] = dist.all_gather(local.per_rewarder[k]);
    v.lengths = dist.all_gather(v.lengths);
    v.scores.timeouts.resize(K);
    v.scores.errors.resize(K);
    v.scores.seconds.resize(K);
    for (size_t k = 0; k < K; ++k) {
      v.scores.timeouts[k] = static_cast<size_t>(sums[5 + 3 * k]);
      v.scores.errors[k] = static_cast<size_t>(sums[6 + 3 * k]);
      v.scores.seconds[k] = sums[7 + 3 * k];
    }
  }
  v.clipped = static_cast<int64_t>(sums[0]);
  v.tokens = static_cast<int64_t>(sums[1]);
  v.kept_groups = static_cast<int64_t>(sums[2]);
  v.frac_reward_zero_std = sums[4] > 0 ? sums[3] / sums[4] : 0.0;
  return v;
}

}  // namespace r1kit::rl
