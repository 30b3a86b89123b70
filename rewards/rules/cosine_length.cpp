// length: cosine-scaled length reward by correctness (Yeo et al. 2025, "Demystifying Long Chain-of-Thought
// Reasoning in LLMs", arXiv 2502.03373, eq. 1; open-r1 `get_cosine_scaled_reward`, src/open_r1/rewards.py).
//
//   progress = min(1, L / max_len),  c = cos(π · progress)
//   correct:  r = min_value_correct + ½ (max_value_correct − min_value_correct)(1 + c)   (short -> 1.0, long -> 0.5)
//   wrong:    r = max_value_wrong   + ½ (min_value_wrong   − max_value_wrong)(1 + c)     (short -> −1.0, long -> −0.5)
//
// Correctness comes from an internal math_accuracy with the same gold arguments (gold_field, rel_tol,
// max_answer_chars); NaN when the record has no gold answer (open-r1 returns 1.0 there; we skip instead).
// L is Sample::completion_tokens with length_unit "tokens" (default; falls back to Unicode code points when the
// token count is 0) or code points with "chars" (open-r1 uses len(content)). Deviation from open-r1: progress is
// clamped to 1, so a completion longer than max_len does not climb back up the cosine.
#include <cmath>
#include <memory>
#include <numbers>

#include "rewards/math/math_accuracy.h"
#include "rewards/rules/rule_factories.h"

namespace r1kit::rewards::rules {
namespace {

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class CosineLength : public Rewarder {
 public:
  struct Params {
    double min_wrong = -1.0, max_wrong = -0.5, min_correct = 0.5, max_correct = 1.0;
    double max_len = 1000;
    bool tokens = true;
  };
  CosineLength(std::string name, math::MathAccuracyConfig acc, Params p)
      : name_(std::move(name)), accuracy_(name_ + "/accuracy", std::move(acc)), p_(p) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    double correct = accuracy_.score(s);
    if (std::isnan(correct)) return correct;
    double len = (p_.tokens && s.completion_tokens > 0) ? static_cast<double>(s.completion_tokens)
                                                        : static_cast<double>(code_points(s.completion));
    double progress = std::min(1.0, len / p_.max_len);
    double c = std::cos(progress * std::numbers::pi);
    double lo = correct > 0.5 ? p_.min_correct : p_.max_wrong;
    double hi = correct > 0.5 ? p_.max_correct : p_.min_wrong;
    return lo + 0.5 * (hi - lo) * (1.0 + c);
  }

 private:
  std::string name_;
  math::MathAccuracy accuracy_;
  Params p_;
};

}  // namespace

std::unique_ptr<Rewarder> make_cosine_length(const ConfigReader& args, const std::string& name) {
  math::MathAccuracyConfig acc = math::read_math_accuracy_config(args);
  CosineLength::Params p;
  p.min_wrong = args.get("min_value_wrong", p.min_wrong);
  p.max_wrong = args.get("max_value_wrong", p.max_wrong);
  p.min_correct = args.get("min_value_correct", p.min_correct);
  p.max_correct = args.get("max_value_correct", p.max_correct);
  p.max_len = args.get("max_len", p.max_len);
  p.tokens = args.get_choice("length_unit", "tokens", {"tokens", "chars"}) == "tokens";
  if (!(p.max_len > 0)) args.fail("max_len", "must be > 0");
  return std::make_unique<CosineLength>(name, std::move(acc), p);
}

}  // namespace r1kit::rewards::rules
