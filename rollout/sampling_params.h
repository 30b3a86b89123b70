// SamplingParams: how the rollout engine samples completions. Names and semantics follow vLLM's SamplingParams
// and TRL's GRPOConfig (temperature, top_p, top_k, min_p, max_completion_length = max_new_tokens).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1kit::rollout {

struct SamplingParams {
  int n = 1;                       // G: completions per prompt (the GRPO group size), e.g. 8
  double temperature = 1.0;        // T; 0 = greedy (argmax; log-probs then reported at T = 1)
  double top_p = 1.0;              // nucleus: keep the smallest prefix of the sorted distribution with mass >= top_p
  int top_k = 0;                   // keep the k most likely tokens; 0 or -1 = all
  double min_p = 0.0;              // drop tokens with p < min_p * p_max (Nguyen et al. 2024); 0 = off
  int max_new_tokens = 256;        // completion length limit in tokens
  std::vector<int64_t> stop_token_ids;    // any of them ends a completion (kept as its last token), e.g. EOS ids
  std::vector<std::string> stop_strings;  // checked on decoded text; the text is cut right after the match
  uint64_t seed = 0;               // same seed + device + thread count => same completions

  /// Throws InvalidArgument naming the field and the allowed range (n >= 1, temperature >= 0, 0 < top_p <= 1,
  /// top_k >= -1, 0 <= min_p < 1, max_new_tokens >= 1).
  void validate() const;
  bool greedy() const { return temperature == 0.0; }
};

}  // namespace r1kit::rollout
