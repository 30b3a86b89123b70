// Fused CPU kernels for one-token decode steps of the dense (Llama / Qwen2) models in the rollout engine.
//
// Why: a decode step multiplies only R ≈ 32 rows by every weight, so between the four GEMMs of a layer the ~40
// small LibTorch ops (RMSNorm's pow/mean/rsqrt/mul, rotate-half RoPE, transposes, KV-cache copies, mask
// conversion, SDPA) cost as much as the GEMMs themselves: each is a dispatch, an allocation and an OpenMP fork/join
// for a few microseconds of work. Here each stage between two GEMMs is one pass over its data, and the attention
// reads every cached key/value once for all the query heads that share it (grouped-query attention) instead of
// once per query head. Profile and figures: BENCHMARKS.md, "rollout".
//
// Numerics follow transformers' modelling code (RMSNorm in float32 as w * (x * rsqrt(mean(x²) + eps)); RoPE
// x·cos + rotate_half(x)·sin; softmax(q·kᵀ·scale) v; silu(a)·b = a / (1 + e^(−a)) · b) with a different summation
// order, so results differ from the module path by float32 rounding only (tested: tests/model/test_decode_kernels.cpp,
// tests/rollout/test_engine.cpp).
//
// All kernels take float32 CPU tensors and need AVX2 + FMA (x86-64-v3); `available()` says whether this CPU has
// them — when it does not, the caller runs the ordinary module path.
//
// Shapes: R = rows (sequences) in the step, C = hidden size, H / H_kv = query / key-value heads, D = head dim,
// S = cached tokens after this step's token is written, I = MLP intermediate size.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace r1kit::model::decode {

/// True on CPUs with AVX2 and FMA (the kernels below may only be called then).
bool available();

/// RMSNorm with an optional residual add first: `hidden += delta` (in place, when delta is defined), then returns
/// weight * (hidden * rsqrt(mean(hidden²) + eps)).
///   hidden [R,C] float32 contiguous (modified when delta is given), delta [R,C] float32 or undefined,
///   weight [C] float32. Returns [R,C] float32.
torch::Tensor add_rms_norm(torch::Tensor& hidden, const torch::Tensor& delta, const torch::Tensor& weight, double eps);

/// RoPE for one new token per row, with the keys and values written straight into the cache.
///   qkv [R,(H + 2·H_kv)·D] float32 contiguous — the fused q|k|v projection output
///   cos, sin [R,D] float32 contiguous — rotary tables at each row's position (rope_cos_sin)
///   key_cache, value_cache [R,H_kv,capacity,D] float32 contiguous — one layer's buffers; slot `slot` is written
/// Returns the rotated queries [R,H,D] float32. Throws InvalidArgument on shape mismatches.
torch::Tensor rope_into_cache(const torch::Tensor& qkv, const torch::Tensor& cos, const torch::Tensor& sin,
                              int64_t num_heads, int64_t num_kv_heads, torch::Tensor& key_cache,
                              torch::Tensor& value_cache, int64_t slot);

/// Rows that begin with the same cached tokens: the G samples of one prompt after a shared prefill. Rows with equal
/// `group` ids hold identical keys, values and attention mask in slots [0, length); `attention` then reads those
/// slots once for all the rows of a group (consecutive rows only) instead of once per row — on the rollout bench
/// about half the cache traffic of a decode step is prompt. Empty `group` = no sharing.
struct SharedPrefix {
  std::vector<int64_t> group;  // [R] group id per row, or empty
  int64_t length = 0;          // shared slots
};

/// Attention of one query per row over the first S cache slots: softmax(q·kᵀ·scale, masked) · v, query head h
/// reading key/value head h / (H / H_kv) as transformers' repeat_kv.
///   q [R,H,D] float32 contiguous; key_cache, value_cache [R,H_kv,capacity,D] float32 contiguous; D a multiple
///   of 8 up to 256
///   valid [R,≥S] bool or undefined (all valid) — rows may be strided (a narrow() of a wider mask); slot s of row
///   r may be attended when valid[r][s]; slot S−1 (the query's own token) always may
///   shared — rows known to share their first slots (checked against `valid`: rows whose masks differ there are
///   treated alone); the result is the same with or without it, up to float32 rounding
/// Returns [R,H·D] float32 (heads concatenated, ready for o_proj). Throws InvalidArgument on shape mismatches.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& key_cache, const torch::Tensor& value_cache,
                        int64_t S, const torch::Tensor& valid, double scale, const SharedPrefix& shared = {});

/// SwiGLU activation of a fused gate|up projection: gate_up [R,2I] float32 contiguous → silu(gate) · up [R,I].
torch::Tensor silu_mul(const torch::Tensor& gate_up);

/// Softmax of one row of logits at a temperature, for the rollout sampler: probs[i] = e^(x_i·scale − lse) with
/// lse = log Σ_j e^(x_j·scale) (scale = 1 / T > 0), computed in three vectorised passes over the row. Returns lse;
/// log p(i) = x_i·scale − lse. x, probs: n floats (may not alias).
float softmax_row(const float* x, int64_t n, float scale, float* probs);

/// e^x for n floats (dst may equal src), ≤ 2 ulp from std::exp over [−87, 88]; −inf gives 0. Exposed for tests.
void exp(const float* src, float* dst, int64_t n);

}  // namespace r1kit::model::decode
