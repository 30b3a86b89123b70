// The evaluator on a tiny random model: per-problem counts, pass@k and the aggregates agree with the samples it
// returns; presets and dataset names; `r1kit eval` writes its files.
#include <gtest/gtest.h>

#include <cmath>

#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "eval/evaluator.h"
#include "eval/metrics.h"
#include "eval/presets.h"
#include "rollout/stop.h"
#include "tiny_setup.h"

namespace r1kit::eval {
namespace {
namespace fs = std::filesystem;

TEST(Evaluator, AggregatesAgreeWithTheSamples) {
  testing::TinySetup s("evaluator");
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  std::shared_ptr<model::CausalLM> m = model::load_pretrained(s.root / "model", torch::kCPU, torch::kFloat32);
  rollout::RolloutEngine engine(m, &tok);
  auto rewards = rewards::RewardSet::from_json(testing::TinySetup::rewards());
  auto task = load_task(s.root / "data.jsonl", "question", 5);
  EXPECT_EQ(task.name, "data");
  ASSERT_EQ(task.records.size(), 5u);
  EvalOptions opt;
  opt.prompt_template = "none";
  opt.sampling.n = 6;
  opt.sampling.temperature = 1.0;
  opt.sampling.max_new_tokens = 8;
  opt.sampling.seed = 11;
  opt.sampling.stop_token_ids = {*tok.eos_token_id()};
  const auto r = evaluate(engine, tok, nullptr, rewards, task, opt);
  const auto& sum = r.summary;
  EXPECT_EQ(sum.accuracy_reward, "has_a");  // no math/code rewarder: the first one
  EXPECT_EQ(sum.num_problems, 5);
  EXPECT_EQ(sum.n, 6);
  ASSERT_EQ(r.problems.size(), 5u);
  double pass1 = 0, len = 0, any_correct = 0, len_ok = 0, len_bad = 0;
  int64_t n_ok = 0;
  std::map<int64_t, double> pass_at;
  for (const auto& p : r.problems) {
    ASSERT_EQ(p.samples.size(), 6u);
    int64_t c = 0;
    for (const auto& smp : p.samples) {
      const bool has_a = smp.completion.find('a') != std::string::npos;
      EXPECT_EQ(smp.correct, has_a) << smp.completion;
      c += has_a;
      len += static_cast<double>(smp.tokens);
      (has_a ? len_ok : len_bad) += static_cast<double>(smp.tokens);
      n_ok += has_a;
      EXPECT_FALSE(smp.answer.has_value());  // answers are extracted for math accuracy only
    }
    EXPECT_EQ(p.correct, c);
    EXPECT_EQ(p.pass_at.size(), reported_ks(6).size());
    for (const auto& [k, v] : p.pass_at) {
      EXPECT_DOUBLE_EQ(v, pass_at_k(6, c, k));
      pass_at[k] += v / 5;
    }
    pass1 += static_cast<double>(c) / 6 / 5;
    any_correct += c > 0 ? 0.2 : 0.0;
    EXPECT_FALSE(p.maj_correct.has_value());
  }
  // float64 means over 5 problems / 30 samples of exact small counts and pass@k values ≤ 1 (lengths ≤ a few dozen
  // tokens): ≤ ~30 roundings, ≲ 30·u64·50 ≈ 2e-13 in the worst case; kF64 = 1e-12. (The lengths' former 1e-9 was
  // 1e4 times looser than that.) pass@k per problem: the same function on the same counts, exact (DOUBLE_EQ).
  constexpr double kF64 = 1e-12;
  EXPECT_NEAR(sum.pass_at.at(1), pass1, kF64);
  EXPECT_NEAR(sum.pass_at.at(6), any_correct, kF64);  // pass@n = fraction of problems with a correct sample
  for (const auto& [k, v] : pass_at) EXPECT_NEAR(sum.pass_at.at(k), v, kF64);
  EXPECT_NEAR(sum.mean_length, len / 30, kF64);
  ASSERT_GT(n_ok, 0) << "the fixture should give some correct and some incorrect samples";
  ASSERT_LT(n_ok, 30);
  EXPECT_NEAR(sum.mean_length_correct, len_ok / static_cast<double>(n_ok), kF64);
  EXPECT_NEAR(sum.mean_length_incorrect, len_bad / static_cast<double>(30 - n_ok), kF64);
  EXPECT_EQ(sum.format_rate, 0.0);  // a random model writes no <think>/<answer> tags
  EXPECT_FALSE(sum.maj_at_n.has_value());
  const auto metrics = sum.metrics("eval/data/");
  for (const char* k : {"eval/data/pass@1", "eval/data/pass@2", "eval/data/pass@4", "eval/data/pass@6",
                        "eval/data/mean_length", "eval/data/mean_length_incorrect", "eval/data/format_rate", "eval/data/reward"})
    EXPECT_TRUE(metrics.contains(k)) << k << " missing in " << metrics.dump();

  r.write_problems(s.root / "problems.jsonl", task);
  const auto lines = read_jsonl(s.root / "problems.jsonl");
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0]["samples"].size(), 6u);
  EXPECT_EQ(lines[0]["correct"].get<int64_t>(), r.problems[0].correct);
}

