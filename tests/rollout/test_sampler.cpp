// Sampling: log-prob definition, filtering, stop handling, distribution (chi-square).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "error_model.h"
#include "fake_models.h"
#include "rollout/engine.h"
#include "rollout/sampler.h"
#include "rollout/stop.h"

namespace r1kit::rollout {
namespace {

TEST(Sampler, LogprobIsFullVocabularyLogSoftmaxAtTemperature) {
  // Hand-checkable (issue #4): logits [2, 1, 0], token 0: T = 0.7 -> -0.26012, T = 0.5 -> -0.14293; exactly
  // −log(1 + e^(−1/T) + e^(−2/T)) (the 5-digit values are that, rounded). Float32: x/T, the max shift, 3
  // exps (≤ 1 ulp), a 3-term sum, a log and a subtraction — ≤ ~8 roundings at magnitude ≤ max|x|/T ≤ 4, so
  // ≤ 8u·2/T (1.4e-6 at T = 0.7, 1.9e-6 at T = 0.5) worst case; the bound.
  auto logits = torch::tensor({{2.0f, 1.0f, 0.0f}});
  auto tok = torch::tensor({0}, torch::kInt64);
  for (double T : {0.7, 0.5})
    EXPECT_NEAR(token_logprobs_from_logits(logits, tok, T).item<float>(),
                -std::log(1 + std::exp(-1 / T) + std::exp(-2 / T)), 8 * test::kU32 * 2 / T) << "T " << T;
}

TEST(Sampler, StopTokenCut) {
  std::vector<int64_t> a{11, 12, 2, 2, 2};
  auto [n1, s1] = stop_token_cut(a, {2});
  EXPECT_EQ(n1, 3u);
  EXPECT_TRUE(s1);
  std::vector<int64_t> b{11, 12, 32007, 99, 98};
  auto [n2, s2] = stop_token_cut(b, {32000, 32001, 32007});
  EXPECT_EQ(n2, 3u);
  EXPECT_TRUE(s2);
  std::vector<int64_t> c{5, 6};
  auto [n3, s3] = stop_token_cut(c, {2});
  EXPECT_EQ(n3, 2u);
  EXPECT_FALSE(s3);
}

TEST(Sampler, InvalidParamsNameTheField) {
  SamplingParams p;
  p.top_p = 0;
  try {
    p.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
}

std::vector<double> reference_filtered(const std::vector<double>& logits, double T, int top_k, double top_p) {
  // Independent double-precision reimplementation of vLLM's order: temperature, top-k, top-p.
  std::vector<double> p(logits.size());
  double mx = *std::max_element(logits.begin(), logits.end()), z = 0;
  for (size_t i = 0; i < p.size(); ++i) z += (p[i] = std::exp((logits[i] - mx) / T));
  for (auto& v : p) v /= z;
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  for (size_t r = top_k; r < idx.size(); ++r) p[idx[r]] = 0;
  z = std::accumulate(p.begin(), p.end(), 0.0);
  for (auto& v : p) v /= z;
  double before = 0;
  for (size_t r = 0; r < idx.size(); ++r) {
    const double mass = p[idx[r]];
    if (before >= top_p) p[idx[r]] = 0;
    before += mass;
  }
  z = std::accumulate(p.begin(), p.end(), 0.0);
  for (auto& v : p) v /= z;
  return p;
}

TEST(Sampler, SampledFrequenciesMatchFilteredSoftmax) {
  // 20,000 draws from fixed logits with T = 0.8, top_k = 4, top_p = 0.9 (3 tokens survive). Chi-square goodness of
  // fit with df = kept - 1 against the critical value at upper-tail probability 5e-5: the false-failure rate for
  // a random seed. The seed is fixed, so the test is deterministic.
  const std::vector<double> raw{2.0, 1.5, 1.0, 0.2, -0.5, -1.0};
  auto model = std::make_shared<test::FixedLogitsLM>(torch::tensor(std::vector<float>(raw.begin(), raw.end())));
  RolloutEngine engine(model, nullptr, RolloutOptions{.max_batch_rows = 20000, .kv_cache_tokens = 1 << 20});
  SamplingParams sp;
  sp.n = 20000;
  sp.temperature = 0.8;
  sp.top_k = 4;
  sp.top_p = 0.9;
  sp.max_new_tokens = 1;
  sp.seed = 1234;
  auto out = engine.generate({{1, 2, 3}}, sp);
  std::vector<double> count(raw.size(), 0);
  for (const auto& c : out) count.at(c.ids.at(0)) += 1;
  const auto expected = reference_filtered(raw, sp.temperature, sp.top_k, sp.top_p);
  double chi2 = 0;
  int kept = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (expected[i] == 0) {
      EXPECT_EQ(count[i], 0) << "token " << i << " was filtered out but sampled";
      continue;
    }
    ++kept;
    const double e = expected[i] * sp.n;
    chi2 += (count[i] - e) * (count[i] - e) / e;
  }
  // Critical values of chi-square at upper-tail probability 5e-5: df 1: 16.45, df 2: 19.81, df 3: 22.46. A
  // statistical bound, not a rounding one: the counts are exact integers and the draws fixed by the seed.
  const double critical[] = {0, 16.45, 19.81, 22.46};
  ASSERT_GE(kept, 2);
  ASSERT_LE(kept, 4);
  EXPECT_LT(chi2, critical[kept - 1]) << "kept " << kept;
  std::printf("chi-square %.3f with df %d\n", chi2, kept - 1);
  // Every reported log-prob is the full-vocabulary log-softmax at T, not the filtered one. Float32 on both sides
  // (the sampler's own softmax kernel vs ATen's log_softmax, whose kernel follows ATEN_CPU_CAPABILITY): log p =
  // x/T − lse with |x/T| ≤ 2.5 and |lse| ≤ 2.5 + log 6: ≤ ~4 roundings at magnitude ≤ 4.3 each side, so
  // ≤ 8u·4.3 ≈ 2e-6 worst case; the bound. (The former 1e-6 was below that.) The filtered log-prob differs by ≥ 0.1.
  auto full = torch::log_softmax(torch::tensor(std::vector<float>(raw.begin(), raw.end())) / 0.8, 0);
  const double lp_tol = 8 * test::kU32 * (2.0 / 0.8 + std::log(6.0));
  for (int i = 0; i < 50; ++i) EXPECT_NEAR(out[i].logprobs[0], full[out[i].ids[0]].item<float>(), lp_tol);
}

/// Upper-tail chi-square critical value at probability 5e-5 (z = 3.8906), Wilson–Hilferty approximation
/// (within ~1 % of the exact value for df >= 3).
double chi2_critical_5e5(int df) {
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + 3.8906 * std::sqrt(a), 3);
}

TEST(Sampler, CpuSamplerMatchesFilteredProbsForEveryFilter) {
  // 50 logits, 20,000 rows sampled at once; for each filter setting the empirical frequencies must fit
  // filtered_probs() (chi-square, false-failure rate 5e-5 per setting; fixed seed, so deterministic) and no
  // filtered-out token may ever be drawn.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  auto row = torch::randn({50}, gen) * 2.0;
  const int64_t n = 20000;
  auto logits = row.unsqueeze(0).expand({n, 50}).contiguous();
  struct Case { double T; int top_k; double top_p; double min_p; };
  for (const Case c : {Case{1.0, 0, 1.0, 0.0}, Case{0.7, 5, 1.0, 0.0}, Case{1.0, 0, 0.8, 0.0},
                       Case{1.3, 0, 1.0, 0.05}, Case{0.9, 12, 0.9, 0.02}}) {
    SamplingParams sp;
    sp.temperature = c.T;
    sp.top_k = c.top_k;
    sp.top_p = c.top_p;
    sp.min_p = c.min_p;
    auto expected = filtered_probs(row.unsqueeze(0), sp)[0];
    auto out = sample_tokens(logits, sp, at::make_generator<at::CPUGeneratorImpl>(99));
    auto counts = torch::bincount(out.tokens, {}, 50).to(torch::kFloat64);
    double chi2 = 0;
    int kept = 0;
    for (int64_t i = 0; i < 50; ++i) {
      const double e = expected[i].item<double>() * n, got = counts[i].item<double>();
      if (e == 0) {
        EXPECT_EQ(got, 0) << "token " << i << " is filtered out but was drawn (T " << c.T << ", top_k " << c.top_k
                          << ", top_p " << c.top_p << ", min_p " << c.min_p << ")";
        continue;
      }
      ++kept;
      chi2 += (got - e) * (got - e) / e;
    }
    ASSERT_GE(kept, 3);
    EXPECT_LT(chi2, chi2_critical_5e5(kept - 1)) << "df " << kept - 1 << " (T " << c.T << ", top_k " << c.top_k
                                                 << ", top_p " << c.top_p << ", min_p " << c.min_p << ")";
    // Log-probs: the full-vocabulary log-softmax at T. Float32, the argument of SampledFrequenciesMatchFilteredSoftmax
    // at this row's scale: ≤ 8u·(max|x|/T + log 50) worst case — |x| ≤ ~6 here, so ≈ 6e-6 at T = 0.7 (the former
    // 1e-6 was ~2 roundings at that magnitude, below the worst case).
    auto full = torch::log_softmax(row / c.T, 0);
    const double x_max = row.abs().max().item<double>() / c.T;
    EXPECT_TRUE(test::within(test::max_abs_diff(out.logprobs, full.index_select(0, out.tokens)),
                             8 * test::kU32 * (x_max + std::log(50.0))))
        << "T " << c.T;
  }
}

TEST(Sampler, CpuSamplerDoesNotDependOnTheThreadCount) {
  auto logits = torch::randn({64, 1000}, at::make_generator<at::CPUGeneratorImpl>(3));
  SamplingParams sp;
  sp.temperature = 0.8;
  sp.top_p = 0.95;
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = sample_tokens(logits, sp, at::make_generator<at::CPUGeneratorImpl>(5)).tokens;
  at::set_num_threads(2);
  auto two = sample_tokens(logits, sp, at::make_generator<at::CPUGeneratorImpl>(5)).tokens;
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));  // exact: the same draws, whatever the thread split
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  auto logits = torch::tensor({{3.0f, 2.9f, 0.0f, -5.0f}});
  SamplingParams sp;
  sp.temperature = 1.0;
  sp.min_p = 0.1;
  auto p = filtered_probs(logits, sp);
  // Relative to p_max: token 1 e^-0.1 = 0.90 (kept), token 2 e^-3 = 0.050 and token 3 e^-8 (dropped).
  EXPECT_GT(p[0][1].item<float>(), 0.0f);
  EXPECT_EQ(p[0][2].item<float>(), 0.0f);
  EXPECT_EQ(p[0][3].item<float>(), 0.0f);
  // Float32: 2 kept probabilities, each one divide by their sum (one rounding), then a 4-term sum of which 2 are
  // exact zeros: ≤ ~4 roundings at magnitude ≤ 1, 4u ≈ 2.4e-7; bound 1e-6 (≈ 17u). A missing renormalisation
  // after min_p is off by ≥ 5e-2.
  EXPECT_NEAR(p.sum().item<float>(), 1.0f, 1e-6);
}

}  // namespace
}  // namespace r1kit::rollout
