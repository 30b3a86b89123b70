// Dense decoder-only transformer of the Llama family: LlamaForCausalLM (SmolLM2, Llama-3, R1-Distill-Llama) and
// Qwen2ForCausalLM (Qwen2.5, R1-Distill-Qwen; q/k/v projections with bias).
//
// Mirrors transformers 5.x models/llama/modeling_llama.py and models/qwen2/modeling_qwen2.py: pre-norm blocks
// (RMSNorm computed in float32), grouped-query attention through scaled_dot_product_attention, RoPE in the
// rotate-half layout, SwiGLU MLP down(silu(gate(x)) * up(x)). Module names equal the Hugging Face parameter
// names, so named_parameters() is the checkpoint's key set.
#pragma once

#include "model/causal_lm.h"

namespace r1kit::model {

/// y = x W^T + b with W [out, in]; parameters left uninitialised (filled by a checkpoint or init_weights).
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x);  // [..., in] -> [..., out]
  torch::Tensor weight, bias;
};
TORCH_MODULE(Dense);

/// Token embedding table weight [V, C]; ids [B,T] int64 -> [B,T,C]. Uninitialised like Dense.
class EmbeddingTableImpl : public torch::nn::Module {
 public:
  EmbeddingTableImpl(int64_t vocab, int64_t dim);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;
};
TORCH_MODULE(EmbeddingTable);

/// RMSNorm (Zhang & Sennrich 2019): w * x / sqrt(mean(x^2) + eps), computed in float32, cast back.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [..., C] -> [..., C]
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const ModelConfig& c, int64_t layer_index);
  /// x [B,T,C], cos/sin [B,T,D], mask [B,1,T,S] bool or undefined (then causal when T > 1 and no cache).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KVCache* cache);
  Dense q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t layer_index, num_heads, num_kv_heads, head_dim;
  PreparedLinear qkv, o;  // inference only: [q|k|v] fused, o_proj (CausalLM::prepare_inference)
};
TORCH_MODULE(LlamaAttention);

class LlamaMLPImpl : public torch::nn::Module {
 public:
  explicit LlamaMLPImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // [B,T,C] -> [B,T,C]
  Dense gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  PreparedLinear gate_up, down;  // inference only: [gate|up] fused, down_proj
};
TORCH_MODULE(LlamaMLP);

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  LlamaDecoderLayerImpl(const ModelConfig& c, int64_t layer_index);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KVCache* cache);
  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

/// The decoder stack ("model." in checkpoints).
class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const ModelConfig& c);
  EmbeddingTable embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLM : public CausalLM {
 public:
  LlamaForCausalLM(const ModelConfig& config, bool tied_embeddings);
  torch::Tensor hidden_states(const torch::Tensor& input_ids, const torch::Tensor& positions,
                              const torch::Tensor& attention_mask = {}, KVCache* cache = nullptr) override;
  torch::Tensor logits(const torch::Tensor& hidden) override;
  torch::Tensor output_weight() const override { return tied_ ? model->embed_tokens->weight : lm_head->weight; }
  std::unique_ptr<KVCache> make_cache(int64_t batch, int64_t max_len) const override;
  void init_weights(uint64_t seed) override;
  void prepare_inference(const InferenceOptions& options) override;
  void release_inference() override;

  /// True when hidden_states() takes the fused one-token decode path (model/decode_kernels.h): autograd off, a
  /// cache, one new token per row, inference weights prepared (CPU float32 with a packed GEMM), an AVX2/FMA CPU,
  /// head_dim a multiple of 8 up to 256, and a 2-D attention_mask [B, cached + 1] (or none).
  bool uses_fused_decode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                         const KVCache* cache) const;

  LlamaModel model{nullptr};
  bool fused_decode = true;  // false: decode steps run the module path even when the fused one applies (tests)
  PreparedLinear head;     // inference only: lm_head
  Dense lm_head{nullptr};  // null when tied
  torch::Tensor inv_freq;  // [D/2] float32, not persistent (not saved)

 private:
  /// The fused decode step: input_ids, positions [B,1], attention_mask [B,S] or undefined → [B,1,C].
  torch::Tensor fused_decode_step(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                  const torch::Tensor& attention_mask, KVCache& cache);
};

/// Attention mask for T new queries after `past` cached tokens: [B,1,T,past+T] bool (true = may attend), causal
/// over slots and restricted to real keys by `attention_mask` [B,past+T]; the diagonal is always allowed so a
/// padded query never sees an empty row. Returns an undefined tensor when plain causal attention suffices.
torch::Tensor build_attention_mask(const torch::Tensor& attention_mask, int64_t batch, int64_t new_tokens,
                                   int64_t past, torch::Device device);

}  // namespace r1kit::model
