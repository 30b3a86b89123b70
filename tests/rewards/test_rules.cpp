// reasoning_steps, length (cosine), repetition, overlong, language_consistency, countdown.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "rewards/rules/countdown.h"
#include "rewards_test_util.h"

using namespace r1kit::rewards;
using nlohmann::json;

namespace {
const json kEmpty = json::object();
// The rule rewarders are plain float64 C++ (no LibTorch, no CPU-dependent kernel): ratios of small counts and, for
// the cosine length rule, one libm cos (≤ 1 ulp) and ~4 operations at magnitude ≤ 1 — errors ≲ 10·u64 ≈ 1e-15.
// kF64 = 1e-12 leaves room for an algebraically equal formula, and is far below any wrong count or constant (the
// nearest wrong answers here differ by ≥ 1e-2).
constexpr double kF64 = 1e-12;
}

TEST(ReasoningSteps, CountsMarkersUpToThree) {
  auto r = rtest::make("reasoning_steps");
  EXPECT_EQ(rtest::score(*r, "Step 1: a\nStep 2: b\nStep 3: c", kEmpty), 1.0);
  EXPECT_NEAR(rtest::score(*r, "First, we add. Finally, done.", kEmpty), 2.0 / 3, kF64);
  EXPECT_NEAR(rtest::score(*r, "1. a\n2. b", kEmpty), 2.0 / 3, kF64);
  EXPECT_EQ(rtest::score(*r, "just an answer", kEmpty), 0.0);
  auto r1 = rtest::make("reasoning_steps", {{"min_steps", 1}});
  EXPECT_EQ(rtest::score(*r1, "text\n- item", kEmpty), 1.0);
}

TEST(CosineLength, OpenR1Formula) {
  auto r = rtest::make("length", {{"max_len", 100}});
  json rec{{"answer", "42"}};
  // correct: 1.0 at length 0 ... 0.5 at max_len; wrong: -1.0 ... -0.5
  EXPECT_NEAR(rtest::score(*r, "\\boxed{42}", rec, "", false, 1), 0.5 + 0.25 * (1 + std::cos(std::numbers::pi * 0.01)),
              kF64);
  EXPECT_NEAR(rtest::score(*r, "\\boxed{42}", rec, "", false, 100), 0.5, kF64);
  EXPECT_NEAR(rtest::score(*r, "\\boxed{42}", rec, "", false, 500), 0.5, kF64);  // clamped past max_len
  EXPECT_NEAR(rtest::score(*r, "\\boxed{41}", rec, "", false, 50), -0.5 - 0.25 * (1 + std::cos(std::numbers::pi / 2)),
              kF64);
  EXPECT_NEAR(rtest::score(*r, "\\boxed{41}", rec, "", false, 100), -0.5, kF64);
  EXPECT_TRUE(std::isnan(rtest::score(*r, "\\boxed{41}", kEmpty, "", false, 5)));
  // chars unit counts code points
  auto rc = rtest::make("length", {{"max_len", 20}, {"length_unit", "chars"}});
  EXPECT_NEAR(rtest::score(*rc, "\\boxed{42}", rec, "", false, 999), 0.5 + 0.25 * (1 + std::cos(std::numbers::pi * 0.5)),
              kF64);
}

TEST(Repetition, NgramPenalty) {
  auto r = rtest::make("repetition");
  EXPECT_EQ(rtest::score(*r, "", kEmpty), 0.0);
  EXPECT_EQ(rtest::score(*r, "two words", kEmpty), 0.0);
  EXPECT_EQ(rtest::score(*r, "a b c d e f", kEmpty), 0.0);
  // "a b a b a b": trigrams aba, bab, aba, bab -> 2 distinct of 4 -> 1 - 0.5 = 0.5 -> -0.5
  EXPECT_NEAR(rtest::score(*r, "a b A B a b", kEmpty), -0.5, kF64);
  auto r2 = rtest::make("repetition", {{"ngram_size", 2}, {"max_penalty", -2.0}});
  EXPECT_NEAR(rtest::score(*r2, "x x x x x", kEmpty), -2.0 * (1 - 1.0 / 4), kF64);
  EXPECT_THROW(rtest::make("repetition", {{"max_penalty", 0.5}}), r1kit::ConfigError);
}

TEST(Overlong, DapoEquation13) {
  auto r = rtest::make("overlong", {{"max_completion_len", 100}, {"cache_len", 20}});
  EXPECT_EQ(rtest::score(*r, "x", kEmpty, "", false, 80), 0.0);
  EXPECT_NEAR(rtest::score(*r, "x", kEmpty, "", false, 90), -0.5, kF64);
  EXPECT_NEAR(rtest::score(*r, "x", kEmpty, "", true, 100), -1.0, kF64);
  EXPECT_EQ(rtest::score(*r, "x", kEmpty, "", true, 101), -1.0);
  EXPECT_TRUE(std::isnan(rtest::score(*r, "x", kEmpty, "", false, 0)));
  EXPECT_THROW(rtest::make("overlong", {{"max_completion_len", 100}}), r1kit::ConfigError);
  EXPECT_THROW(rtest::make("overlong", {{"max_completion_len", 10}, {"cache_len", 20}}), r1kit::ConfigError);
}

