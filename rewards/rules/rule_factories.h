// Factories of the rule-based rewarders (one .cpp per rewarder in rules/); register_rules.cpp registers them as
// "format", "tag_count", "reasoning_steps", "length", "repetition", "overlong", "language_consistency",
// "countdown". Each reads its arguments from `args` (strict: the caller runs finish()) and throws ConfigError
// naming the JSON path on a bad value. Formulas and sources are documented at each implementation.
#pragma once

#include <memory>
#include <string>

#include "core/config.h"
#include "rewards/rewarder.h"

namespace r1kit::rewards::rules {

std::unique_ptr<Rewarder> make_format(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_tag_count(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_reasoning_steps(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_cosine_length(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_repetition(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_overlong(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_language_consistency(const ConfigReader& args, const std::string& name);
std::unique_ptr<Rewarder> make_countdown(const ConfigReader& args, const std::string& name);

/// True when the rendered prompt already opened the reasoning block (ends with "<think>" plus optional
/// whitespace), as DeepSeek-R1's chat template does ("<｜Assistant｜><think>\n").
bool prompt_opens_think(std::string_view prompt);

}  // namespace r1kit::rewards::rules
