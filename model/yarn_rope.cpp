#include "model/yarn_rope.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/rope.h"

namespace r1kit::model {

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

namespace {

// Dimension index at which the wavelength completes `rotations` turns over the original context (YaRN eq. 17).
double correction_dim(double rotations, int64_t dim, double base, double max_pos) {
  return (static_cast<double>(dim) * std::log(max_pos / (rotations * 2.0 * M_PI))) / (2.0 * std::log(base));
}

RopeTables yarn_tables(const ModelConfig& c) {
  const RopeScaling& rs = c.rope_scaling;
  const int64_t dim = c.head_dim;
  const double base = c.rope_theta;
  const double factor = rs.factor;
  double attention_factor;
  if (rs.attention_factor) attention_factor = *rs.attention_factor;
  else if (rs.mscale != 0.0 && rs.mscale_all_dim != 0.0)
    attention_factor = yarn_get_mscale(factor, rs.mscale) / yarn_get_mscale(factor, rs.mscale_all_dim);
  else attention_factor = yarn_get_mscale(factor);

  const double orig = static_cast<double>(rs.original_max_position_embeddings);
  double low = correction_dim(rs.beta_fast, dim, base, orig);
  double high = correction_dim(rs.beta_slow, dim, base, orig);
  if (rs.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // prevent a singular ramp

  // pos_freqs = base ** (arange(0, dim, 2).float() / dim), all float32 as in transformers.
  auto exponent = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  auto pos_freqs = torch::pow(base, exponent);
  auto inv_freq_extrapolation = 1.0 / pos_freqs;
  auto inv_freq_interpolation = 1.0 / (factor * pos_freqs);
  auto ramp = ((torch::arange(dim / 2, torch::kFloat32) - low) / (high - low)).clamp(0, 1);
  auto extrapolation_factor = 1 - ramp;
  auto inv_freq = inv_freq_interpolation * (1 - extrapolation_factor) + inv_freq_extrapolation * extrapolation_factor;
  return {inv_freq, attention_factor};
}

}  // namespace

RopeTables deepseek_rope_tables(const ModelConfig& c) {
  if (c.rope_scaling.rope_type == "yarn") return yarn_tables(c);
  return {rope_inv_freq(c), 1.0};
}

double mla_softmax_scale(const ModelConfig& c) {
  double scale = std::pow(static_cast<double>(c.qk_nope_head_dim + c.qk_rope_head_dim), -0.5);
  const RopeScaling& rs = c.rope_scaling;
  if (rs.rope_type != "default" && rs.mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(rs.factor, rs.mscale_all_dim);
    scale = scale * m * m;
  }
  return scale;
}

std::pair<torch::Tensor, torch::Tensor> scaled_rope_cos_sin(const torch::Tensor& inv_freq, double attention_scaling,
                                                            const torch::Tensor& positions, torch::ScalarType dtype) {
  auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq.to(positions.device()).view({1, 1, -1});
  auto emb = torch::cat({freqs, freqs}, -1);  // [B,T,D]
  auto cos = emb.cos(), sin = emb.sin();
  if (attention_scaling != 1.0) {
    cos = cos * attention_scaling;
    sin = sin * attention_scaling;
  }
  return {cos.to(dtype), sin.to(dtype)};
}

torch::Tensor apply_mla_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                             bool interleave) {
  if (!interleave) return apply_rope(x, cos, sin);
  using torch::indexing::Slice;
  const int64_t half = cos.size(-1) / 2;
  auto c = cos.narrow(-1, 0, half).unsqueeze(1);  // [B,1,T,D/2]: the first half holds each pair's angle
  auto s = sin.narrow(-1, 0, half).unsqueeze(1);
  auto x1 = x.index({"...", Slice(0, torch::indexing::None, 2)});
  auto x2 = x.index({"...", Slice(1, torch::indexing::None, 2)});
  return torch::cat({x1 * c - x2 * s, x2 * c + x1 * s}, -1);
}

}  // namespace r1kit::model
