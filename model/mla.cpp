#include "model/mla.h"

#include <limits>

#include "core/error.h"
#include "model/yarn_rope.h"

namespace r1kit::model {

namespace {
// transformers builds q_a_layernorm / kv_a_layernorm with DeepseekV3RMSNorm's default eps, not rms_norm_eps.
constexpr double kLatentNormEps = 1e-6;
}  // namespace

MultiHeadLatentAttentionImpl::MultiHeadLatentAttentionImpl(const ModelConfig& c, int64_t layer)
    : layer_index(layer), num_heads(c.num_attention_heads), q_lora_rank(c.q_lora_rank), kv_lora_rank(c.kv_lora_rank),
      qk_nope_head_dim(c.qk_nope_head_dim), qk_rope_head_dim(c.qk_rope_head_dim), v_head_dim(c.v_head_dim),
      rope_interleave(c.rope_interleave), scaling(mla_softmax_scale(c)) {
  const int64_t qk_head_dim = qk_nope_head_dim + qk_rope_head_dim;
  if (q_lora_rank == 0) {
    q_proj = register_module("q_proj", Dense(c.hidden_size, num_heads * qk_head_dim, false));
  } else {
    q_a_proj = register_module("q_a_proj", Dense(c.hidden_size, q_lora_rank, c.attention_bias));
    q_a_layernorm = register_module("q_a_layernorm", RMSNorm(q_lora_rank, kLatentNormEps));
    q_b_proj = register_module("q_b_proj", Dense(q_lora_rank, num_heads * qk_head_dim, false));
  }
  kv_a_proj_with_mqa = register_module("kv_a_proj_with_mqa",
                                       Dense(c.hidden_size, kv_lora_rank + qk_rope_head_dim, c.attention_bias));
  kv_a_layernorm = register_module("kv_a_layernorm", RMSNorm(kv_lora_rank, kLatentNormEps));
  kv_b_proj = register_module("kv_b_proj", Dense(kv_lora_rank, num_heads * (qk_nope_head_dim + v_head_dim), false));
  o_proj = register_module("o_proj", Dense(num_heads * v_head_dim, c.hidden_size, c.attention_bias));
}

torch::Tensor MultiHeadLatentAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                                    const torch::Tensor& sin, const torch::Tensor& mask,
                                                    KVCache* cache, MlaForm form) {
  const int64_t B = x.size(0), T = x.size(1), H = num_heads;
  const int64_t qk_head_dim = qk_nope_head_dim + qk_rope_head_dim;
  auto q = q_lora_rank == 0 ? q_proj(x) : q_b_proj(q_a_layernorm(q_a_proj(x)));
  q = q.view({B, T, H, qk_head_dim}).transpose(1, 2);                   // [B,H,T,dqk]
  auto q_pass = q.narrow(-1, 0, qk_nope_head_dim);                      // [B,H,T,dn]
  auto q_rot = q.narrow(-1, qk_nope_head_dim, qk_rope_head_dim);        // [B,H,T,dr]

  auto compressed = kv_a_proj_with_mqa(x);                              // [B,T,r+dr]
  auto latent = kv_a_layernorm(compressed.narrow(-1, 0, kv_lora_rank)).view({B, 1, T, kv_lora_rank});
  auto k_rot = compressed.narrow(-1, kv_lora_rank, qk_rope_head_dim).reshape({B, 1, T, qk_rope_head_dim});
  q_rot = apply_mla_rope(q_rot, cos, sin, rope_interleave);
  k_rot = apply_mla_rope(k_rot, cos, sin, rope_interleave);

  const bool had_past = cache != nullptr && cache->length() > 0;
  if (cache != nullptr) std::tie(latent, k_rot) = cache->update(layer_index, latent, k_rot);  // [B,1,S,*]
  const int64_t S = latent.size(2);
  const bool absorbed = form == MlaForm::kAbsorbed || (form == MlaForm::kAuto && had_past);

  torch::Tensor out;  // [B,H,T,dv]
  if (!absorbed) {
    auto kv = kv_b_proj(latent).view({B, S, H, qk_nope_head_dim + v_head_dim}).transpose(1, 2);  // [B,H,S,dn+dv]
    auto k_nope = kv.narrow(-1, 0, qk_nope_head_dim);
    auto v = kv.narrow(-1, qk_nope_head_dim, v_head_dim);
    auto key = torch::cat({k_nope, k_rot.expand({B, H, S, qk_rope_head_dim})}, -1);  // [B,H,S,dqk]
    auto query = torch::cat({q_pass, q_rot}, -1);                                     // [B,H,T,dqk]
    const bool causal = !mask.defined() && T > 1 && !had_past;
    std::optional<torch::Tensor> attn_mask;
    if (mask.defined()) attn_mask = mask;
    out = at::scaled_dot_product_attention(query, key, v, attn_mask, 0.0, causal, scaling);
  } else {
    // W^UK [H,dn,r] and W^UV [H,dv,r] are row blocks of kv_b_proj.weight [H·(dn+dv), r].
    auto w = kv_b_proj->weight.view({H, qk_nope_head_dim + v_head_dim, kv_lora_rank});
    auto w_uk = w.narrow(1, 0, qk_nope_head_dim);
    auto w_uv = w.narrow(1, qk_nope_head_dim, v_head_dim);
    auto q_latent = torch::matmul(q_pass, w_uk);                        // [B,H,T,r]
    auto query = torch::cat({q_latent, q_rot}, -1);                     // [B,H,T,r+dr]
    auto key = torch::cat({latent, k_rot}, -1);                         // [B,1,S,r+dr]
    auto scores = torch::matmul(query, key.transpose(-1, -2)) * scaling;  // [B,H,T,S]
    torch::Tensor allowed = mask;
    if (!allowed.defined() && T > 1 && !had_past)
      allowed = torch::ones({T, S}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).tril();
    if (allowed.defined()) scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
    auto probs = torch::softmax(scores.to(torch::kFloat32), -1).to(query.scalar_type());
    auto out_latent = torch::matmul(probs, latent);                     // [B,H,T,r]
    out = torch::matmul(out_latent, w_uv.transpose(1, 2));              // [B,H,T,dv]
  }
  return o_proj(out.transpose(1, 2).reshape({B, T, H * v_head_dim}));
}

}  // namespace r1kit::model
