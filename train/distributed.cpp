// Data-parallel training over c10d. See distributed.h.
//
// ProcessGroupGloo.hpp is guarded by USE_C10D_GLOO and includes Gloo headers the wheel lacks: cmake/gloo_shim
// declares the few names it mentions (r1kit_c10d_sources in cmake/LibTorch.cmake).
#define USE_C10D_GLOO 1
#include "train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <unistd.h>

#if defined(R1KIT_WITH_NCCL)
#define USE_C10D_NCCL 1
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace r1kit::train {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

const char* env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

int64_t env_int(const char* name, int64_t lo, int64_t hi) {
  const char* v = env_or_null(name);
  if (v == nullptr) throw ConfigError(std::string("environment variable ") + name + " is not set; launch with torchrun");
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
    throw ConfigError(std::string("environment variable ") + name + "=\"" + v + "\" must be an integer in [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

std::string seconds_text(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}
}  // namespace

LaunchEnv LaunchEnv::from_env() {
  LaunchEnv e;
  const bool has_rank = env_or_null("RANK") != nullptr, has_world = env_or_null("WORLD_SIZE") != nullptr;
  if (!has_rank && !has_world) return e;
  if (has_rank != has_world)
    throw ConfigError(std::string("environment variable ") + (has_rank ? "WORLD_SIZE" : "RANK") +
                      " is not set but " + (has_rank ? "RANK" : "WORLD_SIZE") +
                      " is; launch with torchrun (it sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) "
                      "or unset both for a single process");
  e.present = true;
  e.world_size = static_cast<int>(env_int("WORLD_SIZE", 1, 1 << 20));
  e.rank = static_cast<int>(env_int("RANK", 0, e.world_size - 1));
  e.local_rank = env_or_null("LOCAL_RANK") ? static_cast<int>(env_int("LOCAL_RANK", 0, 1 << 20)) : e.rank;
  const char* addr = env_or_null("MASTER_ADDR");
  if (addr == nullptr)
    throw ConfigError("environment variable MASTER_ADDR is not set: with RANK/WORLD_SIZE set, it must name rank 0's "
                      "host (torchrun sets it; e.g. MASTER_ADDR=127.0.0.1 on one machine)");
  e.master_addr = addr;
  e.master_port = static_cast<int>(env_int("MASTER_PORT", 1, 65535));
  // torch/distributed/rendezvous.py `_agent_store_serves`: torchrun's agent hosts the store at its own address.
  const char* agent = env_or_null("TORCHELASTIC_USE_AGENT_STORE");
  e.use_agent_store = agent != nullptr && std::string(agent) == "True";
  return e;
}

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;    // PrefixStore over the TCPStore
  c10::intrusive_ptr<c10d::Backend> backend;
  std::string name = "none";
  torch::Device device = torch::kCPU;        // where the collectives' scratch tensors live
};

DistributedContext::DistributedContext(const DistributedOptions& options)
    : timeout_seconds_(options.timeout_seconds), impl_(std::make_unique<Impl>()) {
  if (const char* t = env_or_null("R1KIT_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(t, &end);
    if (end == t || *end != '\0' || !(v > 0))
      throw ConfigError(std::string("environment variable R1KIT_DIST_TIMEOUT=\"") + t + "\" must be seconds > 0");
    timeout_seconds_ = v;
  }
  if (!(timeout_seconds_ > 0))
    throw ConfigError("ddp_timeout must be > 0 seconds, got " + seconds_text(timeout_seconds_));
  const auto env = LaunchEnv::from_env();
  if (!env.present) return;
  rank_ = env.rank;
  world_size_ = env.world_size;
  local_rank_ = env.local_rank;
  endpoint_ = env.master_addr + ":" + std::to_string(env.master_port);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds_ * 1000));
  const auto t0 = Clock::now();
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = !env.use_agent_store && env.rank == 0;  // rendezvous.py `_create_c10d_store`
    so.numWorkers = env.world_size;
    so.timeout = timeout;
    so.multiTenant = !env.use_agent_store;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    const char* restart = env_or_null("TORCHELASTIC_RESTART_COUNT");  // fresh keys for each torchrun restart
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(std::string("r1kit/") + (restart ? restart : "0"), tcp);
#if defined(R1KIT_WITH_NCCL)
    if (options.device_type == torch::kCUDA) {
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(local_rank_));
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, rank_, world_size_, opts);
      impl_->name = "nccl";
      impl_->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank_));
    }
