// math_accuracy: 1 if the completion's final answer is mathematically equivalent to the record's gold answer,
// else 0; NaN when the record has no gold answer (not applicable). DeepSeek-R1 §2.2.2 "accuracy rewards"; the
// extraction markers and equivalence policies are in extract_answer.h and equivalence.h.
//
// Config: {"type": "math_accuracy", "gold_field": "answer", "rel_tol": 1e-6, "max_answer_chars": 1000}
#pragma once

#include <string>

#include "core/config.h"
#include "rewards/math/equivalence.h"
#include "rewards/rewarder.h"

namespace r1kit::rewards::math {

struct MathAccuracyConfig {
  std::string gold_field = "answer";  // record field holding the gold answer (GSM8K: text after "####" is used)
  EquivalenceOptions equivalence;     // rel_tol (1e-6), max_answer_chars (1000)
};

/// Reads gold_field / rel_tol / max_answer_chars from `args` (other keys are left for the caller's finish()).
/// Throws ConfigError naming the path for a wrong type or rel_tol outside (0, 1), max_answer_chars < 1.
MathAccuracyConfig read_math_accuracy_config(const ConfigReader& args);

class MathAccuracy : public Rewarder {
 public:
  MathAccuracy(std::string name, MathAccuracyConfig config) : name_(std::move(name)), config_(std::move(config)) {}
  std::string name() const override { return name_; }
  /// 1.0 / 0.0; NaN when the record lacks the gold field. Never throws.
  double score(const Sample& sample) const override;

 private:
  std::string name_;
  MathAccuracyConfig config_;
};

}  // namespace r1kit::rewards::math
