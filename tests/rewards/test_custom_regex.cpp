// regex rewarder: rule regions, combine modes, and configuration errors naming the JSON path and RE2's message.
#include <chrono>
#include <cmath>
#include <gtest/gtest.h>

#include "core/error.h"
#include "rewards/custom/regex_rewarder.h"

using namespace r1kit::rewards;
using namespace r1kit::rewards::custom;
using nlohmann::json;

namespace {
double score(const Rewarder& r, const std::string& completion) {
  const json rec = json::object();
  return r.score(Sample{"", completion, rec});
}
RegexRewarder make(const json& args) { return RegexRewarder(args, "regex", "$.rewards[1]"); }
}  // namespace

TEST(SplitReasoning, Regions) {
  auto [r1, a1] = split_reasoning("<think>plan</think>\nanswer 4");
  EXPECT_EQ(r1, "plan");
  EXPECT_EQ(a1, "\nanswer 4");
  auto [r2, a2] = split_reasoning("plan, the prompt opened the tag</think>4");  // open-think mode
  EXPECT_EQ(r2, "plan, the prompt opened the tag");
  EXPECT_EQ(a2, "4");
  auto [r3, a3] = split_reasoning("<think>still thinking");
  EXPECT_EQ(r3, "still thinking");
  EXPECT_EQ(a3, "");
  auto [r4, a4] = split_reasoning("just 4");
  EXPECT_EQ(r4, "");
  EXPECT_EQ(a4, "just 4");
}

TEST(RegexRewarder, WhereSelectsTheRegion) {
  const auto r = make({{"rules", {{{"pattern", "\\\\boxed\\{"}, {"where", "answer"}, {"score", 1.0}}}}});
  EXPECT_EQ(score(r, "<think>x</think>so \\boxed{4}"), 1.0);
  EXPECT_EQ(score(r, "<think>\\boxed{4}</think>4"), 0.0);  // only inside the reasoning
  const auto reasoning = make({{"rules", {{{"pattern", "(?i)wait"}, {"where", "reasoning"}, {"score", 0.5}}}}});
  EXPECT_EQ(score(reasoning, "<think>Wait, no.</think>4"), 0.5);
  EXPECT_EQ(score(reasoning, "<think>ok</think>wait"), 0.0);
  const auto full = make({{"rules", {{{"pattern", "\\s*\\d+\\s*"}, {"where", "answer"}, {"full_match", true}}}}});
  EXPECT_EQ(score(full, "<think>…</think> 42 "), 1.0);
  EXPECT_EQ(score(full, "<think>…</think> 42 apples"), 0.0);
  const auto ci = make({{"rules", {{{"pattern", "SORRY"}, {"case_insensitive", true}, {"score", -1}}}}});
  EXPECT_EQ(score(ci, "I'm sorry"), -1.0);
}

TEST(RegexRewarder, CombineModes) {
  const json rules = {{{"pattern", "a"}, {"score", 0.5}}, {{"pattern", "b"}, {"score", 2.0}},
                      {{"pattern", "c"}, {"score", -1.0}}};
  EXPECT_EQ(score(make({{"rules", rules}}), "abc"), 1.5);  // sum (default)
  EXPECT_EQ(score(make({{"rules", rules}, {"combine", "max"}}), "abc"), 2.0);
  EXPECT_EQ(score(make({{"rules", rules}, {"combine", "min"}}), "abc"), -1.0);
  EXPECT_EQ(score(make({{"rules", rules}, {"combine", "first"}}), "cb"), 2.0);  // first rule in list order
  EXPECT_EQ(score(make({{"rules", rules}, {"combine", "max"}}), "zzz"), 0.0);  // none: default 0
  EXPECT_EQ(score(make({{"rules", rules}, {"default", -0.25}}), "zzz"), -0.25);
}

TEST(RegexRewarder, LinearTimeOnAdversarialInput) {
  // (a+)+$ is the classic catastrophic-backtracking pattern; RE2 runs it in linear time.
  const auto r = make({{"rules", {{{"pattern", "(a+)+$"}}}}});
  const std::string evil = std::string(100000, 'a') + "!";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(score(r, evil), 0.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

TEST(RegexRewarder, BadPatternNamesTheJsonPathAndRe2Message) {
  try {
    make({{"rules", {{{"pattern", "ok"}}, {{"pattern", "a(b"}}}}});
    FAIL() << "expected ConfigError";
  } catch (const r1kit::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("$.rewards[1].rules[1].pattern"), std::string::npos) << m;
    EXPECT_NE(m.find("missing )"), std::string::npos) << m;  // RE2's own message
  }
  // Backreferences are not RE2.
  EXPECT_THROW(make({{"rules", {{{"pattern", "(a)\\1"}}}}}), r1kit::ConfigError);
  EXPECT_THROW(make({{"rules", json::array()}}), r1kit::ConfigError);
  EXPECT_THROW(make(json::object()), r1kit::ConfigError);
  EXPECT_THROW(make({{"rules", {{{"pattern", "a"}, {"where", "title"}}}}}), r1kit::ConfigError);
  EXPECT_THROW(make({{"rules", {{{"pattern", "a"}, {"scor", 1}}}}}), r1kit::ConfigError);  // unknown key
  EXPECT_THROW(make({{"rules", {{{"pattern", "a"}}}}, {"combine", "avg"}}), r1kit::ConfigError);
}

TEST(RegexRewarder, Registered) {
  auto r = create_rewarder("regex", {{"rules", {{{"pattern", "x"}}}}}, "r", "$.rewards[0]");
  EXPECT_EQ(r->name(), "r");
  EXPECT_EQ(score(*r, "xyz"), 1.0);
}
