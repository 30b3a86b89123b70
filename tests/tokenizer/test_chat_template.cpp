// Chat templates of four real tokenizers rendered byte for byte like transformers' apply_chat_template.
// Golden strings: scripts/fixtures_chat_template.py -> tests/fixtures/chat_template/*.json.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::tokenizer {
namespace {

nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path + " (run scripts/fixtures_chat_template.py)");
  return nlohmann::json::parse(in);
}

nlohmann::json load_fixture(const std::string& name) {
  return load_json(std::string(R1KIT_FIXTURES_DIR) + "/chat_template/" + name + ".json");
}

std::vector<ChatMessage> to_messages(const nlohmann::json& arr) {
  std::vector<ChatMessage> out;
  for (const auto& m : arr) {
    ChatMessage msg{m.at("role").get<std::string>(), m.at("content").get<std::string>(), std::nullopt};
    if (m.contains("reasoning_content")) msg.reasoning_content = m["reasoning_content"].get<std::string>();
    out.push_back(std::move(msg));
  }
  return out;
}

ChatTemplate template_from_fixture(const nlohmann::json& fx, const std::string& name) {
  return ChatTemplate(fx.at("template").get<std::string>(), fx.at("bos_token").get<std::string>(),
                      fx.at("eos_token").get<std::string>(), name);
}

class ChatTemplateGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatTemplateGolden, RenderMatchesTransformersByteForByte) {
  const nlohmann::json fx = load_fixture(GetParam());
  const ChatTemplate tmpl = template_from_fixture(fx, GetParam());
  ASSERT_GE(fx.at("cases").size(), 14u);
  for (const auto& c : fx.at("cases")) {
    SCOPED_TRACE(GetParam() + " / " + c.at("name").get<std::string>());
    std::string got = tmpl.render(to_messages(c.at("messages")), c.at("add_generation_prompt").get<bool>(),
                                  c.at("extra_context"));
    EXPECT_EQ(got, c.at("expected").get<std::string>());
  }
}

