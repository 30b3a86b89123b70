// GRPO loss: KL estimators, aggregation hand-checks from issue #6, clipping, micro-batch invariance, padding.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "rl/grpo_loss.h"
#include "rl/kl.h"

namespace r1kit::rl {
namespace {

double item(const torch::Tensor& t) { return t.item<double>(); }

// Every computation in this file is float64 (the loss runs in logp's dtype) on values of magnitude ≤ ~10, with
// sums of ≤ 72 terms and no kernel whose order matters at this precision: errors ≲ 72·u64·10 ≈ 1e-13 in the worst
// case, ~1e-15 typical. kF64 = 1e-12 is 10× the worst case and ≥ 1e9 times below any wrong constant, clip or
// normaliser (≥ 1e-3 here).
constexpr double kF64 = 1e-12;
constexpr double kU64 = 0x1p-53;

TEST(Kl, K3HandCheckable) {
  // Issue #6: k3 at (logp, ref) = (-1, -3) -> e^-2 + 1 = 1.13534; (-3, -1) -> e^2 - 3 = 4.38906. Compared with
  // the closed forms (the issue's 5-digit values are those, rounded), to kF64.
  auto logp = torch::tensor({{-1.0, -3.0, -25.0}}, torch::kFloat64);
  auto ref = torch::tensor({{-3.0, -1.0, -0.5}}, torch::kFloat64);
  auto k3 = kl_divergence(logp, ref, KlEstimator::k3);
  EXPECT_NEAR(item(k3[0][0]), std::exp(-2.0) + 1.0, kF64);
  EXPECT_NEAR(item(k3[0][1]), std::exp(2.0) - 3.0, kF64);
  // (-25, -0.5): log-ratio 24.5 clamped to 20 -> e^20 - 21 ≈ 4.9e8, finite. Float64, 3 roundings at 4.9e8:
  // relative error ≤ 3·u64; bound 1e-12 relative (the unclamped e^24.5 is 90× larger).
  EXPECT_TRUE(std::isfinite(item(k3[0][2])));
  EXPECT_NEAR(item(k3[0][2]), std::exp(20.0) - 21.0, kF64 * std::exp(20.0));
  // float32, the dtype the trainer uses, stays finite as well, and its gradient too.
  auto lp32 = torch::tensor({-25.0f, -0.5f}).requires_grad_(true);
  auto k = kl_divergence(lp32, torch::tensor({-0.5f, -25.0f}), KlEstimator::k3);
  EXPECT_TRUE(torch::isfinite(k).all().item<bool>());
  k.sum().backward();
  EXPECT_TRUE(torch::isfinite(lp32.grad()).all().item<bool>());
  EXPECT_GE(k.min().item<float>(), 0.0f);
}

TEST(Kl, K1K2) {
  auto logp = torch::tensor({-1.0, -3.0}, torch::kFloat64);
  auto ref = torch::tensor({-3.0, -1.0}, torch::kFloat64);
  auto k1 = kl_divergence(logp, ref, KlEstimator::k1);
  auto k2 = kl_divergence(logp, ref, KlEstimator::k2);
  EXPECT_DOUBLE_EQ(item(k1[0]), 2.0);  // small integers in float64: exact
  EXPECT_DOUBLE_EQ(item(k1[1]), -2.0);
  EXPECT_DOUBLE_EQ(item(k2[0]), 2.0);
  EXPECT_DOUBLE_EQ(item(k2[1]), 2.0);
  EXPECT_THROW(kl_divergence(logp, ref.unsqueeze(0), KlEstimator::k1), InvalidArgument);
  EXPECT_EQ(parse_kl_estimator("k2"), KlEstimator::k2);
  EXPECT_THROW(parse_kl_estimator("k4"), ConfigError);
}

// Issue #6 hand-check "per-token losses [2,2,2,2,2,6,5,3,2,4] with masks of 5 and 1 tokens: token-mean 3.3333,
// seq-mean 6.0, dr_grpo with max length 10 -> 1.0". The three targets are mutually consistent only for two
// sequences whose masked tokens are {2,2,2,2,2} (5 tokens, sum 10) and ONE token of loss 10: token-mean
// 20/6 = 3.3333, seq-mean (2 + 10)/2 = 6, dr_grpo 20/(2·10) = 1. No single token of [6,5,3,2,4] gives them, so the
// second row here carries a 10 at its one masked position and the issue's other values as masked-out padding.
TEST(Aggregate, IssueHandCheck) {
  auto per_token = torch::tensor({{2.0, 2.0, 2.0, 2.0, 2.0}, {10.0, 6.0, 5.0, 3.0, 4.0}}, torch::kFloat64);
  auto mask = torch::tensor({{1.0, 1.0, 1.0, 1.0, 1.0}, {1.0, 0.0, 0.0, 0.0, 0.0}}, torch::kFloat64);
  const StepTotals totals{2, 6, 1};
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::dapo, totals, 10)), 10.0 / 3.0, kF64);
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::bnpo, totals, 10)), 10.0 / 3.0, kF64);
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::grpo, totals, 10)), 6.0, kF64);
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::dr_grpo, totals, 10)), 1.0, kF64);
}

