// The fused CPU decode kernels (model/decode_kernels.h) against the LibTorch ops they replace, one by one, and
// the whole fused decode step against the module path on the fixture models and SmolLM2.
#include "model/decode_kernels.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "core/error.h"
#include "model/causal_lm.h"
#include "model/llama.h"
#include "model/rope.h"
#include "model_test_util.h"

namespace r1kit::model {
namespace {

// Error arguments (tests/error_model.h). The kernels under test are r1kit's own AVX2/FMA code, parallel over rows
// only: their results are the same on every CPU that runs them and for any thread count. The references are ATen
// ops, whose kernels (and summation orders) change with ATEN_CPU_CAPABILITY and the CPU, so each bound covers the
// float32 rounding of both sides, relative to the compared values' scale.

/// Bound on |attention − SDPA| / max|SDPA| for float32 attention of q [R,H,D] over the first S slots of keys
/// [R,H_kv,cap,D] at `scale`. The scores s = q·k·scale are D-term dot products (typical error sqrt(D)·u·max|s|,
/// absolute); softmax turns an absolute score error into the same relative error of the weights, so the output
/// o = Σ p·v (S terms, |o| ≤ max|v|) errs by ~sqrt(D)·u·max|s| relative, plus sqrt(S)·u from its own sum, on each
/// side. Bound 5× that. (The former absolute 2e-6, ≈ 1e-6 of max|o|, was below this typical estimate at D = 128,
/// |s| ≤ ~10.)
double attention_tolerance(const torch::Tensor& q, const torch::Tensor& keys, int64_t S, double scale) {
  const int64_t D = q.size(2);
  auto k = keys.narrow(2, 0, S).repeat_interleave(q.size(1) / keys.size(1), 1);  // [R,H,S,D]: head h reads h / group
  const double s_max = torch::matmul(q.unsqueeze(2), k.transpose(2, 3)).abs().max().item<double>() * scale;
  return 5 * (std::sqrt(static_cast<double>(D)) * s_max + std::sqrt(static_cast<double>(S))) * test::kU32;
}

class DecodeKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!decode::available()) GTEST_SKIP() << "this CPU lacks AVX2/FMA: the fused decode kernels are not used here";
  }
};

TEST_F(DecodeKernels, ExpIsWithinTwoUlpOfLibm) {
  std::vector<float> x;
  for (double v = -87.0; v <= 88.0; v += 0.00731) x.push_back(static_cast<float>(v));
  x.push_back(0.f);
  x.push_back(-0.f);
  x.push_back(1e-8f);
  std::vector<float> y(x.size());
  decode::exp(x.data(), y.data(), static_cast<int64_t>(x.size()));  // size not a multiple of 8: the tail too
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::exp(static_cast<double>(x[i]));
    const double ulp = std::nextafter(static_cast<float>(ref), std::numeric_limits<float>::infinity()) -
                       static_cast<float>(ref);
    worst = std::max(worst, std::abs(y[i] - ref) / ulp);
  }
  EXPECT_LE(worst, 2.0) << "worst error in ulp over " << x.size() << " points";  // the documented accuracy (exact
  // reference: libm in float64, rounded once); the polynomial is r1kit's own, the same on every AVX2 CPU
  float special[3] = {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), -200.f};
  decode::exp(special, special, 3);
  EXPECT_EQ(special[0], 0.f);
  EXPECT_TRUE(std::isnan(special[1]));
  EXPECT_LT(special[2], 1e-37f);  // e^-200 ≈ 1.4e-87 underflows: 0 or a denormal, never garbage
}

