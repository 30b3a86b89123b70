// The generation GEMMs side by side in one run: y = x · Wᵀ for the SmolLM2-135M layer shapes at decode batch
// sizes, with LibTorch's torch::linear (MKL), oneDNN's packed matmul and r1kit's AVX2 panel GEMM — the three
// `rollout.gemm` choices (model/inference_weights.h). Weights are cycled through enough copies (~200 MB) that
// every call streams them from memory, as a decode step over 30 layers does.
//
//   build/bench/r1kit_bench_gemm [--threads N] [--rows 1,8,32,64]
// Prints one JSON line per (shape, rows) with GFLOP/s of each and the ratios to MKL.
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "model/inference_weights.h"

using r1kit::model::InferenceGemm;
using r1kit::model::PreparedLinear;

namespace {

double gflops(const std::vector<PreparedLinear>& ws, const torch::Tensor& x, int64_t N) {
  torch::NoGradGuard ng;
  for (int i = 0; i < 2; ++i) ws[i % ws.size()](x);  // warm-up (oneDNN primitive creation)
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 4; ++r)
      for (const auto& w : ws) w(x);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 2.0 * x.size(0) * N * x.size(1) * 4 * static_cast<double>(ws.size()) / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  std::vector<int64_t> rows{1, 8, 32, 64};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads") threads = std::stoi(v);
    else if (k == "--rows") {
      rows.clear();
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) rows.push_back(std::stoll(t));
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--rows 1,8,32,64]\n", argv[0]);
      return 2;
    }
  }
  at::set_num_threads(threads);
  // (name, N, K): fused q|k|v, o_proj, fused gate|up, down_proj, lm_head (tied embedding).
  const std::vector<std::tuple<std::string, int64_t, int64_t>> shapes{
      {"qkv", 832, 576}, {"o", 576, 576}, {"gate_up", 3072, 576}, {"down", 576, 1536}, {"lm_head", 49152, 576}};
  for (const auto& [name, N, K] : shapes) {
    const int64_t copies = std::max<int64_t>(1, static_cast<int64_t>(200e6 / (4.0 * N * K)));
    std::vector<torch::Tensor> w;
    for (int64_t c = 0; c < copies; ++c) w.push_back(torch::randn({N, K}) / 24.0);
    for (int64_t M : rows) {
      auto make = [&](InferenceGemm g) {
        std::vector<PreparedLinear> out;
        for (const auto& t : w) out.push_back(PreparedLinear::make(t, {}, g, M));
        return out;
      };
      auto x = torch::randn({M, K});
      const double mkl = gflops(make(InferenceGemm::kDefault), x, N);
      const double onednn = gflops(make(InferenceGemm::kOneDnnPacked), x, N);
      const double avx2 = gflops(make(InferenceGemm::kAvx2Panels), x, N);
      std::printf("{\"shape\": \"%s\", \"N\": %lld, \"K\": %lld, \"rows\": %lld, \"threads\": %d, "
                  "\"gflops_mkl\": %.1f, \"gflops_onednn\": %.1f, \"gflops_avx2\": %.1f, "
                  "\"onednn_vs_mkl\": %.2f, \"avx2_vs_mkl\": %.2f}\n",
                  name.c_str(), static_cast<long long>(N), static_cast<long long>(K), static_cast<long long>(M),
                  threads, mkl, onednn, avx2, onednn / mkl, avx2 / mkl);
      std::fflush(stdout);
    }
  }
  return 0;
}
