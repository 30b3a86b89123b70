// The floating-point error model every numerical tolerance in the test suite is derived from; each assertion
// states its own argument (what is computed, in what precision, over how many terms / layers, at what magnitude)
// next to it, in terms of the quantities below.
//
// Why: CI runs on an AMD EPYC (AVX-512) or an Intel Xeon (AVX-512, AMX), and ATen, MKL and oneDNN pick other
// kernels, other summation orders and other thread splits there (scripts/portability.sh makes one machine take
// them: ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, DNNL_MAX_CPU_ISA, OMP_NUM_THREADS). A bound read off one
// machine's output fails on the other; a bound far above the error model cannot fail on a real bug.
//
// The model (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., §2.2 and §3.1):
//   * one rounding: |fl(x) − x| ≤ u·|x|, u = 2⁻²⁴ ≈ 6.0e-8 in float32, 2⁻⁵³ ≈ 1.1e-16 in float64;
//   * a sum or dot product of K terms, in any order: |error| ≤ γ_K·Σ|terms| ≈ K·u·Σ|terms| (worst case);
//     with independent roundings the error is a random walk, ~sqrt(K)·u relative to the result's scale
//     (typical — and what a change of summation order, ISA or thread split changes in practice);
//   * two implementations that differ only in order differ by at most the sum of their two errors;
//   * a pre-norm residual decoder of L layers (longest reduction K = max(hidden, intermediate)): each layer adds
//     its output to the residual stream with that output's own ~sqrt(K)·u rounding; the stream is the sum of the
//     L outputs, each ~|h|/sqrt(L), so their L independent errors add in quadrature to ~sqrt(K)·u of |h| whatever
//     L is; errors of earlier layers pass through later ones with a Jacobian ≈ I (the residual path), at most
//     doubling that, and the final norm and lm_head add ~sqrt(C)·u ≤ sqrt(K)·u. Typical error of the logits:
//     ~2·sqrt(K)·u of their scale, independent of depth; worst case (8L + 2)·K·u (eight reductions a layer,
//     errors aligned). (A check of the model, not a source of bounds: the tiny fixtures' logits differ from
//     transformers' by 0.2–0.4·sqrt(K)·u.)
// Bounds sit a stated factor (5× unless said otherwise) above the typical estimate and, where possible, at or
// below the worst case, relative to the compared values' scale (max|reference|) wherever that scale varies
// (hidden states, logits, gradients, sums over many terms).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace r1kit::test {

inline constexpr double kU32 = 0x1p-24;  // float32 unit roundoff ≈ 5.96e-8
inline constexpr double kU64 = 0x1p-53;  // float64 unit roundoff ≈ 1.11e-16

/// Typical relative error of one float32 sum / dot product of K terms (random-walk roundings): sqrt(K)·u.
inline double fp32_sum_typical(double K) { return std::sqrt(K) * kU32; }
/// Worst-case error of one float32 sum of K terms, relative to Σ|terms|: K·u.
inline double fp32_sum_worst(double K) { return K * kU32; }

/// Typical error of float32 logits (or final hidden states) of a pre-norm residual decoder whose longest reduction
/// has K terms, relative to max|logits|: 2·sqrt(K)·u, independent of depth (see the model above).
inline double fp32_decoder_typical(int64_t K) { return 2 * fp32_sum_typical(static_cast<double>(K)); }
/// Worst case of the same for L layers: (8L + 2) reductions of K terms, errors aligned.
inline double fp32_decoder_worst(int64_t layers, int64_t K) {
  return static_cast<double>(8 * layers + 2) * fp32_sum_worst(static_cast<double>(K));
}

/// Bound on max|θ_a − θ_b| after AdamW steps t = 1..T of two runs whose gradients differ only in float32
/// summation order (micro-batching, ranks), for runs configured with adam_epsilon = 1 (see below).
///   lr — the (constant) learning rate; grad_norms — each step's pre-clip gradient L2 norm (metrics.jsonl), an upper
///   bound on max|g_t|; rel — the relative error of one gradient (≤ 5·fp32_decoder_typical(K) for a tiny model
///   whose longest reduction, forward or backward, has K terms); theta_max — max|θ|.
/// Argument: AdamW's update lr·m̂/(sqrt(v̂) + ε) is Lipschitz in the gradients with constant lr/ε, and with
/// ε = 1 ≫ |g| it is ≈ lr·m̂, m̂ a convex combination of the gradients so far: so step t moves the two runs apart by
/// ≤ lr·rel·max_{s≤t} grad_norm_s, plus the float32 rounding of the parameter update itself — the decay product and
/// the add, ≤ 2u·|θ| on each side, 4u·theta_max for the pair. (With the default ε = 1e-8 no such bound exists:
/// the first step is lr·g/(|g| + ε) ≈ lr·sign(g), so a component whose gradient cancels to ~ε turns a rounding
/// difference into a difference of up to 2·lr — and the step is blind to a uniformly mis-scaled gradient, the bug
/// a micro-batching test is for.)
inline double adam_parity_bound(double lr, const std::vector<double>& grad_norms, double rel, double theta_max) {
  double bound = 0, g_max = 0;
  for (double g : grad_norms) {
    g_max = std::max(g_max, g);
    bound += lr * rel * g_max + 4 * kU32 * theta_max;
  }
  return bound;
}

/// The bound of the data-parallel parity tests (GRPO, SFT: 2 ranks vs 1 process, tests/rl, tests/sft): runs at the
/// constant learning rate `lr` whose gradients differ only in the float32 order in which the micro-batch and rank
/// gradients are summed. Conservatively, by any summation order of the longest reduction — the lm_head's backward
/// over the vocabulary, K = `vocab`: relative error ≤ 5·fp32_decoder_typical(K); gradient clipping (max_grad_norm 1)
/// scales both runs by factors that differ by as much again: 2× that. adam_parity_bound turns it into a bound on the
/// parameters after the logged steps (`grad_norms`); `theta` are the reference run's parameters.
inline double data_parallel_parity_bound(double lr, int64_t vocab, const std::vector<double>& grad_norms,
                                         const std::vector<double>& theta) {
  const double rel = 2 * 5 * fp32_decoder_typical(vocab);
  double theta_max = 0;
  for (double x : theta) theta_max = std::max(theta_max, std::abs(x));
  return adam_parity_bound(lr, grad_norms, rel, theta_max);
}

/// max|a − b| over all elements, computed in float64.
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

/// max|a − b| / max|b|: the largest difference relative to the reference values' scale (b is the reference).
/// A reference that is all zero gives max|a − b| / 1e-30 — any difference then fails a relative bound.
inline double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = b.to(torch::kFloat64).abs().max().item<double>();
  return max_abs_diff(a, b) / std::max(scale, 1e-30);
}

/// `measured ≤ bound` as an assertion: EXPECT_TRUE(test::within(d, bound)) << context. The failure message gives
/// both numbers and their ratio. With R1KIT_TEST_MARGINS=1 in the environment a passing check prints them as
/// well, so a run under another CPU code path shows how much margin each bound keeps there.
inline ::testing::AssertionResult within(double measured, double bound) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "measured %.3g, bound %.3g (%.2g of the bound)", measured, bound,
                bound > 0 ? measured / bound : INFINITY);
  if (const char* env = std::getenv("R1KIT_TEST_MARGINS"); env && std::string(env) == "1") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::printf("[margin] %s.%s: %s\n", info ? info->test_suite_name() : "?", info ? info->name() : "?", buf);
  }
  if (measured <= bound) return ::testing::AssertionSuccess() << buf;
  return ::testing::AssertionFailure() << buf;
}

}  // namespace r1kit::test
