#include "model/panel_gemm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "model/decode_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define R1KIT_PANEL_X86 1
#define R1KIT_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace r1kit::model::panel_gemm {

namespace {

constexpr int64_t kPanel = 16;   // output columns per panel (two 8-float vectors)
constexpr int64_t kMaxRows = 6;  // rows per register tile: 6 × 2 accumulators + 2 weight vectors + 1 broadcast

void check(bool ok, const std::string& what) {
  if (!ok) throw InvalidArgument("panel_gemm: " + what);
}

#if R1KIT_PANEL_X86
/// C[0..MR) × [16 cols] (+)= A[0..MR) × panel rows [k0, k0+kn). `first`: store (adding bias if given), else add to
/// C. `prefetch`: the next panel's matching rows, touched one cache line per k so the weights stream in while
/// this tile computes. The loops over MR are unrolled so the 12 accumulators stay in registers.
template <int MR>
R1KIT_AVX2 void tile(const float* A, int64_t lda, const float* P, int64_t kn, float* C, int64_t ldc, int64_t ncols,
                     bool first, const float* bias, const float* prefetch) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kn; ++k) {
    if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(prefetch + k * kPanel), _MM_HINT_T0);
    const __m256 b0 = _mm256_loadu_ps(P + k * kPanel), b1 = _mm256_loadu_ps(P + k * kPanel + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(A + i * lda + k);
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
    }
  }
  if (ncols == kPanel) {  // a full panel: vector loads and stores straight from / to C
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* c = C + i * ldc;
      __m256 x0 = c0[i], x1 = c1[i];
      if (!first) {
        x0 = _mm256_add_ps(x0, _mm256_loadu_ps(c));
        x1 = _mm256_add_ps(x1, _mm256_loadu_ps(c + 8));
      } else if (bias) {
        x0 = _mm256_add_ps(x0, _mm256_loadu_ps(bias));
        x1 = _mm256_add_ps(x1, _mm256_loadu_ps(bias + 8));
      }
      _mm256_storeu_ps(c, x0);
      _mm256_storeu_ps(c + 8, x1);
    }
    return;
  }
  alignas(32) float add[kPanel] = {};  // the last, partial panel: through a buffer, ncols columns
  if (first && bias) std::memcpy(add, bias, ncols * sizeof(float));
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    float* c = C + i * ldc;
    alignas(32) float t[kPanel];
    if (!first) std::memcpy(add, c, ncols * sizeof(float));
    _mm256_store_ps(t, _mm256_add_ps(c0[i], _mm256_load_ps(add)));
    _mm256_store_ps(t + 8, _mm256_add_ps(c1[i], _mm256_load_ps(add + 8)));
    std::memcpy(c, t, ncols * sizeof(float));
  }
}

R1KIT_AVX2 void run_tile(int64_t rows, const float* A, int64_t lda, const float* P, int64_t kn, float* C, int64_t ldc,
                         int64_t ncols, bool first, const float* bias, const float* prefetch) {
  switch (rows) {
    case 6: tile<6>(A, lda, P, kn, C, ldc, ncols, first, bias, prefetch); break;
    case 5: tile<5>(A, lda, P, kn, C, ldc, ncols, first, bias, prefetch); break;
    case 4: tile<4>(A, lda, P, kn, C, ldc, ncols, first, bias, prefetch); break;
    case 3: tile<3>(A, lda, P, kn, C, ldc, ncols, first, bias, prefetch); break;
    case 2: tile<2>(A, lda, P, kn, C, ldc, ncols, first, bias, prefetch); break;
    default: tile<1>(A, lda, P, kn, C, ldc, ncols, first, bias, prefetch); break;
  }
}
#endif

}  // namespace

bool available() { return decode::available(); }

torch::Tensor pack(const torch::Tensor& weight) {
  check(weight.defined() && weight.dim() == 2 && weight.device().is_cpu() && weight.scalar_type() == torch::kFloat32,
        "weight must be a [N,K] float32 CPU tensor");
  const int64_t N = weight.size(0), K = weight.size(1), panels = (N + kPanel - 1) / kPanel;
  auto padded = torch::zeros({panels * kPanel, K}, weight.options());
  padded.narrow(0, 0, N).copy_(weight.detach());
  return padded.view({panels, kPanel, K}).transpose(1, 2).contiguous();  // [panels, K, 16]
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& panels, int64_t N, const torch::Tensor& bias) {
  check(available(), "this CPU lacks AVX2/FMA");
  check(x.device().is_cpu() && x.scalar_type() == torch::kFloat32, "x must be float32 on the CPU");
  check(panels.dim() == 3 && panels.size(2) == kPanel && panels.size(0) == (N + kPanel - 1) / kPanel &&
            panels.size(1) == x.size(-1) && panels.is_contiguous(),
        "packed weight " + c10::str(panels.sizes()) + " does not match x " + c10::str(x.sizes()) + " and N = " +
            std::to_string(N));
  check(!bias.defined() || (bias.dim() == 1 && bias.size(0) == N && bias.is_contiguous() &&
                            bias.scalar_type() == torch::kFloat32),
        "bias must be [N] float32");
  const int64_t K = x.size(-1), P = panels.size(0);
  auto a = x.reshape({-1, K}).contiguous();  // [M,K]
  const int64_t M = a.size(0);
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = N;
  auto y = torch::empty({M, N}, x.options());
  if (M == 0 || N == 0) return y.view(out_sizes);
#if R1KIT_PANEL_X86
  // K in blocks of ≤ 256: a panel block (≤ 16 KB) stays in L1 while every row tile uses it. The blocking depends on
  // K only, so each output element is summed in the same order whatever the number of rows (a row's result does
  // not depend on the batch it is in).
  const int64_t kmax = 256;
  const int64_t kblocks = (K + kmax - 1) / kmax, kb = (K + kblocks - 1) / kblocks;
  const float* A = a.data_ptr<float>();
  const float* W = panels.data_ptr<float>();
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* C = y.data_ptr<float>();
  const int64_t tiles = (M + kMaxRows - 1) / kMaxRows;
  // ≥ ~256k multiply-adds per task: a tiny product stays on one thread.
  const int64_t grain = std::max<int64_t>(1, (1 << 18) / std::max<int64_t>(1, M * K * kPanel));
  at::parallel_for(0, P, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t ncols = std::min(kPanel, N - p * kPanel);
      for (int64_t k0 = 0; k0 < K; k0 += kb) {
        const int64_t kn = std::min(kb, K - k0);
        const float* panel = W + (p * K + k0) * kPanel;
        const float* next = p + 1 < P ? W + ((p + 1) * K + k0) * kPanel : nullptr;
        int64_t m = 0;
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t rows = (M - m) / (tiles - t);  // balanced tiles: 4–6 rows each once M ≥ 4
          run_tile(rows, A + m * K + k0, K, panel, kn, C + m * N + p * kPanel, N, ncols, k0 == 0, b ? b + p * kPanel : nullptr,
                   t == 0 ? next : nullptr);
          m += rows;
        }
      }
    }
  });
#endif
  return y.view(out_sizes);
}

}  // namespace r1kit::model::panel_gemm
