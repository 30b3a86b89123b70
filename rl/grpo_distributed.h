// The data-parallel parts of a GRPO step (train/distributed.h): what each rank samples, and what must be computed
// over the whole step rather than per rank.
//
// With W ranks (torchrun), every rank draws the same global order of prompts; a step takes W × B prompts
// (B = prompts_per_step() = per_device_train_batch_size × gradient_accumulation_steps / num_generations, per
// device as in TRL) and rank r samples prompts [r·B, (r+1)·B), all G completions of a prompt on the same rank.
// Each prompt is sampled with a seed derived from its position in the global batch, so the completions — and
// therefore the run — do not depend on how the batch is split: W ranks with B prompts each give the same
// parameters as 1 rank with W·B prompts (tests/rl/test_distributed_grpo.cpp).
// Advantages (group and batch std), the loss normalisers (rl/grpo_loss.h StepTotals) and the metrics are computed
// over all ranks; gradients are summed.
#pragma once

#include <cstdint>
#include <vector>

#include "rewards/reward_set.h"
#include "rl/advantages.h"
#include "rollout/engine.h"
#include "train/distributed.h"

namespace r1kit::rl {

/// Seed of the prompt at `global_index` of a generation batch whose seed is `batch_seed` (splitmix64 mixing).
uint64_t prompt_seed(uint64_t batch_seed, int64_t global_index);

/// Samples params.n completions for each prompt with one engine call per prompt, prompt i seeded with
/// prompt_seed(params.seed, first_global_index + i). Completions come back in (prompt, sample) order with
/// prompt_index = i. Adds the engine's statistics of every call to *stats.
std::vector<rollout::Completion> generate_per_prompt(rollout::RolloutEngine& engine,
                                                     const std::vector<std::vector<int64_t>>& prompts,
                                                     const rollout::SamplingParams& params, int64_t first_global_index,
                                                     rollout::RolloutStats* stats);

/// Group-relative advantages of this rank's groups computed over the whole step: the totals of all ranks are
/// gathered (rank order), compute_advantages runs on them, and this rank's slice is returned — so scale_rewards =
/// "batch" uses the std of the whole step. reward_mean, reward_std and frac_reward_zero_std stay whole-step values.
/// With one process it equals compute_advantages(local_totals, G, scale).
Advantages advantages_over_ranks(train::DistributedContext& dist, const std::vector<double>& local_totals, int G,
                                 ScaleRewards scale);

/// The step seen over all ranks, for metrics. With one process, the local values.
struct StepView {
  rewards::BatchScores scores;      // totals and per_rewarder concatenated in rank order; timeouts/errors/seconds summed
  std::vector<double> lengths;      // completion lengths in tokens, rank order
  int64_t clipped = 0;              // completions cut at max_completion_length
  int64_t tokens = 0;               // prompt + completion tokens processed
  int64_t kept_groups = 0;          // groups trained on
  double frac_reward_zero_std = 0;  // zero-std groups / generated groups
};

/// Gathers a StepView (collective: every rank calls it at the same point).
StepView gather_step(train::DistributedContext& dist, const rewards::BatchScores& local,
                     const std::vector<rollout::Completion>& completions, int64_t tokens, int64_t kept_groups,
                     int64_t zero_std_groups, int64_t generated_groups);

}  // namespace r1kit::rl
