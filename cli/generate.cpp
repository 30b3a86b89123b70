// `r1kit generate`: sample completions with the rollout engine and write them as JSONL.
//
//   r1kit generate --model DIR (--prompt TEXT | --data FILE.jsonl [--field question] [--limit N])
//                  [--template chat|r1_zero|r1_zero_think|qwen_math|none] [--n G] [--max-new-tokens N]
//                  [--temperature T] [--top-p P] [--top-k K] [--min-p M] [--seed S] [--stop STR]...
//                  [--out FILE] [--max-batch-rows R] [--kv-cache-tokens K] [--dtype float32|bfloat16|float16]
//
// Each output line: {"prompt_index", "sample_index", "prompt", "text", "ids", "logprobs", "finish_reason"}.
// Prompts are tokenized without added special tokens, as TRL's GRPOTrainer does (chat templates write their own BOS).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/rollout_flags.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "model/causal_lm.h"
#include "rollout/engine.h"
#include "rollout/stop.h"
#include "tokenizer/prompt_template.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::cli {

namespace {
struct GenerateArgs {
  std::string model, prompt, data, field = "question", templ = "chat", out, dtype = "float32";
  size_t limit = 0;
  rollout::SamplingParams sp;
  rollout::RolloutOptions ro;
};
}  // namespace

void register_generate(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Sample completions with the rollout engine (JSONL out)");
  static GenerateArgs a;
  a.sp.temperature = 1.0;
  cmd->add_option("--model", a.model, "Hugging Face model directory")->required();
  auto* p = cmd->add_option("--prompt", a.prompt, "One prompt (the question; the template is applied)");
  auto* d = cmd->add_option("--data", a.data, "JSONL file of records");
  p->excludes(d);
  cmd->add_option("--field", a.field, "Record field holding the question")->capture_default_str();
  cmd->add_option("--limit", a.limit, "Use only the first N records (0 = all)");
  cmd->add_option("--template", a.templ, "Prompt template: chat | r1_zero | r1_zero_think | qwen_math | none")
      ->capture_default_str();
  cmd->add_option("--n", a.sp.n, "Completions per prompt (G)")->capture_default_str();
  cmd->add_option("--max-new-tokens", a.sp.max_new_tokens, "Completion length limit in tokens")->capture_default_str();
  cmd->add_option("--temperature", a.sp.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", a.sp.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--top-k", a.sp.top_k, "Keep the k most likely tokens (0 = all)")->capture_default_str();
  cmd->add_option("--min-p", a.sp.min_p, "Drop tokens below min_p * p_max")->capture_default_str();
  cmd->add_option("--seed", a.sp.seed, "Random seed")->capture_default_str();
  cmd->add_option("--stop", a.sp.stop_strings, "Stop string (repeatable); the text is cut right after it");
  cmd->add_option("--out", a.out, "Output JSONL (default: stdout)");
  add_rollout_flags(cmd, a.ro);
  cmd->add_option("--dtype", a.dtype, "Model dtype: float32 | bfloat16 | float16")->capture_default_str();
  cmd->callback([p] {
    if (p->count() == 0 && a.data.empty()) throw ConfigError("generate: give --prompt TEXT or --data FILE.jsonl");
    auto tok = tokenizer::Tokenizer::from_dir(a.model);
    std::optional<tokenizer::ChatTemplate> chat;
    if (a.templ == "chat")
      chat = tokenizer::ChatTemplate::from_tokenizer_config(tok.config(), a.model + "/tokenizer_config.json");
    std::vector<std::string> questions;
    if (p->count() > 0) {
      questions.push_back(a.prompt);
    } else {
      JsonlReader reader(a.data);
      nlohmann::json rec;
      while (reader.next(rec) && (a.limit == 0 || questions.size() < a.limit)) {
        auto it = rec.find(a.field);
        if (it == rec.end() || !it->is_string())
          throw DataError(format_record_error(a.data, reader.record_number(),
                                              "field \"" + a.field + "\" is missing or not a string; choose the "
                                              "question field with --field"));
        questions.push_back(it->get<std::string>());
      }
    }
    std::vector<std::string> rendered;
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& q : questions) {
      rendered.push_back(tokenizer::render_prompt(a.templ, q, chat ? &*chat : nullptr));
      auto ids = tok.encode(rendered.back(), /*add_special_tokens=*/false);
      prompts.emplace_back(ids.begin(), ids.end());
    }
    auto model = model::load_pretrained(a.model, torch::kCPU, model::dtype_from_name(a.dtype));
    a.sp.stop_token_ids = rollout::default_stop_token_ids(a.model, model->config().eos_token_ids, tok.eos_token_id());
    rollout::RolloutEngine engine(model, &tok, a.ro);
    const auto t0 = std::chrono::steady_clock::now();
    double last_print = -1;
    auto progress = [&](size_t done, size_t total, int64_t tokens) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s - last_print < 1.0 && done < total) return;
      last_print = s;
      std::fprintf(stderr, "\r[generate] %zu/%zu completions, %lld tokens, %.1f tok/s   ", done, total,
                   static_cast<long long>(tokens), s > 0 ? tokens / s : 0.0);
      std::fflush(stderr);
    };
    auto completions = engine.generate(prompts, a.sp, progress);
    std::fprintf(stderr, "\n");
    std::unique_ptr<JsonlWriter> writer;
    if (!a.out.empty()) writer = std::make_unique<JsonlWriter>(a.out, false);
    for (const auto& c : completions) {
      nlohmann::json line = {{"prompt_index", c.prompt_index}, {"sample_index", c.sample_index},
                             {"prompt", rendered[c.prompt_index]}, {"text", c.text}, {"ids", c.ids},
                             {"logprobs", c.logprobs}, {"finish_reason", rollout::finish_name(c.finish)}};
      if (writer) writer->write(line);
      else std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    const auto& st = engine.last_stats();
    std::fprintf(stderr, "[generate] %zu completions, %lld prompt + %lld generated tokens; prefill %.2f s, decode "
                 "%.2f s, sampling %.2f s\n", completions.size(), static_cast<long long>(st.prompt_tokens),
                 static_cast<long long>(st.generated_tokens), st.prefill_seconds, st.decode_seconds, st.sample_seconds);
  });
}

}  // namespace r1kit::cli
