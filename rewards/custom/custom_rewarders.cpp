// Registration of the user-defined rule types: regex, plugin, command.
#include "rewards/builtin.h"
#include "rewards/custom/command_rewarder.h"
#include "rewards/custom/plugin_rewarder.h"
#include "rewards/custom/regex_rewarder.h"

namespace r1kit::rewards {

void register_custom_rewarders() {
  register_rewarder("regex", [](const nlohmann::json& args, const std::string& name, const std::string& path)
                                 -> std::unique_ptr<Rewarder> {
    return std::make_unique<custom::RegexRewarder>(args, name, path);
  });
  register_rewarder("plugin", [](const nlohmann::json& args, const std::string& name, const std::string& path)
                                  -> std::unique_ptr<Rewarder> {
    return std::make_unique<custom::PluginRewarder>(args, name, path);
  });
  register_rewarder("command", [](const nlohmann::json& args, const std::string& name, const std::string& path)
                                   -> std::unique_ptr<Rewarder> {
    return std::make_unique<custom::CommandRewarder>(args, name, path);
  });
}

}  // namespace r1kit::rewards
