// plugin: a reward rule compiled into a shared library with the C ABI of rewards/plugin_api.h, loaded with
// dlopen. Config: {"type": "plugin", "path": "./libmy_reward.so", "args": {...}, "concurrent": false}.
// "path" is required (a path containing no '/' that is not a file in the working directory is searched as
// dlopen does); "args" (default {}) is passed to r1kit_reward_init as JSON text; "concurrent" (default false)
// lets several threads call r1kit_reward_score at once, otherwise calls are serialised.
#pragma once

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "rewards/plugin_api.h"
#include "rewards/rewarder.h"

namespace r1kit::rewards::custom {

class PluginRewarder : public Rewarder {
 public:
  /// Loads the library and calls r1kit_reward_init. Throws ConfigError naming the .so and the problem: cannot be
  /// loaded (dlerror), a missing symbol (which one), an API version other than R1KIT_REWARD_API_VERSION, or a
  /// non-zero return from r1kit_reward_init.
  PluginRewarder(const nlohmann::json& args, std::string name, const std::string& json_path);
  ~PluginRewarder() override;
  PluginRewarder(const PluginRewarder&) = delete;
  PluginRewarder& operator=(const PluginRewarder&) = delete;

  std::string name() const override { return name_; }
  /// The plugin's reward; NaN when it returns non-zero (logged, at most 10 times).
  double score(const Sample& sample) const override;

 private:
  std::string name_;
  std::string path_;
  void* handle_ = nullptr;
  void* state_ = nullptr;
  bool concurrent_ = false;
  r1kit_reward_score_fn score_fn_ = nullptr;
  r1kit_reward_free_fn free_fn_ = nullptr;
  mutable std::mutex mutex_;
  mutable std::atomic<int> warnings_{0};
};

}  // namespace r1kit::rewards::custom
