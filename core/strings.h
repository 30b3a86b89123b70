// Small string helpers shared by every folder: edit distance and "did you mean" suggestions for error messages,
// joining/quoting lists, and human-readable sizes and durations for logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit {

/// Levenshtein edit distance (insertions, deletions, substitutions each cost 1), byte-wise.
/// O(|a|·|b|) time, O(min) memory. levenshtein("lrr", "lr") == 1.
size_t levenshtein(std::string_view a, std::string_view b);

/// The candidate closest to `word` by Levenshtein distance, or "" when none is close enough to be a plausible
/// typo. Close means distance ≤ max(2, |word| / 3) and the candidate is not a complete rewrite
/// (distance < max(|word|, |candidate|)). Ties go to the earliest candidate. An exact match returns itself.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// " — did you mean 'lr'?" when closest_match finds one, else "". Ready to append to an error message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Joins `parts` with `separator`: join({"a","b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& parts, std::string_view separator);

/// Each part in single quotes, comma-separated: quote_list({"a","b"}) == "'a', 'b'".
std::string quote_list(const std::vector<std::string>& parts);

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

/// `s` without leading/trailing ASCII whitespace (space, \t, \n, \r, \f, \v).
std::string_view trim(std::string_view s);

/// Splits on every `separator`; keeps empty fields: split("a..b", '.') == {"a", "", "b"}; split("", '.') == {""}.
std::vector<std::string> split(std::string_view s, char separator);

/// Byte count in binary units with one decimal: 512 -> "512 B", 1536 -> "1.5 KiB", 3<<30 -> "3.0 GiB".
std::string human_bytes(uint64_t bytes);

/// Duration for logs: 0.0123 -> "12 ms", 12.34 -> "12.3 s", 754 -> "12m 34s", 7384 -> "2h 03m 04s",
/// 183600 -> "2d 03h 00m". Negative values get a leading '-'; NaN/inf -> "?".
std::string human_duration(double seconds);

}  // namespace r1kit
