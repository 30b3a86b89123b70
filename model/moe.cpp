#include "model/moe.h"

#include "core/error.h"

namespace r1kit::model {

SwiGLUMLPImpl::SwiGLUMLPImpl(int64_t hidden, int64_t intermediate) {
  gate_proj = register_module("gate_proj", Dense(hidden, intermediate, false));
  up_proj = register_module("up_proj", Dense(hidden, intermediate, false));
  down_proj = register_module("down_proj", Dense(intermediate, hidden, false));
}

torch::Tensor SwiGLUMLPImpl::forward(const torch::Tensor& x) {
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

Routing route_tokens(const torch::Tensor& router_logits, const torch::Tensor& bias, int64_t n_group,
                     int64_t topk_group, int64_t top_k, bool norm_topk_prob, double routed_scaling_factor) {
  if (router_logits.dim() != 2)
    throw InvalidArgument("route_tokens: router_logits must be [N,E], got " + c10::str(router_logits.sizes()));
  const int64_t N = router_logits.size(0), E = router_logits.size(1);
  if (bias.numel() != E || n_group <= 0 || E % n_group != 0 || E / n_group < 2 || topk_group < 1 ||
      topk_group > n_group || top_k < 1 || top_k > topk_group * (E / n_group))
    throw InvalidArgument("route_tokens: inconsistent sizes (experts " + std::to_string(E) + ", bias " +
                          std::to_string(bias.numel()) + ", n_group " + std::to_string(n_group) + ", topk_group " +
                          std::to_string(topk_group) + ", top_k " + std::to_string(top_k) + ")");
  auto scores = router_logits.sigmoid();                                   // [N,E]
  torch::Tensor choice;
  {
    torch::NoGradGuard no_grad;  // the choice is discrete; only the weights carry gradient
    choice = scores.detach() + bias.to(scores.scalar_type()).view({1, E});  // [N,E]
    auto grouped = choice.view({N, n_group, E / n_group});
    auto group_scores = std::get<0>(grouped.topk(2, -1)).sum(-1);             // [N,G]
    auto group_idx = std::get<1>(group_scores.topk(topk_group, -1, true, false));
    auto group_mask = torch::zeros_like(group_scores).scatter_(1, group_idx, 1.0);
    auto expert_mask = group_mask.unsqueeze(-1).expand({N, n_group, E / n_group}).reshape({N, E});
    choice = choice.masked_fill(expert_mask.logical_not(), -std::numeric_limits<double>::infinity());
  }
  auto indices = std::get<1>(choice.topk(top_k, -1, true, false));        // [N,k]
  auto weights = scores.gather(1, indices);
  if (norm_topk_prob) weights = weights / (weights.sum(-1, true) + 1e-20);
  weights = weights * routed_scaling_factor;
  return {weights, indices};
}

TopkRouterImpl::TopkRouterImpl(const ModelConfig& c)
    : n_group(c.n_group), topk_group(c.topk_group), top_k(c.num_experts_per_tok), norm_topk_prob(c.norm_topk_prob),
      routed_scaling_factor(c.routed_scaling_factor) {
  weight = register_parameter("weight", torch::empty({c.n_routed_experts, c.hidden_size}));
  e_score_correction_bias = register_buffer("e_score_correction_bias", torch::zeros({c.n_routed_experts}));
}

Routing TopkRouterImpl::forward(const torch::Tensor& x) {
  auto logits = torch::linear(x.to(torch::kFloat32), weight.to(torch::kFloat32));  // [N,E]
  return route_tokens(logits, e_score_correction_bias, n_group, topk_group, top_k, norm_topk_prob,
                      routed_scaling_factor);
}

DeepseekV3MoEImpl::DeepseekV3MoEImpl(const ModelConfig& c) : num_experts_(c.n_routed_experts) {
  experts = register_module("experts", torch::nn::ModuleList());
  for (int64_t e = 0; e < c.n_routed_experts; ++e)
    experts->push_back(SwiGLUMLP(c.hidden_size, c.moe_intermediate_size));
  gate = register_module("gate", TopkRouter(c));
  if (c.n_shared_experts > 0)
    shared_experts = register_module("shared_experts",
                                     SwiGLUMLP(c.hidden_size, c.moe_intermediate_size * c.n_shared_experts));
}

torch::Tensor DeepseekV3MoEImpl::forward(const torch::Tensor& x, const torch::Tensor& token_valid) {
  const int64_t C = x.size(-1);
  auto flat = x.reshape({-1, C});  // [N,C]
  const int64_t N = flat.size(0);
  Routing r = gate(flat);
  const int64_t k = r.indices.size(1);
  auto flat_idx = r.indices.reshape({-1});                                       // [N*k]
  auto order = std::get<1>(flat_idx.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  auto counts = torch::bincount(flat_idx, {}, num_experts_);                     // [E]
  {
    torch::NoGradGuard no_grad;
    auto counted = counts;
    if (token_valid.defined()) {
      auto valid = token_valid.to(flat_idx.device()).to(torch::kBool).reshape({N, 1}).expand({N, k}).reshape({-1});
      counted = torch::bincount(flat_idx.masked_select(valid), {}, num_experts_);
    }
    if (!load_.defined() || load_.device() != counted.device()) load_ = torch::zeros({num_experts_}, counted.options());
    load_ += counted;
  }
  auto counts_cpu = counts.to(torch::kCPU);
  const int64_t* cnt = counts_cpu.data_ptr<int64_t>();
  auto token_of = order.div(k, "floor");                                         // [N*k] token of each slot
  auto slot_weight = r.weights.reshape({-1}).index_select(0, order);             // [N*k] float32
  auto out = torch::zeros_like(flat);
  int64_t offset = 0;
  for (int64_t e = 0; e < num_experts_; ++e) {
    if (cnt[e] == 0) continue;
    auto tok = token_of.narrow(0, offset, cnt[e]);
    auto y = experts[e]->as<SwiGLUMLP>()->forward(flat.index_select(0, tok));   // [n_e,C]
    y = (y * slot_weight.narrow(0, offset, cnt[e]).unsqueeze(-1)).to(flat.scalar_type());
    out.index_add_(0, tok, y);
    offset += cnt[e];
  }
  auto result = out.view(x.sizes());
  if (shared_experts) result = result + shared_experts(x);
  return result;
}

torch::Tensor DeepseekV3MoEImpl::expert_load() const {
  if (!load_.defined()) return torch::zeros({num_experts_}, torch::TensorOptions().dtype(torch::kInt64).device(
                                                                gate->weight.device()));
  return load_.clone();
}

void DeepseekV3MoEImpl::reset_expert_load() {
  if (load_.defined()) load_.zero_();
}

void DeepseekV3MoEImpl::update_bias(double gamma) {
  if (gamma == 0.0 || !load_.defined() || load_.sum().item<int64_t>() == 0) return;
  torch::NoGradGuard no_grad;
  auto load = load_.to(torch::kFloat32).to(gate->e_score_correction_bias.device());
  auto delta = (load.mean() - load).sign() * gamma;  // under-loaded experts up, over-loaded down
  gate->e_score_correction_bias.add_(delta.to(gate->e_score_correction_bias.scalar_type()));
  load_.zero_();
}

}  // namespace r1kit::model