TEST_F(DecodeKernels, AddRmsNormMatchesTheModule) {
  torch::manual_seed(1);
  for (int64_t C : {64, 576, 37}) {
    RMSNorm norm(C, 1e-5);
    torch::NoGradGuard ng;
    norm->weight.copy_(torch::randn({C}));
    auto h = torch::randn({5, C}) * 3;
    auto delta = torch::randn({5, C});
    auto expect_h = h + delta;
    auto expect = norm(expect_h);
    auto got = decode::add_rms_norm(h, delta, norm->weight, norm->eps);
    // h + delta: one correctly rounded add on both sides: exact.
    EXPECT_LE(test::max_abs_diff(h, expect_h), 0.0) << "C " << C << ": hidden += delta in place";
    // Float32 y = w·h·rsqrt(mean(h²) + eps): the row's scale factor carries the mean of C squares (~sqrt(C)·u
    // relative, typical; halved by the rsqrt) and ~4 more roundings (rsqrt, two products), on each side; the
    // module's mean is ATen's reduction (order varies with ATEN_CPU_CAPABILITY). Typical relative error
    // (½·sqrt(C) + 4)·u ≈ 1e-6 at C = 576; bound 5× typical, relative to max|y| (≈ 10 here: h ~ 3.2σ, w ~ randn).
    // The former absolute 2e-6 was ≈ 2e-7 of max|y|, ≈ 3 ulp: below the rounding of the ATen side alone.
    const double tol = 5 * (0.5 * test::fp32_sum_typical(static_cast<double>(C)) + 4 * test::kU32);
    EXPECT_TRUE(test::within(test::max_rel_diff(got, expect), tol)) << "C " << C;
    EXPECT_TRUE(test::within(test::max_rel_diff(decode::add_rms_norm(h, {}, norm->weight, norm->eps), expect), tol));
  }
}

TEST_F(DecodeKernels, RopeWritesRotatedKeysAndValuesIntoTheCacheSlot) {
  torch::manual_seed(2);
  const int64_t R = 3, H = 6, Hkv = 2, D = 16, cap = 7, slot = 4;
  auto qkv = torch::randn({R, (H + 2 * Hkv) * D});
  auto inv_freq = 1.0 / torch::pow(10000.0, torch::arange(0, D, 2).to(torch::kFloat32) / D);
  auto positions = torch::tensor({3, 11, 0}, torch::kInt64).view({R, 1});
  auto [cos, sin] = rope_cos_sin(inv_freq, positions, torch::kFloat32);  // [R,1,D]
  auto keys = torch::zeros({R, Hkv, cap, D}), values = torch::zeros({R, Hkv, cap, D});
  auto q = decode::rope_into_cache(qkv, cos.view({R, D}), sin.view({R, D}), H, Hkv, keys, values, slot);
  auto as_heads = [&](int64_t from, int64_t n) { return qkv.narrow(1, from * D, n * D).view({R, 1, n, D}).transpose(1, 2); };
  auto expect_q = apply_rope(as_heads(0, H), cos, sin).squeeze(2);          // [R,H,D]
  auto expect_k = apply_rope(as_heads(H, Hkv), cos, sin).squeeze(2);        // [R,Hkv,D]
  auto expect_v = as_heads(H + Hkv, Hkv).squeeze(2);
  // x·cos + rotate_half(x)·sin: two products and a sum per element on each side (an FMA may fuse two of them),
  // on the same cos/sin tables: ≤ 3 roundings of ≤ max|x| each side, so |error| ≤ 6u·max|x| worst; bound 6u,
  // relative to max|expected| (≈ max|x|: a rotation keeps norms). A wrong pairing (interleaved vs halves) is O(1).
  EXPECT_TRUE(test::within(test::max_rel_diff(q, expect_q), 6 * test::kU32));
  EXPECT_TRUE(test::within(test::max_rel_diff(keys.select(2, slot), expect_k), 6 * test::kU32));
  EXPECT_LE(test::max_abs_diff(values.select(2, slot), expect_v), 0.0);  // values are copied: exact
  // Nothing else in the cache was touched.
  EXPECT_EQ(keys.abs().sum(2).count_nonzero().item<int64_t>(), keys.select(2, slot).count_nonzero().item<int64_t>());
  EXPECT_EQ(values.narrow(2, 0, slot).count_nonzero().item<int64_t>(), 0);
}

