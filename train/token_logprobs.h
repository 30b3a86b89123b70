// Per-token log-probabilities of target tokens under a causal LM, computed so the [B, T, V] logits never exist
// whole — not in the forward pass and not saved for backward.
//
// log p(y_t) = (h_t · w_y)/τ − logsumexp_v (h_t · w_v)/τ, with h the final hidden states, W [V,C] the output
// projection and τ the sampling temperature (TRL: `selective_log_softmax(logits / temperature)`).
// The autograd function processes rows in chunks of `chunk_rows` in the forward pass and recomputes each chunk's
// logits in the backward pass (d logp / d logits = onehot(y) − softmax), so peak extra memory is
// chunk_rows × V floats.
#pragma once

#include <torch/torch.h>

#include "model/causal_lm.h"

namespace r1kit::train {

struct TokenLogprobs {
  torch::Tensor logp;     // [B, Tc] float32, differentiable w.r.t. the model parameters
  torch::Tensor entropy;  // [B, Tc] float32, no grad: entropy of softmax(logits / τ) at each position
};

/// hidden [N,C], weight [V,C], targets [N] int64 -> log p(targets) [N] float32 (and entropy [N] if requested).
/// Differentiable w.r.t. hidden and weight. Throws InvalidArgument on shape mismatch or temperature <= 0.
torch::Tensor chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, double temperature, int64_t chunk_rows = 1024,
                                     torch::Tensor* entropy = nullptr);

/// Log-probs of the completion tokens of a batch of sequences.
///   ids            [B,T] int64: prompt (left-padded to completion_start) then completion (right-padded)
///   attention_mask [B,T] (1 = real token); positions are derived from it (real tokens counted from 0)
///   completion_start: index of the first completion column; returns [B, T − completion_start].
/// Values at padded completion columns are finite but meaningless; mask them.
TokenLogprobs completion_logprobs(model::CausalLM& model, const torch::Tensor& ids, const torch::Tensor& attention_mask,
                                  int64_t completion_start, double temperature, int64_t chunk_rows = 1024);

}  // namespace r1kit::train
