// Synthetic arithmetic with chain-of-thought: the data of the "R1 recipe in miniature" (configs/demo/tiny_v3.json,
// `r1kit data arithmetic`, `r1kit recipe`). A problem is a sum of `operands` numbers of `digits` digits; its
// reasoning is the school method, one column per line from the right, with the carry written out:
//
//   prompt      "47+35="
//   reasoning   "7+5=12\ncarry 1: 4+3=8"          (column sums; "carry c: " adds c to that column)
//   answer_text "<answer>82</answer>"              (what the model writes after </think>; math_accuracy extracts it)
//   answer      "82"                               (the gold answer the math_accuracy rewarder compares with)
//
// One record serves both stages: SFT reads prompt / reasoning / answer_text (sft/dataset.h renders
// "<think>\n{reasoning}\n</think>\n\n{answer_text}" with data.answer_field = "answer_text"), GRPO and the evaluator
// read the prompt (question_field "prompt") and hand the record, with its gold "answer", to the rewarders.
// Generation is deterministic from the seed (SplitMix64, no std distributions), identical on every platform.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1kit::sft {

struct ArithmeticOptions {
  int64_t n = 1000;    // records
  uint64_t seed = 0;
  int operands = 2;    // numbers per sum, 2..9
  int digits = 2;      // digits per number, 1..9 (numbers are uniform in [10^(digits-1), 10^digits - 1], 0..9 for 1)
};

/// The record of one sum (fields above). Throws InvalidArgument for fewer than 2 operands or a negative one.
nlohmann::json arithmetic_record(const std::vector<int64_t>& operands);

/// `options.n` distinct problems (no prompt twice), none whose prompt is in `exclude` (e.g. a held-out set).
/// Throws InvalidArgument for options out of range, or when fewer than n distinct problems exist.
std::vector<nlohmann::json> generate_arithmetic(const ArithmeticOptions& options,
                                                const std::set<std::string>& exclude = {});

/// Prompts of a JSONL file of arithmetic records (for `exclude`). Throws IoError / DataError (FILE:LINE).
std::set<std::string> read_prompts(const std::filesystem::path& path);

/// generate_arithmetic, written to `out` as JSONL (atomically). Returns the number of records.
int64_t write_arithmetic(const ArithmeticOptions& options, const std::filesystem::path& out,
                         const std::set<std::string>& exclude = {});

}  // namespace r1kit::sft
