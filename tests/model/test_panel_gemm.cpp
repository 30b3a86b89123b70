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
    // Float32 K-term dot products on both sides (r1kit's AVX2 FMA panels, K in 256-wide blocks, vs MKL's sgemm,
    // whose kernel follows MKL_ENABLE_INSTRUCTIONS and the CPU): typical error sqrt(K)·u of the outputs' scale
    // (|y| ~ N(0, 1): w is scaled by 1/sqrt(K)), worst K·u; bound 5× typical (K + 1 terms counting the bias),
    // relative to max|y|. At K = 2500 that is 1.5e-5: the former fixed 2e-6 was below the typical error
    // sqrt(2500)·u = 3e-6 there. A wrong panel / tail index is an O(1) error.
    const double tol = 5 * test::fp32_sum_typical(static_cast<double>(K + 1));
    for (int64_t M : {1, 2, 5, 6, 7, 13, 25, 32, 64}) {
      auto x = torch::randn({M, K});
      const auto y = torch::linear(x, w), yb = torch::linear(x, w, b);
      EXPECT_TRUE(test::within(test::max_rel_diff(panel_gemm::linear(x, packed, N, {}), y), tol))
          << "M " << M << " N " << N << " K " << K;
      EXPECT_TRUE(test::within(test::max_rel_diff(panel_gemm::linear(x, packed, N, b), yb), tol))
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
  // K = 24: the argument of MatchesTorchLinear, 5·sqrt(24)·u ≈ 1.5e-6 of max|y| (|y| reaches ~15 with unscaled
  // randn weights: the former absolute 1e-5 was ≈ 7e-7 of that).
  const double tol = 5 * test::fp32_sum_typical(24);
  EXPECT_TRUE(test::within(test::max_rel_diff(y, torch::linear(x, w)), tol));
  auto x_strided = torch::randn({24, 5}).t();  // non-contiguous rows
  const auto y_strided = panel_gemm::linear(x_strided, packed, 40, {});
  EXPECT_TRUE(test::within(test::max_rel_diff(y_strided, torch::linear(x_strided, w)), tol));
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
