// Data-parallel GRPO over c10d/Gloo on CPU, two processes launched as torchrun would: after N steps the parameters
// equal a one-process run on the combined batch (grpo, dr_grpo, dapo; β ≠ 0 in one; scale_rewards = batch in
// one), and a rank that exits or hangs makes the other fail with a message naming it, within the time-out.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/jsonl.h"
#include "error_model.h"
#include "model/causal_lm.h"
#include "rewards/rewarder.h"
#include "rl/grpo_trainer.h"
#include "tokenizer/tokenizer.h"
#include "train/distributed_spawn.h"

namespace r1kit::rl {
namespace {
namespace fs = std::filesystem;
using testing_dist::run_ranks;

/// Synthetic task reward: the fraction of characters of the completion that are the letter 'a'.
class DistFractionA : public rewards::Rewarder {
 public:
  std::string name() const override { return "fraction_a"; }
  double score(const rewards::Sample& s) const override {
    if (s.completion.empty()) return 0.0;
    return static_cast<double>(std::count(s.completion.begin(), s.completion.end(), 'a')) / s.completion.size();
  }
};

void register_test_rewarder() {
  static bool registered = false;
  if (registered) return;
  rewards::register_rewarder("dist_test_fraction_a", [](const nlohmann::json&, const std::string&, const std::string&) {
    return std::make_unique<DistFractionA>();
  });
  registered = true;
}

/// Tiny Llama and a 16-prompt synthetic data set under a temporary directory.
struct DistSetup {
  fs::path root;
  DistSetup() {
    root = fs::temp_directory_path() / ("r1kit_dist_grpo_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "tok");
    fs::copy_file(fs::path(R1KIT_FIXTURES_DIR) / "tokenizer" / "synthetic_smollm2" / "tokenizer.json",
                  root / "tok" / "tokenizer.json");
    write_file_atomic(root / "tok" / "tokenizer_config.json", R"({"eos_token": "<|endoftext|>"})");
    auto tok = tokenizer::Tokenizer::from_dir(root / "tok");
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"vocab_size", static_cast<int64_t>(tok.vocab_size())}, {"hidden_size", 32},
                          {"intermediate_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                          {"num_key_value_heads", 1}, {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-5},
                          {"tie_word_embeddings", true}, {"eos_token_id", *tok.eos_token_id()}};
    auto model = model::create_causal_lm(model::ModelConfig::from_json(cfg, "tiny"), true);
    model->init_weights(3);
    model::save_pretrained(*model, root / "model", root / "tok");
    std::string data;
    for (int i = 0; i < 16; ++i) data += nlohmann::json{{"question", "item " + std::to_string(i) + ":"}}.dump() + "\n";
    write_file_atomic(root / "data.jsonl", data);
  }
  ~DistSetup() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  /// Per rank: 2 prompts × G = 4 completions, micro-batches of 4 (one prompt each).
  nlohmann::json config(const std::string& out) const {
    return {{"model", {{"path", (root / "model").string()}}},
            {"data", {{"path", (root / "data.jsonl").string()}, {"prompt_template", "none"}}},
            {"rewards", {{{"type", "dist_test_fraction_a"}, {"weight", 1.0}}}},
            {"output_dir", (root / out).string()},
            {"max_steps", 3},
            {"num_generations", 4},
            {"per_device_train_batch_size", 4},
            {"gradient_accumulation_steps", 2},
            {"max_completion_length", 6},
            // ε = 1 ≫ |g|: each step is ≈ lr·m̂, Lipschitz in the gradients, so the parity below has a bound
            // (tests/error_model.h, adam_parity_bound; with ε = 1e-8 a gradient that cancels to ~ε turns rounding
            // noise into a step of up to lr).
            {"adam_epsilon", 1.0},
            {"learning_rate", 0.05},
            {"lr_scheduler_type", "constant"},
            {"samples_steps", 0},
            {"seed", 11}};
  }
};

/// Reads the flat float64 parameter dump a worker wrote.
std::vector<double> read_params(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<double> v;
  double x;
  while (in.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

// The rank process: trains with the config in R1KIT_DIST_TEST_CONFIG and dumps its parameters (float64, in
// parameter order) to <R1KIT_DIST_TEST_RANK_DIR>/params_rank<RANK>.bin. Run by the tests below, never directly.
TEST(DistributedGRPO, DISABLED_Worker) {
  register_test_rewarder();
  const char* cfg_path = std::getenv("R1KIT_DIST_TEST_CONFIG");
  ASSERT_NE(cfg_path, nullptr);
  GRPOTrainer t(GRPOConfig::from_json(load_json_file(cfg_path), cfg_path));
  t.train();
  const char* rank = std::getenv("RANK");
  std::ofstream out(fs::path(std::getenv("R1KIT_DIST_TEST_RANK_DIR")) /
                        ("params_rank" + std::string(rank ? rank : "0") + ".bin"),
                    std::ios::binary);
  for (auto& p : t.policy().parameters()) {
    auto d = p.detach().to(torch::kFloat64).contiguous();
    out.write(reinterpret_cast<const char*>(d.data_ptr<double>()), static_cast<std::streamsize>(d.numel() * 8));
  }
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

struct Variant {
  const char* loss_type;
  double beta;
  const char* scale_rewards;
};

class DistributedGRPOParity : public ::testing::TestWithParam<Variant> {};

TEST_P(DistributedGRPOParity, TwoRanksEqualOneProcessOnTheCombinedBatch) {
  const auto v = GetParam();
  DistSetup s;
  auto two = s.config("two");
  two["loss_type"] = v.loss_type;
  two["beta"] = v.beta;
  two["scale_rewards"] = v.scale_rewards;
  two["gradient_accumulation_steps"] = 2;  // per rank: 2 prompts, 8 completions
  auto one = two;
  one["output_dir"] = (s.root / "one").string();
  one["gradient_accumulation_steps"] = 4;  // the combined batch: 4 prompts, 16 completions, same micro-batches
  write_json_atomic(s.root / "two.json", two);
  write_json_atomic(s.root / "one.json", one);

  const auto r2 = run_ranks(2, "DistributedGRPO.DISABLED_Worker", {{"R1KIT_DIST_TEST_CONFIG", (s.root / "two.json").string()},
                                                                    {"R1KIT_DIST_TIMEOUT", "60"}},
                            120, s.root / "logs2");
  for (int r = 0; r < 2; ++r) ASSERT_EQ(r2[r].exit_code, 0) << "rank " << r << ":\n" << r2[r].output;
  // One process under torchrun (WORLD_SIZE=1): the per-prompt seeding of a distributed run.
  const auto r1 = run_ranks(1, "DistributedGRPO.DISABLED_Worker", {{"R1KIT_DIST_TEST_CONFIG", (s.root / "one.json").string()}},
                            120, s.root / "logs1");
  ASSERT_EQ(r1[0].exit_code, 0) << r1[0].output;

  const auto p0 = read_params(s.root / "logs2" / "params_rank0.bin");
  const auto p1 = read_params(s.root / "logs2" / "params_rank1.bin");
  const auto ref = read_params(s.root / "logs1" / "params_rank0.bin");
  const auto init = [&] {  // the starting weights, to show the runs moved
    std::vector<double> out;
    for (auto& p : model::load_pretrained(s.root / "model", torch::kCPU, torch::kFloat32)->parameters()) {
      auto d = p.detach().to(torch::kFloat64).contiguous();
      out.insert(out.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    }
    return out;
  }();
  EXPECT_EQ(max_abs_diff(p0, p1), 0.0) << "the two ranks' parameters diverged";  // exact: all-reduced gradients
  auto m2 = read_jsonl(s.root / "two" / "metrics.jsonl");
  auto m1 = read_jsonl(s.root / "one" / "metrics.jsonl");
  ASSERT_EQ(m2.size(), m1.size());
  // Both runs compute the same micro-batches; the gradients differ only in how the four micro-batch gradients are
  // summed (two per rank + an all-reduce, vs four in a row), float32: tests/error_model.h,
  // data_parallel_parity_bound. (Step 2 and 3 rollouts sample from parameters that differ by ~ulp; a sampled token
  // could flip only if a uniform fell within ~1e-7 of a CDF boundary.)
  const int64_t V = model::load_pretrained(s.root / "model", torch::kCPU, torch::kFloat32)->config().vocab_size;
  std::vector<double> grad_norms;
  for (const auto& m : m1) grad_norms.push_back(m["grad_norm"].get<double>());
  const double bound = test::data_parallel_parity_bound(0.05, V, grad_norms, ref);
  const double rel = 2 * 5 * test::fp32_decoder_typical(V);  // one gradient's relative error, as in that bound
  const double d = max_abs_diff(p0, ref);
  std::printf("%s beta=%g scale=%s: max |2 ranks - 1 process| = %.3g (bound %.3g), moved %.3g\n", v.loss_type,
              v.beta, v.scale_rewards, d, bound, max_abs_diff(ref, init));
  EXPECT_TRUE(test::within(d, bound));
  // The test can fail: the runs moved the parameters far more than the bound.
  EXPECT_GT(max_abs_diff(ref, init), 100 * bound) << "training did not move the parameters";

  // Metrics: rank 0 alone writes them, and they describe the whole step (equal to the one-process run's).
  // Rewards, lengths and counts are float64 sums of identical per-completion values (float64 all-reduce): ≤ 16
  // terms in [0, 8], ≲ 16·u64·8 ≈ 1e-14; bound 1e-9. The completions themselves are identical (EXPECT_EQ on
  // num_tokens would do; the same bound keeps one loop).
  for (size_t i = 0; i < m1.size(); ++i)
    for (const char* key : {"reward", "reward_std", "completions/mean_length", "num_tokens", "frac_reward_zero_std"})
      EXPECT_NEAR(m2[i][key].get<double>(), m1[i][key].get<double>(), 1e-9) << key << " at step " << i + 1;
  // loss, grad_norm, entropy of the last step: float32 per-token values of the same micro-batches under parameters
  // that differ by ≤ the bound above (≲ 10u of |θ|), then float64 sums: relative error ≤ rel, of the values'
  // scale — |loss| is a mean of terms |A|·c + β·k3 with |A| ≤ 3/2 (a Bessel-normalised advantage in a group of 4),
  // so its scale is 1.5 rather than |loss| itself (≈ 0 when on-policy); grad_norm and entropy are positive sums.
  // (The former absolute 1e-5 was ≈ 1.4e-6 of the entropy (≈ log V ≈ 7.3), below rel.)
  EXPECT_TRUE(test::within(std::abs(m2.back()["loss"].get<double>() - m1.back()["loss"].get<double>()), rel * 1.5));
  for (const char* key : {"grad_norm", "entropy"}) {
    const double a = m2.back()[key].get<double>(), b = m1.back()[key].get<double>();
    EXPECT_TRUE(test::within(std::abs(a - b), rel * std::abs(b))) << key;
  }
  EXPECT_TRUE(fs::exists(s.root / "two" / "checkpoints" / "step_3" / "model.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(LossTypes, DistributedGRPOParity,
                         ::testing::Values(Variant{"grpo", 0.0, "batch"}, Variant{"dr_grpo", 0.0, "none"},
                                           Variant{"dapo", 0.04, "group"}),
                         [](const auto& info) { return std::string(info.param.loss_type); });

TEST(DistributedGRPO, ARankThatExitsMidRunFailsTheOtherNamingIt) {
  DistSetup s;
  auto cfg = s.config("killed");
  cfg["max_steps"] = 4;
  write_json_atomic(s.root / "killed.json", cfg);
  const auto r = run_ranks(2, "DistributedGRPO.DISABLED_Worker",
                           {{"R1KIT_DIST_TEST_CONFIG", (s.root / "killed.json").string()}, {"R1KIT_DIST_TIMEOUT", "20"},
                            {"R1KIT_DIST_TEST_EXIT_AT_STEP", "2"}},
                           60, s.root / "logs");
  EXPECT_EQ(r[1].exit_code, 3) << r[1].output;
  EXPECT_NE(r[0].exit_code, 0) << r[0].output;
  EXPECT_NE(r[0].exit_code, -1) << "rank 0 had to be killed:\n" << r[0].output;
  EXPECT_LT(r[0].seconds, 20 + 15);
  EXPECT_NE(r[0].output.find("failed on rank 0 of 2"), std::string::npos) << r[0].output;
  EXPECT_NE(r[0].output.find("rank 1 did not report"), std::string::npos) << r[0].output;
  EXPECT_NE(r[0].output.find("time-out 20 s"), std::string::npos) << r[0].output;
}

TEST(DistributedGRPO, ARankThatHangsFailsTheOtherWithinTheTimeout) {
  DistSetup s;
  auto cfg = s.config("hung");
  cfg["max_steps"] = 4;
  write_json_atomic(s.root / "hung.json", cfg);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_ranks(2, "DistributedGRPO.DISABLED_Worker",
                           {{"R1KIT_DIST_TEST_CONFIG", (s.root / "hung.json").string()}, {"R1KIT_DIST_TIMEOUT", "4"},
                            {"R1KIT_DIST_TEST_HANG_AT_STEP", "1"}},
                           40, s.root / "logs");
  (void)t0;
  EXPECT_EQ(r[1].exit_code, -1) << "the hanging rank should have been killed by the test:\n" << r[1].output;
  EXPECT_NE(r[0].exit_code, 0) << r[0].output;
  EXPECT_NE(r[0].exit_code, -1) << "rank 0 did not time out by itself:\n" << r[0].output;
  EXPECT_NE(r[0].output.find("rank 1 did not report"), std::string::npos) << r[0].output;
  EXPECT_NE(r[0].output.find("time-out 4 s"), std::string::npos) << r[0].output;
  EXPECT_NE(r[0].output.find("ddp_timeout"), std::string::npos) << r[0].output;
}

}  // namespace
}  // namespace r1kit::rl
