// format and tag_count: the proof cases of issue 5.
#include <gtest/gtest.h>

#include "core/error.h"
#include "rewards_test_util.h"

using namespace r1kit::rewards;
using nlohmann::json;

namespace {
const json kRecord = json::object();
double fmt(const std::string& completion, const std::string& prompt = "", const json& args = json::object()) {
  auto r = rtest::make("format", args);
  return rtest::score(*r, completion, kRecord, prompt);
}
const std::string kGood = "<think>\nI will count…\n9 objects\n</think>\n<answer>9</answer>";
}  // namespace

TEST(FormatReward, ProofCases) {
  EXPECT_EQ(fmt(kGood), 1.0);
  EXPECT_EQ(fmt(kGood + "\nI changed my mind, the answer is 41"), 0.0);
  EXPECT_EQ(fmt("<think>\nx\n</think>\n<answer>9</answer>\n</answer>"), 0.0);
  EXPECT_EQ(fmt(kGood + "\n" + kGood), 0.0);
  EXPECT_EQ(fmt("First, 2 plus 2.\n</think>\nThe answer is 4.", "<｜User｜>2+2?<｜Assistant｜><think>\n"), 1.0);
}
TEST(FormatReward, MoreCases) {
  EXPECT_EQ(fmt("  " + kGood + "\n"), 1.0);                                     // surrounding whitespace is fine
  EXPECT_EQ(fmt("<think></think><answer>9</answer>"), 0.0);                       // empty reasoning
  EXPECT_EQ(fmt("<think>x</think><answer> </answer>"), 0.0);                      // empty answer
  EXPECT_EQ(fmt("<think>x</think>text<answer>9</answer>"), 0.0);                  // text between blocks
  EXPECT_EQ(fmt("<answer>9</answer><think>x</think>"), 0.0);                      // wrong order
  EXPECT_EQ(fmt("no tags at all"), 0.0);
  const std::string open = "<｜Assistant｜><think>\n";
  EXPECT_EQ(fmt("<think>again</think> 4", open), 0.0);                             // re-opened think
  EXPECT_EQ(fmt("reasoning\n</think>\n", open), 0.0);                             // no answer
  EXPECT_EQ(fmt("r\n</think>\n<answer>4</answer>", open), 1.0);
  EXPECT_EQ(fmt("r\n</think>\n<answer>4</answer> more", open), 0.0);
  // explicit tags mode ignores the prompt
  EXPECT_EQ(fmt("First.\n</think>\n4", open, {{"mode", "tags"}}), 0.0);
  EXPECT_EQ(fmt(kGood, "", {{"mode", "open_think"}}), 0.0);
}
TEST(FormatReward, BadModeIsConfigError) {
  try {
    rtest::make("format", {{"mode", "tag"}});
    FAIL() << "expected ConfigError";
  } catch (const r1kit::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("$.rewards[0].mode"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tags"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rtest::make("format", {{"mdoe", "tags"}}), r1kit::ConfigError);
}
TEST(TagCountReward, QuarterPerTag) {
  auto r = rtest::make("tag_count");
  EXPECT_EQ(rtest::score(*r, "<think>\nx\n</think>\n<answer>\n9\n</answer>", kRecord), 1.0);
  EXPECT_EQ(rtest::score(*r, "<think>\nx\n</think>\n<answer>9</answer>", kRecord), 0.5);
  EXPECT_EQ(rtest::score(*r, "nothing", kRecord), 0.0);
  EXPECT_EQ(rtest::score(*r, "<think>\n<think>\nx\n</think>\n", kRecord), 0.25);
  EXPECT_EQ(rtest::score(*r, "x\n</think>\n<answer>\n9\n</answer>", kRecord, "A: <think>\n"), 1.0);
}
