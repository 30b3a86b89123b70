#include "model/rope.h"

#include <cmath>

#include "core/error.h"

namespace r1kit::model {

torch::Tensor rope_inv_freq(const ModelConfig& c) {
  const int64_t dim = c.head_dim;
  // transformers: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
  auto exponent = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  auto inv_freq = 1.0 / torch::pow(c.rope_theta, exponent);
  const auto& rs = c.rope_scaling;
  if (rs.rope_type == "default") return inv_freq;
  if (rs.rope_type == "linear") return inv_freq / rs.factor;
  if (rs.rope_type == "llama3") {
    // Llama 3.1 frequency-dependent scaling: long wavelengths divided by `factor`, short ones kept, a smooth
    // interpolation between (transformers `_compute_llama3_parameters`).
    const double old_len = static_cast<double>(rs.original_max_position_embeddings);
    const double low_freq_wavelen = old_len / rs.low_freq_factor;
    const double high_freq_wavelen = old_len / rs.high_freq_factor;
    auto wavelen = 2 * M_PI / inv_freq;
    auto inv_freq_llama = torch::where(wavelen > low_freq_wavelen, inv_freq / rs.factor, inv_freq);
    auto smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
    auto smoothed = (1 - smooth) * inv_freq_llama / rs.factor + smooth * inv_freq_llama;
    auto is_medium = torch::logical_not(wavelen < high_freq_wavelen) & torch::logical_not(wavelen > low_freq_wavelen);
    return torch::where(is_medium, smoothed, inv_freq_llama);
  }
  throw CheckpointError("rope_scaling type \"" + rs.rope_type + "\" is not supported");
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq, const torch::Tensor& positions,
                                                     torch::ScalarType dtype) {
  // freqs[b,t,i] = positions[b,t] * inv_freq[i]  (one float32 product, as transformers' outer-product matmul)
  auto freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq.to(positions.device()).view({1, 1, -1});
  auto emb = torch::cat({freqs, freqs}, -1);  // [B,T,D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);  // rotate_half
  auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);  // [B,1,T,D]
  return x * c + rotated * s;
}

}  // namespace r1kit::model
