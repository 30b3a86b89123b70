// `r1kit info`: versions (r1kit, LibTorch, CUDA/NCCL), threads and devices.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstdio>
#include <thread>

#include "cli/commands.h"

namespace r1kit::cli {

void register_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print versions (r1kit, LibTorch, CUDA, NCCL), threads and devices");
  cmd->callback([] {
    std::printf("r1kit      %s\n", R1KIT_VERSION);
    std::printf("LibTorch   %s (C++ ABI cxx11=%d)\n", R1KIT_TORCH_VERSION, _GLIBCXX_USE_CXX11_ABI);
#ifdef R1KIT_WITH_CUDA
    const bool built_cuda = true;
#else
    const bool built_cuda = false;
#endif
    std::printf("CUDA       built with CUDA support: %s; available: %s; devices: %d\n", built_cuda ? "yes" : "no",
                torch::cuda::is_available() ? "yes" : "no", static_cast<int>(torch::cuda::device_count()));
    std::printf("NCCL       %s\n", built_cuda ? "linked (through libtorch_cuda)" : "not linked (CPU build: Gloo only)");
    std::printf("threads    intra-op %d, inter-op %d, hardware %u\n", static_cast<int>(at::get_num_threads()),
                static_cast<int>(at::get_num_interop_threads()), std::thread::hardware_concurrency());
    std::printf("devices    cpu");
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) std::printf(", cuda:%d", i);
    std::printf("\n");
    std::printf("parallel   %s", at::get_parallel_info().c_str());
  });
}

}  // namespace r1kit::cli
