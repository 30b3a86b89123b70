#include "rewards/custom/regex_rewarder.h"

#include <algorithm>

#include "core/config.h"
#include "core/error.h"

namespace r1kit::rewards::custom {

std::pair<std::string_view, std::string_view> split_reasoning(std::string_view completion) {
  constexpr std::string_view kOpen = "<think>", kClose = "</think>";
  const size_t open = completion.find(kOpen);
  const size_t close = completion.find(kClose);
  if (close != std::string_view::npos) {
    size_t start = 0;
    if (open != std::string_view::npos && open < close) start = open + kOpen.size();
    return {completion.substr(start, close - start), completion.substr(close + kClose.size())};
  }
  if (open != std::string_view::npos) return {completion.substr(open + kOpen.size()), std::string_view()};
  return {std::string_view(), completion};
}

RegexRewarder::RegexRewarder(const nlohmann::json& args, std::string name, const std::string& json_path)
    : name_(std::move(name)) {
  ConfigReader r(args, json_path);
  const std::string combine = r.get_choice("combine", "sum", {"sum", "max", "min", "first"});
  combine_ = combine == "max" ? Combine::max : combine == "min" ? Combine::min : combine == "first" ? Combine::first
                                                                                                    : Combine::sum;
  default_ = r.get("default", 0.0);
  const nlohmann::json& rules = r.raw("rules");
  const std::string rules_path = r.path_of("rules");
  if (!rules.is_array() || rules.empty())
    throw ConfigError(rules_path + ": expected a non-empty array of rules like "
                      "[{\"pattern\": \"\\\\\\\\boxed\\\\{\", \"where\": \"answer\", \"score\": 1.0}], got " +
                      (rules.is_null() ? std::string("nothing") : json_type_phrase(rules)));
  r.finish();
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string path = rules_path + "[" + std::to_string(i) + "]";
    ConfigReader rr(rules[i], path);
    Rule rule;
    const std::string pattern = rr.require<std::string>("pattern", "an RE2 regular expression");
    const std::string where = rr.get_choice("where", "completion", {"completion", "answer", "reasoning"});
    rule.where = where == "answer" ? Where::answer : where == "reasoning" ? Where::reasoning : Where::completion;
    rule.score = rr.get("score", 1.0);
    rule.full_match = rr.get("full_match", false);
    const bool case_insensitive = rr.get("case_insensitive", false);
    rr.finish();
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_case_sensitive(!case_insensitive);
    rule.re = std::make_unique<RE2>(pattern, opts);
    if (!rule.re->ok())
      throw ConfigError(path + ".pattern: invalid RE2 pattern '" + pattern + "': " + rule.re->error() +
                        " — RE2 syntax: https://github.com/google/re2/wiki/Syntax (no backreferences or "
                        "lookaround; escape backslashes in JSON as \\\\)");
    rules_.push_back(std::move(rule));
  }
}

double RegexRewarder::score(const Sample& sample) const {
  const auto [reasoning, answer] = split_reasoning(sample.completion);
  bool any = false;
  double acc = 0.0;
  for (const Rule& rule : rules_) {
    const std::string_view text = rule.where == Where::answer      ? answer
                                  : rule.where == Where::reasoning ? reasoning
                                                                   : sample.completion;
    const bool hit = rule.full_match ? RE2::FullMatch(text, *rule.re) : RE2::PartialMatch(text, *rule.re);
    if (!hit) continue;
    if (combine_ == Combine::first) return rule.score;
    if (!any) {
      acc = rule.score;
    } else if (combine_ == Combine::sum) {
      acc += rule.score;
    } else if (combine_ == Combine::max) {
      acc = std::max(acc, rule.score);
    } else {
      acc = std::min(acc, rule.score);
    }
    any = true;
  }
  return any ? acc : default_;
}

}  // namespace r1kit::rewards::custom
