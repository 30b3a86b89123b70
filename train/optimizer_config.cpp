#include "train/optimizer_config.h"

namespace r1kit::train {

OptimizerConfig read_optimizer_config(ConfigReader& r, double default_learning_rate) {
  OptimizerConfig c;
  c.learning_rate = r.get<double>("learning_rate", default_learning_rate);
  c.weight_decay = r.get<double>("weight_decay", c.weight_decay);
  c.adam_beta1 = r.get<double>("adam_beta1", c.adam_beta1);
  c.adam_beta2 = r.get<double>("adam_beta2", c.adam_beta2);
  c.adam_epsilon = r.get<double>("adam_epsilon", c.adam_epsilon);
  c.lr_scheduler_type = r.get_choice("lr_scheduler_type", c.lr_scheduler_type,
                                     {"constant", "constant_with_warmup", "linear", "cosine", "cosine_with_min_lr"});
  c.warmup_steps = r.get<int64_t>("warmup_steps", c.warmup_steps);
  c.warmup_ratio = r.get<double>("warmup_ratio", c.warmup_ratio);
  c.min_lr_rate = r.get<double>("min_lr_rate", c.min_lr_rate);
  c.max_grad_norm = r.get<double>("max_grad_norm", c.max_grad_norm);
  if (!(c.learning_rate >= 0)) r.fail("learning_rate", "must be >= 0");
  if (!(c.weight_decay >= 0)) r.fail("weight_decay", "must be >= 0");
  if (c.warmup_steps < 0) r.fail("warmup_steps", "must be >= 0");
  if (!(c.warmup_ratio >= 0 && c.warmup_ratio <= 1)) r.fail("warmup_ratio", "must be in [0, 1] (a fraction of the steps)");
  return c;
}

void write_optimizer_config(const OptimizerConfig& c, nlohmann::json& j) {
  j["learning_rate"] = c.learning_rate;
  j["weight_decay"] = c.weight_decay;
  j["adam_beta1"] = c.adam_beta1;
  j["adam_beta2"] = c.adam_beta2;
  j["adam_epsilon"] = c.adam_epsilon;
  j["lr_scheduler_type"] = c.lr_scheduler_type;
  j["warmup_steps"] = c.warmup_steps;
  j["warmup_ratio"] = c.warmup_ratio;
  j["min_lr_rate"] = c.min_lr_rate;
  j["max_grad_norm"] = c.max_grad_norm;
}

}  // namespace r1kit::train
