// The optimizer keys both trainers read from their JSON configs, under transformers' TrainingArguments names
// (learning_rate, weight_decay, adam_beta1/2, adam_epsilon, lr_scheduler_type, warmup_steps, warmup_ratio,
// min_lr_rate, max_grad_norm) — one reader and one writer so GRPO and SFT configs cannot drift apart.
#pragma once

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "train/optimizer.h"

namespace r1kit::train {

/// Reads and validates the optimizer keys from `r` (missing keys keep transformers' defaults; the learning rate
/// defaults to `default_learning_rate`). Throws ConfigError naming the JSON path for a wrong type, an unknown
/// scheduler (listing the names), a negative learning rate / weight decay / warmup_steps, or warmup_ratio outside
/// [0, 1].
OptimizerConfig read_optimizer_config(ConfigReader& r, double default_learning_rate);

/// Writes the same keys into `j` (the resolved config of a run).
void write_optimizer_config(const OptimizerConfig& c, nlohmann::json& j);

}  // namespace r1kit::train