TEST(Aggregate, IssueValuesLiteralReading) {
  // The literal rows [2,2,2,2,2] (5 masked) and [6,5,3,2,4] (first token masked): (10+6)/6, (2+6)/2, 16/20.
  auto per_token = torch::tensor({{2.0, 2.0, 2.0, 2.0, 2.0}, {6.0, 5.0, 3.0, 2.0, 4.0}}, torch::kFloat64);
  auto mask = torch::tensor({{1.0, 1.0, 1.0, 1.0, 1.0}, {1.0, 0.0, 0.0, 0.0, 0.0}}, torch::kFloat64);
  const StepTotals totals{2, 6, 1};
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::dapo, totals, 10)), 16.0 / 6.0, kF64);
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::grpo, totals, 10)), 4.0, kF64);
  EXPECT_NEAR(item(aggregate_loss(per_token, mask, LossType::dr_grpo, totals, 10)), 0.8, kF64);
}

TEST(Aggregate, TwoMicroBatchesTokenLevel) {
  // Issue #6: micro-batch 1 has 2 tokens at loss 1.0, micro-batch 2 has 6 tokens at 3.0: dapo step loss
  // (2·1 + 6·3) / 8 = 2.5, summed over micro-batches normalised by the step's 8 tokens.
  const StepTotals totals{2, 8, 2};
  auto l1 = aggregate_loss(torch::full({1, 2}, 1.0, torch::kFloat64), torch::ones({1, 2}), LossType::dapo,
                           totals, 10);
  auto l2 = aggregate_loss(torch::full({1, 6}, 3.0, torch::kFloat64), torch::ones({1, 6}), LossType::dapo,
                           totals, 10);
  EXPECT_NEAR(item(l1 + l2), 2.5, kF64);
  // bnpo averages the micro-batch means instead: (1 + 3) / 2 = 2 — why it is not micro-batch invariant.
  auto b1 = aggregate_loss(torch::full({1, 2}, 1.0, torch::kFloat64), torch::ones({1, 2}), LossType::bnpo,
                           totals, 10);
  auto b2 = aggregate_loss(torch::full({1, 6}, 3.0, torch::kFloat64), torch::ones({1, 6}), LossType::bnpo,
                           totals, 10);
  EXPECT_NEAR(item(b1 + b2), 2.0, kF64);
}

TEST(Aggregate, MaskedNaNDoesNotLeak) {
  auto per_token = torch::tensor({{1.0, std::nan(""), std::numeric_limits<double>::infinity()}}, torch::kFloat64);
  auto mask = torch::tensor({{1.0, 0.0, 0.0}}, torch::kFloat64);
  for (auto lt : {LossType::grpo, LossType::bnpo, LossType::dr_grpo, LossType::dapo})
    EXPECT_TRUE(std::isfinite(item(aggregate_loss(per_token, mask, lt, StepTotals{1, 1, 1}, 4))));
}

TEST(Aggregate, RejectsBadTotals) {
  auto x = torch::ones({2, 3});
  EXPECT_THROW(aggregate_loss(x, x, LossType::grpo, StepTotals{0, 6, 1}, 4), InvalidArgument);
  EXPECT_THROW(aggregate_loss(x, x, LossType::dr_grpo, StepTotals{2, 6, 1}, 0), InvalidArgument);
  EXPECT_THROW(aggregate_loss(x, x, LossType::bnpo, StepTotals{2, 6, 0}, 4), InvalidArgument);
  EXPECT_THROW(aggregate_loss(x, torch::ones({2, 4}), LossType::dapo, StepTotals{2, 6, 1}, 4), InvalidArgument);
}

