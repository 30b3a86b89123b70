// DeepSeekMoE feed-forward of DeepSeek-V3: sigmoid router with an auxiliary-loss-free bias for expert choice,
// group-limited top-k, routed SwiGLU experts computed token-grouped per expert, plus always-on shared experts.
//
// Mirrors transformers 5.x DeepseekV3TopkRouter / DeepseekV3Experts / DeepseekV3MoE / DeepseekV3MLP
// (models/deepseek_v3/modeling_deepseek_v3.py). Paper: DeepSeek-V3 technical report, arXiv 2412.19437, §2.1.2
// eq. 12-16 (gating) and §2.1.2 "Auxiliary-Loss-Free Load Balancing" (bias update b_i ± γ).
// Module names equal the checkpoint's: mlp.gate.weight, mlp.gate.e_score_correction_bias,
// mlp.experts.E.{gate,up,down}_proj.weight, mlp.shared_experts.{gate,up,down}_proj.weight.
#pragma once

#include <torch/torch.h>

#include "model/llama.h"
#include "model/model_config.h"

namespace r1kit::model {

/// down(silu(gate(x)) * up(x)) without biases: the dense MLP of the first layers, each expert and the shared
/// experts. x [..., hidden] -> [..., hidden].
class SwiGLUMLPImpl : public torch::nn::Module {
 public:
  SwiGLUMLPImpl(int64_t hidden, int64_t intermediate);
  torch::Tensor forward(const torch::Tensor& x);
  Dense gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(SwiGLUMLP);

/// Routing decision for N tokens.
struct Routing {
  torch::Tensor weights;  // [N,k] float32: unbiased sigmoid scores at the chosen experts, normalised
                          // (norm_topk_prob) and multiplied by routed_scaling_factor
  torch::Tensor indices;  // [N,k] int64 chosen experts (unordered)
};

/// The DeepSeek-V3 top-k choice on router logits [N,E] float32 with the correction bias [E] float32:
///   s = sigmoid(logits); c = s + bias (used ONLY for choosing);
///   group score = sum of the top-2 c in each of n_group groups; keep the topk_group best groups;
///   indices = top-k of c over the kept groups' experts; weights = s gathered at indices,
///   / (sum + 1e-20) if norm_topk_prob, × routed_scaling_factor.
/// Differentiable w.r.t. `router_logits` through the weights. Throws InvalidArgument on inconsistent sizes.
Routing route_tokens(const torch::Tensor& router_logits, const torch::Tensor& bias, int64_t n_group,
                     int64_t topk_group, int64_t top_k, bool norm_topk_prob, double routed_scaling_factor);

/// Router ("mlp.gate"): weight [E,C] parameter, e_score_correction_bias [E] BUFFER (saved, never a parameter, so
/// no optimizer updates it; changed only by DeepseekV3MoE::update_bias). Both are kept float32 by
/// DeepseekV3ForCausalLM whatever the model dtype, as transformers' `_keep_in_fp32_modules_strict`.
class TopkRouterImpl : public torch::nn::Module {
 public:
  explicit TopkRouterImpl(const ModelConfig& c);
  /// x [N,C] any float dtype -> Routing (logits computed in float32).
  Routing forward(const torch::Tensor& x);
  torch::Tensor weight, e_score_correction_bias;
  int64_t n_group, topk_group, top_k;
  bool norm_topk_prob;
  double routed_scaling_factor;
};
TORCH_MODULE(TopkRouter);

/// The MoE block ("mlp" of layers >= first_k_dense_replace).
class DeepseekV3MoEImpl : public torch::nn::Module {
 public:
  explicit DeepseekV3MoEImpl(const ModelConfig& c);
  /// x [B,T,C] -> [B,T,C]. `token_valid` [B*T] bool (or undefined = all) selects the tokens counted in
  /// expert_load(); every token is routed and computed regardless. Each expert runs once on the tokens that
  /// chose it (index_select → SwiGLU → × weight → index_add), so an expert no token chose gets no gradient.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& token_valid = {});

  /// Tokens routed to each expert since the last reset ([E] int64, on the model's device; zeros before use).
  torch::Tensor expert_load() const;
  void reset_expert_load();
  /// Auxiliary-loss-free balancing step: bias_i += gamma * sign(mean load - load_i) over the loads counted since
  /// the last reset, then resets the counts. No-op when gamma == 0 or nothing was counted.
  void update_bias(double gamma);

  torch::nn::ModuleList experts{nullptr};
  TopkRouter gate{nullptr};
  SwiGLUMLP shared_experts{nullptr};  // null when n_shared_experts == 0

 private:
  torch::Tensor load_;  // [E] int64, not registered (not saved)
  int64_t num_experts_;
};
TORCH_MODULE(DeepseekV3MoE);

}  // namespace r1kit::model
