// Token sampling from logits: temperature, top-k, top-p, min-p, greedy; and the per-token log-probability the
// trainer recomputes.
//
// The reported log-prob is log_softmax(logits / T) over the FULL vocabulary at the chosen token — the quantity
// TRL's GRPOTrainer computes from the policy (`selective_log_softmax(logits / temperature)`), not the
// log-prob under the top-p / top-k renormalised distribution the token was drawn from.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "rollout/sampling_params.h"

namespace r1kit::rollout {

/// log_softmax(logits / T) at `tokens`: logits [N,V] float32, tokens [N] int64 -> [N] float32. T = 0 -> T = 1.
torch::Tensor token_logprobs_from_logits(const torch::Tensor& logits, const torch::Tensor& tokens, double temperature);

/// The distribution a token is drawn from: softmax(logits / T) with top-k, then top-p, then min-p filtering
/// applied (vLLM's order), renormalised. logits [N,V] float32 -> probs [N,V] float32. Requires T > 0.
torch::Tensor filtered_probs(const torch::Tensor& logits, const SamplingParams& params);

struct SampleResult {
  torch::Tensor tokens;    // [N] int64
  torch::Tensor logprobs;  // [N] float32, see token_logprobs_from_logits
};

/// Draws one token per row (argmax when params.greedy()). `generator` is used on CPU; on other devices the
/// device's default generator (seeded by the engine) is used.
SampleResult sample_tokens(const torch::Tensor& logits, const SamplingParams& params,
                           std::optional<at::Generator> generator);

/// The same on CPU logits with each row's uniform given: `uniforms` [N] in [0, 1) drive the inverse-CDF draw of
/// their rows (the rollout engine passes stream_uniform() values). Throws InvalidArgument for non-CPU logits or a
/// size mismatch.
SampleResult sample_tokens(const torch::Tensor& logits, const SamplingParams& params,
                           const std::vector<double>& uniforms);

/// A uniform in [0, 1) that depends only on (seed, stream, step): 53 bits of a splitmix64 hash of the three. The
/// rollout engine draws token `step` of sample g of prompt i from stream i·G + g, so a completion's randomness does
/// not depend on the other prompts of the call, the batch layout (waves, max_batch_rows, kv_cache_tokens) or the
/// dropping of finished rows.
double stream_uniform(uint64_t seed, uint64_t stream, uint64_t step);

}  // namespace r1kit::rollout
