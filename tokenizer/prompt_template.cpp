// Named prompt templates for R1-Zero work. See prompt_template.h.
#include "tokenizer/prompt_template.h"

#include "core/error.h"
#include "core/strings.h"

namespace r1kit::tokenizer {

const std::vector<std::string>& prompt_template_names() {
  static const std::vector<std::string> names = {"r1_zero", "r1_zero_think", "qwen_math", "none", "chat"};
  return names;
}

std::string render_prompt(std::string_view template_name, std::string_view question, const ChatTemplate* chat) {
  const std::string q(question);
  if (template_name == "r1_zero") {
    // DeepSeek-R1 paper (arXiv 2501.12948v1), §2.2.1, Table 1 "Template for DeepSeek-R1-Zero. prompt will be
    // replaced with the specific reasoning question during training." — the text is kept exactly, including the
    // "." after the prompt.
    return "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
           "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
           "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
           "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
           "User: " + q + ". Assistant:";
  }
  if (template_name == "r1_zero_think") {
    // sail-sg/understand-r1-zero, train_zero_math.py, apply_r1_template() (the "r1" template of Dr. GRPO,
    // arXiv 2503.20783): the prompt ends with an opened "<think>" tag.
    return "A conversation between User and Assistant. The User asks a question, and the Assistant solves it. "
           "The Assistant first thinks about the reasoning process in the mind and then provides the User with the "
           "answer. The reasoning process is enclosed within <think> </think> and answer is enclosed within "
           "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer "
           "here </answer>.\nUser: " + q + "\nAssistant: <think>";
  }
  if (template_name == "qwen_math") {
    // sail-sg/understand-r1-zero, train_zero_math.py, apply_qwen_math_template(): ChatML with the Qwen2.5-Math
    // chain-of-thought system prompt.
    return "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
           "<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n";
  }
  if (template_name == "none") {
    // understand-r1-zero's apply_no_template(): the question alone.
    return q;
  }
  if (template_name == "chat") {
    if (!chat)
      throw ConfigError("prompt template 'chat' needs the model's chat template (tokenizer_config.json "
                        "'chat_template'); load it with ChatTemplate::from_tokenizer_config or pick another "
                        "template: " + quote_list(prompt_template_names()));
    return chat->render({ChatMessage{"user", q, std::nullopt}}, true);
  }
  throw ConfigError("unknown prompt template '" + std::string(template_name) + "'" +
                    did_you_mean(template_name, prompt_template_names()) +
                    "; known templates: " + quote_list(prompt_template_names()));
}

}  // namespace r1kit::tokenizer
