#include "train/token_logprobs.h"

#include "core/error.h"

namespace r1kit::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

class ChunkedLogprob : public torch::autograd::Function<ChunkedLogprob> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& weight,
                               const torch::Tensor& targets, double temperature, int64_t chunk) {
    const int64_t N = hidden.size(0);
    auto out = torch::empty({N}, hidden.options().dtype(torch::kFloat32));
    auto lse_all = torch::empty({N}, out.options());
    auto w = weight.to(torch::kFloat32);
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t n = std::min(chunk, N - s);
      auto logits = torch::matmul(hidden.narrow(0, s, n).to(torch::kFloat32), w.t()) / temperature;  // [n,V]
      auto lse = torch::logsumexp(logits, 1);
      out.narrow(0, s, n).copy_(logits.gather(1, targets.narrow(0, s, n).view({-1, 1})).squeeze(1) - lse);
      lse_all.narrow(0, s, n).copy_(lse);
    }
    ctx->save_for_backward({hidden, weight, targets, lse_all});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["chunk"] = chunk;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    auto hidden = saved[0], weight = saved[1], targets = saved[2], lse_all = saved[3];
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    auto g = grads[0].to(torch::kFloat32);  // [N]
    const int64_t N = hidden.size(0);
    auto w = weight.to(torch::kFloat32);
    auto grad_h = torch::zeros(hidden.sizes(), hidden.options().dtype(torch::kFloat32));
    auto grad_w = torch::zeros(weight.sizes(), weight.options().dtype(torch::kFloat32));
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t n = std::min(chunk, N - s);
      auto h = hidden.narrow(0, s, n).to(torch::kFloat32);
      auto logits = torch::matmul(h, w.t()) / temperature;
      auto probs = torch::exp(logits - lse_all.narrow(0, s, n).unsqueeze(1));  // softmax [n,V]
      // d logp / d logits = onehot(y) − p; chain through the 1/τ scaling.
      auto d = (-probs).scatter_add(1, targets.narrow(0, s, n).view({-1, 1}), torch::ones({n, 1}, probs.options()));
      d = d * (g.narrow(0, s, n) / temperature).unsqueeze(1);
      grad_h.narrow(0, s, n).copy_(torch::matmul(d, w));
      grad_w.add_(torch::matmul(d.t(), h));
    }
    return {grad_h.to(hidden.scalar_type()), grad_w.to(weight.scalar_type()), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, double temperature, int64_t chunk_rows,
                                     torch::Tensor* entropy) {
  if (hidden.dim() != 2 || weight.dim() != 2 || hidden.size(1) != weight.size(1) || targets.dim() != 1 ||
      targets.size(0) != hidden.size(0))
    throw InvalidArgument("chunked_token_logprobs: expected hidden [N,C], weight [V,C], targets [N]; got " +
                          c10::str(hidden.sizes()) + ", " + c10::str(weight.sizes()) + ", " + c10::str(targets.sizes()));
  if (!(temperature > 0)) throw InvalidArgument("chunked_token_logprobs: temperature must be > 0");
  if (chunk_rows < 1) chunk_rows = 1;
  if (entropy != nullptr) {
    torch::NoGradGuard ng;
    const int64_t N = hidden.size(0);
    *entropy = torch::empty({N}, hidden.options().dtype(torch::kFloat32));
    auto w = weight.detach().to(torch::kFloat32);
    for (int64_t s = 0; s < N; s += chunk_rows) {
      const int64_t n = std::min(chunk_rows, N - s);
      auto logits = torch::matmul(hidden.detach().narrow(0, s, n).to(torch::kFloat32), w.t()) / temperature;
      auto logp = torch::log_softmax(logits, 1);
      entropy->narrow(0, s, n).copy_(-(logp.exp() * logp).sum(1));
    }
  }
  return ChunkedLogprob::apply(hidden, weight, targets, temperature, chunk_rows);
}

TokenLogprobs completion_logprobs(model::CausalLM& model, const torch::Tensor& ids, const torch::Tensor& attention_mask,
                                  int64_t completion_start, double temperature, int64_t chunk_rows) {
  const int64_t B = ids.size(0), T = ids.size(1);
  if (completion_start < 1 || completion_start >= T)
    throw InvalidArgument("completion_logprobs: completion_start " + std::to_string(completion_start) +
                          " outside [1, " + std::to_string(T) + ")");
  auto positions = (attention_mask.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  auto hidden = model.hidden_states(ids, positions, attention_mask);  // [B,T,C]
  const int64_t Tc = T - completion_start;
  // Hidden state at t predicts token t+1.
  auto h = hidden.narrow(1, completion_start - 1, Tc).reshape({B * Tc, -1});
  auto targets = ids.narrow(1, completion_start, Tc).reshape({B * Tc});
  TokenLogprobs out;
  torch::Tensor ent;
  out.logp = chunked_token_logprobs(h, model.output_weight(), targets, temperature, chunk_rows, &ent).view({B, Tc});
  out.entropy = ent.view({B, Tc});
  return out;
}

}  // namespace r1kit::train
