// Extraction of the program to run from a model completion: the last fenced code block (``` or ~~~ fences,
// CommonMark-style) whose info string names the wanted language.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::rewards::code {

/// Info-string tags accepted for a language: "python" -> {"python", "py", "python3", "py3"}; any other language
/// -> {language}. Lower-case.
std::vector<std::string> language_tags(std::string_view language);

/// Body of the last fenced code block of `text` whose info string's first word (case-insensitive) is one of
/// `tags`. When there is none and `accept_untagged` is true, the last block with an empty info string.
/// A fence is a line starting (after at most 3 spaces) with at least three backticks or tildes; the block ends at
/// a line holding only a fence of the same character at least as long, or at the end of the text (an unclosed
/// final block — a truncated completion — still counts). Returns nullopt when no block qualifies.
/// Linear in |text|.
std::optional<std::string> last_code_block(std::string_view text, const std::vector<std::string>& tags,
                                           bool accept_untagged);

}  // namespace r1kit::rewards::code
