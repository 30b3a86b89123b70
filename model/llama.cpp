#include "model/llama.h"

#include <cmath>

#include "core/error.h"
#include "model/decode_kernels.h"
#include "model/rope.h"

namespace r1kit::model {

namespace F = torch::nn::functional;

DenseImpl::DenseImpl(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out}));
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

EmbeddingTableImpl::EmbeddingTableImpl(int64_t vocab, int64_t dim) {
  weight = register_parameter("weight", torch::empty({vocab, dim}));
}

torch::Tensor EmbeddingTableImpl::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat32);
  auto variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * torch::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

LlamaAttentionImpl::LlamaAttentionImpl(const ModelConfig& c, int64_t layer)
    : layer_index(layer), num_heads(c.num_attention_heads), num_kv_heads(c.num_key_value_heads),
      head_dim(c.head_dim) {
  const bool qkv_bias = c.attention_bias || c.qkv_bias;
  q_proj = register_module("q_proj", Dense(c.hidden_size, num_heads * head_dim, qkv_bias));
  k_proj = register_module("k_proj", Dense(c.hidden_size, num_kv_heads * head_dim, qkv_bias));
  v_proj = register_module("v_proj", Dense(c.hidden_size, num_kv_heads * head_dim, qkv_bias));
  o_proj = register_module("o_proj", Dense(num_heads * head_dim, c.hidden_size, c.attention_bias));
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                          const torch::Tensor& mask, KVCache* cache) {
  const int64_t B = x.size(0), T = x.size(1);
  const bool inference = !at::GradMode::is_enabled();
  torch::Tensor q, k, v;
  if (inference && qkv.defined()) {
    auto y = qkv(x);  // [B,T,(H + 2 Hkv) D]
    q = y.narrow(-1, 0, num_heads * head_dim);
    k = y.narrow(-1, num_heads * head_dim, num_kv_heads * head_dim);
    v = y.narrow(-1, (num_heads + num_kv_heads) * head_dim, num_kv_heads * head_dim);
  } else {
    q = q_proj(x), k = k_proj(x), v = v_proj(x);
  }
  q = q.reshape({B, T, num_heads, head_dim}).transpose(1, 2);     // [B,H,T,D]
  k = k.reshape({B, T, num_kv_heads, head_dim}).transpose(1, 2);  // [B,Hkv,T,D]
  v = v.reshape({B, T, num_kv_heads, head_dim}).transpose(1, 2);  // [B,Hkv,T,D]
  q = apply_rope(q, cos, sin);
  k = apply_rope(k, cos, sin);
  const bool had_past = cache != nullptr && cache->length() > 0;
  if (cache != nullptr) std::tie(k, v) = cache->update(layer_index, k, v);  // [B,Hkv,S,D]
  const bool causal = !mask.defined() && T > 1 && !had_past;
  std::optional<torch::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask;
  auto out = at::scaled_dot_product_attention(q, k, v, attn_mask, 0.0, causal,
                                              1.0 / std::sqrt(static_cast<double>(head_dim)),
                                              /*enable_gqa=*/num_heads != num_kv_heads);  // [B,H,T,D]
  out = out.transpose(1, 2).reshape({B, T, num_heads * head_dim});
  return inference && o.defined() ? o(out) : o_proj(out);
}

