// Prompt templates for R1-Zero-style RL from a base model, selected by name (config key e.g. `prompt_template`).
//
//   r1_zero        DeepSeek-R1 paper's Table 1 template ("… User: {prompt}. Assistant:").
//   r1_zero_think  The variant of Dr. GRPO / understand-r1-zero ("…\nUser: {question}\nAssistant: <think>").
//   qwen_math      ChatML with Qwen2.5-Math's system line "Please reason step by step, and put your final answer
//                  within \boxed{}." (as used by Dr. GRPO / understand-r1-zero).
//   none           The question alone.
//   chat           The model's own chat template with one user message and the generation prompt.
//
// The exact source of each text is quoted next to it in prompt_template.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/chat_template.h"

namespace r1kit::tokenizer {

/// The names render_prompt accepts, in a stable order.
const std::vector<std::string>& prompt_template_names();

/// Renders `question` with the named template. `chat` is required for "chat" and ignored otherwise.
/// Throws ConfigError for an unknown name (listing the names, with a did-you-mean) or for "chat" without a chat
/// template; TemplateError from the chat template.
std::string render_prompt(std::string_view template_name, std::string_view question,
                          const ChatTemplate* chat = nullptr);

}  // namespace r1kit::tokenizer
