#include "rollout/sampler.h"

#include "core/error.h"

namespace r1kit::rollout {

void SamplingParams::validate() const {
  auto bad = [](const std::string& what) { throw InvalidArgument("sampling: " + what); };
  if (n < 1) bad("n must be >= 1, got " + std::to_string(n));
  if (!(temperature >= 0.0)) bad("temperature must be >= 0, got " + std::to_string(temperature));
  if (!(top_p > 0.0 && top_p <= 1.0)) bad("top_p must be in (0, 1], got " + std::to_string(top_p));
  if (top_k < -1) bad("top_k must be -1, 0 (off) or positive, got " + std::to_string(top_k));
  if (!(min_p >= 0.0 && min_p < 1.0)) bad("min_p must be in [0, 1), got " + std::to_string(min_p));
  if (max_new_tokens < 1) bad("max_new_tokens must be >= 1, got " + std::to_string(max_new_tokens));
  for (const auto& s : stop_strings)
    if (s.empty()) bad("stop_strings must not contain an empty string");
}

torch::Tensor token_logprobs_from_logits(const torch::Tensor& logits, const torch::Tensor& tokens, double temperature) {
  const double t = temperature > 0 ? temperature : 1.0;
  auto scaled = logits.to(torch::kFloat32) / t;
  // log p(token) = x_token - logsumexp(x): avoids materialising log_softmax over [N,V].
  auto picked = scaled.gather(1, tokens.view({-1, 1})).squeeze(1);
  return picked - torch::logsumexp(scaled, 1);
}

torch::Tensor filtered_probs(const torch::Tensor& logits, const SamplingParams& p) {
  if (!(p.temperature > 0)) throw InvalidArgument("filtered_probs needs temperature > 0");
  auto probs = torch::softmax(logits.to(torch::kFloat32) / p.temperature, -1);  // [N,V]
  const int64_t V = probs.size(1);
  if (p.top_k > 0 && p.top_k < V) {
    auto kth = std::get<0>(probs.topk(p.top_k, 1, true, true)).select(1, p.top_k - 1).unsqueeze(1);
    probs = probs.masked_fill(probs < kth, 0.0);
    probs = probs / probs.sum(1, true);
  }
  if (p.top_p < 1.0) {
    auto [sorted, idx] = probs.sort(1, /*descending=*/true);
    auto cum = sorted.cumsum(1);
    // Drop a token when the mass strictly before it already reaches top_p; the most likely token always stays.
    auto drop_sorted = (cum - sorted) >= p.top_p;
    auto drop = torch::zeros_like(drop_sorted).scatter(1, idx, drop_sorted);
    probs = probs.masked_fill(drop, 0.0);
    probs = probs / probs.sum(1, true);
  }
  if (p.min_p > 0.0) {
    auto threshold = std::get<0>(probs.max(1, true)) * p.min_p;
    probs = probs.masked_fill(probs < threshold, 0.0);
    probs = probs / probs.sum(1, true);
  }
  return probs;
}

SampleResult sample_tokens(const torch::Tensor& logits, const SamplingParams& p, std::optional<at::Generator> gen) {
  SampleResult r;
  if (p.greedy()) {
    r.tokens = logits.argmax(1);
  } else {
    auto probs = filtered_probs(logits, p);
    r.tokens = torch::multinomial(probs, 1, /*replacement=*/false,
                                  logits.device().is_cpu() ? gen : std::nullopt).squeeze(1);
  }
  r.logprobs = token_logprobs_from_logits(logits, r.tokens, p.temperature);
  return r;
}

}  // namespace r1kit::rollout
