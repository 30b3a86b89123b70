// The GRPO loss (DeepSeekMath eq. 3/4, DAPO eq. 8/10, Dr. GRPO eq. 3). See grpo_loss.h.
#include "rl/grpo_loss.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace r1kit::rl {
namespace {

std::string shape_of(const torch::Tensor& t) { return t.defined() ? c10::str(t.sizes()) : "undefined"; }

void check_same_shape(const char* name, const torch::Tensor& t, const torch::Tensor& logp) {
  if (t.defined() && t.sizes() != logp.sizes())
    throw InvalidArgument(std::string("grpo_loss: ") + name + " has shape " + shape_of(t) +
                          " but logp has shape " + shape_of(logp) + "; both must be [N,T] over the same tokens");
}

}  // namespace

LossType parse_loss_type(const std::string& value) {
  if (value == "grpo") return LossType::grpo;
  if (value == "bnpo") return LossType::bnpo;
  if (value == "dr_grpo") return LossType::dr_grpo;
  if (value == "dapo") return LossType::dapo;
  throw ConfigError("loss_type: unknown value \"" + value +
                    "\"; choose one of \"grpo\", \"bnpo\", \"dr_grpo\", \"dapo\" (default)");
}

std::string to_string(LossType t) {
  switch (t) {
    case LossType::grpo: return "grpo";
    case LossType::bnpo: return "bnpo";
    case LossType::dr_grpo: return "dr_grpo";
    case LossType::dapo: return "dapo";
  }
  return "dapo";
}

torch::Tensor aggregate_loss(const torch::Tensor& per_token, const torch::Tensor& mask, LossType loss_type,
                             const StepTotals& totals, int64_t max_completion_length) {
  if (!per_token.defined() || per_token.dim() != 2 || !mask.defined() || mask.sizes() != per_token.sizes())
    throw InvalidArgument("aggregate_loss: per_token " + shape_of(per_token) + " and mask " + shape_of(mask) +
                          " must both be [N,T]");
  const auto m = mask.to(per_token.scalar_type());
  // where(): a NaN/inf at a masked position must not leak into the sum (0 · NaN = NaN).
  const auto masked = torch::where(m != 0, per_token * m, torch::zeros_like(per_token));  // [N,T]
  switch (loss_type) {
    case LossType::grpo: {  // DeepSeekMath eq. 3: 1/G Σ_i 1/|o_i| Σ_t
      if (totals.num_sequences <= 0)
        throw InvalidArgument("aggregate_loss(grpo): totals.num_sequences must be > 0 (completions in the step)");
      const auto per_seq = masked.sum(1) / m.sum(1).clamp_min(1.0);  // [N]
      return per_seq.sum() / totals.num_sequences;
    }
    case LossType::bnpo: {  // TRL "bnpo": local token mean, averaged over gradient-accumulation steps
      if (totals.num_micro_batches < 1)
        throw InvalidArgument("aggregate_loss(bnpo): totals.num_micro_batches must be >= 1");
      return masked.sum() / m.sum().clamp_min(1.0) / static_cast<double>(totals.num_micro_batches);
    }
    case LossType::dr_grpo: {  // Dr. GRPO eq. 3: constant normaliser
      if (totals.num_sequences <= 0 || max_completion_length < 1)
        throw InvalidArgument("aggregate_loss(dr_grpo): totals.num_sequences (" +
                              std::to_string(totals.num_sequences) + ") and max_completion_length (" +
                              std::to_string(max_completion_length) + ") must be > 0");
      return masked.sum() / (totals.num_sequences * static_cast<double>(max_completion_length));
    }
    case LossType::dapo:  // DAPO eq. 8: token-level mean over the whole step
      return masked.sum() / std::max(totals.num_tokens, 1.0);
  }
  throw InvalidArgument("aggregate_loss: unknown LossType");
}

