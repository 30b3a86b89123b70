// RolloutEngine with the tiny DeepSeek-V3 policy (latent KV cache, absorbed MLA decode, MoE): greedy generation
// over a padded batch equals step-by-step full recomputation without a cache.
#include <gtest/gtest.h>

#include "error_model.h"
#include "model/causal_lm.h"
#include "rollout/engine.h"

namespace r1kit::rollout {
namespace {

TEST(EngineDeepseekV3, GreedyWithLatentCacheEqualsFullRecompute) {
  auto m = model::load_pretrained(std::filesystem::path(R1KIT_FIXTURES_DIR) / "deepseek_v3" / "tiny_v3_a");
  torch::NoGradGuard ng;
  const std::vector<std::vector<int64_t>> prompts{{5, 9, 13, 2, 7, 1, 4}, {17}, {3, 3, 8, 21}};
  RolloutEngine engine(m, nullptr, RolloutOptions{.max_batch_rows = 4, .kv_cache_tokens = 4096,
                                                  .compact_fraction = 0.25});
  SamplingParams sp;
  sp.temperature = 0;
  sp.n = 2;
  sp.max_new_tokens = 8;
  auto out = engine.generate(prompts, sp);
  ASSERT_EQ(out.size(), 6u);
  for (size_t p = 0; p < prompts.size(); ++p) {
    // Greedy the slow way: a full forward over the whole sequence at every step, no cache.
    std::vector<int64_t> seq = prompts[p];
    std::vector<int64_t> expect;
    std::vector<float> lps;
    double x_max = 0;
    for (int s = 0; s < 8; ++s) {
      auto ids = torch::tensor(seq, torch::kInt64).view({1, -1});
      auto logits = m->forward(ids, torch::arange(ids.size(1)).view({1, -1}))[0][-1];
      const int64_t t = logits.argmax().item<int64_t>();
      lps.push_back(torch::log_softmax(logits, 0)[t].item<float>());
      x_max = std::max(x_max, logits.abs().max().item<double>());
      expect.push_back(t);
      seq.push_back(t);
    }
    // Float32, latent cache + absorbed MLA decode vs plain full recompute: the same sums in other orders. Logits
    // differ by ≤ 5× the typical decoder error 2·sqrt(K)·u of max|logits| (tests/error_model.h; K = 48 here:
    // ≈ 4.1e-6 relative, the bound of tests/model/test_deepseek_v3.cpp); a log-prob at T = 1 by at most twice
    // that, plus lse's rounding (≤ 8u·(x_max + log V)): ≈ 4e-5 at |x| ≈ 4 (the former 1e-4 was 2.5× that).
    const auto& cfg = m->config();
    const double tol = 2 * 5 * test::fp32_decoder_typical(std::max(cfg.hidden_size, cfg.intermediate_size)) * x_max +
                       8 * test::kU32 * (x_max + std::log(static_cast<double>(cfg.vocab_size)));
    for (const auto& c : out) {
      if (c.prompt_index != p) continue;
      EXPECT_EQ(c.ids, expect) << "prompt " << p << " sample " << c.sample_index;
      ASSERT_EQ(c.logprobs.size(), lps.size());
      for (size_t i = 0; i < lps.size(); ++i) EXPECT_NEAR(c.logprobs[i], lps[i], tol);
    }
  }
}

}  // namespace
}  // namespace r1kit::rollout
