// `r1kit reward --config FILE --data completions.jsonl [--out scores.jsonl]`: scores completions with the
// configured reward set and prints per-rewarder scores and a summary. It is also how users test their own rules.
//
// FILE: JSON (comments allowed) with a "rewards" list (see configs/README.md); other top-level keys are ignored,
// so a full GRPO config works. Each data line: {"prompt": str (default ""), "completion": str (required),
// "truncated": bool, "completion_tokens": int, "record": {...}} — without "record", the whole line is the record.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "rewards/reward_set.h"

namespace r1kit::cli {
namespace {

struct RewardArgs {
  std::string config, data, out;
  std::vector<std::string> set;
  int workers = 0;
  double time_limit = rewards::RewardSetOptions{}.sample_time_limit_s;
  bool quiet = false;
};

nlohmann::json score_json(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }

void run_reward(const RewardArgs& a) {
  nlohmann::json cfg = load_json_file(a.config);
  apply_overrides(cfg, a.set);
  if (!cfg.is_object() || !cfg.contains("rewards"))
    throw ConfigError(a.config + ": $.rewards is required: a list like [{\"type\": \"math_accuracy\", \"weight\": 1}]");
  if (a.workers < 0) throw InvalidArgument("--workers must be >= 0 (0 = all cores)");
  rewards::RewardSet set =
      rewards::RewardSet::from_json(cfg["rewards"], "$.rewards", a.config, {a.workers, a.time_limit});

  // Read every line first (records must outlive the Samples that reference them).
  std::vector<nlohmann::json> lines;
  std::vector<size_t> line_numbers;
  JsonlReader reader(a.data);
  nlohmann::json obj;
  while (reader.next(obj)) {
    if (!obj.contains("completion") || !obj["completion"].is_string())
      throw DataError(format_record_error(a.data, reader.record_number(),
                                          "missing string field \"completion\" — each line needs "
                                          "{\"prompt\": ..., \"completion\": ..., plus the record fields}"));
    if (obj.contains("prompt") && !obj["prompt"].is_string())
      throw DataError(format_record_error(a.data, reader.record_number(), "\"prompt\" must be a string"));
    if (obj.contains("record") && !obj["record"].is_object())
      throw DataError(format_record_error(a.data, reader.record_number(), "\"record\" must be an object"));
    lines.push_back(std::move(obj));
    line_numbers.push_back(reader.record_number());
  }
  std::vector<std::string> prompts(lines.size()), completions(lines.size());
  std::vector<rewards::Sample> samples;
  samples.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json& l = lines[i];
    prompts[i] = l.value("prompt", std::string());
    completions[i] = l["completion"].get<std::string>();
    const nlohmann::json& record = l.contains("record") ? l["record"] : l;
    bool truncated = l.contains("truncated") && l["truncated"].is_boolean() && l["truncated"].get<bool>();
    int64_t tokens = l.contains("completion_tokens") && l["completion_tokens"].is_number_integer()
                         ? l["completion_tokens"].get<int64_t>()
                         : 0;
    samples.push_back(rewards::Sample{prompts[i], completions[i], record, truncated, tokens});
  }
  rewards::BatchScores b = set.score_batch(samples);
  const size_t K = set.size(), N = samples.size();

  std::unique_ptr<JsonlWriter> out;
  if (!a.out.empty()) out = std::make_unique<JsonlWriter>(a.out, false);
  for (size_t i = 0; i < N; ++i) {
    if (out) {
      nlohmann::json row{{"line", line_numbers[i]}, {"total", score_json(b.totals[i])}};
      for (size_t k = 0; k < K; ++k) row["scores"][b.names[k]] = score_json(b.per_rewarder[k][i]);
      out->write(row);
    }
    if (!a.quiet) {
      std::printf("%s:%zu", a.data.c_str(), line_numbers[i]);
      for (size_t k = 0; k < K; ++k) std::printf("  %s=%.4g", b.names[k].c_str(), b.per_rewarder[k][i]);
      std::printf("  total=%.4g\n", b.totals[i]);
    }
  }
  // Summary table.
  std::printf("\n%-24s %8s %10s %9s %6s %9s %7s %10s\n", "rewarder", "weight", "mean", "nonzero", "NaN", "timeouts",
              "errors", "time");
  auto row = [&](const std::string& name, double weight, const std::vector<double>& v, size_t timeouts,
                 size_t errors, double secs) {
    double sum = 0;
    size_t n = 0, nonzero = 0, nan = 0;
    for (double x : v) {
      if (std::isnan(x)) {
        ++nan;
        continue;
      }
      sum += x;
      ++n;
      nonzero += x != 0;
    }
    double mean = n ? sum / n : std::nan("");
    double frac = n ? static_cast<double>(nonzero) / n : std::nan("");
    std::printf("%-24s %8s %10.4f %9.3f %6zu %9zu %7zu %9.3fs\n", name.c_str(),
                std::isnan(weight) ? "" : std::to_string(weight).substr(0, 6).c_str(), mean, frac, nan, timeouts,
                errors, secs);
  };
  double total_secs = 0;
  for (size_t k = 0; k < K; ++k) {
    row(b.names[k], b.weights[k], b.per_rewarder[k], b.timeouts[k], b.errors[k], b.seconds[k]);
    total_secs += b.seconds[k];
  }
  row("total (weighted)", std::nan(""), b.totals, 0, 0, total_secs);
  std::printf("%zu samples, %zu rewarders%s\n", N, K, out ? (", scores written to " + a.out).c_str() : "");
}

}  // namespace

void register_reward(CLI::App& app) {
  auto args = std::make_shared<RewardArgs>();
  auto* cmd = app.add_subcommand("reward", "Score completions (JSONL) with a reward set and print a summary");
  cmd->add_option("--config", args->config, "JSON config with a \"rewards\" list")->required();
  cmd->add_option("--data", args->data, "JSONL: prompt, completion, [truncated, completion_tokens], record fields")
      ->required();
  cmd->add_option("--out", args->out, "write per-line scores as JSONL here");
  cmd->add_option("--set", args->set, "override a config value: --set rewards.0.weight=2 (repeatable)");
  cmd->add_option("--workers", args->workers, "scoring threads (0 = all cores)");
  cmd->add_option("--time-limit", args->time_limit, "wall-clock limit per rewarder call, seconds");
  cmd->add_flag("--quiet", args->quiet, "print only the summary table");
  cmd->callback([args] { run_reward(*args); });
}

}  // namespace r1kit::cli