TEST_P(ChatTemplateGolden, TrainingSplitKeepsReasoningAndEndsTheTurn) {
  const nlohmann::json fx = load_fixture(GetParam());
  const ChatTemplate tmpl = template_from_fixture(fx, GetParam());
  for (const auto& t : fx.at("training")) {
    auto messages = to_messages(t.at("messages"));
    PromptAndTarget pt = tmpl.render_for_training(messages);
    EXPECT_EQ(pt.prompt, t.at("prompt").get<std::string>());
    EXPECT_EQ(pt.target, t.at("target").get<std::string>());
    // The whole SFT sequence is what the template renders for the full conversation (minus Llama-3's
    // unconditional trailing assistant header).
    EXPECT_EQ(t.at("full").get<std::string>().rfind(pt.prompt + pt.target, 0), 0u);
  }
  // The example: the reasoning survives in the target even where the template strips it from history.
  PromptAndTarget pt = tmpl.render_for_training(
      {{"user", "What is 2+2?", std::nullopt},
       {"assistant", "<think>\n2 plus 2 is 4.\n</think>\n\nThe answer is 4.", std::nullopt}});
  EXPECT_NE(pt.target.find("2 plus 2 is 4."), std::string::npos);
  EXPECT_EQ(pt.prompt.find("2 plus 2 is 4."), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, ChatTemplateGolden,
                         ::testing::Values("deepseek_v3", "qwen3", "llama3", "smollm2"));

TEST(ChatTemplate, EndOfTurnPerTemplate) {
  EXPECT_EQ(template_from_fixture(load_fixture("deepseek_v3"), "ds").end_of_turn(), "<｜end▁of▁sentence｜>");
  EXPECT_EQ(template_from_fixture(load_fixture("qwen3"), "qwen3").end_of_turn(), "<|im_end|>\n");
  EXPECT_EQ(template_from_fixture(load_fixture("llama3"), "llama3").end_of_turn(), "<|eot_id|>");
  EXPECT_EQ(template_from_fixture(load_fixture("smollm2"), "smollm2").end_of_turn(), "<|im_end|>\n");
  // Without a loop the end-of-turn text is everything after the content.
  ChatTemplate plain("{{ messages[-1]['content'] }}</s>", "", "");
  EXPECT_EQ(plain.end_of_turn(), "</s>");
}

TEST(ChatTemplate, QwenStripsThinkFromHistory) {
  // Sanity check on the golden data itself: the R1-style split('</think>')[-1] behaviour is really exercised.
  const nlohmann::json fx = load_fixture("qwen3");
  const ChatTemplate tmpl = template_from_fixture(fx, "qwen3");
  std::string out = tmpl.render({{"user", "q", std::nullopt},
                                 {"assistant", "<think>\nsecret\n</think>\n\nA", std::nullopt},
                                 {"user", "q2", std::nullopt}},
                                true);
  EXPECT_EQ(out.find("secret"), std::string::npos);
  EXPECT_NE(out.find("<|im_start|>assistant\nA<|im_end|>"), std::string::npos);
}

TEST(ChatTemplate, FromTokenizerConfigReadsRealConfigs) {
  const std::string data = std::string(R1KIT_SOURCE_DIR) + "/../shared/data/tokenizers/";
  for (const std::string name : {"deepseek_v3", "qwen3", "llama3"}) {
    SCOPED_TRACE(name);
    const nlohmann::json fx = load_fixture(name);
    ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(load_json(data + name + "/tokenizer_config.json"), name);
    EXPECT_EQ(tmpl.text(), fx.at("template").get<std::string>());
    EXPECT_EQ(tmpl.bos_token(), fx.at("bos_token").get<std::string>());
    EXPECT_EQ(tmpl.eos_token(), fx.at("eos_token").get<std::string>());
    const auto& c = fx.at("cases").at(1);
    EXPECT_EQ(tmpl.render(to_messages(c.at("messages")), c.at("add_generation_prompt").get<bool>()),
              c.at("expected").get<std::string>());
  }
}

TEST(ChatTemplate, FromTokenizerConfigVariants) {
  nlohmann::json cfg = {{"chat_template", nlohmann::json::array({{{"name", "tool_use"}, {"template", "T"}},
                                                                 {{"name", "default"}, {"template", "{{ bos_token }}D"}}})},
                        {"bos_token", {{"content", "<s>"}}},
                        {"eos_token", nullptr}};
  ChatTemplate t = ChatTemplate::from_tokenizer_config(cfg, "cfg.json");
  EXPECT_EQ(t.render({{"user", "x", std::nullopt}}, false), "<s>D");
  EXPECT_TRUE(t.starts_with_bos("<s>D"));
  EXPECT_FALSE(t.starts_with_bos("D<s>"));

  nlohmann::json no_default = {{"chat_template", nlohmann::json::array({{{"name", "tool_use"}, {"template", "T"}}})}};
  try {
    ChatTemplate::from_tokenizer_config(no_default, "cfg.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'tool_use'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ChatTemplate::from_tokenizer_config(nlohmann::json{{"bos_token", "<s>"}}, "x.json"), ConfigError);
  EXPECT_THROW(ChatTemplate::from_tokenizer_config(nlohmann::json{{"chat_template", 3}}, "x.json"), ConfigError);
}

TEST(ChatTemplate, UndefinedBosTokenWhenTokenizerHasNone) {
  ChatTemplate t("{% if bos_token is defined %}B{% else %}no-bos{% endif %}", "", "");
  EXPECT_EQ(t.render({{"user", "x", std::nullopt}}, false), "no-bos");
}

TEST(ChatTemplate, ArgumentErrors) {
  ChatTemplate t("{{ messages[0].content }}", "", "");
  EXPECT_THROW(t.render({}, false), InvalidArgument);
  EXPECT_THROW(t.render({{"user", "x", std::nullopt}}, false, nlohmann::json::array()), InvalidArgument);
  EXPECT_THROW(t.render_for_training({{"assistant", "x", std::nullopt}}), InvalidArgument);
  EXPECT_THROW(t.render_for_training({{"user", "x", std::nullopt}, {"user", "y", std::nullopt}}), InvalidArgument);
  EXPECT_THROW(t.render_for_training({{"user", "x", std::nullopt}, {"assistant", "y", std::string("r")}}),
               InvalidArgument);
}

TEST(ChatTemplate, RenderIsConstAndReusable) {
  const nlohmann::json fx = load_fixture("qwen3");
  const ChatTemplate tmpl = template_from_fixture(fx, "qwen3");
  const auto& c = fx.at("cases").at(3);
  for (int k = 0; k < 3; ++k)
    EXPECT_EQ(tmpl.render(to_messages(c.at("messages")), c.at("add_generation_prompt").get<bool>()),
              c.at("expected").get<std::string>());
  ChatTemplate copy = tmpl;  // copies share the parsed program
  EXPECT_EQ(copy.render(to_messages(c.at("messages")), c.at("add_generation_prompt").get<bool>()),
            c.at("expected").get<std::string>());
}

TEST(ChatTemplate, Llama3IssueExampleIdsRecordedForTokenizer) {
  const nlohmann::json fx = load_fixture("llama3");
  const auto& ex = fx.at("llama3_token_ids");
  std::vector<int64_t> ids = ex.at("ids").get<std::vector<int64_t>>();
  EXPECT_EQ(ids, (std::vector<int64_t>{128000, 128006, 882, 128007, 271, 1985, 128009, 128006, 78191, 128007, 271}));
  const ChatTemplate tmpl = template_from_fixture(fx, "llama3");
  std::string text = tmpl.render(to_messages(ex.at("messages")), true);
  EXPECT_TRUE(tmpl.starts_with_bos(text));  // so tokenize with add_special_tokens = false: ids[0] is the only BOS
  EXPECT_EQ(text,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\ntest<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // End to end with the real Llama-3 tokenizer: render, then tokenize without added special tokens — one BOS.
  const auto tok = Tokenizer::from_dir(std::filesystem::path(R1KIT_SOURCE_DIR) / ".." / "shared" / "data" /
                                       "tokenizers" / "llama3");
  const auto chat = ChatTemplate::from_tokenizer_config(tok.config(), "llama3/tokenizer_config.json");
  const auto got = tok.encode(chat.render(to_messages(ex.at("messages")), true), /*add_special_tokens=*/false);
  EXPECT_EQ(std::vector<int64_t>(got.begin(), got.end()), ids);
}

}  // namespace
}  // namespace r1kit::tokenizer
