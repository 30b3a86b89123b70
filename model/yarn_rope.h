// Rotary tables for DeepSeek-V3's multi-head latent attention: YaRN-scaled inverse frequencies with their cos/sin
// attention factor, the MLA softmax scale with the `mscale_all_dim` correction, and the interleaved rotation.
//
// Mirrors transformers 5.x `_compute_yarn_parameters` (modeling_rope_utils.py) and DeepseekV3RotaryEmbedding /
// `yarn_apply_mscale` / `apply_rotary_pos_emb_interleave` (models/deepseek_v3/modeling_deepseek_v3.py).
// YaRN: Peng et al. 2023, arXiv 2309.00071, §3.2-3.4 ("NTK-by-parts" ramp, eq. 18-23; attention temperature
// sqrt(1/t) = 0.1 ln(s) + 1).
#pragma once

#include <torch/torch.h>

#include "model/model_config.h"

namespace r1kit::model {

/// Inverse frequencies and the post-scale of cos/sin ("attention_factor"; 1.0 except for YaRN).
struct RopeTables {
  torch::Tensor inv_freq;         // [qk_rope_head_dim/2] float32
  double attention_scaling = 1.0;
};

/// RoPE tables of a DeepSeek-V3 config (rotary width = head_dim = qk_rope_head_dim): YaRN computed with the same
/// float32 operations as transformers; default / linear / llama3 through rope_inv_freq().
/// Throws CheckpointError for an unsupported rope type.
RopeTables deepseek_rope_tables(const ModelConfig& config);

/// YaRN magnitude scale 0.1·mscale·ln(scale) + 1 (1 when scale <= 1).
double yarn_get_mscale(double scale, double mscale = 1.0);

/// The MLA softmax scale: (qk_nope_head_dim + qk_rope_head_dim)^-1/2, times yarn_get_mscale(factor,
/// mscale_all_dim)^2 when the rope type is not default and mscale_all_dim is set.
double mla_softmax_scale(const ModelConfig& config);

/// cos and sin [B,T,D] for positions [B,T] int64: cat(freqs, freqs) (rotate-half layout), multiplied by
/// `attention_scaling` in float32, then cast to `dtype`.
std::pair<torch::Tensor, torch::Tensor> scaled_rope_cos_sin(const torch::Tensor& inv_freq, double attention_scaling,
                                                            const torch::Tensor& positions, torch::ScalarType dtype);

/// Rotates x [B,H,T,D] with cos/sin [B,T,D]. interleave=false: rotate-half pairs (i, i+D/2), output in place
/// order. interleave=true: pairs (2i, 2i+1), each by frequency i; the output is laid out de-interleaved
/// ([rotated evens | rotated odds]), as transformers returns it — consistent for queries and keys, so dot products
/// equal the interleaved rotation's.
torch::Tensor apply_mla_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                             bool interleave);

}  // namespace r1kit::model
