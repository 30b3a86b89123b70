// `r1kit eval`: sample K completions per problem of a data set and report pass@k, maj@k, response length and
// format rate (eval/evaluator.h).
//
//   r1kit eval --model DIR (--data FILE.jsonl [--field question] | --preset NAME [--data-dir DIR])
//              [--rewards CONFIG.json] [--template r1_zero] [--n K] [--temperature T] [--top-p P]
//              [--max-new-tokens N] [--limit M] [--seed S] [--accuracy-reward NAME] [--out DIR]
//
// --rewards reads a JSON array of rewarders, or any config with a "rewards" array (a GRPO config works); presets
// bring their own (math_accuracy + format, or code_execution + format). --out writes problems.jsonl (one line per
// problem with its samples) and summary.json.
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "cli/rollout_flags.h"
#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "eval/evaluator.h"
#include "eval/presets.h"
#include "model/causal_lm.h"
#include "rollout/stop.h"

namespace r1kit::cli {

namespace {
struct EvalArgs {
  std::string model, data, field = "question", preset, data_dir, rewards, templ = "r1_zero", out, dtype = "float32";
  std::string accuracy_reward;
  int64_t limit = 0, max_prompt_length = 0;
  rollout::SamplingParams sp;
  rollout::RolloutOptions ro;
};
}  // namespace

void register_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a model: pass@k, maj@k, response length, format rate");
  static EvalArgs a;
  a.sp.n = 1;
  a.sp.temperature = 0.0;
  a.sp.max_new_tokens = 512;
  cmd->add_option("--model", a.model, "Hugging Face model directory")->required();
  auto* d = cmd->add_option("--data", a.data, "JSONL data set");
  auto* p = cmd->add_option("--preset", a.preset, "Shared data set: gsm8k | math500 | aime24 | amc23 | humaneval | mbpp");
  d->excludes(p);
  cmd->add_option("--field", a.field, "Record field holding the question (--data)")->capture_default_str();
  cmd->add_option("--data-dir", a.data_dir, "Shared data directory for presets (default $R1KIT_DATA_DIR or ../shared/data)");
  cmd->add_option("--rewards", a.rewards, "JSON with the rewarders: an array, or an object with a \"rewards\" array");
  cmd->add_option("--template", a.templ, "Prompt template: r1_zero | r1_zero_think | qwen_math | none | chat")
      ->capture_default_str();
  cmd->add_option("--n", a.sp.n, "Samples per problem (K)")->capture_default_str();
  cmd->add_option("--temperature", a.sp.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-p", a.sp.top_p, "Nucleus sampling mass")->capture_default_str();
  cmd->add_option("--max-new-tokens", a.sp.max_new_tokens, "Completion length limit in tokens")->capture_default_str();
  cmd->add_option("--max-prompt-length", a.max_prompt_length, "Keep the last N prompt tokens (0 = all)");
  cmd->add_option("--limit", a.limit, "Evaluate only the first M problems (0 = all)");
  cmd->add_option("--seed", a.sp.seed, "Random seed")->capture_default_str();
  cmd->add_option("--accuracy-reward", a.accuracy_reward,
                  "Rewarder deciding correctness (default: the first math_accuracy / code_execution / countdown)");
  cmd->add_option("--out", a.out, "Output directory: problems.jsonl and summary.json");
  add_rollout_flags(cmd, a.ro);
  cmd->add_option("--dtype", a.dtype, "Model dtype: float32 | bfloat16 | float16")->capture_default_str();
  cmd->callback([] {
    if (a.data.empty() && a.preset.empty()) throw ConfigError("eval: give --data FILE.jsonl or --preset NAME");
    if (!a.sp.greedy() && a.sp.n == 1)
      std::fprintf(stderr, "[eval] note: sampling (temperature %g) with --n 1; pass@1 then has the variance of one "
                   "sample per problem\n", a.sp.temperature);
    eval::EvalTask task;
    nlohmann::json rewards_json;
    std::string rewards_source = "preset";
    if (!a.preset.empty()) {
      const auto& preset = eval::find_preset(a.preset);
      task = eval::load_preset(preset, a.data_dir.empty() ? eval::default_data_dir() : std::filesystem::path(a.data_dir), a.limit);
      rewards_json = preset.rewards;
    } else {
      task = eval::load_task(a.data, a.field, a.limit);
    }
    std::string json_path = "$.rewards";
    if (!a.rewards.empty()) {
      rewards_source = a.rewards;
      auto j = load_json_file(a.rewards);
      if (j.is_array()) {
        rewards_json = j;
        json_path = "$";
      } else if (j.is_object() && j.contains("rewards")) {
        rewards_json = j["rewards"];
      } else {
        throw ConfigError(a.rewards + ": expected an array of rewarders or an object with a \"rewards\" array");
      }
    }
    if (rewards_json.is_null())
      throw ConfigError("eval: --data needs --rewards CONFIG.json (e.g. [{\"type\": \"math_accuracy\"}, {\"type\": "
                        "\"format\", \"weight\": 0}]); presets bring their own");
    auto rewards = rewards::RewardSet::from_json(rewards_json, json_path, rewards_source);

    auto tok = tokenizer::Tokenizer::from_dir(a.model);
    std::optional<tokenizer::ChatTemplate> chat;
    if (a.templ == "chat")
      chat = tokenizer::ChatTemplate::from_tokenizer_config(tok.config(), a.model + "/tokenizer_config.json");
    auto model = model::load_pretrained(a.model, torch::kCPU, model::dtype_from_name(a.dtype));
    model->eval();
    rollout::RolloutEngine engine(model, &tok, a.ro);
    eval::EvalOptions opt;
    opt.prompt_template = a.templ;
    opt.sampling = a.sp;
    opt.sampling.stop_token_ids = rollout::default_stop_token_ids(a.model, model->config().eos_token_ids, tok.eos_token_id());
    opt.max_prompt_length = a.max_prompt_length;
    opt.accuracy_reward = a.accuracy_reward;
    std::fprintf(stderr, "[eval] %s: %zu problems x %d samples, template %s, temperature %g, max %d new tokens\n",
                 task.name.c_str(), task.records.size(), opt.sampling.n, a.templ.c_str(), opt.sampling.temperature,
                 opt.sampling.max_new_tokens);
    const auto t0 = std::chrono::steady_clock::now();
    double last_print = -1;
    auto progress = [&](size_t done, size_t total, int64_t tokens) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (s - last_print < 1.0 && done < total) return;
      last_print = s;
      std::fprintf(stderr, "\r[eval] %zu/%zu completions, %lld tokens, %.1f tok/s   ", done, total,
                   static_cast<long long>(tokens), s > 0 ? tokens / s : 0.0);
      std::fflush(stderr);
    };
    auto result = eval::evaluate(engine, tok, chat ? &*chat : nullptr, rewards, task, opt, progress);
    std::fprintf(stderr, "\n");
    std::printf("%s", eval::format_summary_table({result.summary}).c_str());
    std::printf("accuracy reward: %s; %.1f s\n", result.summary.accuracy_reward.c_str(), result.summary.seconds);
    if (!a.out.empty()) {
      const std::filesystem::path out = a.out;
      std::filesystem::create_directories(out);
      result.write_problems(out / "problems.jsonl", task);
      auto summary = result.summary.to_json();
      summary["model"] = a.model;
      summary["rewards"] = rewards_json;
      summary["max_new_tokens"] = opt.sampling.max_new_tokens;
      summary["top_p"] = opt.sampling.top_p;
      summary["seed"] = opt.sampling.seed;
      summary["reward_means"] = result.summary.to_json()["rewards"];
      write_json_atomic(out / "summary.json", summary);
      std::printf("wrote %s and %s\n", (out / "problems.jsonl").c_str(), (out / "summary.json").c_str());
    }
  });
}

}  // namespace r1kit::cli
