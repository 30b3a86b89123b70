// Micro-batches for SFT: padded (one example per row) or packed (several examples per row, block-diagonal causal
// attention and positions restarting at 0 for each example, so a packed row computes exactly what its examples
// compute on their own), and the token loss over a batch.
//
// Shapes: B = rows, T = longest row, N = target tokens in the batch, V = vocabulary.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/causal_lm.h"
#include "sft/dataset.h"

namespace r1kit::sft {

struct Batch {
  torch::Tensor input_ids;       // [B,T] int64, right-padded with pad_id
  torch::Tensor positions;       // [B,T] int64, 0.. per example
  torch::Tensor attention_mask;  // padded: [B,T] int64 (1 = real); packed: [B,1,T,T] bool block-diagonal causal
  torch::Tensor hidden_rows;     // [N] int64: flat index b·T + t − 1 of the hidden state that predicts each target
  torch::Tensor targets;         // [N] int64: the target token ids
  int64_t num_tokens = 0;        // real (non-pad) tokens
  int64_t num_target_tokens = 0; // N
};

/// One row per example. Throws InvalidArgument for an empty list.
Batch make_padded_batch(const std::vector<const SFTExample*>& examples, int64_t pad_id);

/// One row per group; the examples of a group are laid end to end. Throws InvalidArgument for an empty list.
Batch make_packed_batch(const std::vector<std::vector<const SFTExample*>>& rows, int64_t pad_id);

/// Groups examples, taken in `order`, into rows of at most `max_length` tokens: each example goes into the first
/// row it fits (first-fit decreasing would reorder the data; in-order first fit keeps the epoch order stable).
std::vector<std::vector<size_t>> pack_examples(const std::vector<SFTExample>& examples, const std::vector<size_t>& order,
                                               int64_t max_length);

/// Σ over the batch's target tokens of −log p(target) (cross-entropy, temperature 1): a differentiable scalar
/// (float32). Log-probs are computed chunk_rows rows at a time (train/token_logprobs.h), never as [B,T,V], and
/// only for the hidden states that predict a target.
torch::Tensor token_nll_sum(model::CausalLM& model, const Batch& batch, int64_t chunk_rows = 1024);

}  // namespace r1kit::sft
