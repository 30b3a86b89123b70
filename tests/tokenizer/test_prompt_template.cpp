// Named prompt templates for R1-Zero work (tokenizer/prompt_template.h).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/prompt_template.h"

namespace r1kit::tokenizer {
namespace {

bool starts(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool ends(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

TEST(PromptTemplate, R1ZeroIsThePapersTable1) {
  std::string p = render_prompt("r1_zero", "What is 2+2?");
  EXPECT_TRUE(starts(p, "A conversation between User and Assistant. The user asks a question, and the Assistant "
                        "solves it."));
  EXPECT_NE(p.find("<think> reasoning process here </think> <answer> answer here </answer>. User: "),
            std::string::npos);
  EXPECT_TRUE(ends(p, "User: What is 2+2?. Assistant:"));
}

TEST(PromptTemplate, R1ZeroThinkEndsWithOpenThinkTag) {
  std::string p = render_prompt("r1_zero_think", "Q?");
  EXPECT_TRUE(starts(p, "A conversation between User and Assistant. The User asks a question"));
  EXPECT_TRUE(ends(p, "</answer>.\nUser: Q?\nAssistant: <think>"));
}

TEST(PromptTemplate, QwenMathIsChatMLWithBoxedSystemLine) {
  EXPECT_EQ(render_prompt("qwen_math", "Q?"),
            "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}."
            "<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(PromptTemplate, NoneIsTheQuestionAlone) { EXPECT_EQ(render_prompt("none", "just {this}"), "just {this}"); }

TEST(PromptTemplate, ChatUsesTheModelsTemplateWithGenerationPrompt) {
  std::ifstream in(std::string(R1KIT_FIXTURES_DIR) + "/chat_template/qwen3.json");
  ASSERT_TRUE(in);
  nlohmann::json fx = nlohmann::json::parse(in);
  ChatTemplate chat(fx["template"].get<std::string>(), fx["bos_token"].get<std::string>(),
                    fx["eos_token"].get<std::string>());
  std::string expected;
  for (const auto& c : fx["cases"])
    if (c["name"] == "single_user/gen=1") expected = c["expected"].get<std::string>();
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(render_prompt("chat", "test", &chat), expected);
  EXPECT_THROW(render_prompt("chat", "test"), ConfigError);
}

TEST(PromptTemplate, UnknownNameListsNamesWithDidYouMean) {
  try {
    render_prompt("r1_zer0", "q");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("did you mean 'r1_zero'"), std::string::npos) << msg;
    for (const auto& n : prompt_template_names()) EXPECT_NE(msg.find("'" + n + "'"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace r1kit::tokenizer