TEST(LanguageConsistency, ScriptsAndCld2) {
  auto en = rtest::make("language_consistency");
  const std::string english =
      "<think>First I will add the two numbers together, then I check the result carefully.</think> 4";
  EXPECT_NEAR(rtest::score(*en, english, kEmpty), 1.0, kF64);
  // stray Chinese characters in English reasoning are penalised
  // The thresholds below are classification margins of a script / CLD2 measure, not rounding bounds.
  double mixed = rtest::score(
      *en, "<think>First I will add the two numbers 我们来算 together, then I check the result.</think>", kEmpty);
  EXPECT_LT(mixed, 0.85);
  EXPECT_GT(mixed, 0.5);
  // French reasoning scored for English: CLD2 detects French
  double french = rtest::score(
      *en,
      "<think>Je vais d'abord additionner les deux nombres, puis je vérifie soigneusement le résultat obtenu "
      "avec une autre méthode de calcul.</think>",
      kEmpty);
  EXPECT_LT(french, 0.2);
  auto fr = rtest::make("language_consistency", {{"language", "fr"}});
  EXPECT_GT(rtest::score(*fr,
                         "<think>Je vais d'abord additionner les deux nombres, puis je vérifie soigneusement le "
                         "résultat obtenu avec une autre méthode de calcul.</think>",
                         kEmpty),
            0.9);
  // Arabic words in a French answer
  EXPECT_LT(rtest::score(*fr, "<think>Je calcule مرحبا بالعالم le total.</think>", kEmpty), 0.8);
  // Chinese target
  auto zh = rtest::make("language_consistency", {{"language", "zh"}});
  EXPECT_NEAR(rtest::score(*zh, "<think>我们先把两个数相加，然后检查结果。</think>", kEmpty), 1.0, kF64);
  EXPECT_LT(rtest::score(*zh, "<think>我们先把两个数相加 then check the result carefully</think>", kEmpty), 0.7);
  // math is not counted; nothing to count -> NaN
  EXPECT_TRUE(std::isnan(rtest::score(*en, "<think>$x^2 + \\frac{1}{2}$ 42</think>", kEmpty)));
  EXPECT_NEAR(rtest::score(*en, "<think>We see that the angle π is equal to the sum $\\alpha + \\beta$ of the two other angles of the triangle.</think>", kEmpty), 1.0,
              kF64);
}

TEST(Countdown, TinyZeroScores) {
  auto r = rtest::make("countdown");
  json rec{{"target", 24}, {"nums", {4, 6, 1}}};
  EXPECT_EQ(rtest::score(*r, "<think>x</think><answer>4 * 6 * 1</answer>", rec), 1.0);
  EXPECT_EQ(rtest::score(*r, "<answer>(6 - 1 - 1) * 6</answer>", rec), 0.1);   // numbers reused
  EXPECT_EQ(rtest::score(*r, "<answer>4 * 6</answer>", rec), 0.1);             // 1 unused
  EXPECT_EQ(rtest::score(*r, "<answer>4 * 6 + 1</answer>", rec), 0.1);         // wrong value
  EXPECT_EQ(rtest::score(*r, "<answer>__import__('os')</answer>", rec), 0.1);   // never an interpreter
  EXPECT_EQ(rtest::score(*r, "<answer>4 ** 6 * 1</answer>", rec), 0.1);        // no power operator
  EXPECT_EQ(rtest::score(*r, "no answer", rec), 0.0);
  json rec2{{"target", 3}, {"nums", {6, 4, 2}}};
  EXPECT_EQ(rtest::score(*r, "<answer>6 / (4 - 2)</answer>", rec2), 1.0);
  EXPECT_EQ(rtest::score(*r, "<answer>6 / (2 - 2) + 4</answer>", rec2), 0.1);  // ÷0
  EXPECT_TRUE(std::isnan(rtest::score(*r, "<answer>1</answer>", kEmpty)));
  auto v = rules::evaluate_countdown("((7 - 1) / 4) * 2");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->first, 3);
  EXPECT_EQ(v->second, 1);
  EXPECT_FALSE(rules::evaluate_countdown("1 +").has_value());
  EXPECT_FALSE(rules::evaluate_countdown("1.5 + 2").has_value());
  EXPECT_FALSE(rules::evaluate_countdown(std::string(100, '(') + "1" + std::string(100, ')')).has_value());
}
