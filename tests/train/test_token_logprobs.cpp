// Chunked token log-probs: equal to the direct log_softmax computation, with equal gradients, for any chunk size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "error_model.h"
#include "model/causal_lm.h"
#include "train/token_logprobs.h"

namespace r1kit::train {
namespace {

TEST(TokenLogprobs, ChunkedEqualsDirectWithGradients) {
  torch::manual_seed(0);
  auto h0 = torch::randn({13, 8}, torch::kFloat64).to(torch::kFloat32);
  auto w0 = torch::randn({50, 8}).mul(0.5);
  auto targets = torch::randint(50, {13}, torch::kInt64);
  const double T = 0.7;
  // Direct: full [N,V] log_softmax.
  auto h1 = h0.clone().requires_grad_(true), w1 = w0.clone().requires_grad_(true);
  auto direct = torch::log_softmax(torch::matmul(h1, w1.t()) / T, 1).gather(1, targets.view({-1, 1})).squeeze(1);
  auto g = torch::randn({13});
  (direct * g).sum().backward();
  // Float32 on both sides; chunks of 1–13 rows take other GEMM kernels (gemv vs gemm: other summation orders).
  // Logits x = h·wᵀ/T are K = 8-term dot products (error ~sqrt(8)·u·max|x|); log p = x_t − lse(x) carries two
  // of those plus the V = 50-term sum inside lse (~sqrt(V)·u, |log p| ≲ 10); the gradients (V-term sums of
  // (onehot − p)·w/T) and the entropy (V-term sum) carry the same relative error. Typical
  // (2·sqrt(8)·max|x| + sqrt(V))·u; bound 5× that — absolute for log p and entropy (|values| ~1–10), relative to
  // the largest gradient entry for the gradients.
  const double x_max = (torch::matmul(h0, w0.t()) / T).abs().max().item<double>();
  const double tol = 5 * (2 * std::sqrt(8.0) * x_max + std::sqrt(50.0)) * test::kU32;
  for (int64_t chunk : {1, 4, 13, 100}) {
    auto h2 = h0.clone().requires_grad_(true), w2 = w0.clone().requires_grad_(true);
    torch::Tensor ent;
    auto chunked = chunked_token_logprobs(h2, w2, targets, T, chunk, &ent);
    (chunked * g).sum().backward();
    EXPECT_TRUE(test::within(test::max_abs_diff(chunked, direct), tol)) << "chunk " << chunk;
    EXPECT_TRUE(test::within(test::max_rel_diff(h2.grad(), h1.grad()), tol)) << "chunk " << chunk;
    EXPECT_TRUE(test::within(test::max_rel_diff(w2.grad(), w1.grad()), tol)) << "chunk " << chunk;
    auto lp = torch::log_softmax(torch::matmul(h0, w0.t()) / T, 1);
    auto ent_direct = -(lp.exp() * lp).sum(1);
    EXPECT_TRUE(test::within(test::max_abs_diff(ent, ent_direct), tol));
  }
}

TEST(TokenLogprobs, CompletionLogprobsMatchFullForwardOnTinyModel) {
  auto m = model::load_pretrained(std::filesystem::path(R1KIT_FIXTURES_DIR) / "models" / "tiny_qwen2");
  // Two sequences: prompt left-padded to 4, completion right-padded to 3.
  auto ids = torch::tensor({{0, 0, 5, 6, 7, 8, 0}, {1, 2, 3, 4, 9, 10, 11}}, torch::kInt64);
  auto attn = torch::tensor({{0, 0, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 1, 1}}, torch::kInt64);
  auto out = completion_logprobs(*m, ids, attn, 4, 0.9, /*chunk_rows=*/2);
  ASSERT_EQ(out.logp.sizes(), (std::vector<int64_t>{2, 3}));
  torch::NoGradGuard ng;
  // Row 1 (no padding) against a plain forward.
  auto logits = m->forward(ids.narrow(0, 1, 1), torch::arange(7).view({1, 7}))[0];
  auto lp = torch::log_softmax(logits / 0.9, -1);
  // Both are float32 forwards of tiny_qwen2 (longest reduction K = 128) that differ in batch shape, padding and
  // chunking, so in summation order: the logits differ by ≲ 5·2·sqrt(K)·u ≈ 6.8e-6 of max|logits|
  // (tests/error_model.h, the bound of tests/model/test_llama_parity.cpp), and log p = x_t/T − lse(x/T) by at most
  // twice that over T, plus lse's own rounding (≤ ~8u·|lse|, |lse| ≈ log V ≈ 5.5).
  const auto& c = m->config();
  const double x_max = logits.abs().max().item<double>();
  const double tol = 2 * 5 * test::fp32_decoder_typical(std::max(c.hidden_size, c.intermediate_size)) * x_max / 0.9 +
                     8 * test::kU32 * std::log(static_cast<double>(c.vocab_size));
  for (int t = 0; t < 3; ++t)
    EXPECT_NEAR(out.logp[1][t].item<float>(), lp[3 + t][ids[1][4 + t].item<int64_t>()].item<float>(), tol);
  // Row 0: its real tokens alone, unpadded.
  auto ids0 = torch::tensor({{5, 6, 7, 8}}, torch::kInt64);
  auto lp0 = torch::log_softmax(m->forward(ids0, torch::arange(4).view({1, 4}))[0] / 0.9, -1);
  EXPECT_NEAR(out.logp[0][0].item<float>(), lp0[1][7].item<float>(), tol);  // same argument
  EXPECT_NEAR(out.logp[0][1].item<float>(), lp0[2][8].item<float>(), tol);
}

}  // namespace
}  // namespace r1kit::train
