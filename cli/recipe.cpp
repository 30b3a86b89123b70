// `r1kit recipe --config FILE --out DIR [--set key=value ...]`: the whole R1 recipe in one command, in-process —
// random initialisation of a model from a config → synthetic arithmetic data with chain-of-thought → evaluation →
// cold-start SFT (sft/sft_trainer.h) → evaluation → GRPO from the SFT checkpoint (rl/grpo_trainer.h) →
// evaluation → summary (accuracy at random init / after SFT / after GRPO). configs/demo/tiny_v3.json runs it on a
// tiny DeepSeek-V3 (MLA + MoE) in a few CPU minutes; every key is in configs/README.md ("r1kit recipe").
//
// OUT/ holds recipe.json (the resolved recipe), stages.json (finished stages and their results), init/ (the
// random model), data/{train,eval}.jsonl, sft/ and grpo/ (ordinary run directories), eval/{init,sft,grpo}/
// (problems.jsonl, summary.json) and summary.json. Running the same recipe into the same OUT again skips the
// finished stages and resumes an interrupted SFT or GRPO run from its newest checkpoint; a different recipe is
// refused (ConfigError naming the first differing key).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "cli/commands.h"
#include "cli/init_model.h"
#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "eval/evaluator.h"
#include "model/causal_lm.h"
#include "rl/grpo_trainer.h"
#include "rollout/stop.h"
#include "sft/arithmetic.h"
#include "sft/sft_trainer.h"

