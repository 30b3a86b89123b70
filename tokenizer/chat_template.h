// Chat templates: renders a model's own Jinja `chat_template` (from tokenizer_config.json) the way Hugging Face
// transformers' `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=…)` does, byte for
// byte, with r1kit's Jinja subset (tokenizer/jinja_*.h).
//
// Environment mirrored (transformers 5.x, transformers/utils/chat_template_utils.py and
// tokenization_utils_base.py): trim_blocks and lstrip_blocks on, loopcontrols (break/continue), immutable
// sandbox (no list.append & co.), `tojson` = json.dumps(ensure_ascii=False, …), globals raise_exception,
// strftime_now, namespace, dict, range; variables messages, tools=None, documents=None, add_generation_prompt,
// bos_token / eos_token (only when the tokenizer has them) plus any extra_context entries (which win, like
// apply_chat_template's **kwargs). A message's reasoning_content is also visible as `thinking`, as transformers
// aliases it.
//
// BOS: templates that want a BOS write `bos_token` themselves (DeepSeek-V3/R1, Llama-3). Tokenize rendered chat
// text with add_special_tokens = false — exactly what apply_chat_template(tokenize=True) does — or the sequence
// starts with two BOS tokens. starts_with_bos() tells whether a rendered string already carries one.
//
// Known gaps: nlohmann::json objects in extra_context iterate their keys sorted, so `tojson` of a dict passed
// there prints sorted keys where Python keeps insertion order; tojson(ensure_ascii=true), recursive loops,
// include/import/extends/call blocks and a few rarely used filters are not supported (a clear error says so).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace r1kit::tokenizer {

/// A chat template failed while rendering: the template called raise_exception(message) (the message is kept
/// verbatim in what()), or used a value in a way Python would reject. what() names the template and line:column.
class TemplateError : public Error {
 public:
  using Error::Error;
};

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool"
  std::string content;  // text; for assistant turns may contain "<think>…</think>" reasoning
  std::optional<std::string> reasoning_content;  // passed to the template as reasoning_content and thinking
};

/// An SFT example: `prompt` (conditioning, no loss) and `target` (trained on).
struct PromptAndTarget {
  std::string prompt;
  std::string target;
};

class ChatTemplate {
 public:
  /// Reads `chat_template` (a string, or a list of {"name", "template"} from which "default" is taken),
  /// `bos_token` and `eos_token` (strings, {"content": …} objects, or null/missing = none).
  /// `source_name` (e.g. the file path) prefixes every error message.
  /// Throws ConfigError: no chat_template, no "default" among named templates, wrong JSON types, or a template
  /// syntax error / unsupported construct (message gives line:column and the construct).
  static ChatTemplate from_tokenizer_config(const nlohmann::json& tokenizer_config, std::string source_name);

  /// Parses `template_text` once. Empty bos/eos = the tokenizer has no such token (the variable is undefined in
  /// the template, as in transformers). Throws ConfigError on syntax errors or unsupported constructs.
  ChatTemplate(std::string template_text, std::string bos_token, std::string eos_token,
               std::string source_name = "chat_template");

  /// Renders the conversation. `extra_context` (a JSON object or null) adds/overrides template variables, e.g.
  /// {"enable_thinking": false} for Qwen3 or {"tools": […]}. Thread-safe (const, no shared mutable state).
  /// Throws InvalidArgument for an empty conversation or a non-object extra_context, TemplateError when the
  /// template raises or fails.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const nlohmann::json& extra_context = {}) const;

  /// SFT split of a conversation whose last message is the assistant's answer:
  ///   prompt = render(messages[:-1], add_generation_prompt = true)
  ///   target = messages.back().content (verbatim: the "<think>…</think>" reasoning is kept even when the template
  ///            strips it from history) + end_of_turn(messages[:-1]).
  /// Throws InvalidArgument when there are fewer than 2 messages, the last is not "assistant", or it carries a
  /// separate reasoning_content (put the reasoning inline in content instead).
  PromptAndTarget render_for_training(const std::vector<ChatMessage>& messages,
                                      const nlohmann::json& extra_context = {}) const;

  /// The text the template writes after an assistant message's content, up to the end of that message's turn
  /// (e.g. "<｜end▁of▁sentence｜>" for DeepSeek, "<|im_end|>\n" for Qwen/ChatML, "<|eot_id|>" for Llama-3).
  /// Rule: render history + [assistant: <probe>] with add_generation_prompt = false; the end-of-turn text is the
  /// output between the end of the probe and the end of the for-loop iteration that rendered that message (so a
  /// header the template appends after the loop, like Llama-3's unconditional assistant header, is excluded);
  /// when no loop iterates over the message, everything after the probe. An empty history uses one user turn.
  /// Throws TemplateError when the template does not copy assistant content verbatim.
  std::string end_of_turn(const std::vector<ChatMessage>& history = {},
                          const nlohmann::json& extra_context = {}) const;

  /// True when `rendered` already begins with this tokenizer's BOS token (so tokenizing must not add another).
  bool starts_with_bos(std::string_view rendered) const;

  const std::string& text() const { return text_; }
  const std::string& bos_token() const { return bos_; }
  const std::string& eos_token() const { return eos_; }
  const std::string& source_name() const { return source_; }

  struct Program;  // parsed template (opaque)

 private:
  std::string render_impl(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                          const nlohmann::json& extra_context, const void* probe_message,
                          std::vector<std::pair<size_t, size_t>>* probe_iterations) const;

  std::string text_;
  std::string bos_;
  std::string eos_;
  std::string source_;
  std::shared_ptr<const Program> program_;
};

}  // namespace r1kit::tokenizer
