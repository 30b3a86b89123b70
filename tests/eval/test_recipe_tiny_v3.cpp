// "The whole R1 recipe in miniature" end to end: `r1kit recipe --config configs/demo/tiny_v3.json` trains a tiny
// DeepSeek-V3 (MLA + MoE) from random initialisation — cold-start SFT on synthetic sums with chain-of-thought, then
// GRPO with the math reward — and GRPO must raise greedy accuracy on the 200 held-out sums above the SFT model's by
// a stated margin. Also: a rerun skips the finished stages, a different recipe is refused, the data records score 1
// with the math rewarder when the model writes their target.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/atomic_file.h"
#include "core/config.h"
#include "rewards/reward_set.h"
#include "sft/arithmetic.h"

namespace r1kit::eval {
namespace {
namespace fs = std::filesystem;

// Margin of the end-to-end assertion, as a pass@1 fraction of the 200 held-out problems. Measured with this recipe
// (seeds 1, 2, 3; 1 thread; the rollout engine's per-completion random streams, 2026-11-30): SFT 0.425 / 0.670 /
// 0.505 -> GRPO 0.450 / 0.730 / 0.595, gains +0.025 / +0.060 / +0.090 (mean +0.058, sd 0.033; with the earlier
// shared random stream +0.060 / +0.035 / +0.060). The config's seed 1 gains the least, so the margin is 0.01
// (2 problems): it still fails when GRPO does nothing or hurts (a 10x learning rate drops accuracy to ~0.15,
// README), and leaves one problem of room for another CPU's rounding.
constexpr double kMargin = 0.01;

std::string tail(const fs::path& file, size_t chars = 4000) {
  if (!fs::exists(file)) return "(no " + file.string() + ")";
  const auto text = read_file(file);
  return text.size() > chars ? text.substr(text.size() - chars) : text;
}

TEST(RecipeData, TargetsScoreOneWithTheRecipeRewarders) {
  auto recipe = load_json_file(fs::path(R1KIT_SOURCE_DIR) / "configs" / "demo" / "tiny_v3.json");
  auto rewards = rewards::RewardSet::from_json(recipe["grpo"]["rewards"], "$.grpo.rewards", "tiny_v3.json");
  sft::ArithmeticOptions o;
  o.n = 20;
  o.digits = 3;
  for (const auto& r : sft::generate_arithmetic(o)) {
    // what SFT teaches the model to write after the prompt (sft/dataset.h, prompt_reasoning_answer)
    const std::string completion = "<think>\n" + r["reasoning"].get<std::string>() + "\n</think>\n\n" +
                                   r["answer_text"].get<std::string>();
    const std::string prompt = r["prompt"].get<std::string>();
    const auto s = rewards.score_one(rewards::Sample{prompt, completion, r});
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0], 1.0) << completion;  // math_accuracy
    EXPECT_EQ(s[1], 1.0) << completion;  // format
    auto wrong = r;
    wrong["answer"] = "1";
    EXPECT_EQ(rewards.score_one(rewards::Sample{prompt, completion, wrong})[0], 0.0);
  }
}

TEST(RecipeTinyV3, GrpoRaisesHeldOutAccuracyAboveSft) {
  at::set_num_threads(1);
  const fs::path root = fs::temp_directory_path() / ("r1kit_recipe_tiny_v3_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const fs::path run = root / "run", log = root / "log.txt";
  const std::string base = "cd " + std::string(R1KIT_SOURCE_DIR) + " && OMP_NUM_THREADS=1 " + R1KIT_BINARY +
                           " recipe --config configs/demo/tiny_v3.json --out " + run.string();
  ASSERT_EQ(std::system((base + " > " + log.string() + " 2>&1").c_str()), 0) << tail(log);
  const auto summary = load_json_file(run / "summary.json");
  const double init = summary["accuracy"]["init"].get<double>(), sft = summary["accuracy"]["sft"].get<double>(),
               grpo = summary["accuracy"]["grpo"].get<double>();
  std::printf("tiny_v3 recipe: pass@1 random init %.3f, after SFT %.3f, after GRPO %.3f (%.0f s)\n", init, sft, grpo,
              summary["seconds"]["total"].get<double>());
  EXPECT_LE(init, 0.02) << "a random model should not add";
  EXPECT_GE(sft, 0.25) << "SFT should teach some of the task: " << tail(log);
  EXPECT_GE(grpo, sft + kMargin) << "GRPO should raise held-out accuracy by " << kMargin << ": " << tail(log);
  EXPECT_GE(summary["format_rate"]["grpo"].get<double>(), 0.9);

  // The same recipe into the same directory: every stage is skipped, the summary is the same.
  ASSERT_EQ(std::system((base + " > " + (root / "log2.txt").string() + " 2>&1").c_str()), 0) << tail(root / "log2.txt");
  EXPECT_NE(read_file(root / "log2.txt").find("done earlier, skipped"), std::string::npos) << tail(root / "log2.txt");
  EXPECT_EQ(load_json_file(run / "summary.json")["accuracy"], summary["accuracy"]);
  // A different recipe into it is refused before any work, naming the key.
  EXPECT_NE(std::system((base + " --set grpo.max_steps=1 > " + (root / "log3.txt").string() + " 2>&1").c_str()), 0);
  EXPECT_NE(read_file(root / "log3.txt").find("/grpo/max_steps"), std::string::npos) << tail(root / "log3.txt");
  fs::remove_all(root);
}

}  // namespace
}  // namespace r1kit::eval
