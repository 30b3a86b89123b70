// The Jinja subset against transformers' own chat-template environment (golden snippets from
// scripts/fixtures_chat_template.py), plus syntax / runtime error reporting.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"
#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_parser.h"

namespace r1kit::tokenizer {
namespace {

TEST(JinjaSubset, SnippetsMatchTransformersEnvironment) {
  std::ifstream in(std::string(R1KIT_FIXTURES_DIR) + "/chat_template/jinja_snippets.json");
  ASSERT_TRUE(in) << "missing fixture; run scripts/fixtures_chat_template.py";
  // ordered_json keeps the Python dicts' insertion order, which tojson prints.
  nlohmann::ordered_json fx = nlohmann::ordered_json::parse(in);
  ASSERT_GE(fx.at("snippets").size(), 20u);
  for (const auto& s : fx.at("snippets")) {
    const std::string name = s.at("name").get<std::string>();
    SCOPED_TRACE(name);
    try {
      jinja::StmtList program = jinja::parse_template(s.at("template").get<std::string>());
      EXPECT_EQ(jinja::render_program(program, jinja::from_json(s.at("context"))),
                s.at("expected").get<std::string>());
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
  }
}

std::string config_error(const std::string& text) {
  try {
    ChatTemplate t(text, "", "", "my_template");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string template_error(const std::string& text, const std::vector<ChatMessage>& messages) {
  ChatTemplate t(text, "<s>", "</s>", "my_template");
  try {
    t.render(messages, true);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "";
}

TEST(JinjaSubset, UnsupportedSyntaxNamesLineColumnAndConstruct) {
  std::string e = config_error("hello\n  {% include 'other.jinja' %}");
  EXPECT_NE(e.find("my_template"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2, column 6"), std::string::npos) << e;
  EXPECT_NE(e.find("include"), std::string::npos) << e;

  e = config_error("{{ messages | wordcount }}");
  EXPECT_NE(e.find("line 1, column 15"), std::string::npos) << e;
  EXPECT_NE(e.find("unsupported filter 'wordcount'"), std::string::npos) << e;

  e = config_error("{% for m in messages recursive %}{% endfor %}");
  EXPECT_NE(e.find("recursive"), std::string::npos) << e;

  e = config_error("{% if x %}never closed");
  EXPECT_NE(e.find("endif"), std::string::npos) << e;

  e = config_error("{{ 'unterminated }}");
  EXPECT_NE(e.find("unterminated string"), std::string::npos) << e;

  e = config_error("{% break %}");
  EXPECT_NE(e.find("outside of a for loop"), std::string::npos) << e;

  e = config_error("{{ x is frobnicated }}");
  EXPECT_NE(e.find("unsupported test 'frobnicated'"), std::string::npos) << e;
}

TEST(JinjaSubset, RaiseExceptionPropagatesTheTemplatesMessage) {
  const std::string tmpl =
      "{% for message in messages %}\n"
      "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n"
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\n"
      "{% endif %}{{ message['content'] }}{% endfor %}";
  std::string e = template_error(tmpl, {{"user", "a", std::nullopt}, {"user", "b", std::nullopt}});
  EXPECT_NE(e.find("Conversation roles must alternate user/assistant/user/assistant/..."), std::string::npos) << e;
  EXPECT_NE(e.find("my_template' line 3"), std::string::npos) << e;
  // A conversation that follows the rule renders.
  ChatTemplate ok(tmpl, "", "");
  EXPECT_EQ(ok.render({{"user", "a", std::nullopt}, {"assistant", "b", std::nullopt}}, false), "ab");
}

TEST(JinjaSubset, RuntimeErrorsAreTemplateErrors) {
  std::string e = template_error("{{ undefined_name + 1 }}", {{"user", "x", std::nullopt}});
  EXPECT_NE(e.find("'undefined_name' is undefined"), std::string::npos) << e;
  e = template_error("x\n{{ messages[5].content }}", {{"user", "x", std::nullopt}});
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("no element 5"), std::string::npos) << e;
  e = template_error("{{ 'a' + 1 }}", {{"user", "x", std::nullopt}});
  EXPECT_NE(e.find("unsupported operand type(s) for +: 'str' and 'int'"), std::string::npos) << e;
  e = template_error("{% set x = [] %}{{ x.append(1) }}", {{"user", "x", std::nullopt}});
  EXPECT_NE(e.find("append"), std::string::npos) << e;
  e = template_error("{% set d = {} %}{% set d.k = 1 %}", {{"user", "x", std::nullopt}});
  EXPECT_NE(e.find("namespace"), std::string::npos) << e;
}

TEST(JinjaSubset, ContentIsNeverReinterpretedAsTemplate) {
  ChatTemplate t("{% for m in messages %}{{ m.content }}{% endfor %}", "", "");
  EXPECT_EQ(t.render({{"user", "{{ 1 + 1 }}{% if true %}x{% endif %}", std::nullopt}}, false),
            "{{ 1 + 1 }}{% if true %}x{% endif %}");
}

TEST(JinjaSubset, ExtraContextOverridesVariables) {
  ChatTemplate t("{{ add_generation_prompt }}|{{ custom }}|{{ tools is none }}", "", "");
  EXPECT_EQ(t.render({{"user", "x", std::nullopt}}, true, nlohmann::json{{"custom", 3}}), "True|3|True");
  EXPECT_EQ(t.render({{"user", "x", std::nullopt}}, true, nlohmann::json{{"tools", {1}}}), "True||False");
}

}  // namespace
}  // namespace r1kit::tokenizer
