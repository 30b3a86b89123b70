// SFT over torch.distributed (train/distributed.h) with Gloo on CPU: two ranks, each training on its slice of
// every micro-batch, end with the parameters of one process trained on the combined batch; rank 0 alone writes the
// run directory. The ranks are launched by the test itself (CI has no torchrun), as tests/rl/test_distributed_grpo.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/jsonl.h"
#include "error_model.h"
#include "sft/sft_trainer.h"
#include "sft_test_util.h"
#include "train/distributed_spawn.h"

namespace r1kit::sft {
namespace {
namespace fs = std::filesystem;
using testing::TinySftSetup;
using testing_dist::run_ranks;

std::vector<double> read_params(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<double> v;
  double x;
  while (in.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// The rank process: trains with the config in R1KIT_DIST_TEST_CONFIG and dumps its parameters (float64, in
// parameter order) to <R1KIT_DIST_TEST_RANK_DIR>/params_rank<RANK>.bin. Run by the tests below, never directly.
TEST(DistributedSFT, DISABLED_Worker) {
  const char* cfg_path = std::getenv("R1KIT_DIST_TEST_CONFIG");
  ASSERT_NE(cfg_path, nullptr);
  SFTTrainer t(SFTConfig::from_json(load_json_file(cfg_path), cfg_path));
  t.train();
  const char* rank = std::getenv("RANK");
  std::ofstream out(fs::path(std::getenv("R1KIT_DIST_TEST_RANK_DIR")) /
                        ("params_rank" + std::string(rank ? rank : "0") + ".bin"),
                    std::ios::binary);
  for (auto& p : t.model().parameters()) {
    auto d = p.detach().to(torch::kFloat64).contiguous();
    out.write(reinterpret_cast<const char*>(d.data_ptr<double>()), static_cast<std::streamsize>(d.numel() * 8));
  }
}

class DistributedSFTParity : public ::testing::TestWithParam<bool> {};

TEST_P(DistributedSFTParity, TwoRanksEqualOneProcessOnTheCombinedBatch) {
  const bool packing = GetParam();
  TinySftSetup s(packing ? "dist_packed" : "dist");
  const auto data = s.write_data("d.jsonl", 24);
  auto two = s.config("two", data);
  two["max_steps"] = 3;
  two["per_device_train_batch_size"] = 2;  // per rank; the step is 2 ranks × 2 rows × 2 micro-batches
  two["gradient_accumulation_steps"] = 2;
  two["packing"] = packing;
  if (packing) two["max_length"] = 256;  // room for several examples per packed row
  two["weight_decay"] = 0.1;
  // ε = 1 ≫ |g|: each step is ≈ lr·m̂, Lipschitz in the gradients, so the parity below has a bound
  // (tests/error_model.h, adam_parity_bound; with ε = 1e-8 a gradient that cancels to ~ε turns rounding noise into
  // a step of up to lr).
  two["adam_epsilon"] = 1.0;
  two["learning_rate"] = 0.05;
  auto one = two;
  one["output_dir"] = (s.root / "one").string();
  one["per_device_train_batch_size"] = 4;  // the combined micro-batches in one process
  write_json_atomic(s.root / "two.json", two);
  write_json_atomic(s.root / "one.json", one);

  const auto r2 = run_ranks(2, "DistributedSFT.DISABLED_Worker",
                            {{"R1KIT_DIST_TEST_CONFIG", (s.root / "two.json").string()}, {"R1KIT_DIST_TIMEOUT", "60"}},
                            120, s.root / "logs2");
  for (int r = 0; r < 2; ++r) ASSERT_EQ(r2[r].exit_code, 0) << "rank " << r << ":\n" << r2[r].output;
  const auto r1 = run_ranks(1, "DistributedSFT.DISABLED_Worker",
                            {{"R1KIT_DIST_TEST_CONFIG", (s.root / "one.json").string()}}, 120, s.root / "logs1",
                            /*torchrun_env=*/false);
  ASSERT_EQ(r1[0].exit_code, 0) << r1[0].output;

  const auto p0 = read_params(s.root / "logs2" / "params_rank0.bin");
  const auto p1 = read_params(s.root / "logs2" / "params_rank1.bin");
  const auto ref = read_params(s.root / "logs1" / "params_rank0.bin");
  std::vector<double> init;
  for (auto& p : model::load_pretrained(s.root / "model", torch::kCPU, torch::kFloat32)->parameters()) {
    auto d = p.detach().to(torch::kFloat64).contiguous();
    init.insert(init.end(), d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  }
  EXPECT_EQ(max_abs_diff(p0, p1), 0.0) << "the two ranks' parameters diverged";  // exact: all-reduced gradients
  const auto m2 = read_jsonl(s.root / "two" / "metrics.jsonl");
  const auto m1 = read_jsonl(s.root / "one" / "metrics.jsonl");
  ASSERT_EQ(m2.size(), m1.size());
  // Both runs compute the same micro-batches; the gradients differ only in how they are summed (per rank + an
  // all-reduce, vs in a row), float32: tests/error_model.h, data_parallel_parity_bound.
  const int64_t V = model::load_pretrained(s.root / "model", torch::kCPU, torch::kFloat32)->config().vocab_size;
  std::vector<double> grad_norms;
  for (const auto& m : m1) grad_norms.push_back(m["grad_norm"].get<double>());
  const double bound = test::data_parallel_parity_bound(0.05, V, grad_norms, ref);
  const double rel = 2 * 5 * test::fp32_decoder_typical(V);  // one gradient's relative error, as in that bound
  const double d = max_abs_diff(p0, ref);
  std::printf("packing=%d: max |2 ranks - 1 process| = %.3g (bound %.3g), moved %.3g\n", packing, d, bound,
              max_abs_diff(ref, init));
  EXPECT_TRUE(test::within(d, bound));
  // The test can fail: the runs moved the parameters far more than the bound.
  EXPECT_GT(max_abs_diff(ref, init), 100 * bound) << "training did not move the parameters";

  // Rank 0 alone wrote the run directory; its metrics describe the whole step, as the one-process run's do.
  EXPECT_EQ(m2.back()["num_target_tokens"], m1.back()["num_target_tokens"]);
  // The last step's loss: a mean of float32 per-token NLLs (≈ log V ≈ 7.3 each) of the same micro-batches under
  // parameters that differ by ≤ the bound above, combined in float64: relative error ≤ rel. (The former absolute
  // 1e-6 was ≈ 1.4e-7 of the loss, ~2u: one rounding's worth.)
  const double loss1 = m1.back()["loss"].get<double>();
  EXPECT_TRUE(test::within(std::abs(m2.back()["loss"].get<double>() - loss1), rel * std::abs(loss1)));
  EXPECT_TRUE(fs::exists(s.root / "two" / "checkpoints" / "step_3" / "model.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Packing, DistributedSFTParity, ::testing::Values(false, true));

}  // namespace
}  // namespace r1kit::sft
