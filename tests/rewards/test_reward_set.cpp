// RewardSet: config parsing with JSON paths, weighted sums with NaN skipping, parallel batches, time limits.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "core/error.h"
#include "rewards/deadline.h"
#include "rewards/reward_set.h"

using namespace r1kit::rewards;
using nlohmann::json;

namespace {

// Test-only rewarders, registered once.
class FixedRewarder : public Rewarder {
 public:
  FixedRewarder(std::string name, double value, double sleep_s, bool throws, bool cooperative)
      : name_(std::move(name)), value_(value), sleep_s_(sleep_s), throws_(throws), cooperative_(cooperative) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    if (throws_) throw std::runtime_error("boom");
    if (cooperative_) {
      while (!deadline_passed()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return 0.0;
    }
    if (sleep_s_ > 0) std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s_));
    if (s.record.contains("nan")) return std::nan("");
    return value_ + s.completion.size();
  }

 private:
  std::string name_;
  double value_, sleep_s_;
  bool throws_, cooperative_;
};

void register_test_rewarders() {
  static bool done = [] {
    register_rewarder("test_fixed", [](const json& args, const std::string& name, const std::string&) {
      return std::make_unique<FixedRewarder>(name, args.value("value", 0.0), args.value("sleep", 0.0),
                                             args.value("throws", false), args.value("cooperative", false));
    });
    return true;
  }();
  (void)done;
}

