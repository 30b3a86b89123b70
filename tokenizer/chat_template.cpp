// Chat template rendering on top of the Jinja subset. See chat_template.h.
#include "tokenizer/chat_template.h"

#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_parser.h"

namespace r1kit::tokenizer {

struct ChatTemplate::Program {
  jinja::StmtList statements;
};

namespace {

constexpr std::string_view kProbe = "\x02r1kit-end-of-turn-probe\x03";

std::string token_string(const nlohmann::json& config, const std::string& key, const std::string& source) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  throw ConfigError(source + ": '" + key + "' must be a string or an object with a string 'content' (got " +
                    std::string(it->type_name()) + "); fix tokenizer_config.json");
}

jinja::Value message_value(const ChatMessage& m) {
  // transformers' _alias_reasoning_fields: {"thinking": r, **message, "reasoning_content": r}
  jinja::Value v = jinja::Value::dict();
  if (m.reasoning_content) v.object->set("thinking", jinja::Value::string(*m.reasoning_content));
  v.object->set("role", jinja::Value::string(m.role));
  v.object->set("content", jinja::Value::string(m.content));
  if (m.reasoning_content) v.object->set("reasoning_content", jinja::Value::string(*m.reasoning_content));
  return v;
}

}  // namespace

ChatTemplate ChatTemplate::from_tokenizer_config(const nlohmann::json& config, std::string source_name) {
  if (!config.is_object()) throw ConfigError(source_name + ": tokenizer config must be a JSON object");
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null())
    throw ConfigError(source_name + ": no 'chat_template' in the tokenizer config; use a prompt template "
                                    "(r1_zero, qwen_math, none) or add the model's chat_template");
  std::string text;
  if (it->is_string()) {
    text = it->get<std::string>();
  } else if (it->is_array()) {
    std::string names;
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string())
        throw ConfigError(source_name + ": 'chat_template' list entries must be {\"name\": str, \"template\": str}");
      names += (names.empty() ? "'" : ", '") + entry["name"].get<std::string>() + "'";
      if (entry["name"] == "default") text = entry["template"].get<std::string>();
    }
    if (text.empty())
      throw ConfigError(source_name + ": 'chat_template' has named templates " + names +
                        " but no 'default'; rename the one to use to 'default'");
  } else {
    throw ConfigError(source_name + ": 'chat_template' must be a string or a list of {name, template}");
  }
  return ChatTemplate(std::move(text), token_string(config, "bos_token", source_name),
                      token_string(config, "eos_token", source_name), std::move(source_name));
}

ChatTemplate::ChatTemplate(std::string template_text, std::string bos_token, std::string eos_token,
                           std::string source_name)
    : text_(std::move(template_text)), bos_(std::move(bos_token)), eos_(std::move(eos_token)),
      source_(std::move(source_name)) {
  auto program = std::make_shared<Program>();
  try {
    program->statements = jinja::parse_template(text_);
  } catch (const jinja::SyntaxError& e) {
    throw ConfigError("chat template '" + source_ + "' line " + std::to_string(e.line) + ", column " +
                      std::to_string(e.column) + ": " + e.what() +
                      " (r1kit renders chat templates with a Jinja subset: see tokenizer/chat_template.h; "
                      "simplify the template or use a prompt template)");
  }
  program_ = std::move(program);
}

