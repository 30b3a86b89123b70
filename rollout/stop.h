// Stop conditions of a completion: stop token ids (a set — several EOS ids) and stop strings on decoded text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <optional>
#include <unordered_set>
#include <vector>

namespace r1kit::rollout {

/// Cuts ids right after the first stop token (any id in `stop_ids`), keeping that token. Returns the kept
/// length and whether a stop token was found. E.g. eos = pad = 2: [11, 12, 2, 2, 2] -> 3, true.
std::pair<size_t, bool> stop_token_cut(std::span<const int64_t> ids, const std::unordered_set<int64_t>& stop_ids);

/// Position just past the first occurrence of any of `stops` in `text` (earliest end wins), or npos.
size_t first_stop_string_end(std::string_view text, const std::vector<std::string>& stops);

/// The EOS set a model stops on, as transformers' generate() builds it: generation_config.json's eos_token_id
/// (id or list) in `model_dir` if present, else config.json's eos_token_id(s), plus the tokenizer's eos_token.
/// Sorted, unique; may be empty.
std::vector<int64_t> default_stop_token_ids(const std::filesystem::path& model_dir, const std::vector<int64_t>& config_eos,
                                            std::optional<int32_t> tokenizer_eos);

}  // namespace r1kit::rollout