TEST_F(DecodeKernels, AttentionMatchesSdpaWithGroupedHeadsAndPadding) {
  torch::manual_seed(3);
  // (H, H_kv, D): one head per kv head, 3 per kv head (SmolLM2), 8 and 5 per kv head (two head blocks, a partial
  // one), and head dims 8 / 24 (a last 8-wide column block) / 64 / 128.
  const std::vector<std::array<int64_t, 3>> shapes{{4, 4, 8}, {9, 3, 64}, {8, 1, 24}, {10, 2, 128}, {6, 2, 16}};
  for (const auto& [H, Hkv, D] : shapes) {
    const int64_t R = 4, cap = 41, S = 37;
    auto q = torch::randn({R, H, D});
    auto keys = torch::randn({R, Hkv, cap, D}) * 2, values = torch::randn({R, Hkv, cap, D});
    // Row r is left-padded by 5·r slots; row 3 also has a hole; a wider mask narrowed to S (strided rows).
    auto wide = torch::ones({R, cap + 3}, torch::kBool);
    for (int64_t r = 0; r < R; ++r) wide[r].narrow(0, 0, 5 * r).fill_(false);
    wide[3][30] = false;
    auto valid = wide.narrow(1, 0, S);
    wide[2][S - 1] = false;  // the query's own slot is attended whatever the mask says
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    auto got = decode::attention(q, keys, values, S, valid, scale);  // [R,H*D]
    auto allowed = valid.clone();
    allowed.select(1, S - 1).fill_(true);
    auto expect = at::scaled_dot_product_attention(q.unsqueeze(2), keys.narrow(2, 0, S), values.narrow(2, 0, S),
                                                   allowed.view({R, 1, 1, S}), 0.0, false, scale,
                                                   /*enable_gqa=*/H != Hkv);  // [R,H,1,D]
    // Float32 on both sides (ATen's SDPA: its own blocking and exp): see attention_tolerance.
    const double tol = attention_tolerance(q, keys, S, scale);
    EXPECT_TRUE(test::within(test::max_rel_diff(got, expect.reshape({R, H * D})), tol))
        << "H " << H << " H_kv " << Hkv << " D " << D;
    auto unmasked = decode::attention(q, keys, values, S, {}, scale);
    auto expect_all = at::scaled_dot_product_attention(q.unsqueeze(2), keys.narrow(2, 0, S), values.narrow(2, 0, S),
                                                       {}, 0.0, false, scale, H != Hkv);
    EXPECT_TRUE(test::within(test::max_rel_diff(unmasked, expect_all.reshape({R, H * D})), tol));
  }
}

TEST_F(DecodeKernels, SharedPrefixGivesTheSameAttention) {
  // Rows 0–2 (one prompt's samples) and rows 4–5 share their first 12 slots; row 3 is alone. Row 5's mask differs
  // from row 4's inside the shared slots, so the kernel must treat it alone. Results must not change.
  torch::manual_seed(6);
  const int64_t R = 6, H = 9, Hkv = 3, D = 64, cap = 30, S = 21, shared_len = 12;
  auto keys = torch::randn({R, Hkv, cap, D}), values = torch::randn({R, Hkv, cap, D});
  for (int64_t r : {1, 2}) {
    keys[r].narrow(1, 0, shared_len).copy_(keys[0].narrow(1, 0, shared_len));
    values[r].narrow(1, 0, shared_len).copy_(values[0].narrow(1, 0, shared_len));
  }
  keys[5].narrow(1, 0, shared_len).copy_(keys[4].narrow(1, 0, shared_len));
  values[5].narrow(1, 0, shared_len).copy_(values[4].narrow(1, 0, shared_len));
  auto valid = torch::ones({R, S}, torch::kBool);
  for (int64_t r : {0, 1, 2}) valid[r].narrow(0, 0, 4).fill_(false);  // the prompt's left padding
  valid[1][15] = false;                                               // a row-specific slot after the prefix
  valid[5][2] = false;                                                // differs inside the "shared" slots
  auto q = torch::randn({R, H, D});
  const double scale = 0.125;
  auto plain = decode::attention(q, keys, values, S, valid, scale);
  auto grouped = decode::attention(q, keys, values, S, valid, scale, {{7, 7, 7, 8, 9, 9}, shared_len});
  // Both are r1kit's kernel (the same on every AVX2 CPU, any thread count); grouping changes only which loop reads
  // the shared slots, so at most the S-term softmax and value sums are split differently: ≲ sqrt(S)·u relative
  // typical; bound 5× that, relative to max|o|.
  EXPECT_TRUE(test::within(test::max_rel_diff(grouped, plain), 5 * test::fp32_sum_typical(static_cast<double>(S))));
  auto allowed = valid.clone();
  allowed.select(1, S - 1).fill_(true);
  auto expect = at::scaled_dot_product_attention(q.unsqueeze(2), keys.narrow(2, 0, S), values.narrow(2, 0, S),
                                                 allowed.view({R, 1, 1, S}), 0.0, false, scale, true);
  // Against ATen's SDPA: see attention_tolerance.
  const double tol = attention_tolerance(q, keys, S, scale);
  EXPECT_TRUE(test::within(test::max_rel_diff(grouped, expect.reshape({R, H * D})), tol));
  // A wrong number of group ids is an error, not a silent misread.
  EXPECT_THROW(decode::attention(q, keys, values, S, valid, scale, {{0, 0}, shared_len}), InvalidArgument);
}

