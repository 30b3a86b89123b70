#include <string_view>

#include "core/strings.h"
#include "rewards/builtin.h"
#include "rewards/rules/rule_factories.h"

namespace r1kit::rewards {
namespace rules {

bool prompt_opens_think(std::string_view prompt) {
  std::string_view p = prompt;
  while (!p.empty() && (p.back() == ' ' || p.back() == '\n' || p.back() == '\r' || p.back() == '\t')) p.remove_suffix(1);
  return ends_with(p, "<think>");
}

}  // namespace rules

void register_rule_rewarders() {
  using Make = std::unique_ptr<Rewarder> (*)(const ConfigReader&, const std::string&);
  auto add = [](const char* type, Make make) {
    register_rewarder(type, [make](const nlohmann::json& args, const std::string& name, const std::string& path) {
      ConfigReader reader(args, path);
      auto r = make(reader, name);
      reader.finish();
      return r;
    });
  };
  add("format", rules::make_format);
  add("tag_count", rules::make_tag_count);
  add("reasoning_steps", rules::make_reasoning_steps);
  add("length", rules::make_cosine_length);
  add("repetition", rules::make_repetition);
  add("overlong", rules::make_overlong);
  add("language_consistency", rules::make_language_consistency);
  add("countdown", rules::make_countdown);
}

}  // namespace r1kit::rewards
