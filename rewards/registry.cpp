// The rewarder registry: type name -> factory. Built-in families register lazily, once, on the first lookup
// (static initialisers in a static library would be dropped by the linker).
#include <map>
#include <mutex>

#include "core/error.h"
#include "core/strings.h"
#include "rewards/builtin.h"
#include "rewards/rewarder.h"

namespace r1kit::rewards {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, RewarderFactory>& registry() {
  static std::map<std::string, RewarderFactory> r;
  return r;
}

}  // namespace

void register_builtin_rewarders() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_math_rewarders();
    register_rule_rewarders();
    // other families:
    register_code_rewarders();
    register_custom_rewarders();
  });
}

void register_rewarder(const std::string& type, RewarderFactory factory) {
  if (type.empty()) throw InvalidArgument("register_rewarder: empty type name");
  if (!factory) throw InvalidArgument("register_rewarder('" + type + "'): empty factory");
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto [it, inserted] = registry().emplace(type, std::move(factory));
  if (!inserted) throw InvalidArgument("register_rewarder: type '" + type + "' is already registered");
}

std::vector<std::string> registered_rewarders() {
  register_builtin_rewarders();
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;  // std::map: already sorted
}

std::unique_ptr<Rewarder> create_rewarder(const std::string& type, const nlohmann::json& args,
                                          const std::string& name, const std::string& json_path) {
  register_builtin_rewarders();
  RewarderFactory factory;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(type);
    if (it != registry().end()) factory = it->second;
  }
  if (!factory) {
    std::vector<std::string> names = registered_rewarders();
    std::string hint = did_you_mean(type, names);
    throw ConfigError(json_path + ".type: unknown rewarder type '" + type + "'" +
                      (hint.empty() ? " — registered types: " + quote_list(names) : hint));
  }
  return factory(args, name, json_path);
}

}  // namespace r1kit::rewards
