// Group-relative advantages: hand-checkable cases from issue #6, NaN handling, scale modes, metrics, errors.
// TRL parity on the same and more cases lives in test_trl_parity.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "rl/advantages.h"

namespace r1kit::rl {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// compute_advantages is plain float64 C++ (no LibTorch kernel: the same result on every CPU and thread count).
// The cases below hold ≤ 12 rewards of magnitude ≤ 6: a mean, a Bessel std (sum of squares, sqrt) and one
// division per value, so ≤ ~30 roundings at magnitude ≤ ~10: ≲ 30·u64·10 ≈ 3e-14 worst case. kF64 = 1e-12
// (30× that) for values computed the same way as the reference formula; kExact64 = 1e-15 for a mean or std of a
// few small numbers (≤ 4 roundings at magnitude ≤ 2: 4·u64·2 ≈ 9e-16).
constexpr double kF64 = 1e-12;
constexpr double kExact64 = 1e-15;

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

TEST(Advantages, AllEqualGroupIsExactlyZero) {
  // Issue #6: [3,3,3,3] -> [0,0,0,0]; exact zeros, in every scale mode.
  const std::vector<double> r{3, 3, 3, 3};
  for (auto s : {ScaleRewards::group, ScaleRewards::batch, ScaleRewards::none}) {
    const auto a = compute_advantages(r, 4, s);
    for (double x : a.advantages) EXPECT_EQ(x, 0.0);
    EXPECT_EQ(a.group_std[0], 0.0);
    EXPECT_EQ(a.frac_reward_zero_std, 1.0);
  }
}

TEST(Advantages, EqualValuesWithInexactMeanStillZero) {
  // 0.1 * 3 / 3 != 0.1 in floating point; r1kit must still return exactly 0 (never 1e-13 or NaN).
  const std::vector<double> r{0.1, 0.1, 0.1};
  const auto a = compute_advantages(r, 3, ScaleRewards::group);
  for (double x : a.advantages) EXPECT_EQ(x, 0.0);
}

TEST(Advantages, HandCheckable1001) {
  // Issue #6: std = sqrt(1/3) = 0.57735; 0.5 / (0.57735 + 1e-4) = 0.86588 — the closed form, rounded to 5 digits
  // (4.6e-6 off: the former 5e-6 bound on the literal left 4e-7 of room). Compared with the closed form to kF64.
  const auto a = compute_advantages(std::vector<double>{1, 0, 0, 1}, 4, ScaleRewards::group);
  const double A = 0.5 / (std::sqrt(1.0 / 3.0) + 1e-4);
  expect_near_all(a.advantages, {A, -A, -A, A}, kF64);
  EXPECT_NEAR(a.group_mean[0], 0.5, kExact64);
  EXPECT_NEAR(a.group_std[0], std::sqrt(1.0 / 3.0), kExact64);
}

TEST(Advantages, HandCheckable112) {
  // Issue #6: mean 4/3, std sqrt(1/3): [-1/3, -1/3, 2/3] / 0.57745 = [-0.57725, -0.57725, 1.15450] (the closed
  // form, rounded to 5 digits); compared with the closed form to kF64.
  const auto a = compute_advantages(std::vector<double>{1, 1, 2}, 3, ScaleRewards::group);
  const double d = std::sqrt(1.0 / 3.0) + 1e-4;
  expect_near_all(a.advantages, {(-1.0 / 3) / d, (-1.0 / 3) / d, (2.0 / 3) / d}, kF64);
}

TEST(Advantages, NoneIsDrGrpoMeanCentering) {
  const auto a = compute_advantages(std::vector<double>{1, 1, 2, 0, 4, 2}, 3, ScaleRewards::none);
  expect_near_all(a.advantages, {-1.0 / 3, -1.0 / 3, 2.0 / 3, -2, 2, 0}, kExact64);  // r − mean: ≤ 4 roundings ≤ 2
}

TEST(Advantages, BatchScalesByWholeBatchStdWithPerGroupMean) {
  const std::vector<double> r{1, 0, 0, 1, 2, 2, 2, 6};
  const auto a = compute_advantages(r, 4, ScaleRewards::batch);
  double mean = 0;
  for (double x : r) mean += x;
  mean /= r.size();
  double ss = 0;
  for (double x : r) ss += (x - mean) * (x - mean);
  const double std_b = std::sqrt(ss / (r.size() - 1));
  expect_near_all(a.advantages, {0.5 / (std_b + 1e-4), -0.5 / (std_b + 1e-4), -0.5 / (std_b + 1e-4),
                                 0.5 / (std_b + 1e-4), -1 / (std_b + 1e-4), -1 / (std_b + 1e-4),
                                 -1 / (std_b + 1e-4), 3 / (std_b + 1e-4)},
                  kF64);
  EXPECT_NEAR(a.reward_std, std_b, kF64);
}

TEST(Advantages, NaNSamplesAreExcludedFromTheirGroup) {
  // Group 0: [1, NaN, 0, 1] -> statistics over {1, 0, 1}; group 1: one valid sample -> all 0;
  // group 2: all NaN -> all 0.
  const std::vector<double> r{1, kNaN, 0, 1, kNaN, 5, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  const auto a = compute_advantages(r, 4, ScaleRewards::group);
  const double mean = 2.0 / 3, std_g = std::sqrt(((1 - mean) * (1 - mean) * 2 + mean * mean) / 2);
  expect_near_all(a.advantages, {(1 - mean) / (std_g + 1e-4), 0, (0 - mean) / (std_g + 1e-4),
                                 (1 - mean) / (std_g + 1e-4), 0, 0, 0, 0, 0, 0, 0, 0},
                  kF64);
  const std::vector<bool> valid{true, false, true, true, false, true, false, false, false, false, false, false};
  EXPECT_EQ(a.valid, valid);
  EXPECT_EQ(a.group_mean[1], 5.0);
  EXPECT_EQ(a.group_std[1], 0.0);
  EXPECT_TRUE(std::isnan(a.group_mean[2]));
  EXPECT_NEAR(a.frac_reward_zero_std, 2.0 / 3.0, kExact64);  // groups 1 and 2 carry no signal
  for (double x : a.advantages) EXPECT_TRUE(std::isfinite(x));
  // reward / reward_std over the 4 valid samples {1, 0, 1, 5} (TRL nanmean / nanstd).
  EXPECT_NEAR(a.reward_mean, 7.0 / 4, kExact64);  // 7/4: exact in binary
  const double m = 7.0 / 4;
  EXPECT_NEAR(a.reward_std,
              std::sqrt(((1 - m) * (1 - m) * 2 + m * m + (5 - m) * (5 - m)) / 3), kF64);
}

TEST(Advantages, AllNaNBatchGivesZerosAndNaNMetrics) {
  const std::vector<double> r(4, kNaN);
  const auto a = compute_advantages(r, 2, ScaleRewards::batch);
  for (double x : a.advantages) EXPECT_EQ(x, 0.0);
  EXPECT_TRUE(std::isnan(a.reward_mean));
  EXPECT_TRUE(std::isnan(a.reward_std));
  EXPECT_EQ(a.frac_reward_zero_std, 1.0);
}

TEST(Advantages, RejectsBadArguments) {
  const std::vector<double> r{1, 2, 3};
  EXPECT_THROW(compute_advantages(r, 1, ScaleRewards::group), InvalidArgument);
  EXPECT_THROW(compute_advantages(r, 2, ScaleRewards::group), InvalidArgument);
  const std::vector<double> inf{1, std::numeric_limits<double>::infinity()};
  EXPECT_THROW(compute_advantages(inf, 2, ScaleRewards::group), InvalidArgument);
  EXPECT_TRUE(compute_advantages(std::vector<double>{}, 4, ScaleRewards::group).advantages.empty());
}

TEST(Advantages, ParseScaleRewards) {
  EXPECT_EQ(parse_scale_rewards("group"), ScaleRewards::group);
  EXPECT_EQ(parse_scale_rewards("batch"), ScaleRewards::batch);
  EXPECT_EQ(parse_scale_rewards("none"), ScaleRewards::none);
  EXPECT_EQ(parse_scale_rewards("true"), ScaleRewards::group);   // TRL legacy bool
  EXPECT_EQ(parse_scale_rewards("false"), ScaleRewards::none);   // TRL legacy bool
  try {
    parse_scale_rewards("grup");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("\"batch\""), std::string::npos) << e.what();
  }
  for (auto s : {ScaleRewards::group, ScaleRewards::batch, ScaleRewards::none})
    EXPECT_EQ(parse_scale_rewards(to_string(s)), s);
}

}  // namespace
}  // namespace r1kit::rl