#endif
    if (!impl_->backend) {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      if (const char* ifnames = env_or_null("GLOO_SOCKET_IFNAME")) {  // as torch.distributed: comma-separated
        std::stringstream ss(ifnames);
        for (std::string name; std::getline(ss, name, ',');)
          if (!name.empty()) opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } else {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, rank_, world_size_, opts);
      impl_->name = "gloo";
    }
  } catch (const std::exception& e) {
    throw Error("torch.distributed rendezvous failed on rank " + std::to_string(rank_) + " of " +
                std::to_string(world_size_) + " at MASTER_ADDR:MASTER_PORT = " + endpoint_ + " after " +
                seconds_text(std::round(seconds_since(t0) * 10) / 10) + " s (time-out " +
                seconds_text(timeout_seconds_) + " s): " + e.what() +
                "\nCheck that every rank was started with the same MASTER_ADDR/MASTER_PORT and WORLD_SIZE, that rank 0 "
                "can listen on the port and the others reach it; raise the time-out with ddp_timeout (seconds).");
  }
  backend_ = true;
  log_info_line("torch.distributed: rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) +
                " joined via " + endpoint_ + " (" + impl_->name + ", time-out " + seconds_text(timeout_seconds_) +
                " s)");
}

DistributedContext::~DistributedContext() = default;

std::shared_ptr<DistributedContext> DistributedContext::process_default(const DistributedOptions& options) {
  static std::mutex mu;
  static std::shared_ptr<DistributedContext> ctx;
  std::lock_guard<std::mutex> lock(mu);
  if (!ctx) ctx = std::make_shared<DistributedContext>(options);
  return ctx;
}

std::string DistributedContext::backend_name() const { return impl_->name; }

void DistributedContext::fail(const std::string& op, const std::exception& e, double waited_s) {
  // Tell which rank is gone: every rank whose collective failed leaves a mark in the store; ranks without one
  // within a few seconds exited or hang. If the store itself is gone, its host (rank 0) is.
  std::vector<int> lost;
  std::string how;
  try {
    impl_->store->setTimeout(std::chrono::seconds(3));
    impl_->store->set("failed/" + std::to_string(rank_), std::vector<uint8_t>{1});
    const auto t0 = Clock::now();
    while (true) {
      lost.clear();
      for (int r = 0; r < world_size_; ++r)
        if (r != rank_ && !impl_->store->check({"failed/" + std::to_string(r)})) lost.push_back(r);
      if (lost.empty() || seconds_since(t0) > 3.0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    how = "did not report the failure within 3 s: it exited, crashed or hangs";
  } catch (const std::exception&) {
    lost.assign(rank_ == 0 ? 0 : 1, 0);
    how = rank_ == 0 ? "" : "is unreachable (it hosts the TCPStore at " + endpoint_ + "): it exited or crashed";
  }
  std::string who;
  for (size_t i = 0; i < lost.size(); ++i) who += (i ? ", " : "") + std::to_string(lost[i]);
  std::string msg = "torch.distributed " + op + " failed on rank " + std::to_string(rank_) + " of " +
                    std::to_string(world_size_) + " after " + seconds_text(std::round(waited_s * 10) / 10) +
                    " s (time-out " + seconds_text(timeout_seconds_) + " s): ";
  if (!lost.empty())
    msg += std::string(lost.size() > 1 ? "ranks " : "rank ") + who + " " + how + ". ";
  else
    msg += "every rank reported the failure. ";
  msg += "See the lost rank's own log for its cause; if it only needs longer between collectives, raise ddp_timeout "
         "(seconds). c10d: ";
  msg += e.what();
  throw Error(msg);
}

// Runs one c10d collective and waits for it; failures go through fail().
#define R1KIT_COLLECTIVE(op, expr)                 \
  do {                                             \
    const auto _t0 = Clock::now();                 \
    try {                                          \
      auto _work = (expr);                         \
      _work->wait();                               \
    } catch (const std::exception& _e) {           \
      fail(op, _e, seconds_since(_t0));            \
    }                                              \
  } while (0)

void DistributedContext::all_reduce_sum(torch::Tensor& tensor) {
  if (!backend_ || !tensor.defined()) return;
  torch::NoGradGuard ng;
  auto buf = tensor.to(impl_->name == "nccl" ? impl_->device : tensor.device()).contiguous();
  std::vector<at::Tensor> v{buf};
  R1KIT_COLLECTIVE("all_reduce", impl_->backend->allreduce(v));
  if (!buf.is_same(tensor)) tensor.copy_(buf);
}

void DistributedContext::all_reduce_sum(std::vector<double>& values) {
  if (!backend_ || values.empty()) return;
  auto t = torch::tensor(values, torch::kFloat64).to(impl_->device);
  all_reduce_sum(t);
  t = t.cpu();
  std::copy(t.data_ptr<double>(), t.data_ptr<double>() + values.size(), values.begin());
}

std::vector<double> DistributedContext::all_gather(const std::vector<double>& values, size_t* offset) {
  if (offset) *offset = 0;
  if (!backend_) return values;
  // Sizes first, then a sum of zero-padded slices: exact (x + 0 = x; NaN stays NaN) and needs only all-reduce.
  std::vector<double> sizes(world_size_, 0.0);
  sizes[rank_] = static_cast<double>(values.size());
  all_reduce_sum(sizes);
  size_t begin = 0, total = 0;
  for (int r = 0; r < world_size_; ++r) {
    if (r == rank_) begin = total;
    total += static_cast<size_t>(sizes[r]);
  }
  std::vector<double> out(total, 0.0);
  std::copy(values.begin(), values.end(), out.begin() + static_cast<std::ptrdiff_t>(begin));
  all_reduce_sum(out);
  if (offset) *offset = begin;
  return out;
}

namespace {
/// Consecutive runs of tensors with the same dtype and device, each at most `bucket_bytes` (one tensor may
/// exceed it alone).
std::vector<std::vector<torch::Tensor>> buckets_of(const std::vector<torch::Tensor>& ts, int64_t bucket_bytes) {
  std::map<std::pair<int, std::string>, std::vector<torch::Tensor>> by_kind;
  std::vector<std::pair<int, std::string>> order;
  for (const auto& t : ts) {
    auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    if (!by_kind.count(key)) order.push_back(key);
    by_kind[key].push_back(t);
  }
  std::vector<std::vector<torch::Tensor>> out;
  for (const auto& key : order) {
    int64_t bytes = bucket_bytes;
    for (const auto& t : by_kind[key]) {
      const int64_t b = t.numel() * static_cast<int64_t>(t.element_size());
      if (out.empty() || bytes + b > bucket_bytes) out.emplace_back(), bytes = 0;
      out.back().push_back(t);
      bytes += b;
    }
  }
  return out;
}
}  // namespace

void DistributedContext::all_reduce_gradients(torch::nn::Module& module, double divisor, int64_t bucket_bytes) {
  if (!backend_) {
    if (divisor != 1.0)
      for (auto& p : module.parameters())
        if (p.requires_grad() && p.grad().defined()) p.mutable_grad().div_(divisor);
    return;
  }
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.mutable_grad());
  }
  for (auto& bucket : buckets_of(grads, bucket_bytes)) {
    std::vector<torch::Tensor> flat_parts;
    for (auto& g : bucket) flat_parts.push_back(g.reshape({-1}));
    auto flat = torch::cat(flat_parts);
    all_reduce_sum(flat);
    if (divisor != 1.0) flat.div_(divisor);
    int64_t off = 0;
    for (auto& g : bucket) {
      g.copy_(flat.narrow(0, off, g.numel()).view(g.sizes()));
      off += g.numel();
    }
  }
}

