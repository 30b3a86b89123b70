// RolloutEngine: samples G completions for each of B prompts with the policy and a KV cache.
//
// How a generate() call runs (B = prompts, G = params.n, R = rows in flight):
//   1. Prompts are sorted by length and cut into waves that fit `max_batch_rows` rows and the KV budget
//      `kv_cache_tokens` (rows × (longest prompt + max_new_tokens)).
//   2. Prefill: each prompt of a wave is run once — on the CPU alone and unpadded, on a GPU as a [P, L] left-padded
//      batch (positions count real tokens only); its cache rows and last logits are then copied to its G sample
//      rows, right-aligned at slot L — the G samples share one prefill.
//   3. Decode: one token per row per step with the cache. Rows that finish (stop token, stop string, length) are
//      dropped from the batch (cache, mask and positions compacted) once a quarter of the rows are done, so
//      finished sequences stop costing compute.
// Completions come back in (prompt, sample) order whatever the waves were.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/causal_lm.h"
#include "rollout/sampling_params.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::rollout {

struct Completion {
  size_t prompt_index = 0;            // index into the prompts passed to generate()
  int sample_index = 0;               // 0..G-1 within the prompt's group
  std::vector<int64_t> ids;           // completion tokens (a final stop token included)
  std::vector<float> logprobs;        // [ids.size()] log_softmax(logits / T) at each token, full vocabulary
  enum class Finish { stop, length } finish = Finish::length;
  std::string text;                   // decoded (special tokens skipped), cut after a stop string; "" w/o tokenizer
};

const char* finish_name(Completion::Finish f);  // "stop" | "length"

struct RolloutOptions {
  int64_t max_batch_rows = 64;           // sequences decoded together
  int64_t kv_cache_tokens = 262144;      // KV budget in token slots (rows × capacity) per wave
  double compact_fraction = 0.25;        // compact when this fraction of the rows in flight has finished
  /// GEMM for the generation's weights (model/inference_weights.h): "default" = the module parameters with the
  /// training kernels (MKL on CPU, cuBLAS on CUDA); "avx2" = r1kit's panel GEMM (model/panel_gemm.h) on fused
  /// q|k|v and gate|up weights, with the fused decode-step kernels (model/decode_kernels.h) — CPU fp32 on
  /// AVX2/FMA CPUs, the fastest here; "onednn" = the same with oneDNN's packed matmul; both cost one extra copy of
  /// the weights while generating, and their log-probs differ from the trainer's recomputation by fp32 rounding
  /// (≤ 1e-5 on the tiny test models, ≤ 1e-4 on SmolLM2, as with "default"); "auto" = avx2 where it applies, else
  /// onednn, else default.
  std::string gemm = "auto";
};

/// Progress callback: (completions finished, completions total, tokens generated so far).
using ProgressFn = std::function<void(size_t done, size_t total, int64_t tokens)>;

struct RolloutStats {
  double prefill_seconds = 0, decode_seconds = 0, sample_seconds = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0;
};

class RolloutEngine {
 public:
  /// `tokenizer` may be null: then stop strings are rejected and Completion::text stays empty.
  RolloutEngine(std::shared_ptr<model::CausalLM> model, const tokenizer::Tokenizer* tokenizer,
                RolloutOptions options = {});

  /// prompts: token ids per prompt (non-empty). Returns B × G completions in (prompt, sample) order.
  /// Randomness: on the CPU token t of sample g of prompt i is drawn with stream_uniform(seed, i·G + g, t)
  /// (rollout/sampler.h), so with gemm "avx2" a completion depends only on its prompt, the seed and (i, g) — not on
  /// the other prompts, the waves or the dropping of finished rows; on other devices the seed drives
  /// torch::multinomial. Every prompt's KV need is checked before any work starts.
  /// Throws InvalidArgument for bad params, an empty prompt, stop strings without a tokenizer, or a prompt whose
  /// G rows cannot fit the KV budget (the message gives the numbers and the option to raise).
  std::vector<Completion> generate(const std::vector<std::vector<int64_t>>& prompts, const SamplingParams& params,
                                   const ProgressFn& progress = {});

  const RolloutStats& last_stats() const { return stats_; }

 private:
  void run_wave(const std::vector<std::vector<int64_t>>& prompts, const std::vector<size_t>& wave,
                const SamplingParams& params, std::vector<Completion>& out, const ProgressFn& progress,
                size_t& done, size_t total);

  std::shared_ptr<model::CausalLM> model_;
  const tokenizer::Tokenizer* tokenizer_;
  RolloutOptions options_;
  RolloutStats stats_;
};

}  // namespace r1kit::rollout
