// LR schedules (transformers.get_scheduler semantics), decay groups, non-finite gradient handling.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "train/optimizer.h"

namespace r1kit::train {
namespace {

// Schedules are float64 closed forms of step counts: DOUBLE_EQ (≤ 4 ulp) for ratios of small integers; the
// cosine forms (libm cos ≤ 1 ulp, a few operations at magnitude ≤ 1: error ≲ 1e-15) to 1e-12.
TEST(Schedule, WarmupThenLinearAndCosine) {
  OptimizerConfig c;
  c.warmup_steps = 10;
  c.lr_scheduler_type = "linear";
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 0, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 5, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 60, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 110, 110), 0.0);
  c.lr_scheduler_type = "cosine";
  EXPECT_NEAR(lr_multiplier(c, 60, 110), 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(c, 35, 110), 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-12);
  c.lr_scheduler_type = "cosine_with_min_lr";
  c.min_lr_rate = 0.1;
  EXPECT_NEAR(lr_multiplier(c, 110, 110), 0.1, 1e-12);
  c.lr_scheduler_type = "constant";
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 3, 110), 1.0);
  c.lr_scheduler_type = "constant_with_warmup";
  EXPECT_DOUBLE_EQ(lr_multiplier(c, 3, 110), 0.3);
  c.lr_scheduler_type = "warmup_stable_decay";
  EXPECT_THROW(lr_multiplier(c, 3, 110), InvalidArgument);
  OptimizerConfig r;
  r.warmup_ratio = 0.1;  // ceil(0.1 × 50) = 5 warm-up steps
  EXPECT_DOUBLE_EQ(lr_multiplier(r, 1, 50), 0.2);
}

TEST(Optimizer, NoDecayForBiasesAndNorms) {
  EXPECT_TRUE(uses_weight_decay("model.layers.0.self_attn.q_proj.weight"));
  EXPECT_TRUE(uses_weight_decay("model.embed_tokens.weight"));
  EXPECT_FALSE(uses_weight_decay("model.layers.0.self_attn.q_proj.bias"));
  EXPECT_FALSE(uses_weight_decay("model.layers.3.input_layernorm.weight"));
  EXPECT_FALSE(uses_weight_decay("model.norm.weight"));
}

TEST(Optimizer, DecayAppliesOnlyToTheDecayGroup) {
  torch::OrderedDict<std::string, torch::Tensor> params;
  params.insert("a.weight", torch::ones({2}).requires_grad_(true));
  params.insert("a.bias", torch::ones({2}).requires_grad_(true));
  OptimizerConfig c;
  c.learning_rate = 0.1;
  c.weight_decay = 0.5;
  c.lr_scheduler_type = "constant";
  Optimizer opt(params, c, 10);
  for (auto& p : params) p.value().mutable_grad() = torch::zeros({2});
  const double norm = opt.step(0);
  EXPECT_EQ(norm, 0.0);
  // Zero gradient: AdamW moves only by decoupled decay, w ← w − lr·wd·w.
  // Float32 w·(1 − lr·wd) from w = 1: one rounding of the product (≤ u·0.95) and 0.95 itself is not a float
  // (another ≤ u·0.95): |error| ≤ 2u ≈ 1.2e-7; bound 4u. A wrong decay (lr·wd² or coupled L2) is off by ≥ 2e-2.
  EXPECT_NEAR(params["a.weight"][0].item<float>(), 1 - 0.1 * 0.5, 4 * 0x1p-24);
  // No decay group, zero gradient: Adam's step is lr·0 / (0 + eps) = 0 exactly.
  EXPECT_EQ(params["a.bias"][0].item<float>(), 1.0f);
}

TEST(Optimizer, NonFiniteGradientSkipsTheUpdate) {
  torch::OrderedDict<std::string, torch::Tensor> params;
  params.insert("w", torch::ones({3}).requires_grad_(true));
  Optimizer opt(params, OptimizerConfig{.learning_rate = 0.1, .lr_scheduler_type = "constant"}, 10);
  params["w"].mutable_grad() = torch::tensor({1.0f, NAN, 0.0f});
  EXPECT_FALSE(std::isfinite(opt.step(0)));
  EXPECT_TRUE(torch::equal(params["w"].detach(), torch::ones({3})));
}

}  // namespace
}  // namespace r1kit::train
