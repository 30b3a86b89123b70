// AdamW with decay / no-decay parameter groups, learning-rate schedules and gradient clipping, as Hugging Face
// Trainer sets them up (TRL inherits them): weight decay on matrices and embeddings, none on biases and norm
// weights (transformers `Trainer.get_decay_parameter_names`); schedules as `transformers.get_scheduler`.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

namespace r1kit::train {

struct OptimizerConfig {
  double learning_rate = 1e-6;      // peak LR, e.g. 1e-6 for GRPO (TRL default), 1e-5 for SFT
  double weight_decay = 0.0;        // AdamW decoupled decay on the decay group
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  std::string lr_scheduler_type = "linear";  // constant | constant_with_warmup | linear | cosine | cosine_with_min_lr
  int64_t warmup_steps = 0;         // absolute; when 0, warmup_ratio × total steps is used
  double warmup_ratio = 0.0;
  double min_lr_rate = 0.0;         // cosine_with_min_lr: floor as a fraction of learning_rate
  double max_grad_norm = 1.0;       // clip the global L2 norm; <= 0 disables clipping
};

/// LR multiplier at optimizer step `step` (0-based: the step about to be taken) of `total` steps.
/// Throws InvalidArgument for an unknown schedule name (listing the names).
double lr_multiplier(const OptimizerConfig& c, int64_t step, int64_t total);

/// Names of parameters that get weight decay: everything except biases and norm weights.
bool uses_weight_decay(const std::string& parameter_name);

class Optimizer {
 public:
  /// Builds AdamW over `named_parameters` (requires_grad ones only) in two groups.
  Optimizer(const torch::OrderedDict<std::string, torch::Tensor>& named_parameters, OptimizerConfig config,
            int64_t total_steps);

  /// Sets the LR for `step`, clips gradients, applies the update. Returns the pre-clip global grad norm.
  /// Returns NaN/inf without updating (and with gradients zeroed) if the norm is not finite.
  double step(int64_t step_index);
  void zero_grad();
  double current_lr() const { return last_lr_; }

  /// Optimizer state (moments, step counts) in LibTorch's archive format.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  OptimizerConfig config_;
  int64_t total_steps_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
  double last_lr_ = 0;
};

}  // namespace r1kit::train
