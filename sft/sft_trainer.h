// SFTTrainer: supervised fine-tuning on prompt → completion examples — DeepSeek-R1's cold-start stage
// (arXiv 2501.12948 §2.3.1: "a small amount of long CoT data to fine-tune the model as the initial RL actor"),
// with TRL SFTTrainer's semantics (completion-only loss, packing, SFTConfig option names).
//
// One optimizer step:
//   gradient_accumulation_steps micro-batches of per_device_train_batch_size rows (examples, or packed rows)
//   ─► Σ −log p(target) per micro-batch (sft/batch.h, chunked: [B,T,V] never whole)
//   ─► divided by the target tokens of the WHOLE step (all micro-batches), so the update does not depend on how
//      the step is cut ─► backward ─► clip ─► AdamW (train/optimizer.h: decay/no-decay groups, warmup + schedule).
//
// Run directory (output_dir): config.json (resolved), data_stats.json, metrics.jsonl (loss, eval_loss,
// learning_rate, grad_norm, num_tokens, train/tokens_per_s, step_time), samples/step_N.jsonl (greedy generations
// at each checkpoint), checkpoints/step_N/ (HF model + tokenizer files + trainer state: train/checkpoint.h),
// log.txt. The newest checkpoint is a model directory `r1kit grpo --set model.path=…` starts from.
#pragma once

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/causal_lm.h"
#include "sft/batch.h"
#include "sft/dataset.h"
#include "sft/sft_config.h"
#include "tokenizer/tokenizer.h"
#include "train/distributed.h"
#include "train/optimizer.h"

namespace r1kit::sft {

struct SFTSummary {
  std::filesystem::path run_dir;
  std::filesystem::path final_checkpoint;  // checkpoints/step_N of the last step
  int64_t steps = 0;
  nlohmann::json first_metrics, last_metrics;
  double eval_loss_before = std::nan(""), eval_loss_after = std::nan("");  // NaN when there is no eval split
};

class SFTTrainer {
 public:
  /// Loads the model, tokenizer and data (train and eval split). Throws r1kit errors naming files/paths/records.
  explicit SFTTrainer(SFTConfig config);

  /// Trains to total_steps(). With `resume`, continues from the newest checkpoint of that run directory (on CPU
  /// the result equals an uninterrupted run). Without it, refuses to overwrite a run directory holding a run.
  SFTSummary train(const std::optional<std::filesystem::path>& resume = std::nullopt);

  /// Mean cross-entropy per target token over the eval split (no grad); NaN when there is none.
  double evaluate_loss();

  /// Loss and update of one optimizer step on the given micro-batches (exposed for tests). Returns the mean
  /// per-token loss of the step; the pre-clip gradient norm goes to *grad_norm.
  double train_step(const std::vector<Batch>& micro_batches, int64_t step, double* grad_norm);

  model::CausalLM& model() { return *model_; }
  const SFTConfig& config() const { return cfg_; }
  const std::vector<SFTExample>& train_examples() const { return train_; }
  const DatasetStats& train_stats() const { return train_stats_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t pad_id() const { return pad_id_; }

 private:
  std::vector<std::vector<size_t>> epoch_units(int64_t epoch) const;  // rows of example indices for one epoch
  std::vector<Batch> next_step_batches();
  Batch make_batch(const std::vector<std::vector<size_t>>& units, const std::vector<SFTExample>& pool) const;
  void save_checkpoint(int64_t step);
  int64_t load_checkpoint(const std::filesystem::path& run_dir);
  void write_samples(int64_t step);

  SFTConfig cfg_;
  std::filesystem::path run_dir_;
  tokenizer::Tokenizer tokenizer_;
  std::shared_ptr<model::CausalLM> model_;
  std::unique_ptr<train::Optimizer> optimizer_;
  std::shared_ptr<train::DistributedContext> dist_;  // torchrun process group, or a single process
  std::vector<SFTExample> train_, eval_;
  DatasetStats train_stats_, eval_stats_;
  int64_t pad_id_ = 0;
  int64_t total_steps_ = 0;
  // data position
  int64_t epoch_ = 0, cursor_ = 0;
  std::vector<std::vector<size_t>> units_;
  int64_t num_tokens_ = 0;
};

}  // namespace r1kit::sft
