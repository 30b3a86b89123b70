#include "rollout/stop.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace r1kit::rollout {

std::pair<size_t, bool> stop_token_cut(std::span<const int64_t> ids, const std::unordered_set<int64_t>& stop_ids) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (stop_ids.count(ids[i])) return {i + 1, true};
  return {ids.size(), false};
}

size_t first_stop_string_end(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = std::string_view::npos;
  for (const auto& s : stops) {
    const size_t at = text.find(s);
    if (at != std::string_view::npos && (best == std::string_view::npos || at + s.size() < best)) best = at + s.size();
  }
  return best;
}

std::vector<int64_t> default_stop_token_ids(const std::filesystem::path& model_dir,
                                            const std::vector<int64_t>& config_eos, std::optional<int32_t> tok_eos) {
  std::vector<int64_t> ids;
  const auto gen_path = model_dir / "generation_config.json";
  bool from_gen = false;
  if (std::filesystem::exists(gen_path)) {
    nlohmann::json g;
    try {
      g = nlohmann::json::parse(read_file(gen_path));
    } catch (const nlohmann::json::parse_error& e) {
      throw ConfigError(gen_path.string() + ": invalid JSON (" + e.what() + ")");
    }
    if (auto it = g.find("eos_token_id"); it != g.end()) {
      if (it->is_number_integer()) ids.push_back(it->get<int64_t>()), from_gen = true;
      else if (it->is_array())
        for (const auto& v : *it)
          if (v.is_number_integer()) ids.push_back(v.get<int64_t>()), from_gen = true;
    }
  }
  if (!from_gen) ids = config_eos;
  if (tok_eos) ids.push_back(*tok_eos);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace r1kit::rollout
