#include "model/deepseek_v3.h"

#include "core/error.h"

namespace r1kit::model {

DeepseekV3DecoderLayerImpl::DeepseekV3DecoderLayerImpl(const ModelConfig& c, int64_t layer) {
  self_attn = register_module("self_attn", MultiHeadLatentAttention(c, layer));
  if (layer < c.first_k_dense_replace)
    dense_mlp = register_module("mlp", SwiGLUMLP(c.hidden_size, c.intermediate_size));
  else
    moe = register_module("mlp", DeepseekV3MoE(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DeepseekV3DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                                  const torch::Tensor& sin, const torch::Tensor& mask,
                                                  KVCache* cache, MlaForm form, const torch::Tensor& token_valid) {
  auto h = x + self_attn(input_layernorm(x), cos, sin, mask, cache, form);
  auto n = post_attention_layernorm(h);
  return h + (moe ? moe(n, token_valid) : dense_mlp(n));
}

DeepseekV3ModelImpl::DeepseekV3ModelImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", EmbeddingTable(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DeepseekV3DecoderLayer(c, i));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

DeepseekV3ForCausalLM::DeepseekV3ForCausalLM(const ModelConfig& config, bool tied) : CausalLM(config, tied) {
  if (config_.model_type != "deepseek_v3")
    throw InvalidArgument("DeepseekV3ForCausalLM needs a deepseek_v3 config, got model_type \"" +
                          config_.model_type + "\"");
  model = register_module("model", DeepseekV3Model(config_));
  if (!tied_) lm_head = register_module("lm_head", Dense(config_.hidden_size, config_.vocab_size, false));
  rope = deepseek_rope_tables(config_);
}

torch::Tensor DeepseekV3ForCausalLM::hidden_states(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                                   const torch::Tensor& attention_mask, KVCache* cache) {
  if (input_ids.dim() != 2 || positions.sizes() != input_ids.sizes())
    throw InvalidArgument("input_ids and positions must both be [B,T]; got " + c10::str(input_ids.sizes()) +
                          " and " + c10::str(positions.sizes()));
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const int64_t past = cache ? cache->length() : 0;
  auto h = model->embed_tokens(input_ids);  // [B,T,C]
  auto [cos, sin] = scaled_rope_cos_sin(rope.inv_freq, rope.attention_scaling, positions, h.scalar_type());
  auto mask = build_attention_mask(attention_mask, B, T, past, h.device());
  torch::Tensor token_valid;
  if (attention_mask.defined()) token_valid = attention_mask.narrow(1, past, T).reshape({-1}).to(torch::kBool);
  for (const auto& layer : *model->layers)
    h = layer->as<DeepseekV3DecoderLayer>()->forward(h, cos, sin, mask, cache, form_, token_valid);
  if (cache) cache->advance(T);
  return model->norm(h);
}

torch::Tensor DeepseekV3ForCausalLM::logits(const torch::Tensor& hidden) {
  return torch::linear(hidden, output_weight()).to(torch::kFloat32);
}

std::unique_ptr<KVCache> DeepseekV3ForCausalLM::make_cache(int64_t batch, int64_t max_len) const {
  const auto& w = model->embed_tokens->weight;
  return std::make_unique<KVCache>(config_.num_hidden_layers, batch, 1, max_len, config_.kv_lora_rank,
                                   config_.qk_rope_head_dim, w.scalar_type(), w.device());
}

void DeepseekV3ForCausalLM::init_weights(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& p : named_parameters()) {
    const auto& name = p.key();
    auto& t = p.value();
    auto cpu = torch::empty(t.sizes(), torch::kFloat32);
    if (name.ends_with("norm.weight")) cpu.fill_(1.0);
    else if (name.ends_with(".bias")) cpu.zero_();
    else cpu.normal_(0.0, 0.02, gen);
    t.copy_(cpu);
  }
  for (auto moe : moe_layers()) moe->gate->e_score_correction_bias.zero_();
}

std::vector<DeepseekV3MoE> DeepseekV3ForCausalLM::moe_layers() const {
  std::vector<DeepseekV3MoE> out;
  for (const auto& layer : *model->layers) {
    auto l = layer->as<DeepseekV3DecoderLayer>();
    if (l->moe) out.push_back(l->moe);
  }
  return out;
}

std::vector<torch::Tensor> DeepseekV3ForCausalLM::expert_load() const {
  std::vector<torch::Tensor> out;
  for (auto moe : moe_layers()) out.push_back(moe->expert_load());
  return out;
}

void DeepseekV3ForCausalLM::reset_expert_load() {
  for (auto moe : moe_layers()) moe->reset_expert_load();
}

void DeepseekV3ForCausalLM::update_router_bias(double gamma) {
  for (auto moe : moe_layers()) moe->update_bias(gamma);
}

void DeepseekV3ForCausalLM::keep_routers_fp32() {
  torch::NoGradGuard no_grad;
  for (auto moe : moe_layers()) {
    auto& g = *moe->gate;
    if (g.weight.scalar_type() != torch::kFloat32) g.weight.set_data(g.weight.data().to(torch::kFloat32));
    if (g.e_score_correction_bias.scalar_type() != torch::kFloat32)
      g.e_score_correction_bias.set_data(g.e_score_correction_bias.data().to(torch::kFloat32));
  }
}

void DeepseekV3ForCausalLM::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  CausalLM::to(device, dtype, non_blocking);
  keep_routers_fp32();
}

void DeepseekV3ForCausalLM::to(torch::Dtype dtype, bool non_blocking) {
  CausalLM::to(dtype, non_blocking);
  keep_routers_fp32();
}

}  // namespace r1kit::model
