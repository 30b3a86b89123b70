// DeepSeekMoE routing and experts: group-limited top-k, the correction bias (choice only, never a parameter),
// token-grouped expert compute (gradient only for chosen experts), expert-load counts and the aux-free bias update.
#include <gtest/gtest.h>

#include <set>

#include "model/causal_lm.h"
#include "model/deepseek_v3.h"
#include "model/moe.h"
#include "model_test_util.h"

namespace r1kit::model {
namespace {

using test::fixtures;

torch::Tensor logit(std::vector<double> p) {
  auto t = torch::tensor(p, torch::kFloat64);
  return torch::log(t / (1 - t)).to(torch::kFloat32).view({1, -1});
}

std::set<int64_t> chosen(const Routing& r, int64_t row = 0) {
  std::set<int64_t> out;
  for (int64_t j = 0; j < r.indices.size(1); ++j) out.insert(r.indices[row][j].item<int64_t>());
  return out;
}

TEST(DeepseekV3Router, GroupLimitedTopKMasksLosingGroups) {
  // 4 groups of 2. Expert 0 has the best single score but its group's top-2 sum (0.99 + 0.01) loses to
  // groups 1 (0.8 + 0.8) and 2 (0.7 + 0.7); with topk_group = 2 only experts 2..5 may be chosen.
  auto logits = logit({0.99, 0.01, 0.8, 0.8, 0.7, 0.75, 0.1, 0.1});
  auto bias = torch::zeros({8});
  auto r = route_tokens(logits, bias, 4, 2, 3, /*norm=*/false, 1.0);
  EXPECT_EQ(chosen(r), (std::set<int64_t>{2, 3, 5}));
  // Without groups (one group) expert 0 wins.
  auto flat = route_tokens(logits, bias, 1, 1, 3, false, 1.0);
  EXPECT_EQ(chosen(flat), (std::set<int64_t>{0, 2, 3}));
}

TEST(DeepseekV3Router, BiasChangesTheChoiceButNotTheWeights) {
  auto logits = logit({0.9, 0.8, 0.3, 0.2, 0.6, 0.1, 0.5, 0.4});
  auto bias = torch::zeros({8});
  auto r0 = route_tokens(logits, bias, 1, 1, 2, /*norm=*/false, 2.5);
  EXPECT_EQ(chosen(r0), (std::set<int64_t>{0, 1}));
  bias[3] = 0.75;  // 0.2 + 0.75 beats 0.8 but not 0.9 + 0
  auto r1 = route_tokens(logits, bias, 1, 1, 2, false, 2.5);
  EXPECT_EQ(chosen(r1), (std::set<int64_t>{0, 3}));
  // Weights come from the unbiased sigmoid scores: 2.5 * 0.9 and 2.5 * 0.2. Float32: the logit rounded once
  // (sigmoid' ≤ 0.25 shrinks it), sigmoid (exp, add, divide: ≤ ~3 roundings, vectorised or scalar exp ≤ 1 ulp),
  // ×2.5, and for norm_topk_prob a 2-term sum and a divide: ≤ ~8 roundings at |w| ≤ 2.5, 8·u·2.5 ≈ 1.2e-6 worst.
  const double kWeightTol = 8 * test::kU32 * 2.5;
  for (int64_t j = 0; j < 2; ++j) {
    const int64_t e = r1.indices[0][j].item<int64_t>();
    EXPECT_NEAR(r1.weights[0][j].item<double>(), 2.5 * (e == 0 ? 0.9 : 0.2), kWeightTol);
  }
  // norm_topk_prob: weights sum to routed_scaling_factor.
  auto rn = route_tokens(logits, bias, 1, 1, 2, true, 2.5);
  EXPECT_NEAR(rn.weights.sum().item<double>(), 2.5, kWeightTol);
  const int64_t pos0 = rn.indices[0][0].item<int64_t>() == 0 ? 0 : 1;
  EXPECT_NEAR(rn.weights[0][pos0].item<double>(), 2.5 * 0.9 / 1.1, kWeightTol);
}

std::shared_ptr<DeepseekV3ForCausalLM> tiny(const std::string& name = "tiny_v3_b") {
  return std::dynamic_pointer_cast<DeepseekV3ForCausalLM>(load_pretrained(fixtures() / "deepseek_v3" / name));
}

TEST(DeepseekV3Moe, CorrectionBiasIsABufferNotAParameter) {
  auto m = tiny();
  for (const auto& p : m->named_parameters()) EXPECT_EQ(p.key().find("e_score_correction_bias"), std::string::npos);
  int buffers = 0;
  for (const auto& b : m->named_buffers()) buffers += b.key().ends_with("mlp.gate.e_score_correction_bias");
  EXPECT_EQ(buffers, 2);
  bool saved = false;
  for (const auto& [name, t] : m->hf_state()) saved |= name == "model.layers.1.mlp.gate.e_score_correction_bias";
  EXPECT_TRUE(saved);
  auto bias = m->moe_layers()[0]->gate->e_score_correction_bias;
  EXPECT_FALSE(bias.requires_grad());
  EXPECT_GT(bias.abs().max().item<double>(), 0.0);  // the fixture's random bias was loaded
  // bfloat16 model: routers stay float32 (transformers keeps them in fp32), everything else converts.
  m->to(torch::kBFloat16);
  EXPECT_EQ(m->dtype(), torch::kBFloat16);
  EXPECT_EQ(m->moe_layers()[0]->gate->weight.scalar_type(), torch::kFloat32);
  EXPECT_EQ(m->moe_layers()[0]->gate->e_score_correction_bias.scalar_type(), torch::kFloat32);
  EXPECT_EQ(m->moe_layers()[0]->experts[0]->as<SwiGLUMLP>()->gate_proj->weight.scalar_type(), torch::kBFloat16);
  torch::NoGradGuard ng;
  auto out = m->forward(torch::tensor({{3, 4, 5}}), torch::tensor({{0, 1, 2}}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
}

TEST(DeepseekV3Moe, GradientsReachOnlyChosenExperts) {
  auto m = tiny();
  m->train();
  m->reset_expert_load();
  auto logits = m->forward(torch::tensor({{7, 11}}), torch::tensor({{0, 1}}));
  logits.pow(2).sum().backward();
  auto loads = m->expert_load();
  ASSERT_EQ(loads.size(), 2u);
  auto moes = m->moe_layers();
  int unused = 0;
  for (size_t l = 0; l < moes.size(); ++l) {
    EXPECT_EQ(loads[l].sum().item<int64_t>(), 2 * 2);  // 2 tokens × top-2
    for (int64_t e = 0; e < 8; ++e) {
      const auto& g = moes[l]->experts[e]->as<SwiGLUMLP>()->down_proj->weight.grad();
      const bool has_grad = g.defined() && g.abs().sum().item<double>() > 0;
      EXPECT_EQ(has_grad, loads[l][e].item<int64_t>() > 0) << "layer " << l << " expert " << e;
      unused += loads[l][e].item<int64_t>() == 0;
    }
    EXPECT_TRUE(moes[l]->gate->weight.grad().defined());
    EXPECT_FALSE(moes[l]->gate->e_score_correction_bias.grad().defined());
    EXPECT_TRUE(moes[l]->shared_experts->up_proj->weight.grad().defined());
  }
  EXPECT_GE(unused, 8);  // at most 4 of 8 experts per layer can be chosen by 2 tokens
}

TEST(DeepseekV3Moe, LoadCountsRealTokensAndBiasUpdateBalances) {
  auto m = tiny();
  torch::NoGradGuard ng;
  m->reset_expert_load();
  auto ids = torch::tensor({{0, 0, 5, 6}, {7, 8, 9, 10}});
  auto mask = torch::tensor({{0, 0, 1, 1}, {1, 1, 1, 1}});
  auto pos = torch::tensor({{0, 0, 0, 1}, {0, 1, 2, 3}});
  m->forward(ids, pos, mask);
  auto loads = m->expert_load();
  for (const auto& l : loads) EXPECT_EQ(l.sum().item<int64_t>(), 6 * 2);  // 6 real tokens × top-2
  auto before = m->moe_layers()[0]->gate->e_score_correction_bias.clone();
  m->update_router_bias(0.0);  // off: nothing changes, counts kept
  EXPECT_TRUE(torch::equal(before, m->moe_layers()[0]->gate->e_score_correction_bias));  // untouched: exact
  m->update_router_bias(0.01);
  auto delta = m->moe_layers()[0]->gate->e_score_correction_bias - before;
  auto load = loads[0].to(torch::kFloat32);
  auto expect = (load.mean() - load).sign() * 0.01;
  // Float32: (b ± 0.01) − b with |b| ≤ 0.11 (the fixture's biases) rounds twice at ≤ 0.12, and 0.01 itself once:
  // |error| ≤ 3·u·0.12 ≈ 2e-8; bound 1e-7 (5×) — a wrong step (0.01 vs 0.001) is off by 9e-3.
  EXPECT_LE((delta - expect).abs().max().item<double>(), 1e-7);
  EXPECT_EQ(m->expert_load()[0].sum().item<int64_t>(), 0);  // reset after the update
}

TEST(DeepseekV3Moe, GroupedExpertsEqualDenseReference) {
  // Every expert on every token, weighted by the routing (zero where not chosen) — the dense definition.
  auto m = tiny("tiny_v3_a");
  torch::NoGradGuard ng;
  auto moe = m->moe_layers()[0];
  auto x = torch::randn({2, 5, 32}, torch::TensorOptions().dtype(torch::kFloat32));
  auto got = moe->forward(x);
  Routing r = moe->gate->forward(x.view({-1, 32}));
  auto dense = torch::zeros({10, 32});
  for (int64_t e = 0; e < 8; ++e) {
    auto w = (r.indices == e).to(torch::kFloat32).mul(r.weights).sum(-1, true);  // [N,1]
    dense += moe->experts[e]->as<SwiGLUMLP>()->forward(x.view({-1, 32})) * w;
  }
  dense = dense.view({2, 5, 32}) + moe->shared_experts(x);
  // Float32, the same products summed in another order (grouped tokens + index_add vs every expert times a
  // 0/weight mask): reductions of K ≤ 32 terms (gate/up over hidden 32, down over 8) in ~3 stages, plus the sum of
  // 3 routed experts and the shared one: typical error sqrt(3)·sqrt(32)·u ≈ 5.9e-7 of the output's scale, bound
  // 10× ≈ 6e-6, relative to max|y| (the former absolute 1e-5 did not follow the outputs' scale, which the
  // fixture's weights set).
  EXPECT_TRUE(test::within(test::max_rel_diff(got, dense), 10 * std::sqrt(3.0) * test::fp32_sum_typical(32)));
}

}  // namespace
}  // namespace r1kit::model
