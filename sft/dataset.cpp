#include "sft/dataset.h"

#include "core/error.h"
#include "core/jsonl.h"
#include "core/log.h"
#include "tokenizer/prompt_template.h"

namespace r1kit::sft {
namespace fs = std::filesystem;

nlohmann::json DatasetStats::to_json() const {
  return {{"records", records}, {"examples", examples}, {"skipped_invalid", skipped_invalid},
          {"truncated", truncated}, {"dropped_too_long", dropped_too_long}, {"tokens", tokens},
          {"target_tokens", target_tokens}};
}

std::string DatasetStats::summary() const {
  return std::to_string(records) + " records -> " + std::to_string(examples) + " examples (" +
         std::to_string(skipped_invalid) + " invalid skipped, " + std::to_string(truncated) + " truncated, " +
         std::to_string(dropped_too_long) + " dropped as too long), " + std::to_string(tokens) + " tokens, " +
         std::to_string(target_tokens) + " trained";
}

ExampleRenderer::ExampleRenderer(const SFTConfig& config, const tokenizer::Tokenizer& tokenizer,
                                 const std::string& tokenizer_config_path)
    : cfg_(config), tok_(tokenizer) {
  if (cfg_.data.template_name == "chat") {
    if (!tok_.config().contains("chat_template"))
      throw ConfigError(tokenizer_config_path + ": no chat_template, so data.template \"chat\" cannot render the "
                        "examples — set data.template to r1_zero, qwen_math or none");
    chat_ = tokenizer::ChatTemplate::from_tokenizer_config(tok_.config(), tokenizer_config_path);
  }
}

namespace {
std::string string_field(const nlohmann::json& rec, const std::string& field, const fs::path& file, size_t line,
                         const std::string& key_hint) {
  auto it = rec.find(field);
  if (it == rec.end() || !it->is_string())
    throw DataError(format_record_error(file, line, "field \"" + field + "\" is " +
                                        (it == rec.end() ? std::string("missing") : "not a string") +
                                        " — fix the record or name the field with data." + key_hint));
  return it->get<std::string>();
}
}  // namespace

tokenizer::PromptAndTarget ExampleRenderer::render_text(const nlohmann::json& rec, const fs::path& file,
                                                        size_t line) const {
  const auto& D = cfg_.data;
  std::string shape = D.format;
  if (shape == "auto") {
    if (rec.contains(D.messages_field)) shape = "messages";
    else if (rec.contains(D.reasoning_field) && rec.contains(D.answer_field)) shape = "prompt_reasoning_answer";
    else if (rec.contains(D.completion_field)) shape = "prompt_completion";
    else
      throw DataError(format_record_error(
          file, line, "cannot tell the record's shape: expected \"" + D.messages_field + "\", or \"" + D.prompt_field +
                          "\" + \"" + D.completion_field + "\", or \"" + D.prompt_field + "\" + \"" + D.reasoning_field +
                          "\" + \"" + D.answer_field + "\" (rename with data.*_field or set data.format)"));
  }
  if (shape == "messages") {
    if (!chat_)
      throw DataError(format_record_error(file, line, "a \"" + D.messages_field + "\" record needs data.template "
                                                      "\"chat\" (the model's chat template)"));
    auto it = rec.find(D.messages_field);
    if (it == rec.end() || !it->is_array() || it->size() < 2)
      throw DataError(format_record_error(file, line, "\"" + D.messages_field +
                                                          "\" must be a list of at least 2 messages ending with the "
                                                          "assistant's answer"));
    std::vector<tokenizer::ChatMessage> msgs;
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& m = (*it)[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
          !m["content"].is_string())
        throw DataError(format_record_error(file, line, "message " + std::to_string(i) +
                                                            " must be {\"role\": string, \"content\": string}"));
      tokenizer::ChatMessage cm{m["role"].get<std::string>(), m["content"].get<std::string>(), std::nullopt};
      if (m.contains("reasoning_content") && m["reasoning_content"].is_string() && cm.role == "assistant" &&
          i + 1 == it->size())  // the trained turn keeps its reasoning inline, R1-style
        cm.content = "<think>\n" + m["reasoning_content"].get<std::string>() + "\n</think>\n\n" + cm.content;
      msgs.push_back(std::move(cm));
    }
    if (msgs.back().role != "assistant")
      throw DataError(format_record_error(file, line, "the last message must be the assistant's (the trained turn), "
                                                      "got role \"" + msgs.back().role + "\""));
    try {
      return chat_->render_for_training(msgs);
    } catch (const Error& e) {
      throw DataError(format_record_error(file, line, std::string("chat template: ") + e.what()));
    }
  }
  const std::string prompt = string_field(rec, D.prompt_field, file, line, "prompt_field");
  std::string completion;
  if (shape == "prompt_reasoning_answer") {
    completion = "<think>\n" + string_field(rec, D.reasoning_field, file, line, "reasoning_field") + "\n</think>\n\n" +
                 string_field(rec, D.answer_field, file, line, "answer_field");
  } else {
    completion = string_field(rec, D.completion_field, file, line, "completion_field");
  }
  if (chat_) {
    try {
      return chat_->render_for_training({{"user", prompt, std::nullopt}, {"assistant", completion, std::nullopt}});
    } catch (const Error& e) {
      throw DataError(format_record_error(file, line, std::string("chat template: ") + e.what()));
    }
  }
  tokenizer::PromptAndTarget pt;
  pt.prompt = tokenizer::render_prompt(D.template_name, prompt, nullptr);
  pt.target = completion + tok_.eos_token();  // TRL appends EOS to a completion that lacks it
  return pt;
}