TEST(GrpoLoss, ClippingByHand) {
  // One sequence, 4 tokens, A = +1 and A = -1; ratios e^{±0.5}: c = 1.6487 (> 1.28), 0.6065 (< 0.8).
  const LossConfig cfg{LossType::dapo, 0.2, 0.28, std::nullopt, 0.0, KlEstimator::k3, false, 256};
  auto logp = torch::tensor({{-1.0, -1.0}, {-1.0, -1.0}}, torch::kFloat64).requires_grad_(true);
  auto old = torch::tensor({{-1.5, -0.5}, {-1.5, -0.5}}, torch::kFloat64);
  auto adv = torch::tensor({1.0, -1.0}, torch::kFloat64);
  auto mask = torch::ones({2, 2}, torch::kFloat64);
  LossStats st;
  auto loss = grpo_loss({logp, old, {}, adv, mask}, cfg, StepTotals{2, 4, 1}, &st);
  const double e = std::exp(0.5), ei = std::exp(-0.5);
  // A=+1: -min(c, clip(c)) -> tokens: -min(e, 1.28) = -1.28 (clipped), -min(ei, 0.8) = -ei (not clipped).
  // A=-1: -min(-c, -clip(c)) = max(c, clip(c)) -> e (unclipped), 0.8 (clipped).
  EXPECT_NEAR(item(loss), (-1.28 - ei + e + 0.8) / 4, kF64);
  EXPECT_NEAR(st.clip_high, 0.25, kF64);
  EXPECT_NEAR(st.clip_low, 0.25, kF64);
  EXPECT_NEAR(st.clip_region, 0.5, kF64);
  EXPECT_EQ(st.num_tokens, 4.0);
  loss.backward();
  // Gradient only flows through the unclipped terms: d(-c)/dlogp = -c, d(c)/dlogp = c, divided by 4 tokens.
  auto g = logp.grad();
  EXPECT_NEAR(item(g[0][0]), 0.0, kF64);
  EXPECT_NEAR(item(g[0][1]), -ei / 4, kF64);
  EXPECT_NEAR(item(g[1][0]), e / 4, kF64);
  EXPECT_NEAR(item(g[1][1]), 0.0, kF64);
}

TEST(GrpoLoss, OnPolicyValueIsMinusMeanAdvantagePlusKl) {
  // old undefined -> ratio 1: ℓ_t = -A + β·k3.
  LossConfig cfg;
  cfg.beta = 0.04;
  auto logp = torch::tensor({{-1.0, -2.0}}, torch::kFloat64).requires_grad_(true);
  auto ref = torch::tensor({{-3.0, -1.0}}, torch::kFloat64);
  LossStats st;
  auto loss = grpo_loss({logp, {}, ref, torch::tensor({0.5}, torch::kFloat64), torch::ones({1, 2})}, cfg,
                        StepTotals{1, 2, 1}, &st);
  const double k3a = std::exp(-2.0) + 1.0, k3b = std::exp(1.0) - 2.0;
  EXPECT_NEAR(item(loss), -0.5 + 0.04 * (k3a + k3b) / 2, kF64);
  EXPECT_NEAR(st.kl_mean, (k3a + k3b) / 2, kF64);
  EXPECT_THROW(grpo_loss({logp, {}, {}, torch::tensor({0.5}, torch::kFloat64), torch::ones({1, 2})}, cfg,
                         StepTotals{1, 2, 1}),
               InvalidArgument);  // beta != 0 without ref
}

TEST(GrpoLoss, DeltaCapsTheUnclippedTerm) {
  LossConfig cfg;
  cfg.epsilon_high = 0.28;
  cfg.delta = 1.5;
  auto logp = torch::tensor({{0.0}}, torch::kFloat64);
  auto old = torch::tensor({{-1.0}}, torch::kFloat64);  // c = e = 2.718
  // A < 0: -min(c·A, clip·A) = |A|·max(c, 1.28) = |A|·c unless capped -> |A|·1.5.
  auto loss = grpo_loss({logp, old, {}, torch::tensor({-2.0}, torch::kFloat64), torch::ones({1, 1})}, cfg,
                        StepTotals{1, 1, 1});
  EXPECT_NEAR(item(loss), 3.0, kF64);
}

struct RandomBatch {
  torch::Tensor logp, old, ref, adv, mask;
};

RandomBatch random_batch(int64_t n, int64_t t, uint64_t seed) {
  torch::manual_seed(seed);
  RandomBatch b;
  b.logp = -torch::rand({n, t}, torch::kFloat64) * 3.0 - 0.05;
  b.old = b.logp + torch::randn({n, t}, torch::kFloat64) * 0.4;
  b.ref = b.logp + torch::randn({n, t}, torch::kFloat64) * 0.5;
  b.adv = torch::randn({n}, torch::kFloat64);
  b.mask = torch::zeros({n, t}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) b.mask[i].narrow(0, 0, 1 + (i * 5) % t).fill_(1.0);  // ragged lengths
  return b;
}

// Gradient of the step w.r.t. a leaf logp: one micro-batch vs the same rows in `cuts` micro-batches.
torch::Tensor step_grad(const RandomBatch& b, const LossConfig& cfg, int cuts) {
  auto leaf = b.logp.clone().requires_grad_(true);
  const StepTotals totals{static_cast<double>(b.logp.size(0)), b.mask.sum().item<double>(), cuts};
  const int64_t rows = b.logp.size(0) / cuts;
  for (int k = 0; k < cuts; ++k) {
    auto sl = [&](const torch::Tensor& x) { return x.narrow(0, k * rows, rows); };
    LossInputs in{sl(leaf), sl(b.old), sl(b.ref), sl(b.adv), sl(b.mask)};
    grpo_loss(in, cfg, totals).backward();
  }
  return leaf.grad();
}

