// DeepseekV3ForCausalLM (DeepSeek-V3, DeepSeek-R1 and their tiny relatives): pre-norm decoder blocks of
// multi-head latent attention (model/mla.h) and a feed-forward that is a dense SwiGLU MLP for the first
// `first_k_dense_replace` layers and DeepSeekMoE (model/moe.h) after; YaRN rotary tables (model/yarn_rope.h).
//
// Mirrors transformers 5.x models/deepseek_v3/modeling_deepseek_v3.py (DeepseekV3DecoderLayer, DeepseekV3Model,
// DeepseekV3ForCausalLM). Module names equal the checkpoint's tensor names (model.layers.N.self_attn.q_a_proj.weight,
// model.layers.N.mlp.experts.E.gate_proj.weight, …), so hf_state() is the on-disk key set. The multi-token-
// prediction module (model.layers.{num_hidden_layers}.*) is not part of the model; load_pretrained skips it.
#pragma once

#include "model/causal_lm.h"
#include "model/mla.h"
#include "model/moe.h"
#include "model/yarn_rope.h"

namespace r1kit::model {

class DeepseekV3DecoderLayerImpl : public torch::nn::Module {
 public:
  DeepseekV3DecoderLayerImpl(const ModelConfig& c, int64_t layer_index);
  /// x [B,T,C] -> [B,T,C]; token_valid [B*T] bool or undefined (only for expert-load counting).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KVCache* cache, MlaForm form, const torch::Tensor& token_valid);
  MultiHeadLatentAttention self_attn{nullptr};
  SwiGLUMLP dense_mlp{nullptr};  // registered as "mlp" for layers < first_k_dense_replace
  DeepseekV3MoE moe{nullptr};    // registered as "mlp" otherwise
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DeepseekV3DecoderLayer);

class DeepseekV3ModelImpl : public torch::nn::Module {
 public:
  explicit DeepseekV3ModelImpl(const ModelConfig& c);
  EmbeddingTable embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(DeepseekV3Model);

class DeepseekV3ForCausalLM : public CausalLM {
 public:
  DeepseekV3ForCausalLM(const ModelConfig& config, bool tied_embeddings);
  /// See CausalLM::hidden_states. With a cache, decode steps (cache already holding tokens) use the absorbed MLA
  /// form unless set_attention_form() says otherwise.
  torch::Tensor hidden_states(const torch::Tensor& input_ids, const torch::Tensor& positions,
                              const torch::Tensor& attention_mask = {}, KVCache* cache = nullptr) override;
  torch::Tensor logits(const torch::Tensor& hidden) override;
  torch::Tensor output_weight() const override { return tied_ ? model->embed_tokens->weight : lm_head->weight; }
  /// Latent cache: num_hidden_layers × ([batch,1,max_len,kv_lora_rank] latents, [batch,1,max_len,
  /// qk_rope_head_dim] rotary keys) — (kv_lora_rank + qk_rope_head_dim) values per token and layer.
  std::unique_ptr<KVCache> make_cache(int64_t batch, int64_t max_len) const override;
  /// transformers' init: normal(0, 0.02) matrices (router included), zero biases and e_score_correction_bias,
  /// unit norms.
  void init_weights(uint64_t seed) override;

  /// Module::to, except that the routers' weight and e_score_correction_bias stay float32 (transformers
  /// `_keep_in_fp32_modules_strict`); the router computes in float32 either way.
  using CausalLM::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;

  /// Forces the MLA form for every layer (tests compare kPlain and kAbsorbed); default kAuto.
  void set_attention_form(MlaForm form) { form_ = form; }
  MlaForm attention_form() const { return form_; }

  /// The MoE blocks, in layer order (layers >= first_k_dense_replace).
  std::vector<DeepseekV3MoE> moe_layers() const;
  /// Per MoE layer, tokens routed to each expert since the last reset: [E] int64 each (real tokens only when an
  /// attention_mask is given). For metrics and the auxiliary-loss-free bias update.
  std::vector<torch::Tensor> expert_load() const;
  void reset_expert_load();
  /// Auxiliary-loss-free load balancing (DeepSeek-V3 report §2.1.2): every router's e_score_correction_bias moves
  /// by ±gamma towards balancing the loads counted since the last reset, which are then reset. Off unless called
  /// (the report uses gamma = 0.001 during most of pre-training); never touched by the optimizer.
  void update_router_bias(double gamma);

  DeepseekV3Model model{nullptr};
  Dense lm_head{nullptr};  // null when tied
  RopeTables rope;         // not registered: never saved

 private:
  void keep_routers_fp32();
  MlaForm form_ = MlaForm::kAuto;
};

}  // namespace r1kit::model
