// regex: a user rule made of RE2 patterns. RE2 matches in time linear in the text (no backtracking), so a rule
// cannot hang on adversarial model output (https://github.com/google/re2/wiki/WhyRE2).
//
// Config:
//   {"type": "regex", "rules": [{"pattern": "\\\\boxed\\{", "where": "answer", "score": 1.0}, ...],
//    "combine": "sum", "default": 0.0}
// Each rule: "pattern" (RE2 syntax, required), "where" ("completion" | "answer" | "reasoning", default
// "completion"), "score" (default 1.0), "full_match" (default false: the pattern may match anywhere),
// "case_insensitive" (default false). The reward combines the scores of the rules that match: "sum" (default),
// "max", "min", or "first" (the first matching rule in list order); when none matches it is "default" (0.0).
// Regions (split_reasoning): reasoning = the text inside <think>…</think>, answer = the text after </think>.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <re2/re2.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rewards/rewarder.h"

namespace r1kit::rewards::custom {

/// (reasoning, answer) parts of a completion. With a "</think>": reasoning = the text before the first
/// "</think>" (after a leading "<think>" when there is one), answer = the text after it. With an unclosed
/// "<think>": reasoning = everything after it, answer = "". Without tags: reasoning = "", answer = everything.
std::pair<std::string_view, std::string_view> split_reasoning(std::string_view completion);

class RegexRewarder : public Rewarder {
 public:
  enum class Where { completion, answer, reasoning };
  enum class Combine { sum, max, min, first };

  /// Throws ConfigError naming the JSON path (e.g. "$.rewards[2].rules[0].pattern") and RE2's message for a bad
  /// pattern, and for missing/unknown keys or bad choices.
  RegexRewarder(const nlohmann::json& args, std::string name, const std::string& json_path);

  std::string name() const override { return name_; }
  double score(const Sample& sample) const override;

 private:
  struct Rule {
    std::unique_ptr<RE2> re;
    Where where = Where::completion;
    double score = 1.0;
    bool full_match = false;
  };
  std::string name_;
  std::vector<Rule> rules_;
  Combine combine_ = Combine::sum;
  double default_ = 0.0;
};

}  // namespace r1kit::rewards::custom