namespace {

struct Terms {
  torch::Tensor per_token;  // [N,T]
  torch::Tensor ratio;      // [N,T] c after the delta cap (for clip stats)
  torch::Tensor kl;         // [N,T] KL term as used (× c with bias correction); undefined without ref
  torch::Tensor adv;        // [N,1]
  torch::Tensor mask;       // [N,T] in logp's dtype
};

Terms compute_terms(const LossInputs& in, const LossConfig& cfg) {
  const auto& logp = in.logp;
  if (!logp.defined() || logp.dim() != 2 || !logp.is_floating_point())
    throw InvalidArgument("grpo_loss: logp must be a floating [N,T] tensor, got " + shape_of(logp));
  if (!in.mask.defined()) throw InvalidArgument("grpo_loss: mask is undefined; pass the [N,T] completion mask");
  check_same_shape("mask", in.mask, logp);
  check_same_shape("old_logp", in.old_logp, logp);
  check_same_shape("ref_logp", in.ref_logp, logp);
  if (!in.advantages.defined() || in.advantages.dim() != 1 || in.advantages.size(0) != logp.size(0))
    throw InvalidArgument("grpo_loss: advantages must be [N] with N = " + std::to_string(logp.size(0)) +
                          ", got " + shape_of(in.advantages));
  if (cfg.beta != 0.0 && !in.ref_logp.defined())
    throw InvalidArgument("grpo_loss: beta = " + std::to_string(cfg.beta) +
                          " needs ref_logp (reference-model log-probs); compute them or set beta = 0");

  Terms t;
  t.mask = in.mask.to(logp.scalar_type());
  const auto on = t.mask != 0;
  const auto zero = torch::zeros_like(logp);
  // Zero the inputs at masked positions so padding garbage (NaN/inf) can't reach the values or the gradient.
  const auto lp = torch::where(on, logp, zero);
  const auto old = in.old_logp.defined() ? torch::where(on, in.old_logp.to(logp.scalar_type()), zero).detach()
                                         : lp.detach();
  t.adv = in.advantages.to(logp.scalar_type()).unsqueeze(1);  // [N,1]

  const auto c = torch::exp(torch::clamp(lp - old, -20.0, 20.0));                  // [N,T] DESIGN.md
  const auto c_clip = torch::clamp(c, 1.0 - cfg.epsilon, 1.0 + cfg.epsilon_high);  // DAPO eq. 10
  t.ratio = cfg.delta ? torch::clamp_max(c, *cfg.delta) : c;                        // DeepSeek-V3.2 eq. 9
  t.per_token = -torch::min(t.ratio * t.adv, c_clip * t.adv);

  if (in.ref_logp.defined()) {
    const auto ref = torch::where(on, in.ref_logp.to(logp.scalar_type()), zero).detach();
    if (cfg.beta != 0.0) {
      t.kl = kl_divergence(lp, ref, cfg.kl_estimator);
      if (cfg.use_bias_correction_kl) t.kl = t.kl * c;  // DeepSeek-V3.2: unbiased reverse-KL gradient
      t.per_token = t.per_token + cfg.beta * t.kl;
    } else {
      torch::NoGradGuard no_grad;  // metric only
      t.kl = kl_divergence(lp, ref, cfg.kl_estimator);
      if (cfg.use_bias_correction_kl) t.kl = t.kl * c;
    }
  }
  return t;
}

}  // namespace

torch::Tensor per_token_grpo_loss(const LossInputs& in, const LossConfig& cfg) {
  return compute_terms(in, cfg).per_token;
}

torch::Tensor grpo_loss(const LossInputs& in, const LossConfig& cfg, const StepTotals& totals, LossStats* stats) {
  const Terms t = compute_terms(in, cfg);
  auto loss = aggregate_loss(t.per_token, t.mask, cfg.loss_type, totals, cfg.max_completion_length);
  if (stats) {
    torch::NoGradGuard no_grad;
    const auto m = t.mask.to(torch::kFloat64);
    const double n = m.sum().item<double>();
    const double denom = std::max(n, 1.0);
    auto masked_mean = [&](const torch::Tensor& x) {
      const auto xd = x.to(torch::kFloat64);
      return torch::where(m != 0, xd * m, torch::zeros_like(xd)).sum().item<double>() / denom;
    };
    const auto low = (t.ratio < 1.0 - cfg.epsilon).logical_and(t.adv < 0);
    const auto high = (t.ratio > 1.0 + cfg.epsilon_high).logical_and(t.adv > 0);
    stats->num_tokens = n;
    stats->kl_mean = t.kl.defined() ? masked_mean(t.kl.detach()) : 0.0;
    stats->clip_low = masked_mean(low);
    stats->clip_high = masked_mean(high);
    stats->clip_region = masked_mean(low.logical_or(high));
    stats->loss = loss.detach().item<double>();
  }
  return loss;
}

}  // namespace r1kit::rl
