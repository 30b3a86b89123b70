// Data-parallel training over torch.distributed's C++ core (c10d), launched by torchrun.
//
// Each process (rank) holds a full copy of the model, trains on its own share of the batch, and the ranks keep
// their copies identical by summing gradients with an all-reduce before the optimizer step — PyTorch DDP
// (Li et al., "PyTorch Distributed", VLDB 2020) without autograd hooks: r1kit reduces once per optimizer step, in
// flat buckets, after the whole step's backward passes.
//
// Rendezvous follows torch.distributed's env:// init (torch/distributed/rendezvous.py, `_env_rendezvous_handler`
// and `_create_c10d_store`): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Rank 0 hosts a c10d::TCPStore
// at MASTER_ADDR:MASTER_PORT and the others connect to it — unless TORCHELASTIC_USE_AGENT_STORE=True and the
// address is the agent's own, when torchrun's agent already hosts it and every rank is a client. The backend is
// ProcessGroupGloo for CPU tensors and ProcessGroupNCCL (built with CUDA and NCCL headers) for CUDA tensors on
// device LOCAL_RANK.
//
// Without RANK/WORLD_SIZE in the environment the context is a single process: world_size() = 1, no process group,
// every collective returns at once with its input unchanged.
//
// Errors from c10d (a peer that exited, a peer that hangs past the time-out, a store that is gone) are rethrown as
// r1kit::Error naming this rank, the lost rank(s) when they can be told, the time-out and how to change it.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace r1kit::train {

struct DistributedOptions {
  /// Time a collective (or the rendezvous) may wait for the slowest rank before failing, seconds (TRL/transformers
  /// `ddp_timeout`, default 1800). The environment variable R1KIT_DIST_TIMEOUT (seconds) overrides it.
  double timeout_seconds = 1800;
  /// Device of the tensors the collectives see: CPU -> Gloo; CUDA -> NCCL when built with it (else Gloo).
  torch::DeviceType device_type = torch::kCPU;
};

/// The launch environment as torchrun sets it. `present` is false when RANK/WORLD_SIZE are unset.
struct LaunchEnv {
  bool present = false;
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool use_agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE=True (and MASTER_ADDR/PORT are the agent's)
  /// Reads the variables; throws ConfigError naming the variable for malformed or inconsistent values.
  static LaunchEnv from_env();
};

class DistributedContext {
 public:
  /// Joins the process group described by the environment (LaunchEnv), or a single-process context without it.
  /// Blocks until all ranks have joined or the time-out passes. Throws r1kit::Error on failure (message names
  /// MASTER_ADDR:MASTER_PORT, the rank and the time-out).
  explicit DistributedContext(const DistributedOptions& options = {});
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  /// The process-wide context, created by the first call (later calls return it; their options are ignored).
  /// A process joins a process group once; trainers share it.
  static std::shared_ptr<DistributedContext> process_default(const DistributedOptions& options = {});

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int local_rank() const { return local_rank_; }
  bool is_main() const { return rank_ == 0; }
  /// True when a process group exists (launched by torchrun, even with WORLD_SIZE=1).
  bool is_distributed() const { return static_cast<bool>(backend_); }
  double timeout_seconds() const { return timeout_seconds_; }
  /// "gloo", "nccl" or "none".
  std::string backend_name() const;

  /// Copies rank `src`'s parameters into every rank's `module` (all ranks call it). Float parameters of any
  /// dtype; buckets of ~25 MB.
  void broadcast_parameters(torch::nn::Module& module, int src = 0);
  /// In-place sum over ranks of `tensor` (any device the backend accepts; contiguous or not).
  void all_reduce_sum(torch::Tensor& tensor);
  /// In-place sum over ranks, computed in float64.
  void all_reduce_sum(std::vector<double>& values);
  /// Concatenation over ranks, in rank order, of each rank's `values` (lengths may differ): every rank returns
  /// the same vector. *offset (optional) receives where this rank's values start in it. Exact (float64).
  std::vector<double> all_gather(const std::vector<double>& values, size_t* offset = nullptr);
  /// Sums every trainable parameter's gradient over ranks, then divides it by `divisor` (1 = plain sum; world_size
  /// = DDP's mean). Undefined gradients count as zeros (and become zero tensors), so ranks whose micro-batches
  /// touched different parameters stay in step. Flat buckets of `bucket_bytes` (default 25 MB, DDP's
  /// bucket_cap_mb) per dtype/device.
  void all_reduce_gradients(torch::nn::Module& module, double divisor = 1.0, int64_t bucket_bytes = 25 << 20);
  /// Waits for all ranks.
  void barrier();

  /// Test hook for the failure tests: R1KIT_DIST_TEST_EXIT_AT_STEP=N makes rank R1KIT_DIST_TEST_EXIT_RANK
  /// (default: the last rank) _exit(3) when `step` == N; R1KIT_DIST_TEST_HANG_AT_STEP=N makes it sleep forever
  /// instead. No-op when the variables are unset.
  void test_failure_point(int64_t step) const;

 private:
  struct Impl;
  [[noreturn]] void fail(const std::string& op, const std::exception& e, double waited_s);

  int rank_ = 0, world_size_ = 1, local_rank_ = 0;
  double timeout_seconds_ = 1800;
  std::string endpoint_;  // MASTER_ADDR:MASTER_PORT
  std::unique_ptr<Impl> impl_;
  bool backend_ = false;  // a process group exists
};

}  // namespace r1kit::train
