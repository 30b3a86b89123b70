#include "train/optimizer.h"

#include <cmath>

#include "core/error.h"

namespace r1kit::train {

double lr_multiplier(const OptimizerConfig& c, int64_t step, int64_t total) {
  const int64_t warmup = c.warmup_steps > 0 ? c.warmup_steps
                                            : static_cast<int64_t>(std::ceil(c.warmup_ratio * static_cast<double>(total)));
  const auto& t = c.lr_scheduler_type;
  if (t == "constant") return 1.0;
  if (step < warmup && (t == "constant_with_warmup" || t == "linear" || t == "cosine" || t == "cosine_with_min_lr"))
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (t == "constant_with_warmup") return 1.0;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (t == "linear") return std::max(0.0, 1.0 - progress);
  if (t == "cosine") return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  if (t == "cosine_with_min_lr") {
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    return c.min_lr_rate + (1.0 - c.min_lr_rate) * cosine;
  }
  throw InvalidArgument("lr_scheduler_type \"" + t +
                        "\" is not supported; use constant, constant_with_warmup, linear, cosine or cosine_with_min_lr");
}

bool uses_weight_decay(const std::string& name) {
  if (name.ends_with(".bias")) return false;
  if (name.find("norm") != std::string::npos) return false;  // input_layernorm, post_attention_layernorm, model.norm
  return true;
}

Optimizer::Optimizer(const torch::OrderedDict<std::string, torch::Tensor>& named, OptimizerConfig config, int64_t total)
    : config_(std::move(config)), total_steps_(total) {
  lr_multiplier(config_, 0, total);  // validates the schedule name
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : named) {
    if (!p.value().requires_grad()) continue;
    (uses_weight_decay(p.key()) ? decay : no_decay).push_back(p.value());
    params_.push_back(p.value());
  }
  auto opts = [&](double wd) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(config_.learning_rate)
                                                            .betas({config_.adam_beta1, config_.adam_beta2})
                                                            .eps(config_.adam_epsilon)
                                                            .weight_decay(wd));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, opts(config_.weight_decay));
  groups.emplace_back(no_decay, opts(0.0));
  adamw_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(config_.learning_rate));
}

double Optimizer::step(int64_t step_index) {
  double norm;
  if (config_.max_grad_norm > 0) {
    norm = torch::nn::utils::clip_grad_norm_(params_, config_.max_grad_norm, 2.0, /*error_if_nonfinite=*/false);
  } else {
    std::vector<torch::Tensor> norms;
    for (auto& p : params_)
      if (p.grad().defined()) norms.push_back(p.grad().norm(2).to(torch::kFloat64));
    norm = norms.empty() ? 0.0 : torch::stack(norms).norm(2).item<double>();
  }
  if (!std::isfinite(norm)) {
    zero_grad();
    return norm;
  }
  last_lr_ = config_.learning_rate * lr_multiplier(config_, step_index, total_steps_);
  for (auto& g : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(last_lr_);
  adamw_->step();
  return norm;
}

void Optimizer::zero_grad() { adamw_->zero_grad(/*set_to_none=*/true); }

void Optimizer::save(const std::string& path) const { torch::save(*adamw_, path); }

void Optimizer::load(const std::string& path) { torch::load(*adamw_, path); }

}  // namespace r1kit::train