TEST_F(DecodeKernels, KvCacheCopiesPrefillRowsAndKeepsGroupsThroughCompaction) {
  KVCache one(2, 1, 3, 5, 8, torch::kFloat32, torch::kCPU);
  auto k = torch::randn({1, 3, 5, 8}), v = torch::randn({1, 3, 5, 8});
  one.update(0, k, v);
  one.update(1, k * 2, v * 2);
  one.advance(5);
  KVCache batch(2, 6, 3, 9, 8, torch::kFloat32, torch::kCPU);
  batch.copy_rows_from(one, 0, 2, 3, 4);  // rows 2..4, slots 4..8
  auto [keys1, values1] = batch.buffers(1);
  for (int64_t r : {2, 3, 4}) {
    EXPECT_LE(test::max_abs_diff(keys1[r].narrow(1, 4, 5), k[0] * 2), 0.0);  // copies (×2 is exact): exact
    EXPECT_LE(test::max_abs_diff(values1[r].narrow(1, 4, 5), v[0] * 2), 0.0);
  }
  EXPECT_EQ(keys1[1].count_nonzero().item<int64_t>(), 0);
  EXPECT_EQ(keys1[2].narrow(1, 0, 4).count_nonzero().item<int64_t>(), 0);
  EXPECT_THROW(batch.copy_rows_from(one, 0, 4, 3, 0), InvalidArgument);  // rows past the batch
  EXPECT_THROW(batch.copy_rows_from(one, 0, 0, 1, 5), InvalidArgument);  // slots past the capacity
  batch.set_shared_prefix({0, 0, 1, 1, 1, 2}, 4);
  batch.select_rows(torch::tensor({1, 3, 4, 5}, torch::kInt64));
  EXPECT_EQ(batch.shared_group(), (std::vector<int64_t>{0, 1, 1, 2}));
  EXPECT_EQ(batch.shared_length(), 4);
  EXPECT_THROW(batch.set_shared_prefix({0, 1}, 4), InvalidArgument);
  batch.reset();
  EXPECT_TRUE(batch.shared_group().empty());
}

TEST_F(DecodeKernels, SiluMulMatchesTorch) {
  torch::manual_seed(4);
  for (int64_t I : {1536, 21}) {
    auto gate_up = torch::randn({6, 2 * I}) * 6;
    gate_up[0][0] = -120.f;  // e^120 overflows float: silu must still be ≈ 0
    auto expect = torch::silu(gate_up.narrow(1, 0, I)) * gate_up.narrow(1, I, I);
    // Elementwise float32: silu(a)·b = a / (1 + e^(−a)) · b, ≤ ~5 roundings each side (exp ≤ 2 ulp here; ATen's
    // vectorised or scalar exp ≤ 1 ulp): ≤ ~8u of each |y|; bound 8u relative to max|y|. (|a|, |b| reach ~25
    // here, |y| a few hundred: the former absolute 1e-5 is below one ulp of any |y| ≥ 128, i.e. it demanded
    // bit-equality of the largest values, which another exp or FMA contraction does not give.)
    EXPECT_TRUE(test::within(test::max_rel_diff(decode::silu_mul(gate_up), expect), 8 * test::kU32)) << "I " << I;
  }
}

