// GRPOConfig: everything `r1kit grpo` reads from its JSON config. Training keys use the names of TRL's
// `GRPOConfig` (trl/trainer/grpo_config.py) so a TRL user can carry a config over; r1kit's own sections are
// "model", "data", "rewards" and "rollout". Every key and default is documented in configs/README.md.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "rl/advantages.h"
#include "rl/grpo_loss.h"
#include "rollout/engine.h"
#include "train/optimizer.h"

namespace r1kit::rl {

struct DataConfig {
  std::string path;                       // JSONL prompt set, e.g. ../shared/data/gsm8k/train.jsonl
  std::string question_field = "question";
  std::string prompt_template = "r1_zero";  // r1_zero | r1_zero_think | qwen_math | none | chat
  bool shuffle = true;                    // reshuffled every epoch from `seed`
  int64_t limit = 0;                      // use only the first N records (0 = all)
};

struct GRPOConfig {
  // model
  std::string model_path;                 // Hugging Face directory (config.json, *.safetensors, tokenizer.json)
  std::string dtype = "float32";
  DataConfig data;
  nlohmann::json rewards;                 // the "rewards" array, built by rewards::RewardSet
  rollout::RolloutOptions rollout;
  /// Optional "eval" section: {"path": JSONL, "limit": N, "question_field": ..., "max_new_tokens": N, "name": ...,
  /// "num_generations": K, "temperature": T, "top_p": P} — evaluation with the same rewarders (eval/evaluator.h;
  /// greedy, K = 1 by default) before the first step, every `eval_steps` and after the last step.
  nlohmann::json eval;

  // TRL GRPOConfig names
  std::string output_dir = "runs/grpo";
  uint64_t seed = 42;
  int64_t max_steps = 100;                // optimizer steps
  int64_t per_device_train_batch_size = 8;   // completions per micro-batch
  int64_t gradient_accumulation_steps = 1;   // micro-batches per optimizer step
  int num_generations = 8;                // G
  int64_t max_prompt_length = 512;        // tokens; longer prompts are cut from the left (TRL)
  int64_t max_completion_length = 256;    // tokens
  double temperature = 1.0, top_p = 1.0, min_p = 0.0;
  int top_k = 0;
  ScaleRewards scale_rewards = ScaleRewards::group;
  LossConfig loss;                        // loss_type, epsilon, epsilon_high, delta, beta, kl_estimator
  int num_iterations = 1;                 // μ: optimizer steps per generation batch
  bool mask_truncated_completions = false;
  /// DAPO dynamic sampling (arXiv 2503.14476, §3.2; verl `algorithm.filter_groups`): drop groups whose rewards
  /// are all equal (no learning signal) and generate more prompts until the step has B groups with signal, at
  /// most `max_num_gen_batches` generation batches (0 = unbounded); then train on what was collected.
  bool dynamic_sampling = false;
  int64_t max_num_gen_batches = 4;
  bool sync_ref_model = false;
  double ref_model_mixup_alpha = 0.6;
  int64_t ref_model_sync_steps = 512;
  train::OptimizerConfig optim;           // learning_rate, weight_decay, adam_*, lr_scheduler_type, warmup_*, max_grad_norm
  int64_t logging_steps = 1;
  int64_t save_steps = 0;                 // checkpoint every N steps (0: only at the end); a multiple of num_iterations
  int64_t samples_steps = 10;             // write samples/step_N.jsonl every N steps (0: never)
  int64_t eval_steps = 0;                 // also evaluate every N steps (TRL eval_steps; 0: only before and after)
  int64_t max_consecutive_nonfinite = 3;  // stop after this many skipped (non-finite) steps in a row
  int64_t logprob_chunk_rows = 1024;      // rows per chunk in the chunked log-prob computation
  double ddp_timeout = 1800;              // seconds a collective may wait for the slowest rank under torchrun
                                          // (TRL/transformers `ddp_timeout`; env R1KIT_DIST_TIMEOUT overrides)

  /// Completions per optimizer step = per_device_train_batch_size × gradient_accumulation_steps.
  int64_t completions_per_step() const { return per_device_train_batch_size * gradient_accumulation_steps; }
  int64_t prompts_per_step() const { return completions_per_step() / num_generations; }

  /// Parses and validates a config object (strict: unknown keys are errors with a did-you-mean). `source` names
  /// the file in messages. Relative paths stay relative to the working directory.
  static GRPOConfig from_json(const nlohmann::json& j, const std::string& source);
  /// The config with every default filled in, as written to RUN_DIR/config.json.
  nlohmann::json resolved() const;
};

}  // namespace r1kit::rl