SFTExample ExampleRenderer::render(const nlohmann::json& rec, const fs::path& file, size_t line) const {
  auto pt = render_text(rec, file, line);
  SFTExample ex;
  auto p = tok_.encode(pt.prompt, /*add_special_tokens=*/false);
  auto t = tok_.encode(pt.target, /*add_special_tokens=*/false);
  if (t.empty()) throw DataError(format_record_error(file, line, "the completion renders to no tokens"));
  ex.ids.assign(p.begin(), p.end());
  ex.ids.insert(ex.ids.end(), t.begin(), t.end());
  ex.loss_mask.assign(ex.ids.size(), cfg_.completion_only_loss ? 0 : 1);
  for (size_t i = p.size(); i < ex.ids.size(); ++i) ex.loss_mask[i] = 1;
  ex.loss_mask[0] = 0;  // the first token is never predicted
  ex.prompt_tokens = static_cast<int64_t>(p.size());
  ex.prompt = std::move(pt.prompt);
  ex.target = std::move(pt.target);
  ex.record_line = line;
  return ex;
}

bool fit_to_length(SFTExample& ex, int64_t max_length, const std::string& truncation, DatasetStats* stats) {
  if (static_cast<int64_t>(ex.ids.size()) <= max_length) return true;
  if (truncation == "drop") {
    ++stats->dropped_too_long;
    return false;
  }
  ex.ids.resize(max_length);
  ex.loss_mask.resize(max_length);
  bool any = false;
  for (auto m : ex.loss_mask) any = any || m;
  if (!any) {  // the prompt alone fills max_length: nothing left to train on
    ++stats->dropped_too_long;
    return false;
  }
  ++stats->truncated;
  return true;
}

std::vector<SFTExample> load_examples(const fs::path& path, int64_t limit, const ExampleRenderer& renderer,
                                      const SFTConfig& cfg, DatasetStats* stats) {
  std::vector<SFTExample> out;
  JsonlReader reader(path);
  nlohmann::json rec;
  while (limit <= 0 || stats->records < limit) {
    try {
      if (!reader.next(rec)) break;
    } catch (const DataError& e) {  // a line that is not a JSON object
      ++stats->records;
      if (!cfg.data.skip_invalid)
        throw DataError(std::string(e.what()) + " (or set data.skip_invalid: true to skip and count such records)");
      ++stats->skipped_invalid;
      log_warn_line(std::string("skipped: ") + e.what());
      continue;
    }
    ++stats->records;
    SFTExample ex;
    try {
      ex = renderer.render(rec, path, reader.record_number());
    } catch (const DataError& e) {
      if (!cfg.data.skip_invalid)
        throw DataError(std::string(e.what()) + " (or set data.skip_invalid: true to skip and count such records)");
      ++stats->skipped_invalid;
      log_warn_line(std::string("skipped: ") + e.what());
      continue;
    }
    if (!fit_to_length(ex, cfg.max_length, cfg.truncation, stats)) continue;
    ++stats->examples;
    stats->tokens += static_cast<int64_t>(ex.ids.size());
    for (auto m : ex.loss_mask) stats->target_tokens += m;
    out.push_back(std::move(ex));
  }
  if (out.empty())
    throw DataError(path.string() + ": no usable examples (" + stats->summary() +
                    ") — check the record fields and max_length");
  return out;
}

}  // namespace r1kit::sft
