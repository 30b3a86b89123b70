// RewardSet: the weighted list of rewarders a run is configured with, and parallel batch scoring.
//
//   "rewards": [{"type": "math_accuracy", "weight": 1.0}, {"type": "format", "weight": 0.2, "name": "fmt"}]
//
// Total reward of one sample (DESIGN.md, "The GRPO loss"; TRL GRPOTrainer skips a reward function's None):
//   r_i = Σ_k w_k · r_ik  over the rewarders k whose score is not NaN;  all NaN ⇒ r_i = NaN (the trainer drops it).
//
// Time limit policy (why nothing is killed): every built-in rewarder is bounded by construction (input-size caps,
// GiNaC work caps, sandboxed code with its own wall clock), and additionally polls a cooperative per-sample
// deadline (rewards/deadline.h) that score_batch sets before each call. A call that still overruns the limit is
// *measured*: its score is replaced by 0 and counted in BatchScores::timeouts. Threads are never detached or
// cancelled (a detached GiNaC computation would keep running and corrupt shared state), so a slow call costs its
// worker's time but can never block other workers, leak a thread, or crash the batch. A rewarder that throws
// (a bug: bad model output must score 0) gets 0 and is counted in BatchScores::errors.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "rewards/rewarder.h"

namespace r1kit::rewards {

struct RewardSetOptions {
  int num_workers = 0;               // worker threads for score_batch; 0 = std::thread::hardware_concurrency()
  double sample_time_limit_s = 30.0;  // wall-clock limit of one rewarder call on one sample, seconds (<= 0: none);
                                      // above code_execution's own 10 s sandbox limit so a slow legitimate run is not cut
};

/// Scores of a batch of N samples by K rewarders.
struct BatchScores {
  std::vector<std::string> names;                // [K]
  std::vector<double> weights;                   // [K]
  std::vector<std::vector<double>> per_rewarder;  // [K][N]; NaN = not applicable
  std::vector<double> totals;                     // [N]; weighted sum skipping NaN; NaN when all are NaN
  std::vector<size_t> timeouts;                   // [K] calls that overran sample_time_limit_s (scored 0)
  std::vector<size_t> errors;                     // [K] calls that threw (scored 0)
  std::vector<double> seconds;                    // [K] summed wall time of the calls, seconds
};

class RewardSet {
 public:
  struct Entry {
    std::string type, name;
    double weight = 1.0;
    std::unique_ptr<Rewarder> rewarder;
  };

  /// Builds the set from the JSON array of rewarder entries found at `json_path` of `source` (a file name, for
  /// messages). Each entry: {"type": string (required), "weight": number (default 1.0), "name": string (default:
  /// the type), ...args of that type}. Throws ConfigError naming the path, e.g.
  /// "cfg.json: $.rewards[1].weight: expected a number, got a string", an unknown type with a did-you-mean, a
  /// duplicate name, an empty list, or a rewarder's own argument errors.
  static RewardSet from_json(const nlohmann::json& rewards, const std::string& json_path = "$.rewards",
                             const std::string& source = "", RewardSetOptions options = {});

  RewardSet(std::vector<Entry> entries, RewardSetOptions options);
  RewardSet(RewardSet&&) noexcept = default;
  RewardSet& operator=(RewardSet&&) noexcept = default;

  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<std::string> names() const;
  const RewardSetOptions& options() const { return options_; }

  /// Σ_k w_k s_k over non-NaN s_k; NaN if every s_k is NaN. `scores` has one value per rewarder ([K]).
  double total(std::span<const double> scores) const;

  /// Scores of one sample, [K], on the calling thread (with the per-call deadline and error policy above).
  std::vector<double> score_one(const Sample& sample) const;

  /// Scores N samples with options().num_workers threads (samples are handed out one at a time, so a slow sample
  /// occupies one worker only). Never throws on model output.
  BatchScores score_batch(std::span<const Sample> samples) const;

 private:
  std::vector<Entry> entries_;
  RewardSetOptions options_;
};

}  // namespace r1kit::rewards
