// KL estimators k1/k2/k3 (Schulman 2020; DeepSeekMath eq. 4). See kl.h.
#include "rl/kl.h"

#include <torch/torch.h>

#include "core/error.h"

namespace r1kit::rl {

KlEstimator parse_kl_estimator(const std::string& value) {
  if (value == "k1") return KlEstimator::k1;
  if (value == "k2") return KlEstimator::k2;
  if (value == "k3") return KlEstimator::k3;
  throw ConfigError("kl_estimator: unknown value \"" + value +
                    "\"; choose one of \"k1\", \"k2\", \"k3\" (default, DeepSeekMath eq. 4)");
}

std::string to_string(KlEstimator k) {
  switch (k) {
    case KlEstimator::k1: return "k1";
    case KlEstimator::k2: return "k2";
    case KlEstimator::k3: return "k3";
  }
  return "k3";
}

torch::Tensor kl_divergence(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator) {
  if (!logp.defined() || !ref_logp.defined())
    throw InvalidArgument("kl_divergence: logp and ref_logp must both be defined tensors");
  if (logp.sizes() != ref_logp.sizes() || logp.scalar_type() != ref_logp.scalar_type())
    throw InvalidArgument("kl_divergence: logp " + std::string(c10::str(logp.sizes())) + " " +
                          std::string(c10::toString(logp.scalar_type())) + " and ref_logp " +
                          std::string(c10::str(ref_logp.sizes())) + " " +
                          std::string(c10::toString(ref_logp.scalar_type())) +
                          " must have the same shape and dtype");
  switch (estimator) {
    case KlEstimator::k1: return logp - ref_logp;
    case KlEstimator::k2: return 0.5 * (logp - ref_logp).pow(2);
    case KlEstimator::k3: {
      // DeepSeekMath eq. 4: π_ref/π_θ − log(π_ref/π_θ) − 1, log-ratio clamped to ±20 (DESIGN.md).
      const auto d = torch::clamp(ref_logp - logp, -20.0, 20.0);
      return torch::exp(d) - d - 1.0;
    }
  }
  throw InvalidArgument("kl_divergence: unknown KlEstimator");
}

}  // namespace r1kit::rl