std::string config_error(const json& rewards, const std::string& source = "cfg.json") {
  try {
    RewardSet::from_json(rewards, "$.rewards", source);
  } catch (const r1kit::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RewardRegistry, BuiltinsRegistered) {
  auto names = registered_rewarders();
  for (const char* t : {"math_accuracy", "format", "tag_count", "reasoning_steps", "length", "repetition", "overlong",
                        "language_consistency", "countdown"})
    EXPECT_NE(std::find(names.begin(), names.end(), t), names.end()) << t;
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_THROW(register_rewarder("format", [](const json&, const std::string&, const std::string&) {
                 return std::unique_ptr<Rewarder>();
               }),
               r1kit::InvalidArgument);
}

TEST(RewardSet, ConfigErrorsNamePaths) {
  std::string e = config_error(json::parse(R"([{"type": "format"}, {"type": "format", "weight": "x", "name": "f2"}])"));
  EXPECT_NE(e.find("cfg.json: $.rewards[1].weight: expected a number"), std::string::npos) << e;
  e = config_error(json::parse(R"([{"type": "math_acuracy"}])"));
  EXPECT_NE(e.find("$.rewards[0].type"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'math_accuracy'"), std::string::npos) << e;
  e = config_error(json::parse(R"([{"type": "format"}, {"type": "format"}])"));
  EXPECT_NE(e.find("$.rewards[1].name"), std::string::npos) << e;
  EXPECT_NE(e.find("duplicate"), std::string::npos) << e;
  e = config_error(json::parse(R"([{"weight": 1}])"));
  EXPECT_NE(e.find("$.rewards[0].type is required"), std::string::npos) << e;
  e = config_error(json::parse(R"([{"type": "math_accuracy", "gold_feild": "x"}])"));
  EXPECT_NE(e.find("cfg.json: "), std::string::npos) << e;
  EXPECT_NE(e.find("$.rewards[0].gold_feild"), std::string::npos) << e;
  EXPECT_NE(e.find("gold_field"), std::string::npos) << e;
  e = config_error(json::parse(R"([{"type": "overlong", "max_completion_len": 10, "cache_len": 20}])"));
  EXPECT_NE(e.find("$.rewards[0].cache_len"), std::string::npos) << e;
  EXPECT_NE(config_error(json::parse(R"({"type": "format"})")).find("expected an array"), std::string::npos);
  EXPECT_NE(config_error(json::array()).find("empty"), std::string::npos);
  EXPECT_NE(config_error(json::parse("[3]")).find("$.rewards[0]"), std::string::npos);
}

TEST(RewardSet, WeightedSumSkipsNan) {
  register_test_rewarders();
  auto set = RewardSet::from_json(json::parse(R"([
      {"type": "test_fixed", "name": "a", "value": 1.0, "weight": 2.0},
      {"type": "test_fixed", "name": "b", "value": 10.0, "weight": 0.5}])"));
  EXPECT_EQ(set.names(), (std::vector<std::string>{"a", "b"}));
  std::vector<double> both{1.0, 10.0}, one_nan{std::nan(""), 10.0}, all_nan{std::nan(""), std::nan("")};
  // Weighted sums of small binary-exact values (weights 2, 0.5): exact in float64; DOUBLE_EQ's 4 ulp never used.
  EXPECT_DOUBLE_EQ(set.total(both), 2.0 + 5.0);
  EXPECT_DOUBLE_EQ(set.total(one_nan), 5.0);
  EXPECT_TRUE(std::isnan(set.total(all_nan)));
  json nan_rec{{"nan", true}}, rec = json::object();
  std::vector<Sample> samples{{"p", "xy", rec}, {"p", "", nan_rec}};
  BatchScores b = set.score_batch(samples);
  EXPECT_DOUBLE_EQ(b.per_rewarder[0][0], 3.0);
  EXPECT_DOUBLE_EQ(b.per_rewarder[1][0], 12.0);
  EXPECT_DOUBLE_EQ(b.totals[0], 2 * 3.0 + 0.5 * 12.0);
  EXPECT_TRUE(std::isnan(b.totals[1]));
}

TEST(RewardSet, ParallelBatchEqualsSerial) {
  auto cfg = json::parse(R"([{"type": "math_accuracy"}, {"type": "format", "weight": 0.2},
                            {"type": "repetition", "weight": 0.1}, {"type": "length", "max_len": 50}])");
  RewardSet serial = RewardSet::from_json(cfg, "$.rewards", "", {1, 10.0});
  RewardSet parallel = RewardSet::from_json(cfg, "$.rewards", "", {4, 10.0});
  std::vector<json> records;
  std::vector<std::string> completions;
  for (int i = 0; i < 200; ++i) {
    records.push_back(json{{"answer", std::to_string(i % 7)}});
    completions.push_back("<think>\nthe the the " + std::to_string(i) + "\n</think>\n<answer>\\boxed{" +
                          std::to_string(i % 5) + "}</answer>");
  }
  std::vector<Sample> samples;
  for (int i = 0; i < 200; ++i) samples.push_back({"", completions[i], records[i], false, 10 + i});
  BatchScores a = serial.score_batch(samples), b = parallel.score_batch(samples);
  ASSERT_EQ(a.totals.size(), 200u);
  for (size_t k = 0; k < 4; ++k)
    for (size_t i = 0; i < 200; ++i)  // per-sample scores: the same code on the same sample, in any thread: exact
      EXPECT_DOUBLE_EQ(a.per_rewarder[k][i], b.per_rewarder[k][i]) << k << "," << i;
  double correct = 0;
  for (double v : a.per_rewarder[0]) correct += v;
  EXPECT_GT(correct, 0);
  EXPECT_LT(correct, 200);
}

TEST(RewardSet, TimeLimitAndErrorsCountedNotPropagated) {
  register_test_rewarders();
  auto cfg = json::parse(R"([{"type": "test_fixed", "name": "slow", "value": 5.0, "sleep": 0.15},
                            {"type": "test_fixed", "name": "loop", "cooperative": true},
                            {"type": "test_fixed", "name": "bad", "throws": true},
                            {"type": "test_fixed", "name": "ok", "value": 1.0}])");
  RewardSet set = RewardSet::from_json(cfg, "$.rewards", "", {2, 0.05});
  json rec = json::object();
  std::vector<Sample> samples(4, Sample{"", "", rec});
  auto t0 = std::chrono::steady_clock::now();
  BatchScores b = set.score_batch(samples);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(b.timeouts[0], 4u);
  EXPECT_EQ(b.timeouts[1], 4u);  // the cooperative loop gave up at the deadline: counted, scored 0, not stuck
  EXPECT_EQ(b.errors[2], 4u);
  EXPECT_EQ(b.timeouts[3] + b.errors[3], 0u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(b.per_rewarder[0][i], 0.0);
    EXPECT_EQ(b.per_rewarder[2][i], 0.0);
    EXPECT_EQ(b.per_rewarder[3][i], 1.0);
    EXPECT_EQ(b.totals[i], 1.0);
  }
  EXPECT_LT(secs, 2.0);
}

TEST(RewardSet, HugeAnswerLineWithinLimit) {
  auto set = RewardSet::from_json(json::parse(R"([{"type": "math_accuracy"}, {"type": "length"}])"), "$.rewards", "",
                                  {2, 1.0});
  std::string line = "Answer: $" + std::string(40000, '1');
  json rec{{"answer", "1111"}};
  std::vector<Sample> samples(4, Sample{"", line, rec, true, 40000});
  BatchScores b = set.score_batch(samples);
  EXPECT_EQ(b.timeouts[0] + b.timeouts[1], 0u);
  for (double v : b.per_rewarder[0]) EXPECT_EQ(v, 0.0);
}
