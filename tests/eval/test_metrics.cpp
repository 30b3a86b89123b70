// pass@k (Chen et al. 2021) against hand-computed values and the binomial definition; maj@k grouping and ties.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/metrics.h"

namespace r1kit::eval {
namespace {

double binomial(int64_t n, int64_t k) {
  if (k < 0 || k > n) return 0.0;
  double r = 1;
  for (int64_t i = 1; i <= k; ++i) r = r * static_cast<double>(n - k + i) / static_cast<double>(i);
  return r;
}

// pass@k is float64 C++: 1 − Π (1 − k/(n − i)) over ≤ k ≤ 40 factors, each one rounding — relative error ≤ ~2k·u64
// ≈ 1e-14 — and the reference binomial ratio is as accurate (≤ k factors each side, C(40, 20) ≈ 1.4e11 is exact
// enough in float64). kF64 = 1e-12 ≥ 100× that; any wrong formula (c/n for k > 1, a missing 1 −) is off by ≥ 1e-2.
constexpr double kF64 = 1e-12;

TEST(PassAtK, HandComputedValues) {
  EXPECT_NEAR(pass_at_k(5, 2, 1), 0.4, kF64);   // c / n
  EXPECT_NEAR(pass_at_k(5, 2, 2), 0.7, kF64);   // 1 − C(3,2)/C(5,2) = 1 − 3/10
  EXPECT_NEAR(pass_at_k(5, 2, 3), 0.9, kF64);   // 1 − C(3,3)/C(5,3) = 1 − 1/10
  EXPECT_EQ(pass_at_k(5, 2, 4), 1.0);            // n − c = 3 < k: every 4-subset holds a correct sample
  EXPECT_EQ(pass_at_k(10, 0, 1), 0.0);
  EXPECT_EQ(pass_at_k(10, 0, 10), 0.0);
  EXPECT_EQ(pass_at_k(4, 4, 1), 1.0);
  EXPECT_EQ(pass_at_k(1, 1, 1), 1.0);
  EXPECT_EQ(pass_at_k(1, 0, 1), 0.0);
}

TEST(PassAtK, EqualsTheBinomialDefinitionAndIsStableForLargeN) {
  for (int64_t n : {1, 2, 7, 16, 40})
    for (int64_t c = 0; c <= n; ++c)
      for (int64_t k = 1; k <= n; ++k)
        EXPECT_NEAR(pass_at_k(n, c, k), 1.0 - binomial(n - c, k) / binomial(n, k), kF64) << n << " " << c << " " << k;
  // C(1000, 500) overflows a double; the product form does not.
  const double v = pass_at_k(1000, 3, 500);
  EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(v, 1.0 - (500.0 / 1000) * (499.0 / 999) * (498.0 / 998), kF64);  // 3 factors: ≤ ~6 roundings
}

TEST(PassAtK, RejectsImpossibleArguments) {
  EXPECT_THROW(pass_at_k(4, 5, 1), InvalidArgument);
  EXPECT_THROW(pass_at_k(4, 2, 5), InvalidArgument);
  EXPECT_THROW(pass_at_k(4, 2, 0), InvalidArgument);
  EXPECT_THROW(pass_at_k(0, 0, 1), InvalidArgument);
}

TEST(PassAtK, ReportedKs) {
  EXPECT_EQ(reported_ks(1), (std::vector<int64_t>{1}));
  EXPECT_EQ(reported_ks(6), (std::vector<int64_t>{1, 2, 4, 6}));
  EXPECT_EQ(reported_ks(8), (std::vector<int64_t>{1, 2, 4, 8}));
}

using Answers = std::vector<std::optional<std::string>>;

TEST(MajorityVote, LargestGroupWinsAndMathEquivalentAnswersVoteTogether) {
  // "1/2", "0.5" and "\frac{1}{2}" are one answer for the math rewarder; "3" has two votes.
  const auto v = majority_vote(Answers{"3", "1/2", "0.5", "3", "\\frac{1}{2}"});
  EXPECT_EQ(v.winner, 1);  // the earliest sample of the winning group
  EXPECT_EQ(v.votes, 3);
  EXPECT_EQ(v.num_groups, 2);
  EXPECT_EQ(v.group_of, (std::vector<int64_t>{0, 1, 1, 0, 1}));
}

TEST(MajorityVote, TiesGoToTheEarliestSampledAnswer) {
  // Documented rule: among tied groups, the one whose first member was sampled first wins.
  EXPECT_EQ(majority_vote(Answers{"7", "5", "5", "7"}).winner, 0);
  EXPECT_EQ(majority_vote(Answers{"5", "7", "7", "5"}).winner, 0);
  EXPECT_EQ(majority_vote(Answers{std::nullopt, "8", "9"}).winner, 1);
  // Same multiset, different order → the earliest answer changes, so does the winner.
  EXPECT_EQ(majority_vote(Answers{"9", "8"}).winner, 0);
  EXPECT_EQ(majority_vote(Answers{"8", "9"}).winner, 0);
  const auto v = majority_vote(Answers{"8", "9", "9", "8", "10"});
  EXPECT_EQ(v.winner, 0);
  EXPECT_EQ(v.votes, 2);
}

TEST(MajorityVote, SamplesWithoutAnswerDoNotVote) {
  const auto none = majority_vote(Answers{std::nullopt, std::nullopt});
  EXPECT_EQ(none.winner, -1);
  EXPECT_EQ(none.votes, 0);
  EXPECT_EQ(none.group_of, (std::vector<int64_t>{-1, -1}));
  const auto v = majority_vote(Answers{std::nullopt, std::nullopt, "4", std::nullopt});
  EXPECT_EQ(v.winner, 2);
  EXPECT_EQ(v.votes, 1);
}

TEST(MajorityVote, UsesTheGivenEquivalence) {
  auto same_first_char = [](std::string_view a, std::string_view b) { return !a.empty() && !b.empty() && a[0] == b[0]; };
  const auto v = majority_vote(Answers{"x1", "y1", "y2", "x2", "y3"}, same_first_char);
  EXPECT_EQ(v.winner, 1);
  EXPECT_EQ(v.votes, 3);
}

}  // namespace
}  // namespace r1kit::eval