void DistributedContext::broadcast_parameters(torch::nn::Module& module, int src) {
  if (!backend_) return;
  if (src < 0 || src >= world_size_)
    throw InvalidArgument("broadcast_parameters: src rank " + std::to_string(src) + " is outside [0, " +
                          std::to_string(world_size_) + ")");
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> params;
  for (auto& p : module.parameters()) params.push_back(p);
  for (auto& bucket : buckets_of(params, 25 << 20)) {
    std::vector<torch::Tensor> parts;
    for (auto& p : bucket) parts.push_back(p.detach().reshape({-1}));
    auto flat = torch::cat(parts);
    if (impl_->name == "nccl") flat = flat.to(impl_->device);
    std::vector<at::Tensor> v{flat};
    c10d::BroadcastOptions opts;
    opts.rootRank = src;
    R1KIT_COLLECTIVE("broadcast", impl_->backend->broadcast(v, opts));
    int64_t off = 0;
    for (auto& p : bucket) {
      p.detach().copy_(flat.narrow(0, off, p.numel()).view(p.sizes()));
      off += p.numel();
    }
  }
}

void DistributedContext::barrier() {
  if (!backend_) return;
  // An all-reduce rather than Backend::barrier(): it goes through the same error path and time-out.
  std::vector<double> one{1.0};
  all_reduce_sum(one);
}

void DistributedContext::test_failure_point(int64_t step) const {
  const char* exit_at = env_or_null("R1KIT_DIST_TEST_EXIT_AT_STEP");
  const char* hang_at = env_or_null("R1KIT_DIST_TEST_HANG_AT_STEP");
  if (exit_at == nullptr && hang_at == nullptr) return;
  const char* who = env_or_null("R1KIT_DIST_TEST_EXIT_RANK");
  const int target = who ? std::atoi(who) : world_size_ - 1;
  if (target != rank_) return;
  if (exit_at != nullptr && std::atoll(exit_at) == step) {
    std::fprintf(stderr, "[test] rank %d exits at step %lld (R1KIT_DIST_TEST_EXIT_AT_STEP)\n", rank_,
                 static_cast<long long>(step));
    std::fflush(stderr);
    ::_exit(3);
  }
  if (hang_at != nullptr && std::atoll(hang_at) == step) {
    std::fprintf(stderr, "[test] rank %d hangs at step %lld (R1KIT_DIST_TEST_HANG_AT_STEP)\n", rank_,
                 static_cast<long long>(step));
    std::fflush(stderr);
    while (true) std::this_thread::sleep_for(std::chrono::hours(1));
  }
}

}  // namespace r1kit::train
