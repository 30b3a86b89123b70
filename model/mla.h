// Multi-head latent attention (MLA) of DeepSeek-V2/V3: queries through an optional low-rank bottleneck, keys and
// values expanded per head from one shared normalised latent c_kv [kv_lora_rank], plus one shared rotary key
// k_rot [qk_rope_head_dim].
//
// Mirrors transformers 5.x DeepseekV3Attention (models/deepseek_v3/modeling_deepseek_v3.py). Paper: DeepSeek-V2,
// arXiv 2405.04434, §2.1.2-2.1.3 eq. 9-19 (low-rank KV compression, decoupled RoPE) and Appendix C (absorbing
// W^UK into the query and W^UV into the output for inference).
//
// Both forms cache exactly what transformers caches: per token c_kv (normalised latent) and the rotated k_rot, in a
// KVCache built with H_kv = 1, key width kv_lora_rank and value width qk_rope_head_dim.
//   plain     keys/values expanded for every cached token: k = [W^UK c | k_rot], v = W^UV c (training, prefill)
//   absorbed  scores = (q_nope W^UK) · c + q_rot · k_rot, output = W^UV (softmax · c): per step cost grows with
//             kv_lora_rank instead of heads × head dims (decode)
#pragma once

#include <torch/torch.h>

#include "model/kv_cache.h"
#include "model/llama.h"
#include "model/model_config.h"

namespace r1kit::model {

/// Which MLA form to compute. kAuto: absorbed when the cache already holds tokens (decode steps), plain otherwise.
enum class MlaForm { kAuto, kPlain, kAbsorbed };

class MultiHeadLatentAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadLatentAttentionImpl(const ModelConfig& c, int64_t layer_index);
  /// x [B,T,C]; cos/sin [B,T,qk_rope_head_dim] (YaRN attention factor applied); mask [B,1,T,S] bool (true = may
  /// attend) or undefined (then causal when T > 1 and the cache is empty, else full); cache nullptr or a latent
  /// cache (see above) whose layer `layer_index` gets the T new tokens. Returns [B,T,C].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KVCache* cache, MlaForm form = MlaForm::kAuto);

  Dense q_proj{nullptr};                       // q_lora_rank == 0
  Dense q_a_proj{nullptr}, q_b_proj{nullptr};  // q_lora_rank > 0
  RMSNorm q_a_layernorm{nullptr};
  Dense kv_a_proj_with_mqa{nullptr}, kv_b_proj{nullptr}, o_proj{nullptr};
  RMSNorm kv_a_layernorm{nullptr};
  int64_t layer_index, num_heads, q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim;
  bool rope_interleave;
  double scaling;  // softmax scale, mla_softmax_scale()
};
TORCH_MODULE(MultiHeadLatentAttention);

}  // namespace r1kit::model