TEST_F(DecodeKernels, BadShapesAreClearErrors) {
  auto q = torch::zeros({2, 4, 12});
  auto cache = torch::zeros({2, 2, 8, 12});
  EXPECT_THROW(decode::attention(q, cache, cache, 4, {}, 1.0), InvalidArgument);  // D not a multiple of 8
  auto q8 = torch::zeros({2, 4, 8});
  auto cache8 = torch::zeros({2, 2, 8, 8});
  EXPECT_THROW(decode::attention(q8, cache8, cache8, 9, {}, 1.0), InvalidArgument);  // S > capacity
  EXPECT_THROW(decode::silu_mul(torch::zeros({2, 3})), InvalidArgument);
  auto h = torch::zeros({2, 8}, torch::kFloat64);
  EXPECT_THROW(decode::add_rms_norm(h, {}, torch::ones({8}), 1e-6), InvalidArgument);
}

/// How far the fused decode step and the module path (both float32) are from the same model run in float64.
struct DecodeErrors {
  double fused = 0;   // max |fused fp32 - module fp64| over all steps, rows and channels
  double module = 0;  // max |module fp32 - module fp64|
  double between = 0; // max |fused fp32 - module fp32|
  double scale = 0;   // max |module fp64|: the hidden states' magnitude
};

/// Prefill a left-padded batch, then decode `steps` tokens per row three ways on three caches — the fused step
/// (float32), the module path (float32) and the module path on a float64 copy of the weights (`exact`, the
/// reference) — feeding all three the reference's next tokens. Returns the largest differences of the final hidden
/// states (before the last norm) over all steps.
DecodeErrors fused_vs_module(LlamaForCausalLM& m, LlamaForCausalLM& exact, InferenceGemm gemm, int steps) {
  torch::NoGradGuard ng;
  const std::vector<std::vector<int64_t>> prompts{{5, 9, 13, 2, 7, 1, 4}, {17}, {3, 3, 8, 21}};
  const int64_t B = static_cast<int64_t>(prompts.size()), L = 7, cap = L + steps;
  auto ids = torch::zeros({B, L}, torch::kInt64), mask = torch::zeros({B, L}, torch::kInt64);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(prompts[b].size());
    ids[b].narrow(0, L - n, n).copy_(torch::tensor(prompts[b], torch::kInt64));
    mask[b].narrow(0, L - n, n).fill_(1);
  }
  auto positions = (mask.cumsum(1) - 1).clamp_min(0);
  InferenceScope scope(m, InferenceOptions{gemm, B});
  auto fused_cache = m.make_cache(B, cap), module_cache = m.make_cache(B, cap), exact_cache = exact.make_cache(B, cap);
  m.hidden_states(ids, positions, mask, fused_cache.get());
  m.hidden_states(ids, positions, mask, module_cache.get());
  exact.hidden_states(ids, positions, mask, exact_cache.get());
  auto attn = torch::zeros({B, cap}, torch::kBool);
  attn.narrow(1, 0, L).copy_(mask.to(torch::kBool));
  auto next_pos = positions.select(1, L - 1).view({B, 1}) + 1;
  auto tokens = torch::tensor({11, 12, 13}, torch::kInt64).view({B, 1});
  DecodeErrors e;
  for (int s = 0; s < steps; ++s) {
    attn.select(1, L + s).fill_(true);
    auto valid = attn.narrow(1, 0, L + s + 1);
    EXPECT_TRUE(m.uses_fused_decode(tokens, valid, fused_cache.get()));
    auto fused = m.hidden_states(tokens, next_pos, valid, fused_cache.get());
    m.fused_decode = false;
    auto plain = m.hidden_states(tokens, next_pos, valid, module_cache.get());
    m.fused_decode = true;
    auto ref = exact.hidden_states(tokens, next_pos, valid, exact_cache.get());
    e.fused = std::max(e.fused, test::max_abs_diff(fused, ref));
    e.module = std::max(e.module, test::max_abs_diff(plain, ref));
    e.between = std::max(e.between, test::max_abs_diff(fused, plain));
    e.scale = std::max(e.scale, ref.abs().max().item<double>());
    tokens = (exact.logits(ref.select(1, 0)).argmax(-1) % 50).view({B, 1});  // the same next tokens for all three
    next_pos = next_pos + 1;
  }
  return e;
}

