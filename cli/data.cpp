// `r1kit data cold-start --source gsm8k|math --in FILE --out FILE.jsonl`: data preparation (sft/cold_start.h).
// `r1kit data arithmetic --n N --seed S --out FILE.jsonl`: synthetic sums with chain-of-thought (sft/arithmetic.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "sft/arithmetic.h"
#include "sft/cold_start.h"

namespace r1kit::cli {

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Data preparation");
  data->require_subcommand(1);
  auto* cmd = data->add_subcommand(
      "cold-start", "GSM8K / MATH train records -> {prompt, reasoning, answer} SFT records (a stand-in for R1's "
                    "human-refined long-CoT cold-start data)");
  static std::string source, in, out, style = "tags";
  static int64_t limit = 0;
  cmd->add_option("--source", source, "gsm8k | math")->required()->check(CLI::IsMember({"gsm8k", "math"}));
  cmd->add_option("--in", in, "source JSONL, e.g. ../shared/data/gsm8k/train.jsonl")->required();
  cmd->add_option("--out", out, "output JSONL (written atomically)")->required();
  cmd->add_option("--answer-style", style,
                  "tags: \"<answer>\\nThe answer is \\boxed{N}.\\n</answer>\" (default); plain: no answer tags")
      ->check(CLI::IsMember({"tags", "plain"}));
  cmd->add_option("--limit", limit, "convert at most N records (0 = all)")->check(CLI::Validator(
      [](std::string& v) { return !v.empty() && v[0] == '-' ? "must be 0 or more, got " + v : std::string(); },
      "NONNEGATIVE"));
  cmd->callback([] {
    auto st = sft::convert_cold_start(source, in, out, style, limit);
    std::printf("%s: %lld records read, %lld written, %lld skipped (no final answer) -> %s\n", in.c_str(),
                static_cast<long long>(st.read), static_cast<long long>(st.written),
                static_cast<long long>(st.skipped_no_answer), out.c_str());
  });
  auto* ar = data->add_subcommand(
      "arithmetic", "Synthetic sums with column-by-column chain-of-thought -> {prompt, reasoning, answer_text, answer} "
                    "records for SFT and GRPO (the tiny DeepSeek-V3 recipe, configs/demo/tiny_v3.json)");
  static sft::ArithmeticOptions ao;
  static std::string ar_out, exclude;
  ar->add_option("--n", ao.n, "number of distinct problems")->capture_default_str();
  ar->add_option("--seed", ao.seed, "random seed (same seed, same file)")->capture_default_str();
  ar->add_option("--operands", ao.operands, "numbers per sum (2..9)")->capture_default_str();
  ar->add_option("--digits", ao.digits, "digits per number (1..9)")->capture_default_str();
  ar->add_option("--exclude", exclude, "JSONL whose prompts must not appear (e.g. the held-out eval set)");
  ar->add_option("--out", ar_out, "output JSONL (written atomically)")->required();
  ar->callback([] {
    const auto n = sft::write_arithmetic(ao, ar_out, exclude.empty() ? std::set<std::string>{} : sft::read_prompts(exclude));
    std::printf("%lld problems (%d operands of %d digits, seed %llu) -> %s\n", static_cast<long long>(n), ao.operands,
                ao.digits, static_cast<unsigned long long>(ao.seed), ar_out.c_str());
  });
}

}  // namespace r1kit::cli
