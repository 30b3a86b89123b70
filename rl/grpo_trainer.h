// GRPOTrainer: the GRPO loop of DeepSeekMath (arXiv 2402.03300, §4.1, Algorithm 1) as used by DeepSeek-R1
// (2501.12948, §2.2): sample G completions per prompt with the current policy, score them with rule-based
// rewarders, turn the scores into group-relative advantages, and update the policy with the clipped surrogate
// loss and a KL penalty to a frozen reference (rl/grpo_loss.h) — no critic.
//
// One optimizer step:
//   prompts (B = completions_per_step / G) ─► RolloutEngine (G samples each) ─► RewardSet ─► advantages [B·G]
//   ─► micro-batches of per_device_train_batch_size ─► chunked token log-probs (train/token_logprobs.h)
//   ─► grpo_loss (normalised by whole-step totals) ─► backward ─► clip ─► AdamW step.
// With num_iterations = μ > 1 a generation batch serves μ optimizer steps, with old log-probs computed once.
// Under torchrun each rank samples its share of the step and gradients are summed over ranks
// (rl/grpo_distributed.h, train/distributed.h); rank 0 alone writes the run directory.
//
// Run directory (output_dir): config.json (resolved), metrics.jsonl (TRL metric names), samples/step_N.jsonl,
// checkpoints/step_N/ (HF model + trainer_state.json + optimizer.pt [+ ref/]), log.txt.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include "model/causal_lm.h"
#include "rewards/reward_set.h"
#include "rl/grpo_config.h"
#include "rollout/engine.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/distributed.h"
#include "train/optimizer.h"

namespace r1kit::rl {

/// Summary of a run, also printed at the end of `r1kit grpo`.
struct RunSummary {
  std::filesystem::path run_dir;
  int64_t steps = 0;
  nlohmann::json first_metrics, last_metrics;  // metrics.jsonl records of the first and last step
  nlohmann::json eval_before, eval_after;      // eval metrics (empty when no eval set)
};

class GRPOTrainer {
 public:
  /// Loads the policy (and the reference when beta != 0), tokenizer, reward set and data. `config_json` is the
  /// user's config after --set overrides (kept for the run directory). Throws r1kit errors with paths/fixes.
  explicit GRPOTrainer(GRPOConfig config);

  /// Trains to max_steps. With `resume`, continues from the newest checkpoint in that run directory (on CPU the
  /// result equals an uninterrupted run). Without it, refuses to overwrite a run directory that has metrics.
  RunSummary train(const std::optional<std::filesystem::path>& resume = std::nullopt);

  model::CausalLM& policy() { return *policy_; }
  const GRPOConfig& config() const { return cfg_; }

 private:
  struct Generation;  // one generation batch, ready for μ optimizer steps
  struct StepOutcome;

  std::vector<size_t> next_prompt_indices(int64_t count);
  std::vector<int64_t> encode_prompt(const nlohmann::json& record, std::string* rendered) const;
  std::unique_ptr<Generation> generate(int64_t step);
  StepOutcome optimize(Generation& gen, int64_t step);
  nlohmann::json evaluate(const std::string& tag);
  void save_checkpoint(int64_t step);
  int64_t load_checkpoint(const std::filesystem::path& run_dir);
  void sync_reference();

  GRPOConfig cfg_;
  nlohmann::json eval_section_;
  std::filesystem::path run_dir_;
  tokenizer::Tokenizer tokenizer_;
  std::optional<tokenizer::ChatTemplate> chat_;
  std::shared_ptr<model::CausalLM> policy_, reference_;
  std::unique_ptr<rewards::RewardSet> rewards_;
  std::unique_ptr<rollout::RolloutEngine> engine_;
  std::unique_ptr<train::Optimizer> optimizer_;
  std::shared_ptr<train::DistributedContext> dist_;  // torchrun ranks (world size 1 without torchrun)
  std::vector<int64_t> stop_ids_;
  std::vector<nlohmann::json> records_, eval_records_;
  // data position
  int64_t epoch_ = 0, cursor_ = 0;
  std::vector<size_t> order_;
  int64_t consecutive_nonfinite_ = 0;
  int64_t num_tokens_ = 0;  // prompt + completion tokens processed so far (TRL `num_tokens`)
};

}  // namespace r1kit::rl