TEST(GrpoLoss, MicroBatchInvariance) {
  const auto b = random_batch(8, 9, 11);
  for (auto lt : {LossType::grpo, LossType::dr_grpo, LossType::dapo}) {
    for (double beta : {0.0, 0.04}) {
      LossConfig cfg;
      cfg.loss_type = lt;
      cfg.beta = beta;
      cfg.epsilon_high = 0.28;
      cfg.max_completion_length = 9;
      auto g1 = step_grad(b, cfg, 1);
      auto g4 = step_grad(b, cfg, 4);
      // Float64, and each token's gradient is its own per-token term times the step's normaliser (the same in
      // both cuttings): elementwise, a handful of roundings, no order-dependent sum. Bound 16·u64 of max|g|
      // (the former absolute 1e-6 was ~1e9 times the error model: it would pass a normaliser off by 1e-5).
      EXPECT_LE((g1 - g4).abs().max().item<double>(), 16 * kU64 * g1.abs().max().item<double>())
          << to_string(lt) << " beta " << beta;
      EXPECT_GT(g1.abs().max().item<double>(), 1e-3);  // the test can fail: gradients are not trivially 0
    }
  }
  // bnpo is documented as NOT invariant (ragged token counts per micro-batch): the micro-batch means weight
  // tokens by 1/(tokens in their micro-batch) instead of 1/(tokens in the step), an O(|g|) ~ 1e-2 difference;
  // 1e-4 sits far above float64 rounding and far below it.
  LossConfig bnpo;
  bnpo.loss_type = LossType::bnpo;
  EXPECT_GT((step_grad(b, bnpo, 1) - step_grad(b, bnpo, 4)).abs().max().item<double>(), 1e-4);
}

TEST(GrpoLoss, PaddingLongerChangesNothing) {
  // With β = 0 and old = θ, padding T with masked garbage (even NaN/-inf) leaves loss and gradient unchanged.
  const auto b = random_batch(4, 6, 5);
  for (auto lt : {LossType::grpo, LossType::bnpo, LossType::dr_grpo, LossType::dapo}) {
    LossConfig cfg;
    cfg.loss_type = lt;
    cfg.beta = 0.04;
    const StepTotals totals{4, b.mask.sum().item<double>(), 1};
    auto a = b.logp.clone().requires_grad_(true);
    auto la = grpo_loss({a, b.old, b.ref, b.adv, b.mask}, cfg, totals);
    la.backward();
    auto pad = [](const torch::Tensor& x, double v) {
      return torch::cat({x, torch::full({x.size(0), 3}, v, x.options())}, 1);
    };
    auto p = pad(b.logp, -INFINITY).requires_grad_(true);
    auto lp = grpo_loss({p, pad(b.old, NAN), pad(b.ref, 0.0), b.adv, pad(b.mask, 0.0)}, cfg, totals);
    lp.backward();
    EXPECT_NEAR(item(la), item(lp), kF64) << to_string(lt);  // float64 sums of ≤ 24 terms ≤ 10 (+ exact zeros)
    // Masked padding adds exact zeros to the sums; only the vector lanes' grouping may change: float64 rounding
    // of ≤ 24 terms ≤ 10 — kF64.
    EXPECT_TRUE(torch::allclose(a.grad(), p.grad().narrow(1, 0, 6), 0, kF64)) << to_string(lt);
    EXPECT_EQ(p.grad().narrow(1, 6, 3).abs().sum().item<double>(), 0.0);
  }
}

TEST(GrpoLoss, ShapeErrors) {
  LossConfig cfg;
  auto x = torch::zeros({2, 3});
  EXPECT_THROW(grpo_loss({x, {}, {}, torch::zeros({3}), x}, cfg, StepTotals{2, 6, 1}), InvalidArgument);
  EXPECT_THROW(grpo_loss({x, torch::zeros({2, 4}), {}, torch::zeros({2}), x}, cfg, StepTotals{2, 6, 1}),
               InvalidArgument);
  EXPECT_THROW(grpo_loss({x, {}, {}, torch::zeros({2}), {}}, cfg, StepTotals{2, 6, 1}), InvalidArgument);
  EXPECT_EQ(parse_loss_type("dr_grpo"), LossType::dr_grpo);
  EXPECT_THROW(parse_loss_type("ppo"), ConfigError);
}

}  // namespace
}  // namespace r1kit::rl