TEST(Evaluator, MathAccuracyGivesMajorityVote) {
  testing::TinySetup s("evaluator_math");
  auto tok = tokenizer::Tokenizer::from_dir(s.root / "model");
  std::shared_ptr<model::CausalLM> m = model::load_pretrained(s.root / "model", torch::kCPU, torch::kFloat32);
  rollout::RolloutEngine engine(m, &tok);
  auto rewards = rewards::RewardSet::from_json(nlohmann::json::array({{{"type", "math_accuracy"}}}));
  auto task = load_task(s.root / "data.jsonl", "question", 3, "tiny");
  EvalOptions opt;
  opt.prompt_template = "r1_zero";
  opt.sampling.n = 2;
  opt.sampling.max_new_tokens = 4;
  const auto r = evaluate(engine, tok, nullptr, rewards, task, opt);
  ASSERT_TRUE(r.summary.maj_at_n.has_value());
  EXPECT_EQ(*r.summary.maj_at_n, 0.0);  // random text holds no answer marker
  EXPECT_TRUE(r.summary.metrics("eval/tiny/").contains("eval/tiny/maj@2"));
  opt.accuracy_reward = "nope";
  EXPECT_THROW(evaluate(engine, tok, nullptr, rewards, task, opt), InvalidArgument);
}

TEST(Presets, LoadTheSharedDataSets) {
  const fs::path data = fs::path(R1KIT_SOURCE_DIR) / ".." / "shared" / "data";
  if (!fs::exists(data / "gsm8k" / "test.jsonl")) GTEST_SKIP() << "shared data not found at " << data;
  auto gsm = load_preset(find_preset("gsm8k"), data, 3);
  ASSERT_EQ(gsm.records.size(), 3u);
  EXPECT_EQ(gsm.questions[0], gsm.records[0]["question"].get<std::string>());
  auto mbpp = load_preset(find_preset("mbpp"), data, 2);
  EXPECT_EQ(mbpp.records[0]["task_id"].get<int64_t>(), 11);  // test split starts at task 11
  EXPECT_NE(mbpp.questions[0].find("assert"), std::string::npos);
  auto he = load_preset(find_preset("humaneval"), data, 1);
  EXPECT_NE(he.questions[0].find("```python"), std::string::npos);
  for (const auto& p : presets()) EXPECT_EQ(load_preset(p, data, 1).records.size(), 1u) << p.name;
  EXPECT_EQ(load_preset(find_preset("mbpp"), data).records.size(), 500u);
  try {
    find_preset("gsm8");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("gsm8k"), std::string::npos) << e.what();
  }
}

TEST(Presets, DatasetNames) {
  EXPECT_EQ(dataset_name_for("../shared/data/gsm8k/test.jsonl"), "gsm8k");
  EXPECT_EQ(dataset_name_for("/x/shared/data/math/math500_test.jsonl"), "math500");
  EXPECT_EQ(dataset_name_for("my set.jsonl"), "my_set");
}

TEST(EvalCommand, WritesProblemsAndSummary) {
  testing::TinySetup s("cli_eval");
  write_json_atomic(s.root / "rewards.json", testing::TinySetup::rewards());
  const std::string cmd = std::string(R1KIT_BINARY) + " eval --model " + (s.root / "model").string() + " --data " +
                          (s.root / "data.jsonl").string() + " --rewards " + (s.root / "rewards.json").string() +
                          " --template none --n 3 --temperature 1 --top-p 0.9 --max-new-tokens 5 --limit 4 --out " +
                          (s.root / "out").string() + " > " + (s.root / "stdout.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(s.root / "stdout.txt");
  const auto out = read_file(s.root / "stdout.txt");
  EXPECT_NE(out.find("pass@1"), std::string::npos) << out;
  auto summary = load_json_file(s.root / "out" / "summary.json");
  EXPECT_EQ(summary["num_problems"].get<int64_t>(), 4);
  EXPECT_EQ(summary["n"].get<int64_t>(), 3);
  EXPECT_TRUE(summary["metrics"].contains("pass@3")) << summary.dump();
  EXPECT_EQ(read_jsonl(s.root / "out" / "problems.jsonl").size(), 4u);
}

}  // namespace
}  // namespace r1kit::eval
