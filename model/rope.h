// Rotary position embeddings (RoPE), Hugging Face layout: the head dimension is split in two halves that rotate
// together (`rotate_half`), not interleaved pairs. Mirrors transformers' LlamaRotaryEmbedding /
// ROPE_INIT_FUNCTIONS (`_compute_default_rope_parameters`, `_compute_linear_scaling_rope_parameters`,
// `_compute_llama3_parameters`) and `apply_rotary_pos_emb` (transformers 5.x, modeling_rope_utils.py,
// models/llama/modeling_llama.py). RoFormer (arXiv 2104.09864) eq. 34.
#pragma once

#include <torch/torch.h>

#include "model/model_config.h"

namespace r1kit::model {

/// Inverse frequencies [D/2] float32 for `head_dim` D, `rope_theta` and `rope_scaling` (default | linear | llama3),
/// computed with the same float32 operations as transformers so the values are bit-identical.
torch::Tensor rope_inv_freq(const ModelConfig& config);

/// cos and sin tables for positions [B,T] int64 -> each [B,T,D] in `dtype` (computed in float32, then cast).
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq, const torch::Tensor& positions,
                                                     torch::ScalarType dtype);

/// Applies the rotation to x [B,H,T,D] with cos/sin [B,T,D]: x*cos + rotate_half(x)*sin.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace r1kit::model