LlamaMLPImpl::LlamaMLPImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", Dense(c.hidden_size, c.intermediate_size, c.mlp_bias));
  up_proj = register_module("up_proj", Dense(c.hidden_size, c.intermediate_size, c.mlp_bias));
  down_proj = register_module("down_proj", Dense(c.intermediate_size, c.hidden_size, c.mlp_bias));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) {
  if (gate_up.defined() && !at::GradMode::is_enabled()) {
    auto y = gate_up(x);  // [..., 2I]
    const int64_t I = y.size(-1) / 2;
    return down(torch::silu(y.narrow(-1, 0, I)) * y.narrow(-1, I, I));
  }
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const ModelConfig& c, int64_t layer) {
  self_attn = register_module("self_attn", LlamaAttention(c, layer));
  mlp = register_module("mlp", LlamaMLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                             const torch::Tensor& sin, const torch::Tensor& mask, KVCache* cache) {
  auto h = x + self_attn(input_layernorm(x), cos, sin, mask, cache);
  return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", EmbeddingTable(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c, i));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

LlamaForCausalLM::LlamaForCausalLM(const ModelConfig& config, bool tied) : CausalLM(config, tied) {
  model = register_module("model", LlamaModel(config_));
  if (!tied_) lm_head = register_module("lm_head", Dense(config_.hidden_size, config_.vocab_size, false));
  inv_freq = rope_inv_freq(config_);  // deliberately not a registered buffer: never saved, always float32
}

torch::Tensor build_attention_mask(const torch::Tensor& attention_mask, int64_t B, int64_t T, int64_t past,
                                   torch::Device device) {
  const int64_t S = past + T;
  if (!attention_mask.defined() && (past == 0 || T == 1)) return {};  // plain causal (or a single new query)
  if (attention_mask.defined() && attention_mask.dim() == 4) {
    // A full mask [B,1,T,S] (true = may attend), e.g. block-diagonal causal for packed SFT sequences; used as given.
    if (attention_mask.size(0) != B || attention_mask.size(1) != 1 || attention_mask.size(2) != T ||
        attention_mask.size(3) != S)
      throw InvalidArgument("a 4-D attention_mask must be [B, 1, new, cached + new] = [" + std::to_string(B) + ", 1, " +
                            std::to_string(T) + ", " + std::to_string(S) + "], got " + c10::str(attention_mask.sizes()));
    return attention_mask.to(device).to(torch::kBool);
  }
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  auto q_slot = (torch::arange(T, opts) + past).view({T, 1});
  auto k_slot = torch::arange(S, opts).view({1, S});
  auto allowed = (k_slot <= q_slot).view({1, 1, T, S});  // [1,1,T,S]
  if (attention_mask.defined()) {
    if (attention_mask.dim() != 2 || attention_mask.size(0) != B || attention_mask.size(1) != S)
      throw InvalidArgument("attention_mask must be [B, cached + new] = [" + std::to_string(B) + ", " +
                            std::to_string(S) + "], got " + c10::str(attention_mask.sizes()));
    auto valid = attention_mask.to(device).to(torch::kBool).view({B, 1, 1, S});
    allowed = (allowed & valid) | (k_slot == q_slot).view({1, 1, T, S});
  }
  return allowed.expand({B, 1, T, S});
}

torch::Tensor LlamaForCausalLM::hidden_states(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                              const torch::Tensor& attention_mask, KVCache* cache) {
  if (input_ids.dim() != 2 || positions.sizes() != input_ids.sizes())
    throw InvalidArgument("input_ids and positions must both be [B,T]; got " + c10::str(input_ids.sizes()) +
                          " and " + c10::str(positions.sizes()));
  if (uses_fused_decode(input_ids, attention_mask, cache))
    return fused_decode_step(input_ids, positions, attention_mask, *cache);
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  const int64_t past = cache ? cache->length() : 0;
  auto h = model->embed_tokens(input_ids);  // [B,T,C]
  auto [cos, sin] = rope_cos_sin(inv_freq, positions, h.scalar_type());
  auto mask = build_attention_mask(attention_mask, B, T, past, h.device());
  for (const auto& layer : *model->layers) h = layer->as<LlamaDecoderLayer>()->forward(h, cos, sin, mask, cache);
  if (cache) cache->advance(T);
  return model->norm(h);
}

bool LlamaForCausalLM::uses_fused_decode(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                         const KVCache* cache) const {
  if (!fused_decode || at::GradMode::is_enabled() || cache == nullptr || input_ids.size(1) != 1 || !head.defined() ||
      !head.packed() || config_.head_dim % 8 != 0 || config_.head_dim > 256 || cache->batch() != input_ids.size(0) || !decode::available())
    return false;
  if (!attention_mask.defined()) return true;
  return attention_mask.dim() == 2 && attention_mask.size(0) == input_ids.size(0) &&
         attention_mask.size(1) == cache->length() + 1 && attention_mask.device().is_cpu();
}

torch::Tensor LlamaForCausalLM::fused_decode_step(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                                  const torch::Tensor& attention_mask, KVCache& cache) {
  // The module path of hidden_states() for T = 1, stage by stage; residual adds are folded into the next norm.
  const int64_t B = input_ids.size(0), past = cache.length(), S = past + 1;
  cache.check_room(1);
  torch::Tensor valid;  // [B,S] bool, rows may be strided (the rollout engine passes a narrow() of its mask)
  if (attention_mask.defined()) {
    valid = attention_mask.scalar_type() == torch::kBool ? attention_mask : attention_mask.to(torch::kBool);
    if (valid.stride(1) != 1) valid = valid.contiguous();
  }
  auto h = model->embed_tokens(input_ids).view({B, -1}).contiguous();  // [B,C] residual stream
  auto [cos, sin] = rope_cos_sin(inv_freq, positions, torch::kFloat32);   // [B,1,D]
  cos = cos.view({B, -1}).contiguous();
  sin = sin.view({B, -1}).contiguous();
  const decode::SharedPrefix shared{cache.shared_group(), cache.shared_length()};
  torch::Tensor delta;  // the last sub-layer's output, not yet added to h
  for (const auto& layer_module : *model->layers) {
    auto* layer = layer_module->as<LlamaDecoderLayer>();
    auto& a = *layer->self_attn;
    auto& m = *layer->mlp;
    auto [keys, values] = cache.buffers(a.layer_index);
    auto x = decode::add_rms_norm(h, delta, layer->input_layernorm->weight, layer->input_layernorm->eps);
    auto q = decode::rope_into_cache(a.qkv(x), cos, sin, a.num_heads, a.num_kv_heads, keys, values, past);  // [B,H,D]
    auto att = decode::attention(q, keys, values, S, valid, 1.0 / std::sqrt(static_cast<double>(a.head_dim)), shared);
    x = decode::add_rms_norm(h, a.o(att), layer->post_attention_layernorm->weight, layer->post_attention_layernorm->eps);
    delta = m.down(decode::silu_mul(m.gate_up(x)));
  }
  cache.advance(1);
  return decode::add_rms_norm(h, delta, model->norm->weight, model->norm->eps).view({B, 1, -1});
}

torch::Tensor LlamaForCausalLM::logits(const torch::Tensor& hidden) {
  if (head.defined() && !at::GradMode::is_enabled()) return head(hidden).to(torch::kFloat32);
  const auto& w = tied_ ? model->embed_tokens->weight : lm_head->weight;
  return torch::linear(hidden, w).to(torch::kFloat32);
}

std::unique_ptr<KVCache> LlamaForCausalLM::make_cache(int64_t batch, int64_t max_len) const {
  const auto& w = model->embed_tokens->weight;
  return std::make_unique<KVCache>(config_.num_hidden_layers, batch, config_.num_key_value_heads, max_len,
                                   config_.head_dim, w.scalar_type(), w.device());
}

void LlamaForCausalLM::prepare_inference(const InferenceOptions& o) {
  if (!PreparedLinear::packs(output_weight(), o.gemm)) return;  // default GEMM: the parameters as they are
  torch::NoGradGuard no_grad;
  const int64_t rows = o.rows_hint;
  auto cat_bias = [](std::initializer_list<torch::Tensor> bs) {
    for (const auto& b : bs)
      if (!b.defined()) return torch::Tensor();
    return torch::cat(std::vector<torch::Tensor>(bs));
  };
  for (const auto& layer_module : *model->layers) {
    auto* layer = layer_module->as<LlamaDecoderLayer>();
    auto& a = *layer->self_attn;
    a.qkv = PreparedLinear::make(torch::cat({a.q_proj->weight, a.k_proj->weight, a.v_proj->weight}),
                                 cat_bias({a.q_proj->bias, a.k_proj->bias, a.v_proj->bias}), o.gemm, rows);
    a.o = PreparedLinear::make(a.o_proj->weight, a.o_proj->bias, o.gemm, rows);
    auto& m = *layer->mlp;
    m.gate_up = PreparedLinear::make(torch::cat({m.gate_proj->weight, m.up_proj->weight}),
                                     cat_bias({m.gate_proj->bias, m.up_proj->bias}), o.gemm, rows);
    m.down = PreparedLinear::make(m.down_proj->weight, m.down_proj->bias, o.gemm, rows);
  }
  head = PreparedLinear::make(output_weight(), torch::Tensor(), o.gemm, rows);
}

void LlamaForCausalLM::release_inference() {
  for (const auto& layer_module : *model->layers) {
    auto* layer = layer_module->as<LlamaDecoderLayer>();
    layer->self_attn->qkv = {};
    layer->self_attn->o = {};
    layer->mlp->gate_up = {};
    layer->mlp->down = {};
  }
  head = {};
}

void LlamaForCausalLM::init_weights(uint64_t seed) {
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
}

}  // namespace r1kit::model
