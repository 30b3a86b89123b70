// Final-answer extraction from model output and gold answers from dataset records (math_accuracy).
//
// Markers, in priority order, each taking its LAST occurrence anywhere in the text (no fixed tail window, so a
// correct answer followed by 500 characters of prose still counts):
//   1. \boxed{…} / \fbox{…} (nested braces balanced; also "\boxed 5")          — MATH / R1 convention
//   2. <answer>…</answer>                                                        — R1-Zero template
//      (an <answer> block that comes after the last \boxed wins over it: a boxed guess inside <think> is not final)
//   3. "#### N" (rest of that line)                                               — GSM8K
//   4. "the answer is …" (case-insensitive; rest of the sentence/line)           — common CoT phrasing
//   5. "Answer: …" / "answer: …" (rest of the line)
//   6. a bold "**…**" span on the last non-empty line
// Text is untrusted: all scans are linear, and an answer longer than a caller-given cap is refused.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace r1kit::rewards::math {

/// Content of the last \boxed{…} or \fbox{…} in `text` (braces balanced), or nullopt (none, or unbalanced).
std::optional<std::string_view> last_boxed(std::string_view text);

/// The final answer of a completion by the markers above, or nullopt when no marker is found. The result is
/// trimmed; it may still contain LaTeX ($, \text, …) for normalize_answer().
std::optional<std::string> extract_answer(std::string_view completion);

/// Gold answer from a dataset record: the field `field` (a string, or a number printed without a trailing ".0"
/// for integral values, e.g. AMC's 27.0 -> "27"). If the text contains "####" (GSM8K), the text after the last
/// "####"; if it contains \boxed{…} (a full solution), the last boxed content. nullopt when the field is absent,
/// null, empty, or of another type.
std::optional<std::string> gold_answer(const nlohmann::json& record, const std::string& field);

}  // namespace r1kit::rewards::math