namespace r1kit::cli {
namespace fs = std::filesystem;
namespace {

struct Recipe {
  nlohmann::json resolved;  // the recipe after --set, as written to OUT/recipe.json
  std::string source;
  uint64_t seed = 0;
  int64_t num_threads = 1;
  std::string tokenizer_dir;
  nlohmann::json model;  // HF config.json fields
  sft::ArithmeticOptions train_data, eval_data;
  int64_t eval_max_new_tokens = 64, eval_max_batch_rows = 64;
  nlohmann::json sft, grpo;  // the stage sections, paths still unset
};

/// Section `name`'s own keys must not include the ones the recipe sets; the section's errors carry its JSON path.
void forbid_keys(const nlohmann::json& section, const std::string& name, const std::string& source,
                 const std::vector<std::pair<std::string, std::string>>& keys) {
  for (const auto& [parent, key] : keys) {
    const nlohmann::json* obj = parent.empty() ? &section : (section.contains(parent) ? &section[parent] : nullptr);
    if (obj && obj->is_object() && obj->contains(key))
      throw ConfigError(source + ": $." + name + "." + (parent.empty() ? "" : parent + ".") + key +
                        " is set by the recipe (from --out and the earlier stages); remove it");
  }
}

/// Runs `fn` (a stage config parser) and rewrites "$." in its ConfigError to "$.<section>." so the message names
/// the key's path in the recipe file.
template <class Fn>
auto with_section_path(const std::string& section, Fn&& fn) {
  try {
    return fn();
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    for (size_t pos = 0; (pos = msg.find("$.", pos)) != std::string::npos; pos += section.size() + 3)
      msg.replace(pos, 2, "$." + section + ".");
    throw ConfigError(msg);
  }
}

Recipe read_recipe(const nlohmann::json& j, const std::string& source) {
  ConfigReader r(j, "$", source);
  Recipe c;
  c.resolved = j;
  c.source = source;
  c.seed = r.get<uint64_t>("seed", 0);
  c.num_threads = r.get<int64_t>("num_threads", 1);
  if (c.num_threads < 0) r.fail("num_threads", "must be >= 0 (0 = LibTorch's default)");
  c.tokenizer_dir = r.require<std::string>("tokenizer", "a tokenizer directory, e.g. configs/demo/tiny_v3_tokenizer");
  c.model = r.raw("model");
  if (!c.model.is_object())
    throw ConfigError(source + ": $.model is required: the model's Hugging Face config.json fields (an object)");
  auto d = r.child("data");
  d.get_choice("task", "addition", {"addition"});
  const int operands = d.get<int>("operands", 2), digits = d.get<int>("digits", 2);
  const uint64_t data_seed = d.get<uint64_t>("seed", 0);
  c.eval_data = {d.get<int64_t>("eval_size", 200), data_seed, operands, digits};
  c.train_data = {d.get<int64_t>("train_size", 2000), data_seed + 1, operands, digits};
  if (c.eval_data.n < 1) d.fail("eval_size", "must be >= 1");
  if (c.train_data.n < 1) d.fail("train_size", "must be >= 1");
  auto e = r.child("eval");
  c.eval_max_new_tokens = e.get<int64_t>("max_new_tokens", 64);
  c.eval_max_batch_rows = e.get<int64_t>("max_batch_rows", 64);
  if (c.eval_max_new_tokens < 1) e.fail("max_new_tokens", "must be >= 1");
  c.sft = r.raw("sft");
  c.grpo = r.raw("grpo");
  if (!c.sft.is_object()) throw ConfigError(source + ": $.sft is required: the SFT stage's SFTConfig keys (an object)");
  if (!c.grpo.is_object()) throw ConfigError(source + ": $.grpo is required: the GRPO stage's GRPOConfig keys (an object)");
  r.finish();
  forbid_keys(c.sft, "sft", source, {{"model", "path"}, {"data", "train_file"}, {"", "output_dir"}});
  forbid_keys(c.grpo, "grpo", source, {{"model", "path"}, {"data", "path"}, {"", "output_dir"}});
  return c;
}

sft::SFTConfig sft_config(const Recipe& c, const fs::path& out) {
  nlohmann::json j = c.sft;
  j["model"]["path"] = (out / "init").string();
  j["data"]["train_file"] = (out / "data" / "train.jsonl").string();
  j["output_dir"] = (out / "sft").string();
  if (!j.contains("seed")) j["seed"] = c.seed;
  return with_section_path("sft", [&] { return sft::SFTConfig::from_json(j, c.source); });
}

rl::GRPOConfig grpo_config(const Recipe& c, const fs::path& out, const fs::path& sft_checkpoint) {
  nlohmann::json j = c.grpo;
  j["model"]["path"] = sft_checkpoint.string();
  j["data"]["path"] = (out / "data" / "train.jsonl").string();
  j["output_dir"] = (out / "grpo").string();
  if (!j.contains("seed")) j["seed"] = c.seed;
  if (j.contains("eval") && j["eval"].is_object() && !j["eval"].contains("path")) {
    j["eval"]["path"] = (out / "data" / "eval.jsonl").string();  // the recipe's held-out set, tracked every eval_steps
    if (!j["eval"].contains("name")) j["eval"]["name"] = "arithmetic";
  }
  return with_section_path("grpo", [&] { return rl::GRPOConfig::from_json(j, c.source); });
}

/// Greedy pass@1 of the model in `model_dir` on the held-out set, with the GRPO stage's rewarders and template.
nlohmann::json evaluate_model(const Recipe& c, const rl::GRPOConfig& g, const fs::path& model_dir,
                              const fs::path& eval_file, const fs::path& out_dir) {
  auto task = eval::load_task(eval_file, g.data.question_field, 0, "arithmetic");
  auto rewards = rewards::RewardSet::from_json(g.rewards, "$.grpo.rewards", c.source);
  auto tok = tokenizer::Tokenizer::from_dir(model_dir);
  auto model = model::load_pretrained(model_dir, torch::kCPU, torch::kFloat32);
  model->eval();
  rollout::RolloutOptions ro;
  ro.max_batch_rows = c.eval_max_batch_rows;
  rollout::RolloutEngine engine(model, &tok, ro);
  eval::EvalOptions opt;
  opt.prompt_template = g.data.prompt_template;
  opt.sampling.n = 1;
  opt.sampling.temperature = 0.0;
  opt.sampling.max_new_tokens = static_cast<int>(c.eval_max_new_tokens);
  opt.sampling.seed = c.seed;
  opt.sampling.stop_token_ids = rollout::default_stop_token_ids(model_dir, model->config().eos_token_ids, tok.eos_token_id());
  opt.max_prompt_length = g.max_prompt_length;
  std::optional<tokenizer::ChatTemplate> chat;
  if (opt.prompt_template == "chat")
    chat = tokenizer::ChatTemplate::from_tokenizer_config(tok.config(), (model_dir / "tokenizer_config.json").string());
  auto result = eval::evaluate(engine, tok, chat ? &*chat : nullptr, rewards, task, opt);
  fs::create_directories(out_dir);
  result.write_problems(out_dir / "problems.jsonl", task);
  auto summary = result.summary.to_json();
  summary["model"] = model_dir.string();
  write_json_atomic(out_dir / "summary.json", summary);
  return summary;
}

/// A metric of an evaluation summary (EvalSummary::to_json()["metrics"]), NaN when absent.
double eval_metric(const nlohmann::json& eval_summary, const char* key) {
  if (!eval_summary.contains("metrics")) return std::nan("");
  const auto& m = eval_summary["metrics"];
  return m.contains(key) && m[key].is_number() ? m[key].get<double>() : std::nan("");
}

void run_recipe(const Recipe& c, const fs::path& out) {
  if (c.num_threads > 0) at::set_num_threads(static_cast<int>(c.num_threads));
  // Both stage configs are parsed first, so that a mistake in either stops the recipe before any work.
  sft_config(c, out);
  grpo_config(c, out, out / "init");
  // A rerun into the same directory continues the same recipe; a different one is refused.
  fs::create_directories(out);
  const fs::path recipe_file = out / "recipe.json", stages_file = out / "stages.json";
  if (fs::exists(recipe_file)) {
    const auto before = load_json_file(recipe_file);
    if (before != c.resolved) {
      const auto diff = nlohmann::json::diff(before, c.resolved);
      const std::string where = diff.empty() ? "" : diff[0].value("path", "");
      throw ConfigError(out.string() + " holds a recipe run with other settings (first difference at " + where +
                        "); use a new --out, or delete " + out.string() + " to start again");
    }
  } else {
    write_json_atomic(recipe_file, c.resolved);
  }
  nlohmann::json stages = fs::exists(stages_file) ? load_json_file(stages_file) : nlohmann::json::object();
  auto stage = [&](const std::string& name, const std::function<nlohmann::json()>& fn) -> nlohmann::json {
    if (stages.contains(name)) {
      std::printf("[recipe] %-10s done earlier, skipped\n", name.c_str());
      return stages[name];
    }
    std::printf("[recipe] %-10s ...\n", name.c_str());
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    auto result = fn();
    result["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stages[name] = result;
    write_json_atomic(stages_file, stages);
    std::printf("[recipe] %-10s %.1f s\n", name.c_str(), result["seconds"].get<double>());
    return result;
  };

  // 1. random initialisation
  stage("init", [&] {
    auto r = init_random_model(c.model, c.tokenizer_dir, c.seed, out / "init", c.source + " $.model");
    std::printf("[recipe] %s, %lld parameters, vocabulary %s\n", r.config.value("model_type", std::string("?")).c_str(),
                static_cast<long long>(r.parameters), r.config["vocab_size"].dump().c_str());
    return nlohmann::json{{"model", (out / "init").string()}, {"parameters", r.parameters}};
  });
  // 2. data: the held-out set first, then training problems that avoid it
  stage("data", [&] {
    const auto eval_file = out / "data" / "eval.jsonl", train_file = out / "data" / "train.jsonl";
    const auto n_eval = sft::write_arithmetic(c.eval_data, eval_file);
    const auto n_train = sft::write_arithmetic(c.train_data, train_file, sft::read_prompts(eval_file));
    return nlohmann::json{{"train", train_file.string()}, {"train_size", n_train}, {"eval", eval_file.string()},
                          {"eval_size", n_eval}};
  });
  const auto eval_file = out / "data" / "eval.jsonl";
  // The GRPO stage's rewarders and template are also the evaluations'.
  const auto probe = grpo_config(c, out, out / "init");
  stage("eval_init", [&] { return evaluate_model(c, probe, out / "init", eval_file, out / "eval" / "init"); });
  // 3. cold-start SFT
  auto sft_result = stage("sft", [&] {
    sft::SFTTrainer trainer(sft_config(c, out));
    const auto run_dir = out / "sft";
    const bool started = fs::exists(run_dir / "checkpoints") || fs::exists(run_dir / "metrics.jsonl");
    auto s = trainer.train(started ? std::optional<fs::path>(run_dir) : std::nullopt);
    auto num = [](const nlohmann::json& m, const char* k) {
      return m.is_object() && m.contains(k) && m[k].is_number() ? m[k].get<double>() : std::nan("");
    };
    nlohmann::json r = {{"checkpoint", s.final_checkpoint.string()}, {"steps", s.steps},
                        {"loss_first", num(s.first_metrics, "loss")}, {"loss_last", num(s.last_metrics, "loss")}};
    for (auto& [k, v] : r.items())
      if (v.is_number_float() && !std::isfinite(v.get<double>())) v = nullptr;
    return r;
  });
  const fs::path sft_ckpt = sft_result.at("checkpoint").get<std::string>();
  stage("eval_sft", [&] { return evaluate_model(c, probe, sft_ckpt, eval_file, out / "eval" / "sft"); });
  // 4. GRPO from the SFT checkpoint
  const auto gcfg = grpo_config(c, out, sft_ckpt);
  auto grpo_result = stage("grpo", [&] {
    rl::GRPOTrainer trainer(gcfg);
    const auto run_dir = out / "grpo";
    const bool started = fs::exists(run_dir / "checkpoints") || fs::exists(run_dir / "metrics.jsonl");
    auto s = trainer.train(started ? std::optional<fs::path>(run_dir) : std::nullopt);
    const auto ckpt = run_dir / "checkpoints" / ("step_" + std::to_string(s.steps));
    if (!fs::exists(ckpt / "config.json"))
      throw CheckpointError("GRPO ended without its final checkpoint " + ckpt.string() + "; rerun the recipe to resume");
    return nlohmann::json{{"checkpoint", ckpt.string()}, {"steps", s.steps}, {"first_metrics", s.first_metrics},
                          {"last_metrics", s.last_metrics}};
  });
  const fs::path grpo_ckpt = grpo_result.at("checkpoint").get<std::string>();
  stage("eval_grpo", [&] { return evaluate_model(c, probe, grpo_ckpt, eval_file, out / "eval" / "grpo"); });

  // 5. summary
  nlohmann::json summary = {{"recipe", c.source}, {"seed", c.seed}, {"eval_problems", c.eval_data.n}};
  double total_seconds = 0;
  for (const auto& [name, v] : stages.items()) {
    summary["seconds"][name] = v.value("seconds", 0.0);
    total_seconds += v.value("seconds", 0.0);
  }
  summary["seconds"]["total"] = total_seconds;
  std::printf("\n%-16s %10s %12s %12s %10s\n", "model", "pass@1", "format_rate", "mean_length", "correct");
  for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
           {"init", "random init"}, {"sft", "after SFT"}, {"grpo", "after GRPO"}}) {
    const auto& e = stages["eval_" + key];
    const double acc = eval_metric(e, "pass@1"), fmt = eval_metric(e, "format_rate"),
                 len = eval_metric(e, "mean_length");
    if (std::isnan(acc)) throw Error("evaluation of stage " + key + " has no pass@1: " + e.dump());
    summary["accuracy"][key] = acc;
    summary["format_rate"][key] = fmt;
    summary["mean_length"][key] = len;
    std::printf("%-16s %10.3f %12.3f %12.1f %6lld/%lld\n", label.c_str(), acc, fmt, len, static_cast<long long>(std::llround(acc * static_cast<double>(c.eval_data.n))),
                static_cast<long long>(c.eval_data.n));
  }
  summary["gain_grpo_over_sft"] = summary["accuracy"]["grpo"].get<double>() - summary["accuracy"]["sft"].get<double>();
  summary["checkpoints"] = {{"init", (out / "init").string()}, {"sft", sft_ckpt.string()}, {"grpo", grpo_ckpt.string()}};
  write_json_atomic(out / "summary.json", summary);
  std::printf("GRPO - SFT: %+.3f pass@1 on %lld held-out problems (greedy); %.0f s in all; %s\n",
              summary["gain_grpo_over_sft"].get<double>(), static_cast<long long>(c.eval_data.n), total_seconds,
              (out / "summary.json").c_str());
}

}  // namespace

void register_recipe(CLI::App& app) {
  auto* cmd = app.add_subcommand("recipe", "The whole R1 recipe in one run: random init -> synthetic CoT data -> "
                                           "cold-start SFT -> GRPO, with evaluations (configs/demo/tiny_v3.json)");
  static std::string config_path, out;
  static std::vector<std::string> overrides;
  cmd->add_option("--config", config_path, "recipe JSON (comments allowed), e.g. configs/demo/tiny_v3.json")->required();
  cmd->add_option("--out", out, "output directory; rerunning the same recipe into it skips finished stages")->required();
  cmd->add_option("--set", overrides, "override a recipe key, e.g. --set seed=2 --set grpo.max_steps=20");
  cmd->callback([] {
    auto j = load_json_file(config_path);
    apply_overrides(j, overrides);
    run_recipe(read_recipe(j, config_path), out);
  });
}

}  // namespace r1kit::cli