/// The fused step reorders the float32 sums of the module path (packed GEMM blocking, its own exp within 2 ulp,
/// one-pass softmax) but adds no approximation of its own, so both float32 paths are the same kind of rounding
/// sequence, of the same length, applied to the same float64 computation. Their distances to float64 therefore have
/// the same order — whatever the CPU's kernels, summation orders or the model's conditioning — and the test bounds
/// the fused path's error by the module path's own: at most 4x it (two independent rounding sequences differ by a
/// factor of ~1–2 in their maxima; 4 leaves room for the exp's extra ulp) plus a floor of 64 ulp of the largest
/// value (a layer's GEMMs accumulate K ≤ 1536 terms: sqrt(K)·u ≈ 40 u relative even when the module path happens
/// to round almost exactly). A real fault (a wrong cache slot, position, mask or head) is an O(1) relative error,
/// ~10^5 times these bounds.
void expect_fused_within_module_error(const DecodeErrors& e, const std::string& what) {
  constexpr double u = 5.96e-8;  // float32 unit roundoff, 2^-24
  const double bound = 4.0 * e.module + 64.0 * u * e.scale;
  EXPECT_LE(e.fused, bound) << what << ": fused fp32 vs fp64 " << e.fused << ", module fp32 vs fp64 " << e.module
                            << ", fused vs module " << e.between << ", max |h| " << e.scale;
  EXPECT_GT(e.scale, 0.0) << what;
}

TEST_F(DecodeKernels, FusedDecodeStepEqualsTheModulePathOnTheFixtureModels) {
  for (const char* name : {"tiny_llama", "tiny_llama3_rope", "tiny_qwen2", "tiny_qwen2_tied"}) {
    auto m = load_pretrained(test::fixtures() / "models" / name);
    auto m64 = load_pretrained(test::fixtures() / "models" / name, torch::kCPU, torch::kFloat64);
    auto* llama = dynamic_cast<LlamaForCausalLM*>(m.get());
    auto* exact = dynamic_cast<LlamaForCausalLM*>(m64.get());
    ASSERT_NE(llama, nullptr) << name;
    ASSERT_NE(exact, nullptr) << name;
    if (llama->config().head_dim % 8 != 0) {
      ADD_FAILURE() << name << ": head_dim " << llama->config().head_dim << " cannot take the fused path";
      continue;
    }
    for (auto gemm : {InferenceGemm::kAvx2Panels, InferenceGemm::kOneDnnPacked})
      expect_fused_within_module_error(fused_vs_module(*llama, *exact, gemm, 6),
                                       std::string(name) + " gemm " + std::to_string(static_cast<int>(gemm)));
  }
}

TEST_F(DecodeKernels, FusedDecodeStepEqualsTheModulePathOnSmolLM2) {
  const auto dir = std::filesystem::path(std::getenv("R1KIT_SMOLLM2_DIR") ? std::getenv("R1KIT_SMOLLM2_DIR")
                                                                          : R1KIT_SOURCE_DIR "/models/smollm2-135m-instruct");
  if (!std::filesystem::exists(dir / "config.json"))
    GTEST_SKIP() << "SmolLM2 not converted at " << dir << ": run `make models`; `make test` does it";
  auto m = load_pretrained(dir);
  auto m64 = load_pretrained(dir, torch::kCPU, torch::kFloat64);
  auto* llama = dynamic_cast<LlamaForCausalLM*>(m.get());
  auto* exact = dynamic_cast<LlamaForCausalLM*>(m64.get());
  ASSERT_NE(llama, nullptr);
  ASSERT_NE(exact, nullptr);
  // 30 layers, K up to 1536, hidden states up to a few hundred in magnitude: see expect_fused_within_module_error.
  for (auto gemm : {InferenceGemm::kAvx2Panels, InferenceGemm::kOneDnnPacked}) {
    const auto e = fused_vs_module(*llama, *exact, gemm, 4);
    std::printf("SmolLM2 gemm %d: fused-fp64 %.3g, module-fp64 %.3g, fused-module %.3g, max|h| %.3g\n",
                static_cast<int>(gemm), e.fused, e.module, e.between, e.scale);
    expect_fused_within_module_error(e, "SmolLM2 gemm " + std::to_string(static_cast<int>(gemm)));
  }
}

}  // namespace
}  // namespace r1kit::model