std::string ChatTemplate::render_impl(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                      const nlohmann::json& extra_context, const void* probe_message,
                                      std::vector<std::pair<size_t, size_t>>* probe_iterations) const {
  if (messages.empty())
    throw InvalidArgument("chat template '" + source_ + "': cannot render an empty conversation");
  if (!extra_context.is_null() && !extra_context.is_object())
    throw InvalidArgument("chat template '" + source_ + "': extra_context must be a JSON object");
  jinja::Value list = jinja::Value::list();
  const jinja::ObjectData* probe = nullptr;
  for (const auto& m : messages) {
    list.array->push_back(message_value(m));
    if (&m == probe_message) probe = list.array->back().object.get();
  }
  jinja::Value context = jinja::Value::dict();
  context.object->set("messages", list);
  context.object->set("tools", jinja::Value::none());
  context.object->set("documents", jinja::Value::none());
  context.object->set("add_generation_prompt", jinja::Value::boolean(add_generation_prompt));
  if (!bos_.empty()) context.object->set("bos_token", jinja::Value::string(bos_));
  if (!eos_.empty()) context.object->set("eos_token", jinja::Value::string(eos_));
  if (extra_context.is_object())
    for (auto it = extra_context.begin(); it != extra_context.end(); ++it)
      context.object->set(it.key(), jinja::from_json(*it));
  jinja::RenderTrace trace;
  trace.probe = probe;
  try {
    std::string out = jinja::render_program(program_->statements, context, probe ? &trace : nullptr);
    if (probe_iterations) *probe_iterations = std::move(trace.iterations);
    return out;
  } catch (const jinja::RenderError& e) {
    std::string where = "chat template '" + source_ + "' line " + std::to_string(e.line) + ", column " +
                        std::to_string(e.column);
    if (e.raised) throw TemplateError(where + ": the template raised an exception: " + e.what());
    throw TemplateError(where + ": " + e.what());
  }
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const nlohmann::json& extra_context) const {
  return render_impl(messages, add_generation_prompt, extra_context, nullptr, nullptr);
}

std::string ChatTemplate::end_of_turn(const std::vector<ChatMessage>& history,
                                      const nlohmann::json& extra_context) const {
  std::vector<ChatMessage> probe_chat = history;
  if (probe_chat.empty()) probe_chat.push_back({"user", "Hi", std::nullopt});
  probe_chat.push_back({"assistant", std::string(kProbe), std::nullopt});
  std::vector<std::pair<size_t, size_t>> iterations;
  std::string out = render_impl(probe_chat, false, extra_context, &probe_chat.back(), &iterations);
  size_t at = out.rfind(kProbe);
  if (at == std::string::npos)
    throw TemplateError("chat template '" + source_ +
                        "' does not copy an assistant message's content verbatim, so the end-of-turn text after it "
                        "cannot be derived; render SFT examples with a prompt template instead");
  size_t begin = at + kProbe.size();
  size_t end = out.size();
  size_t best = std::string::npos;
  for (const auto& [b, e] : iterations) {
    if (b <= at && at < e && e - b < best) {  // the innermost containing iteration wins
      best = e - b;
      end = e;
    }
  }
  return out.substr(begin, end - begin);
}

PromptAndTarget ChatTemplate::render_for_training(const std::vector<ChatMessage>& messages,
                                                  const nlohmann::json& extra_context) const {
  if (messages.size() < 2)
    throw InvalidArgument("chat template '" + source_ + "': an SFT conversation needs at least a prompt message "
                          "and a final assistant message, got " + std::to_string(messages.size()) + " message(s)");
  const ChatMessage& last = messages.back();
  if (last.role != "assistant")
    throw InvalidArgument("chat template '" + source_ + "': the last message of an SFT conversation must have role "
                          "'assistant' (it is the training target), got '" + last.role + "'");
  if (last.reasoning_content)
    throw InvalidArgument("chat template '" + source_ + "': the target message has a separate reasoning_content; "
                          "put the reasoning inline in content as \"<think>…</think>\" so it is trained on");
  std::vector<ChatMessage> history(messages.begin(), messages.end() - 1);
  PromptAndTarget out;
  out.prompt = render(history, true, extra_context);
  out.target = last.content + end_of_turn(history, extra_context);
  return out;
}

bool ChatTemplate::starts_with_bos(std::string_view rendered) const {
  return !bos_.empty() && rendered.substr(0, bos_.size()) == bos_;
}

}  // namespace r1kit::tokenizer
