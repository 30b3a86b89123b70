#include "rollout/stop.h"

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

}  // namespace r1kit::rollout
