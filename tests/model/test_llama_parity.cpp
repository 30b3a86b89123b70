// Logits parity with transformers on tiny random Llama / Qwen2 checkpoints (golden values from
// scripts/fixtures_models.py), KV-cache decoding equal to full recomputation, save/reload round trip.
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/causal_lm.h"
#include "model/llama.h"
#include "model/safetensors.h"
#include "model_test_util.h"

namespace r1kit::model {
namespace {

using test::fixtures;
using test::max_abs_diff;
using test::max_rel_diff;

/// Bound on |logits − reference| / max|reference| for two float32 forwards of a fixture model that differ only in
/// kernels and summation order (transformers on the fixture generator's machine vs r1kit here; cached decode vs a
/// full recompute). Argument (tests/error_model.h): longest reduction K = max(hidden, intermediate) = 64–160
/// terms, so the typical error is 2·sqrt(K)·u ≈ 2·12.6·6e-8 ≈ 1.5e-6 of the logits' scale (max|logits| 0.44–0.82)
/// at K = 160; the worst case (8L + 2)·K·u ≈ 1.7e-4 (L = 2). Bound 5× typical ≈ 7.5e-6. (It was an absolute 1e-4,
/// ≈ 1.2–2.3e-4 of these logits' scale: above the worst case.)
double logit_tolerance(const CausalLM& m) {
  const auto& c = m.config();
  return 5 * test::fp32_decoder_typical(std::max(c.hidden_size, c.intermediate_size));
}

class TinyModelParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyModelParity, LogitsMatchTransformers) {
  const std::string name = GetParam();
  auto model = load_pretrained(fixtures() / "models" / name);
  SafetensorsFile golden(fixtures() / "models" / (name + ".golden.safetensors"));
  auto ids = golden.get("input_ids"), pos = golden.get("position_ids"), mask = golden.get("attention_mask");
  auto expected = golden.get("logits");  // [B,T,V]
  torch::NoGradGuard ng;
  auto logits = model->forward(ids, pos, mask);
  ASSERT_EQ(logits.sizes(), expected.sizes());
  ASSERT_EQ(logits.scalar_type(), torch::kFloat32);
  auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(logits);  // padded positions are don't-care
  const double diff = max_rel_diff(logits.masked_select(real), expected.masked_select(real));
  EXPECT_TRUE(test::within(diff, logit_tolerance(*model))) << name;  // relative to max|logits|; see logit_tolerance
  std::printf("%s: max |logits - transformers| / max |logits| = %.3g over %lld values\n", name.c_str(), diff,
              static_cast<long long>(real.sum().item<int64_t>()));
  // The full-length row also matches without any mask (plain causal path); same argument.
  auto row0 = model->forward(ids.narrow(0, 0, 1), pos.narrow(0, 0, 1));
  EXPECT_TRUE(test::within(max_rel_diff(row0, expected.narrow(0, 0, 1)), logit_tolerance(*model))) << name;
}

TEST_P(TinyModelParity, CachedDecodeEqualsFullRecompute) {
  const std::string name = GetParam();
  auto model = load_pretrained(fixtures() / "models" / name);
  SafetensorsFile golden(fixtures() / "models" / (name + ".golden.safetensors"));
  auto ids = golden.get("input_ids"), pos = golden.get("position_ids"), mask = golden.get("attention_mask");
  torch::NoGradGuard ng;
  auto full = model->forward(ids, pos, mask);  // [B,T,V]
  const int64_t B = ids.size(0), T = ids.size(1), prefill = 5;
  auto cache = model->make_cache(B, T);
  auto first = model->forward(ids.narrow(1, 0, prefill), pos.narrow(1, 0, prefill), mask.narrow(1, 0, prefill),
                              cache.get());
  auto real = mask.to(torch::kBool);
  double worst = 0;
  for (int64_t t = 0; t < prefill; ++t)
    for (int64_t b = 0; b < B; ++b)
      if (real[b][t].item<bool>()) worst = std::max(worst, max_abs_diff(first[b][t], full[b][t]));
  for (int64_t t = prefill; t < T; ++t) {
    auto step = model->forward(ids.narrow(1, t, 1), pos.narrow(1, t, 1), mask.narrow(1, 0, t + 1), cache.get());
    for (int64_t b = 0; b < B; ++b) worst = std::max(worst, max_abs_diff(step[b][0], full[b][t]));
  }
  EXPECT_EQ(cache->length(), T);
  // One-row decode steps and the [B,T] recompute take other GEMM kernels (other summation orders) and attend over
  // the cache instead of a masked [T,T] score matrix: the same float32 argument as against transformers.
  const double scale = full.masked_select(real.unsqueeze(-1).expand_as(full)).abs().max().item<double>();
  EXPECT_TRUE(test::within(worst / scale, logit_tolerance(*model))) << name;
}

TEST_P(TinyModelParity, SaveReloadIsBitIdentical) {
  const std::string name = GetParam();
  auto model = load_pretrained(fixtures() / "models" / name);
  test::TempDir tmp("save_" + name);
  save_pretrained(*model, tmp.path / "out");
  auto again = load_pretrained(tmp.path / "out");
  auto a = model->hf_state(), b = again->hf_state();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;  // exact: bytes written and read back
  }
  EXPECT_EQ(again->tied_embeddings(), model->tied_embeddings());
  EXPECT_TRUE(std::filesystem::exists(tmp.path / "out" / "generation_config.json"));
  // Saving over an existing directory replaces it, leaving no temporary siblings behind.
  save_pretrained(*again, tmp.path / "out");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path)) { (void)e; ++entries; }
  EXPECT_EQ(entries, 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TinyModelParity,
                         ::testing::Values("tiny_llama", "tiny_llama3_rope", "tiny_qwen2", "tiny_qwen2_tied"));

TEST(TinyModel, TransformersLoadsOurSaveOutput) {
  // scripts/fixtures_models.py --r1kit BIN re-saves each fixture with `r1kit convert hf` and loads the result in
  // transformers; its measured logit differences are committed in roundtrip.json.
  auto j = nlohmann::json::parse(r1kit::read_file(fixtures() / "models" / "roundtrip.json"));
  ASSERT_EQ(j["results"].size(), 4u);
  for (auto& [name, r] : j["results"].items()) {
    EXPECT_TRUE(r["loaded"].get<bool>()) << name;
    // Exact: transformers loads bitwise-identical weights (SaveReloadIsBitIdentical) and runs the same inputs
    // through the same kernels in the same process, so the logits must be identical.
    EXPECT_EQ(r["max_abs_logit_diff"].get<double>(), 0.0) << name;
  }
}

}  // namespace
}  // namespace r1kit::model
