// DistributedContext: a single process is a no-op world of size 1; two processes with Gloo on CPU all-reduce,
// gather, broadcast and reduce gradients correctly; a bad launch environment is a clear error.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "train/distributed.h"
#include "train/distributed_spawn.h"

namespace r1kit::train {
namespace {
namespace fs = std::filesystem;

/// Sets environment variables for the scope of a test, restoring them afterwards.
struct ScopedEnv {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& k, const char* v) {
    const char* old = std::getenv(k.c_str());
    saved.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
    if (v) ::setenv(k.c_str(), v, 1);
    else ::unsetenv(k.c_str());
  }
  ~ScopedEnv() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
  }
};

TEST(Distributed, WithoutTorchrunIsOneProcessAndCollectivesAreNoOps) {
  ScopedEnv env;
  for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) env.set(k, nullptr);
  DistributedContext ctx;
  EXPECT_EQ(ctx.rank(), 0);
  EXPECT_EQ(ctx.world_size(), 1);
  EXPECT_TRUE(ctx.is_main());
  EXPECT_FALSE(ctx.is_distributed());
  EXPECT_EQ(ctx.backend_name(), "none");
  EXPECT_EQ(ctx.timeout_seconds(), 1800);
  std::vector<double> v{1.5, 2.5};
  ctx.all_reduce_sum(v);
  EXPECT_EQ(v, (std::vector<double>{1.5, 2.5}));
  size_t off = 7;
  EXPECT_EQ(ctx.all_gather(v, &off), v);
  EXPECT_EQ(off, 0u);
  torch::nn::Linear lin(2, 2);
  lin->weight.mutable_grad() = torch::ones({2, 2});
  ctx.all_reduce_gradients(*lin, 2.0);
  EXPECT_TRUE(lin->weight.grad().equal(torch::full({2, 2}, 0.5)));
  ctx.barrier();
  ctx.test_failure_point(0);
}

TEST(Distributed, TimeoutComesFromTheEnvironmentForTests) {
  ScopedEnv env;
  env.set("RANK", nullptr);
  env.set("WORLD_SIZE", nullptr);
  env.set("R1KIT_DIST_TIMEOUT", "7.5");
  EXPECT_EQ(DistributedContext(DistributedOptions{30}).timeout_seconds(), 7.5);
  env.set("R1KIT_DIST_TIMEOUT", "soon");
  EXPECT_THROW(DistributedContext{}, ConfigError);
}

TEST(Distributed, IncompleteLaunchEnvironmentIsAConfigError) {
  ScopedEnv env;
  env.set("RANK", "0");
  env.set("WORLD_SIZE", nullptr);
  try {
    DistributedContext ctx;
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("WORLD_SIZE"), std::string::npos) << e.what();
  }
  env.set("WORLD_SIZE", "2");
  env.set("RANK", "2");
  EXPECT_THROW(LaunchEnv::from_env(), ConfigError);  // rank outside [0, world_size)
  env.set("RANK", "1");
  env.set("MASTER_ADDR", nullptr);
  EXPECT_THROW(LaunchEnv::from_env(), ConfigError);
}

// The rank process of the test below; writes "ok" to <R1KIT_DIST_TEST_RANK_DIR>/ok_rank<RANK> when every check
// passed. Run by the tests, never directly.
TEST(Distributed, DISABLED_CollectivesWorker) {
  DistributedContext ctx;
  const int r = ctx.rank(), W = ctx.world_size();
  ASSERT_EQ(W, 2);
  ASSERT_TRUE(ctx.is_distributed());
  EXPECT_EQ(ctx.backend_name(), "gloo");
  // all_reduce_sum of doubles, exactly.
  std::vector<double> v{1.0 + r, 0.1 * (r + 1), -3.0};
  ctx.all_reduce_sum(v);
  EXPECT_EQ(v, (std::vector<double>{3.0, 0.1 * 1 + 0.1 * 2, -6.0}));
  // all_gather with different lengths per rank: rank order.
  std::vector<double> mine(r == 0 ? 2 : 3, static_cast<double>(r + 1));
  size_t off = 99;
  const auto all = ctx.all_gather(mine, &off);
  EXPECT_EQ(all, (std::vector<double>{1, 1, 2, 2, 2}));
  EXPECT_EQ(off, r == 0 ? 0u : 2u);
  // broadcast_parameters: rank 1 ends with rank 0's weights.
  torch::manual_seed(100 + r);
  torch::nn::Linear lin(3, 2);
  ctx.broadcast_parameters(*lin);
  torch::manual_seed(100);
  torch::nn::Linear expect(3, 2);
  EXPECT_TRUE(lin->weight.equal(expect->weight));
  EXPECT_TRUE(lin->bias.equal(expect->bias));
  // all_reduce_gradients: sum / divisor, tiny buckets (several flat buckets), undefined grad = zeros.
  lin->weight.mutable_grad() = torch::full({2, 3}, static_cast<float>(r + 1));
  if (r == 0) lin->bias.mutable_grad() = torch::full({2}, 4.0f);
  ctx.all_reduce_gradients(*lin, 2.0, /*bucket_bytes=*/8);
  EXPECT_TRUE(lin->weight.grad().equal(torch::full({2, 3}, 1.5f)));
  EXPECT_TRUE(lin->bias.grad().equal(torch::full({2}, 2.0f)));
  ctx.barrier();
  if (!::testing::Test::HasFailure())
    std::ofstream(fs::path(std::getenv("R1KIT_DIST_TEST_RANK_DIR")) / ("ok_rank" + std::to_string(r))) << "ok";
}

TEST(Distributed, TwoProcessesWithGlooReduceGatherAndBroadcast) {
  const fs::path dir = fs::temp_directory_path() / ("r1kit_dist_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto res = testing_dist::run_ranks(2, "Distributed.DISABLED_CollectivesWorker", {{"R1KIT_DIST_TIMEOUT", "30"}},
                                           60, dir);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(res[r].exit_code, 0) << "rank " << r << ":\n" << res[r].output;
    EXPECT_TRUE(fs::exists(dir / ("ok_rank" + std::to_string(r)))) << res[r].output;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(Distributed, RendezvousWithAMissingRankTimesOutNamingTheEndpoint) {
  // WORLD_SIZE=2 but only rank 0 starts: it fails after the time-out with MASTER_ADDR:MASTER_PORT in the message.
  const fs::path dir = fs::temp_directory_path() / ("r1kit_dist_missing_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const int port = testing_dist::free_port();
  const auto res = testing_dist::run_ranks(
      1, "Distributed.DISABLED_CollectivesWorker",
      {{"R1KIT_DIST_TIMEOUT", "3"}, {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"},
       {"MASTER_PORT", std::to_string(port)}},
      30, dir, /*torchrun_env=*/false);
  EXPECT_NE(res[0].exit_code, 0) << res[0].output;
  EXPECT_NE(res[0].exit_code, -1) << "did not time out by itself:\n" << res[0].output;
  EXPECT_NE(res[0].output.find("rendezvous failed on rank 0 of 2 at MASTER_ADDR:MASTER_PORT = 127.0.0.1:" +
                               std::to_string(port)),
            std::string::npos)
      << res[0].output;
  EXPECT_NE(res[0].output.find("time-out 3 s"), std::string::npos) << res[0].output;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace r1kit::train
