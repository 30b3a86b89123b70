// Chunked token log-probs: equal to the direct log_softmax computation, with equal gradients, for any chunk size.
#include <gtest/gtest.h>
#include <torch/torch.h>

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
  for (int64_t chunk : {1, 4, 13, 100}) {
    auto h2 = h0.clone().requires_grad_(true), w2 = w0.clone().requires_grad_(true);
    torch::Tensor ent;
    auto chunked = chunked_token_logprobs(h2, w2, targets, T, chunk, &ent);
    (chunked * g).sum().backward();
    EXPECT_LE((chunked - direct).abs().max().item<double>(), 1e-5) << "chunk " << chunk;
    EXPECT_LE((h2.grad() - h1.grad()).abs().max().item<double>(), 1e-5) << "chunk " << chunk;
    EXPECT_LE((w2.grad() - w1.grad()).abs().max().item<double>(), 1e-5) << "chunk " << chunk;
    auto lp = torch::log_softmax(torch::matmul(h0, w0.t()) / T, 1);
    auto ent_direct = -(lp.exp() * lp).sum(1);
    EXPECT_LE((ent - ent_direct).abs().max().item<double>(), 1e-5);
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
  for (int t = 0; t < 3; ++t)
    EXPECT_NEAR(out.logp[1][t].item<float>(), lp[3 + t][ids[1][4 + t].item<int64_t>()].item<float>(), 1e-5);
  // Row 0: its real tokens alone, unpadded.
  auto ids0 = torch::tensor({{5, 6, 7, 8}}, torch::kInt64);
  auto lp0 = torch::log_softmax(m->forward(ids0, torch::arange(4).view({1, 4}))[0] / 0.9, -1);
  EXPECT_NEAR(out.logp[0][0].item<float>(), lp0[1][7].item<float>(), 1e-5);
  EXPECT_NEAR(out.logp[0][1].item<float>(), lp0[2][8].item<float>(), 1e-5);
}

}  // namespace
}  // namespace r1kit::train
