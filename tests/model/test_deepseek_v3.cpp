// DeepseekV3ForCausalLM against transformers 5.24 (scripts/fixtures_deepseek_v3.py): prefill and cached-decode
// logits, absorbed vs plain MLA, YaRN scales, checkpoint round trip, MTP skipping, FP8 block dequantisation.
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/causal_lm.h"
#include "model/deepseek_v3.h"
#include "model/deepseek_v3_checkpoint.h"
#include "model/safetensors.h"
#include "model/yarn_rope.h"
#include "model_test_util.h"

namespace r1kit::model {
namespace {

using test::fixtures;
using test::max_abs_diff;
using test::max_rel_diff;
using test::TempDir;

/// Bound on |logits − reference| / max|reference| for float32 forwards of the tiny DeepSeek-V3 fixtures that differ
/// only in kernels and summation order (transformers on the fixture generator's machine; absorbed vs plain MLA;
/// cached decode). Argument (tests/error_model.h): longest reduction K = 48 (the dense MLP; hidden 32,
/// kv_lora_rank 16, experts 8 wide), logits |x| ≤ 4.1: typical error 2·sqrt(K)·u ≈ 8.3e-7 of their scale, worst
/// (8L + 2)·K·u ≈ 7.4e-5 (L = 3); bound 5× typical ≈ 4.1e-6 (≈ 1.7e-5 absolute at |x| = 4.1; the former absolute
/// 1e-4 was 2.4e-5 relative, 30× typical). The top-k expert choice is discontinuous, but a rounding-size change
/// cannot flip it unless two biased scores lie within ~1e-7 of each other, and a flip would show as an O(0.1)
/// difference, not as drift.
double logit_tolerance(const ModelConfig& c) {
  return 5 * test::fp32_decoder_typical(std::max(c.hidden_size, c.intermediate_size));
}

std::filesystem::path v3_dir(const std::string& name) { return fixtures() / "deepseek_v3" / name; }

struct Golden {
  torch::Tensor ids, pos, mask, logits, decode_tokens, decode_logits;
};

Golden load_golden(const std::string& name) {
  SafetensorsFile f(fixtures() / "deepseek_v3" / (name + ".golden.safetensors"));
  return {f.get("input_ids"), f.get("position_ids"), f.get("attention_mask"), f.get("logits"),
          f.get("decode_tokens"), f.get("decode_logits")};
}

std::shared_ptr<DeepseekV3ForCausalLM> load_v3(const std::string& name) {
  auto m = std::dynamic_pointer_cast<DeepseekV3ForCausalLM>(load_pretrained(v3_dir(name)));
  EXPECT_TRUE(m != nullptr);
  return m;
}

class DeepseekV3Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(DeepseekV3Parity, PrefillLogitsMatchTransformers) {
  auto m = load_v3(GetParam());
  Golden g = load_golden(GetParam());
  torch::NoGradGuard ng;
  auto logits = m->forward(g.ids, g.pos, g.mask);
  ASSERT_EQ(logits.sizes(), g.logits.sizes());
  // Left-padded positions of row 1 are garbage in both implementations; compare real tokens only.
  auto real = g.mask.to(torch::kBool).unsqueeze(-1).expand_as(logits);
  const double d = max_rel_diff(logits.masked_select(real), g.logits.masked_select(real));
  EXPECT_TRUE(test::within(d, logit_tolerance(m->config()))) << GetParam();  // relative; see logit_tolerance
}

TEST_P(DeepseekV3Parity, CachedDecodeMatchesTransformersInEveryForm) {
  auto m = load_v3(GetParam());
  Golden g = load_golden(GetParam());
  torch::NoGradGuard ng;
  const int64_t B = g.ids.size(0), T = g.ids.size(1), K = g.decode_tokens.size(1);
  for (MlaForm form : {MlaForm::kAuto, MlaForm::kPlain, MlaForm::kAbsorbed}) {
    m->set_attention_form(form);
    auto cache = m->make_cache(B, T + K);
    auto pre = m->forward(g.ids, g.pos, g.mask, cache.get());
    EXPECT_TRUE(test::within(max_rel_diff(pre.select(1, T - 1), g.logits.select(1, T - 1)),
                             logit_tolerance(m->config())));
    auto mask = g.mask;
    auto pos = g.pos.narrow(1, T - 1, 1);
    double worst = 0;
    for (int64_t k = 0; k < K; ++k) {
      mask = torch::cat({mask, torch::ones({B, 1}, torch::kInt64)}, 1);
      pos = pos + 1;
      auto step = m->forward(g.decode_tokens.narrow(1, k, 1), pos, mask, cache.get());  // [B,1,V]
      worst = std::max(worst, max_rel_diff(step.select(1, 0), g.decode_logits.select(1, k)));
    }
    EXPECT_EQ(cache->length(), T + K);
    EXPECT_TRUE(test::within(worst, logit_tolerance(m->config()))) << GetParam() << " form " << static_cast<int>(form);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DeepseekV3Parity, ::testing::Values("tiny_v3_a", "tiny_v3_b", "tiny_v3_fp8"));

TEST(DeepseekV3, AbsorbedMlaEqualsPlainForm) {
  auto m = load_v3("tiny_v3_a");
  Golden g = load_golden("tiny_v3_a");
  torch::NoGradGuard ng;
  m->set_attention_form(MlaForm::kPlain);
  auto plain = m->forward(g.ids, g.pos, g.mask);
  auto plain_causal = m->forward(g.ids.narrow(0, 0, 1), g.pos.narrow(0, 0, 1));  // no mask: causal path
  m->set_attention_form(MlaForm::kAbsorbed);
  auto absorbed = m->forward(g.ids, g.pos, g.mask);
  auto absorbed_causal = m->forward(g.ids.narrow(0, 0, 1), g.pos.narrow(0, 0, 1));
  // The absorbed form reassociates q·(W_uk·c) as (q·W_uk)·c and folds W_uv into o_proj: the same sums in another
  // order, so the same float32 argument as against transformers (the former absolute 1e-5 was ≈ 2.5e-6 of the
  // logits' scale, 3× typical).
  EXPECT_TRUE(test::within(max_rel_diff(absorbed, plain), logit_tolerance(m->config())));
  EXPECT_TRUE(test::within(max_rel_diff(absorbed_causal, plain_causal), logit_tolerance(m->config())));
  EXPECT_GT(plain.abs().max().item<double>(), 0.5);  // not trivially equal
  // The latent cache holds kv_lora_rank + qk_rope_head_dim values per token and layer.
  auto cache = m->make_cache(2, 10);
  const auto& c = m->config();
  EXPECT_EQ(cache->bytes(), c.num_hidden_layers * 2 * 10 * (c.kv_lora_rank + c.qk_rope_head_dim) * 4);
}

TEST(DeepseekV3, ConfigFieldsAndYarnScales) {
  const ModelConfig a = ModelConfig::from_file(v3_dir("tiny_v3_a"));
  EXPECT_EQ(a.architecture, "DeepseekV3ForCausalLM");
  EXPECT_EQ(a.q_lora_rank, 16);
  EXPECT_EQ(a.head_dim, a.qk_rope_head_dim);
  EXPECT_TRUE(a.rope_interleave);
  EXPECT_TRUE(a.attention_bias);
  EXPECT_EQ(a.rope_scaling.rope_type, "yarn");
  EXPECT_DOUBLE_EQ(a.rope_scaling.factor, 4.0);  // parsed JSON numbers: exact
  EXPECT_DOUBLE_EQ(a.rope_scaling.mscale, 0.707);
  EXPECT_EQ(a.rope_scaling.original_max_position_embeddings, 32);
  EXPECT_EQ(a.n_group, 4);
  EXPECT_EQ(a.topk_group, 2);
  EXPECT_EQ(a.first_k_dense_replace, 1);
  const auto tables = deepseek_rope_tables(a);
  const double m1 = 0.1 * 0.707 * std::log(4.0) + 1, m2 = 0.1 * std::log(4.0) + 1;
  // float64 closed forms of magnitude ~1, a few operations (log, mul, div; libm ≤ 1 ulp): error ≲ 10·u64 ≈ 1e-15;
  // 1e-12 allows an algebraically equal formula, and is far below any wrong constant (mscale 0.707 vs 1 moves the
  // first by 4e-2).
  EXPECT_NEAR(tables.attention_scaling, m1 / m2, 1e-12);
  EXPECT_NEAR(mla_softmax_scale(a), m2 * m2 / std::sqrt(16.0), 1e-12);
  // The released layout (legacy rope_scaling + rope_theta) parses to the same rope as transformers-5's.
  const ModelConfig f = ModelConfig::from_file(v3_dir("tiny_v3_fp8"));
  EXPECT_EQ(f.rope_scaling.rope_type, "yarn");
  EXPECT_DOUBLE_EQ(f.rope_theta, a.rope_theta);
  EXPECT_TRUE(torch::equal(deepseek_rope_tables(f).inv_freq, tables.inv_freq));  // same inputs, same code: exact
  EXPECT_EQ(f.fp8_weight_block_size, (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(f.num_nextn_predict_layers, 1);
  const ModelConfig b = ModelConfig::from_file(v3_dir("tiny_v3_b"));
  EXPECT_EQ(b.q_lora_rank, 0);
  EXPECT_EQ(b.rope_scaling.rope_type, "default");
  EXPECT_FALSE(b.rope_interleave);
  EXPECT_DOUBLE_EQ(mla_softmax_scale(b), 0.25);  // 1/sqrt(16): exact in binary
  auto mb = load_v3("tiny_v3_b");
  auto attn = mb->model->layers[0]->as<DeepseekV3DecoderLayer>()->self_attn;
  EXPECT_TRUE(attn->q_proj);
  EXPECT_FALSE(attn->q_a_proj);
}

nlohmann::json v3_json() {
  return nlohmann::json::parse(read_file(v3_dir("tiny_v3_b") / "config.json"));
}

template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "";
}

TEST(DeepseekV3, UnsupportedConfigsAreClearErrors) {
  auto j = v3_json();
  j["scoring_func"] = "softmax";
  auto msg = error_of([&] { ModelConfig::from_json(j, "x/config.json"); });
  EXPECT_NE(msg.find("scoring_func"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sigmoid"), std::string::npos) << msg;
  j = v3_json();
  j["topk_method"] = "greedy";
  EXPECT_NE(error_of([&] { ModelConfig::from_json(j, "x"); }).find("noaux_tc"), std::string::npos);
  j = v3_json();
  j["n_group"] = 3;
  EXPECT_NE(error_of([&] { ModelConfig::from_json(j, "x"); }).find("does not divide n_routed_experts"),
            std::string::npos);
  j = v3_json();
  j["num_experts_per_tok"] = 5;  // 1 kept group of 4 experts
  EXPECT_NE(error_of([&] { ModelConfig::from_json(j, "x"); }).find("num_experts_per_tok"), std::string::npos);
  j = v3_json();
  j["rope_parameters"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  EXPECT_NE(error_of([&] { ModelConfig::from_json(j, "x"); }).find("yarn"), std::string::npos);
  j = v3_json();
  j["quantization_config"] = {{"quant_method", "bitsandbytes"}};
  EXPECT_NE(error_of([&] { ModelConfig::from_json(j, "x"); }).find("fp8"), std::string::npos);
  // q_lora_rank 0 means a plain q_proj, as null does.
  j = v3_json();
  j["q_lora_rank"] = 0;
  EXPECT_EQ(ModelConfig::from_json(j, "x").q_lora_rank, 0);
  // Dense models still reject YaRN.
  auto llama = nlohmann::json::parse(read_file(fixtures() / "models" / "tiny_llama" / "config.json"));
  llama["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(error_of([&] { ModelConfig::from_json(llama, "x"); }).find("not supported for dense models"),
            std::string::npos);
}

TEST(DeepseekV3, SaveLoadRoundTrip) {
  for (const char* name : {"tiny_v3_a", "tiny_v3_fp8"}) {
    auto m = load_v3(name);
    Golden g = load_golden(name);
    TempDir tmp("v3_roundtrip");
    save_pretrained(*m, tmp.path / "out");
    const auto saved = nlohmann::json::parse(read_file(tmp.path / "out" / "config.json"));
    EXPECT_EQ(saved["model_type"], "deepseek_v3");
    EXPECT_FALSE(saved.contains("quantization_config")) << name;
    SafetensorsFile st(tmp.path / "out" / "model.safetensors");
    EXPECT_TRUE(st.contains("model.layers.1.mlp.experts.7.down_proj.weight"));
    EXPECT_TRUE(st.contains("model.layers.2.mlp.gate.e_score_correction_bias"));
    EXPECT_TRUE(st.contains("model.layers.0.self_attn.kv_a_proj_with_mqa.weight"));
    EXPECT_EQ(st.info("model.layers.0.self_attn.q_b_proj.weight").dtype, "F32");
    auto again = std::dynamic_pointer_cast<DeepseekV3ForCausalLM>(load_pretrained(tmp.path / "out"));
    ASSERT_TRUE(again);
    auto s1 = m->hf_state(), s2 = again->hf_state();
    ASSERT_EQ(s1.size(), s2.size());
    for (size_t i = 0; i < s1.size(); ++i) {
      EXPECT_EQ(s1[i].first, s2[i].first);
      EXPECT_TRUE(torch::equal(s1[i].second, s2[i].second)) << s1[i].first;  // exact: bytes written and read back
    }
    torch::NoGradGuard ng;
    // Exact: bitwise-identical weights through the same kernels in the same process.
    EXPECT_LE(max_abs_diff(again->forward(g.ids, g.pos, g.mask), m->forward(g.ids, g.pos, g.mask)), 0.0);
  }
}

// Copies a fixture checkpoint into `dir` with extra tensors added.
void copy_with_extra(const std::string& name, const std::filesystem::path& dir, const NamedTensors& extra) {
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(v3_dir(name) / "config.json", dir / "config.json");
  SafetensorsFile src(v3_dir(name) / "model.safetensors");
  NamedTensors all;
  for (const auto& n : src.names()) all.emplace_back(n, src.get(n));
  for (const auto& e : extra) all.push_back(e);
  save_safetensors(dir / "model.safetensors", all);
}

TEST(DeepseekV3, MtpTensorsAreSkippedOtherExtrasAreErrors) {
  // The FP8 fixture carries MTP tensors model.layers.3.* (num_hidden_layers = 3): they load without error.
  CheckpointReader r = CheckpointReader::open(v3_dir("tiny_v3_fp8"));
  EXPECT_TRUE(r.contains("model.layers.3.eh_proj.weight"));
  EXPECT_NO_THROW(load_pretrained(v3_dir("tiny_v3_fp8")));
  const ModelConfig c = ModelConfig::from_file(v3_dir("tiny_v3_b"));
  EXPECT_TRUE(is_mtp_tensor(c, "model.layers.3.enorm.weight"));
  EXPECT_FALSE(is_mtp_tensor(c, "model.layers.2.enorm.weight"));
  EXPECT_FALSE(is_mtp_tensor(c, "model.layers.4.enorm.weight"));
  EXPECT_FALSE(is_mtp_tensor(ModelConfig::from_file(fixtures() / "models" / "tiny_llama"),
                             "model.layers.2.enorm.weight"));

  TempDir tmp("v3_extra");
  copy_with_extra("tiny_v3_b", tmp.path / "mtp", {{"model.layers.3.hnorm.weight", torch::ones({32})}});
  EXPECT_NO_THROW(load_pretrained(tmp.path / "mtp"));
  copy_with_extra("tiny_v3_b", tmp.path / "bad",
                  {{"model.layers.1.mlp.experts.8.up_proj.weight", torch::ones({8, 32})}});
  auto msg = error_of([&] { load_pretrained(tmp.path / "bad"); });
  EXPECT_NE(msg.find("unexpected tensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("experts.8.up_proj"), std::string::npos) << msg;
  copy_with_extra("tiny_v3_b", tmp.path / "far", {{"model.layers.5.hnorm.weight", torch::ones({32})}});
  EXPECT_NE(error_of([&] { load_pretrained(tmp.path / "far"); }).find("model.layers.5.hnorm"), std::string::npos);
}

TEST(DeepseekV3, Fp8BlockDequantisation) {
  // Partial blocks: [5,7] weight, blocks [2,3] -> scales [3,3].
  auto q = (torch::arange(35, torch::kFloat32).view({5, 7}) / 8 - 2).to(torch::kFloat8_e4m3fn);
  auto s = torch::arange(1, 10, torch::kFloat32).view({3, 3});
  auto w = dequantize_fp8_blocks(q, s, 2, 3);
  auto qf = q.to(torch::kFloat32);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 7; ++j)
      // Exact: one correctly rounded float32 multiply on both sides (IEEE, the same on every ISA).
      EXPECT_EQ(w[i][j].item<float>(), qf[i][j].item<float>() * s[i / 2][j / 3].item<float>());
  EXPECT_THROW(dequantize_fp8_blocks(q, torch::ones({2, 3}), 2, 3), CheckpointError);

  // A loaded FP8 weight equals its stored bytes times the block scale.
  SafetensorsFile f(v3_dir("tiny_v3_fp8") / "model.safetensors");
  const std::string name = "model.layers.1.self_attn.kv_b_proj.weight";
  EXPECT_EQ(f.info(name).dtype, "F8_E4M3");
  auto stored = f.get(name);
  EXPECT_EQ(stored.scalar_type(), torch::kFloat8_e4m3fn);
  auto scale = f.get(name + "_scale_inv");
  auto m = load_v3("tiny_v3_fp8");
  auto param = m->model->layers[1]->as<DeepseekV3DecoderLayer>()->self_attn->kv_b_proj->weight;
  EXPECT_TRUE(torch::equal(param, dequantize_fp8_blocks(stored, scale, 16, 16)));  // same function, same bytes: exact
  // FP8 without its scale is an error naming the missing tensor.
  TempDir tmp("v3_fp8");
  std::filesystem::create_directories(tmp.path / "noscale");
  std::filesystem::copy_file(v3_dir("tiny_v3_fp8") / "config.json", tmp.path / "noscale" / "config.json");
  NamedTensors all;
  for (const auto& n : f.names())
    if (n != name + "_scale_inv") all.emplace_back(n, f.get(n));
  save_safetensors(tmp.path / "noscale" / "model.safetensors", all);
  auto msg = error_of([&] { load_pretrained(tmp.path / "noscale"); });
  EXPECT_NE(msg.find(name + "_scale_inv is missing"), std::string::npos) << msg;
}

}  // namespace
}  // namespace r1kit::model
