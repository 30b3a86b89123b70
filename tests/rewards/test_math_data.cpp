// math_accuracy on real data (../shared/data): every GSM8K test answer scored against its own reasoning text,
// AMC 2023 float golds and AIME 2024 zero-padded golds, and a robustness sweep over malformed inputs.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>

#include "core/jsonl.h"
#include "rewards/math/equivalence.h"
#include "rewards_test_util.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {
fs::path data_dir() { return fs::path(R1KIT_SOURCE_DIR) / ".." / "shared" / "data"; }
}  // namespace

TEST(MathData, Gsm8kOwnAnswersScoreOne) {
  fs::path path = data_dir() / "gsm8k" / "test.jsonl";
  if (!fs::exists(path)) GTEST_SKIP() << "shared data set not present: " << path;
  auto records = r1kit::read_jsonl(path);
  ASSERT_EQ(records.size(), 1319u);
  auto r = r1kit::rewards::rtest::make("math_accuracy");
  size_t ok = 0;
  for (const json& rec : records) {
    // the reference solution itself as the completion, followed by prose (no tail window)
    std::string completion = rec["answer"].get<std::string>() + "\nI double-checked every step above.";
    double s = r1kit::rewards::rtest::score(*r, completion, rec);
    ok += s == 1.0;
    if (s != 1.0) ADD_FAILURE() << rec["answer"];
  }
  EXPECT_EQ(ok, records.size());
  // and a wrong answer scores 0
  EXPECT_EQ(r1kit::rewards::rtest::score(*r, "#### 17", json{{"answer", "x\n#### 18"}}), 0.0);
}

TEST(MathData, AmcFloatAndAimePaddedGolds) {
  fs::path amc = data_dir() / "aime" / "amc23.jsonl", aime = data_dir() / "aime" / "aime24.jsonl";
  if (!fs::exists(amc) || !fs::exists(aime)) GTEST_SKIP() << "shared data set not present: " << amc;
  auto r = r1kit::rewards::rtest::make("math_accuracy");
  for (const json& rec : r1kit::read_jsonl(amc)) {
    double v = rec["answer"].get<double>();
    std::string as_int = std::to_string(static_cast<long long>(v));
    if (v == static_cast<double>(static_cast<long long>(v))) {
      EXPECT_EQ(r1kit::rewards::rtest::score(*r, "\\boxed{" + as_int + "}", rec), 1.0) << rec["answer"];
      EXPECT_EQ(r1kit::rewards::rtest::score(*r, "\\boxed{" + as_int + "1}", rec), 0.0) << rec["answer"];
    }
  }
  for (const json& rec : r1kit::read_jsonl(aime)) {
    std::string gold = rec["answer"].get<std::string>();
    std::string unpadded = std::to_string(std::stoi(gold));
    EXPECT_EQ(r1kit::rewards::rtest::score(*r, "so \\boxed{" + unpadded + "}.", rec), 1.0) << gold;
  }
}

TEST(MathData, MalformedInputSweepNeverThrowsOrHangs) {
  const std::string alphabet = "0123456789+-*/^_!()[]{}|,.=\\ xyzabcdefrqst$%";
  const char* words[] = {"\\frac", "\\sqrt", "\\infty", "\\pi", "\\left", "\\right", "\\text{", "\\cup", "\\pm",
                         "10^{", "!", "\\boxed{", "\\log_", "\\binom", "{,}", "e", "9999"};
  std::mt19937 rng(1234);
  auto t0 = std::chrono::steady_clock::now();
  for (int n = 0; n < 3000; ++n) {
    std::string s;
    int len = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i)
      s += (rng() % 3 == 0) ? std::string(words[rng() % std::size(words)]) : std::string(1, alphabet[rng() % alphabet.size()]);
    EXPECT_NO_THROW(r1kit::rewards::math::answers_equivalent("10^{3}", s)) << s;
    EXPECT_NO_THROW(r1kit::rewards::math::answers_equivalent(s, "x+1")) << s;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 30.0);
  std::printf("malformed sweep: 6000 comparisons in %.2f s\n", secs);
}
