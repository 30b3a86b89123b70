// Stop conditions of a completion: stop token ids (a set — several EOS ids) and stop strings on decoded text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace r1kit::rollout {

/// Cuts ids right after the first stop token (any id in `stop_ids`), keeping that token. Returns the kept
/// length and whether a stop token was found. E.g. eos = pad = 2: [11, 12, 2, 2, 2] -> 3, true.
std::pair<size_t, bool> stop_token_cut(std::span<const int64_t> ids, const std::unordered_set<int64_t>& stop_ids);

/// Position just past the first occurrence of any of `stops` in `text` (earliest end wins), or npos.
size_t first_stop_string_end(std::string_view text, const std::vector<std::string>& stops);

}  // namespace r1kit::rollout
