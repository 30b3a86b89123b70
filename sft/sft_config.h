// SFTConfig: the `r1kit sft` configuration. Training keys use the names of TRL's `SFTConfig` (itself Hugging Face
// `TrainingArguments`); r1kit's own sections are `model`, `data` and `samples`. Every key is documented in
// configs/README.md ("r1kit sft — SFTConfig").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "train/optimizer.h"

namespace r1kit::sft {

/// How records become text (sft/dataset.h).
struct DataConfig {
  std::string train_file;              // JSONL, e.g. runs/cold_start/gsm8k.jsonl
  std::string eval_file;               // JSONL held-out set; empty = split eval_fraction off the training file
  double eval_fraction = 0.0;          // 0.05 = 5% of the training records held out (seeded); 0 = no eval
  std::string format = "auto";         // auto | messages | prompt_completion | prompt_reasoning_answer
  std::string messages_field = "messages";
  std::string prompt_field = "prompt";
  std::string completion_field = "completion";
  std::string reasoning_field = "reasoning";
  std::string answer_field = "answer";
  std::string template_name = "chat";  // chat | r1_zero | r1_zero_think | qwen_math | none  (JSON key "template")
  bool shuffle = true;
  int64_t limit = 0;                   // first N records of train_file (0 = all)
  bool skip_invalid = false;           // malformed record: false = DataError, true = skip, count and log
};

struct SFTConfig {
  std::string model_path;              // HF model directory
  std::string dtype = "float32";
  DataConfig data;
  std::string output_dir = "runs/sft";
  uint64_t seed = 42;
  int64_t max_steps = -1;              // > 0 wins over num_train_epochs
  double num_train_epochs = 3.0;
  int64_t per_device_train_batch_size = 8;   // sequences (packed sequences when packing) per micro-batch
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  int64_t max_length = 1024;           // tokens per example (per packed sequence when packing)
  std::string truncation = "truncate"; // truncate (keep the start) | drop — for examples longer than max_length
  bool packing = false;
  bool completion_only_loss = true;    // false: loss on every token, prompt included
  bool assistant_only_loss = false;    // messages: loss on the final assistant turn only (implied by completion_only_loss)
  train::OptimizerConfig optim;        // learning_rate 2e-5, lr_scheduler_type linear, … (TRL SFTConfig defaults)
  int64_t logging_steps = 1;
  int64_t eval_steps = 0;              // 0 = evaluate only at the end
  int64_t save_steps = 500;            // 0 = save only at the end
  int64_t sample_prompts = 2;          // greedy generations written to samples/step_N.jsonl at each checkpoint
  int64_t sample_max_new_tokens = 128;
  int64_t logprob_chunk_rows = 1024;   // rows of [N,V] logits alive at once in the loss
  double ddp_timeout = 1800;           // under torchrun: seconds a collective waits for the slowest rank

  /// Parses and validates (strict: unknown keys are ConfigErrors naming the JSON path). Throws ConfigError.
  static SFTConfig from_json(const nlohmann::json& j, const std::string& source);
  /// Every setting with defaults filled in (written to OUTPUT_DIR/config.json).
  nlohmann::json resolved() const;
};

}  // namespace r1kit::sft
