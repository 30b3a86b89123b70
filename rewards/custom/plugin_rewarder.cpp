#include "rewards/custom/plugin_rewarder.h"

#include <dlfcn.h>

#include <filesystem>
#include <limits>

#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"

namespace r1kit::rewards::custom {

namespace {

template <class Fn>
Fn symbol(void* handle, const char* name, const std::string& path, const std::string& where) {
  dlerror();
  void* p = dlsym(handle, name);
  if (p == nullptr) {
    const char* e = dlerror();
    throw ConfigError(where + ": reward plugin '" + path + "' does not export '" + name + "'" +
                      (e != nullptr ? std::string(" (") + e + ")" : std::string()) +
                      " — a plugin must define r1kit_reward_api_version, r1kit_reward_init, r1kit_reward_score and "
                      "r1kit_reward_free with C linkage and default visibility (see rewards/plugin_api.h and "
                      "examples/reward_plugin/)");
  }
  return reinterpret_cast<Fn>(p);
}

}  // namespace

PluginRewarder::PluginRewarder(const nlohmann::json& args, std::string name, const std::string& json_path)
    : name_(std::move(name)) {
  ConfigReader r(args, json_path);
  path_ = r.require<std::string>("path", "the shared library to load, e.g. \"./libmy_reward.so\"");
  const nlohmann::json plugin_args = r.get("args", nlohmann::json::object());
  concurrent_ = r.get("concurrent", false);
  r.finish();
  const std::string where = r.path_of("path");
  if (!plugin_args.is_object())
    throw ConfigError(r.path_of("args") + ": expected an object (passed to r1kit_reward_init as JSON), got " +
                      json_type_phrase(plugin_args));
  std::string load_path = path_;
  if (path_.find('/') == std::string::npos && std::filesystem::exists(path_)) load_path = "./" + path_;
  handle_ = dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* e = dlerror();
    throw ConfigError(where + ": cannot load reward plugin '" + path_ + "': " + (e != nullptr ? e : "unknown error") +
                      " — build it with `cc -shared -fPIC -I<r1kit> plugin.c -o lib.so` (see "
                      "examples/reward_plugin/) and give its path");
  }
  try {
    auto version_fn = symbol<r1kit_reward_api_version_fn>(handle_, "r1kit_reward_api_version", path_, where);
    auto init_fn = symbol<r1kit_reward_init_fn>(handle_, "r1kit_reward_init", path_, where);
    score_fn_ = symbol<r1kit_reward_score_fn>(handle_, "r1kit_reward_score", path_, where);
    free_fn_ = symbol<r1kit_reward_free_fn>(handle_, "r1kit_reward_free", path_, where);
    const int version = version_fn();
    if (version != R1KIT_REWARD_API_VERSION)
      throw ConfigError(where + ": reward plugin '" + path_ + "' was built for plugin API version " +
                        std::to_string(version) + " (r1kit_reward_api_version), this r1kit speaks version " +
                        std::to_string(R1KIT_REWARD_API_VERSION) + " — rebuild it against this r1kit's "
                        "rewards/plugin_api.h");
    const std::string args_text = plugin_args.dump();
    const int rc = init_fn(args_text.c_str(), &state_);
    if (rc != 0)
      throw ConfigError(where + ": reward plugin '" + path_ + "': r1kit_reward_init returned " + std::to_string(rc) +
                        " for args " + args_text + " — check the plugin's \"args\" (" + r.path_of("args") + ")");
  } catch (...) {
    dlclose(handle_);
    handle_ = nullptr;
    throw;
  }
}

PluginRewarder::~PluginRewarder() {
  if (handle_ == nullptr) return;
  if (free_fn_ != nullptr) free_fn_(state_);
  dlclose(handle_);
}

double PluginRewarder::score(const Sample& sample) const {
  const std::string prompt(sample.prompt), completion(sample.completion);
  const std::string record = sample.record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  double out = std::numeric_limits<double>::quiet_NaN();
  int rc;
  if (concurrent_) {
    rc = score_fn_(state_, prompt.c_str(), completion.c_str(), record.c_str(), &out);
  } else {
    std::lock_guard<std::mutex> lock(mutex_);
    rc = score_fn_(state_, prompt.c_str(), completion.c_str(), record.c_str(), &out);
  }
  if (rc != 0) {
    if (warnings_.fetch_add(1) < 10) log_warn("{}: reward plugin '{}' returned {} (sample not scored)", name_, path_, rc);
    return std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

}  // namespace r1kit::rewards::custom
