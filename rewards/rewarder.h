// The Rewarder interface: a rule that scores one completion. Rule-based rewards are what let DeepSeek-R1 train
// without a neural reward model (DeepSeek-R1, arXiv 2501.12948, §2.2.2).
//
// Contract: score() returns a finite double, or NaN for "not applicable" (skipped in the weighted sum, as TRL skips
// a reward function's None). Bad *model output* is never an error: it scores 0. score() never throws on model
// output and never hangs (each rewarder bounds its own work; RewardSet adds a wall-clock limit per sample).
// A rewarder is immutable after construction and score() is const and thread-safe, so a batch can be scored in
// parallel.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::rewards {

/// One completion to score, with the dataset record it came from (gold answer, tests, …).
struct Sample {
  std::string_view prompt;            // the rendered prompt text
  std::string_view completion;        // the generated text (without the prompt)
  const nlohmann::json& record;       // the dataset record (JSON object)
  bool truncated = false;             // stopped by the length limit, not by a stop token
  int64_t completion_tokens = 0;      // length in tokens
};

/// How a rewarder's own machinery failed on the current call (not the model's output being bad).
enum class CallFailure { none, error, timeout };

/// Called by a rewarder, on the thread running score(), when it returned 0 because its own machinery failed —
/// an external program that was killed after its time-out, died, or gave an invalid reply. RewardSet then counts
/// the call in BatchScores::timeouts / errors (the sample still scores 0 and training goes on).
void note_call_failure(CallFailure failure);
/// Returns the failure noted on this thread since the last call and resets it to none (used by RewardSet).
CallFailure take_call_failure();

class Rewarder {
 public:
  virtual ~Rewarder() = default;
  /// Name used in metrics (`rewards/<name>/mean`); the config's "name" or else the type.
  virtual std::string name() const = 0;
  /// Reward of one sample; NaN = not applicable. Never throws on bad model output.
  virtual double score(const Sample& sample) const = 0;
  /// Scores of several samples; the default calls score() for each. Overridden where batching helps.
  virtual std::vector<double> score_batch(std::span<const Sample> samples) const;
};

/// Builds a rewarder from its config object (the entry of "rewards" minus "type"/"weight"/"name"), and the
/// resolved name. Throws ConfigError naming the JSON path for bad arguments.
using RewarderFactory =
    std::function<std::unique_ptr<Rewarder>(const nlohmann::json& args, const std::string& name,
                                            const std::string& json_path)>;

/// Registers a rewarder type (e.g. "math_accuracy"). Registering a name twice throws InvalidArgument.
void register_rewarder(const std::string& type, RewarderFactory factory);

/// Creates a rewarder of a registered type. Unknown type -> ConfigError with the closest registered name.
std::unique_ptr<Rewarder> create_rewarder(const std::string& type, const nlohmann::json& args,
                                          const std::string& name, const std::string& json_path);

/// Registered type names, sorted.
std::vector<std::string> registered_rewarders();

}  // namespace r1kit::rewards
