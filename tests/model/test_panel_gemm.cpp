// r1kit's panel GEMM (model/panel_gemm.h) against torch::linear (MKL) on the shapes the rollout engine uses and
// on the edge cases of its tiling: N not a multiple of 16, K split into 256-wide blocks, row counts 1–64, bias, leading dims.
#include "model/panel_gemm.h"

#include "core/error.h"
#include "model_test_util.h"

namespace r1kit::model {
namespace {

class PanelGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!panel_gemm::available()) GTEST_SKIP() << "this CPU lacks AVX2/FMA: the panel GEMM is not used here";
  }
};

TEST_F(PanelGemm, MatchesTorchLinear) {
  torch::manual_seed(5);
  // (N, K): SmolLM2's q|k|v, o, gate|up, down; a ragged N; K over one 1024 block (two blocks), K tiny.
  const std::vector<std::pair<int64_t, int64_t>> shapes{{832, 576}, {576, 576}, {3072, 576}, {576, 1536},
                                                        {37, 24}, {19, 2500}, {16, 1}};
  for (const auto& [N, K] : shapes) {
    auto w = torch::randn({N, K}) / std::sqrt(static_cast<double>(K));
    auto b = torch::randn({N});
    auto packed = panel_gemm::pack(w);
    for (int64_t M : {1, 2, 5, 6, 7, 13, 25, 32, 64}) {
      auto x = torch::randn({M, K});
      const double scale = std::max(1.0, torch::linear(x, w).abs().max().item<double>());
      EXPECT_LE(test::max_abs_diff(panel_gemm::linear(x, packed, N, {}), torch::linear(x, w)) / scale, 2e-6)
          << "M " << M << " N " << N << " K " << K;
      EXPECT_LE(test::max_abs_diff(panel_gemm::linear(x, packed, N, b), torch::linear(x, w, b)) / scale, 2e-6)
          << "with bias, M " << M << " N " << N << " K " << K;
    }
  }
}

TEST_F(PanelGemm, KeepsLeadingDimensionsAndHandlesNoRows) {
  auto w = torch::randn({40, 24});
  auto packed = panel_gemm::pack(w);
  auto x = torch::randn({3, 4, 24});
  auto y = panel_gemm::linear(x, packed, 40, {});
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 4, 40}));
  EXPECT_LE(test::max_abs_diff(y, torch::linear(x, w)), 1e-5);
  auto x_strided = torch::randn({24, 5}).t();  // non-contiguous rows
  EXPECT_LE(test::max_abs_diff(panel_gemm::linear(x_strided, packed, 40, {}), torch::linear(x_strided, w)), 1e-5);
  EXPECT_EQ(panel_gemm::linear(torch::zeros({0, 24}), packed, 40, {}).sizes(), (std::vector<int64_t>{0, 40}));
}

TEST_F(PanelGemm, MismatchesAreClearErrors) {
  auto packed = panel_gemm::pack(torch::randn({40, 24}));
  EXPECT_THROW(panel_gemm::linear(torch::randn({2, 23}), packed, 40, {}), InvalidArgument);       // K
  EXPECT_THROW(panel_gemm::linear(torch::randn({2, 24}), packed, 70, {}), InvalidArgument);       // N vs panels
  EXPECT_THROW(panel_gemm::linear(torch::randn({2, 24}), packed, 40, torch::zeros({39})), InvalidArgument);
  EXPECT_THROW(panel_gemm::pack(torch::randn({4, 4}, torch::kFloat64)), InvalidArgument);
}

}  // namespace
}  // namespace r1kit::model
