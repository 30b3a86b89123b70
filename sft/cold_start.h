// Cold-start data from public math sets: GSM8K and MATH training records -> {"prompt", "reasoning", "answer"}
// SFT records (sft/dataset.h renders them R1-style as "<think>\n{reasoning}\n</think>\n\n{answer}").
//
// DeepSeek-R1 (arXiv 2501.12948 §2.3.1) cold-starts from thousands of long chain-of-thought examples refined by
// humans. This converter is a documented STAND-IN for that data: the worked solutions of GSM8K (Cobbe et al. 2021)
// and MATH (Hendrycks et al. 2021) are short, human-written reasoning — enough to teach a small model the
// <think>/answer format and the \boxed{} convention before GRPO, not a reproduction of R1's cold-start set.
//
//   GSM8K {"question", "answer": "…<<48/2=24>>24 …\n#### 72"}: reasoning = the answer text before "####" with the
//          <<…>> calculator notes removed; final = the text after "####" (thousands separators removed).
//   MATH  {"problem", "solution", "answer"}: reasoning = the solution; final = answer (records whose answer is
//          empty or null are skipped and counted).
// answer (answer_style "tags", default) = "<answer>\nThe answer is \boxed{N}.\n</answer>" — the R1-Zero format
// the `format` / `tag_count` rewarders check; "plain" = "The answer is \boxed{N}.".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace r1kit::sft {

struct ColdStartStats {
  int64_t read = 0, written = 0, skipped_no_answer = 0;
};

/// GSM8K answer text without its <<…>> calculator annotations ("48/2 = <<48/2=24>>24" -> "48/2 = 24").
std::string strip_calculator_notes(const std::string& text);

/// The converted record for one source record, or nullopt when it has no final answer (MATH: empty "answer").
/// `source`: "gsm8k" | "math". Throws DataError "FILE:LINE: …" for a missing/non-string field or a GSM8K answer
/// without "####"; InvalidArgument for an unknown source or answer_style.
std::optional<nlohmann::json> cold_start_record(const nlohmann::json& record, const std::string& source,
                                                const std::string& answer_style, const std::filesystem::path& file,
                                                size_t line);

/// Converts the JSONL file `in` to `out` (written atomically), at most `limit` records when > 0.
ColdStartStats convert_cold_start(const std::string& source, const std::filesystem::path& in,
                                  const std::filesystem::path& out, const std::string& answer_style = "tags",
                                  int64_t limit = 0);

}  // namespace r1kit::sft
