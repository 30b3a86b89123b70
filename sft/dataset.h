// SFT examples: JSONL records -> token ids + a loss mask, rendered through the model's own templates.
//
// Record shapes (field names configurable, data.format = "auto" picks by the fields present):
//   {"messages": [{"role": "user", "content": …}, …, {"role": "assistant", "content": …}]}   chat
//   {"prompt": "…", "completion": "…"}                                                       prompt_completion
//   {"prompt": "…", "reasoning": "…", "answer": "…"}                                         prompt_reasoning_answer
// The last shape is rendered R1-style: completion = "<think>\n{reasoning}\n</think>\n\n{answer}" (DeepSeek-R1
// §2.3.1 cold-start format; the reasoning is kept in the trained text).
//
// Rendering (data.template):
//   "chat": ChatTemplate::render_for_training — prompt = the conversation up to the last assistant turn with the
//           generation prompt; target = that turn's content + the template's end-of-turn text (e.g. "<|im_end|>\n").
//           A prompt/completion record is the conversation [user: prompt, assistant: completion].
//   "r1_zero" | "r1_zero_think" | "qwen_math" | "none": prompt = render_prompt(template, prompt) (as `r1kit grpo`
//           renders it), target = completion + the tokenizer's EOS token text.
// ids = encode(prompt) ++ encode(target), both without added special tokens (templates carry their BOS), so the
// prompt tokens are exactly those `r1kit grpo` conditions on. Loss mask = 1 on the target tokens (the closing
// EOS / end-of-turn included), 0 on the prompt — TRL's completion_only_loss. With completion_only_loss = false
// every token after the first is trained.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sft/sft_config.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::sft {

struct SFTExample {
  std::vector<int64_t> ids;        // [L] prompt then target tokens
  std::vector<uint8_t> loss_mask;  // [L] 1 = token is a training target (predicted from the tokens before it)
  int64_t prompt_tokens = 0;       // tokens of the rendered prompt (before truncation)
  std::string prompt, target;      // rendered text
  size_t record_line = 0;          // line in the source file
};

/// What loading did, logged and written into the run directory: nothing is dropped silently.
struct DatasetStats {
  int64_t records = 0;            // records read
  int64_t examples = 0;           // examples kept
  int64_t skipped_invalid = 0;    // malformed records skipped (data.skip_invalid)
  int64_t truncated = 0;          // longer than max_length, cut to it (truncation = "truncate")
  int64_t dropped_too_long = 0;   // longer than max_length and dropped (truncation = "drop", or no target left)
  int64_t tokens = 0, target_tokens = 0;
  nlohmann::json to_json() const;
  std::string summary() const;    // one line for the log
};

/// Renders records into examples. Holds the tokenizer and (for template "chat") the chat template.
class ExampleRenderer {
 public:
  /// Throws ConfigError when template "chat" is asked of a tokenizer without a chat_template.
  ExampleRenderer(const SFTConfig& config, const tokenizer::Tokenizer& tokenizer, const std::string& tokenizer_config_path);

  /// The example for one record, before any length limit. Throws DataError "FILE:LINE: …" for a malformed record
  /// (missing or non-string field, no assistant turn last, unknown shape, …), saying which fields were expected.
  SFTExample render(const nlohmann::json& record, const std::filesystem::path& file, size_t line) const;

  /// Prompt + target texts of a record (what render tokenizes).
  tokenizer::PromptAndTarget render_text(const nlohmann::json& record, const std::filesystem::path& file,
                                         size_t line) const;

 private:
  const SFTConfig& cfg_;
  const tokenizer::Tokenizer& tok_;
  std::optional<tokenizer::ChatTemplate> chat_;
};

/// Reads `path` (at most `limit` records when > 0), renders every record, applies max_length/truncation.
/// Malformed records throw DataError (file and line) unless data.skip_invalid, when they are skipped and counted.
/// Throws DataError when no example is left.
std::vector<SFTExample> load_examples(const std::filesystem::path& path, int64_t limit, const ExampleRenderer& renderer,
                                      const SFTConfig& config, DatasetStats* stats);

/// Applies the length limit to one example: returns false when it must be dropped. Updates stats.
bool fit_to_length(SFTExample& example, int64_t max_length, const std::string& truncation, DatasetStats* stats);

}  // namespace r1kit::sft
