// `r1kit grpo --config FILE [--set key=value ...] [--resume RUN_DIR]`: GRPO training (rl/grpo_trainer.h).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "cli/run_config.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "rl/grpo_trainer.h"

namespace r1kit::cli {
namespace {

bool is_summary_key(const std::string& k) {
  if (k == "reward" || k == "completions/mean_length" || k == "completions/clipped_ratio") return true;
  if (k.rfind("rewards/", 0) == 0 && k.size() > 5 && k.compare(k.size() - 5, 5, "/mean") == 0) return true;
  return false;
}

bool is_eval_summary_key(const std::string& k) {
  if (k.rfind("eval/", 0) != 0) return false;
  for (const char* end : {"/pass@1", "/format_rate", "/mean_length", "/reward"})
    if (k.size() > std::strlen(end) && k.compare(k.size() - std::strlen(end), std::strlen(end), end) == 0) return true;
  return k.rfind("eval/rewards/", 0) == 0;
}

/// Prints what a user checks first: rewards (total and per rewarder) and length averaged over the first and the
/// last few steps (single steps are noisy), then the evaluation before and after.
void print_run_summary(const rl::RunSummary& summary) {
  std::vector<nlohmann::json> steps;
  const auto metrics_path = summary.run_dir / "metrics.jsonl";
  if (std::filesystem::exists(metrics_path))
    for (auto& m : read_jsonl(metrics_path))
      if (m.contains("reward")) steps.push_back(std::move(m));
  std::printf("\nrun directory: %s (metrics.jsonl, samples/, checkpoints/)\n", summary.run_dir.c_str());
  if (!steps.empty()) {
    const size_t k = std::max<size_t>(1, std::min<size_t>(3, steps.size() / 2));
    auto mean_over = [&](size_t from, const std::string& key, double* out) {
      double sum = 0;
      size_t n = 0;
      for (size_t i = from; i < from + k; ++i)
        if (steps[i].contains(key) && steps[i][key].is_number()) sum += steps[i][key].get<double>(), ++n;
      if (n) *out = sum / static_cast<double>(n);
      return n > 0;
    };
    std::printf("%-22s %12s %12s\n", "training (mean of", ("first " + std::to_string(k)).c_str(),
                ("last " + std::to_string(k) + ")").c_str());
    for (const auto& [key, v] : steps.front().items()) {
      if (!is_summary_key(key)) continue;
      double a = 0, b = 0;
      if (mean_over(0, key, &a) && mean_over(steps.size() - k, key, &b))
        std::printf("  %-34s %10.4f -> %10.4f\n", key.c_str(), a, b);
    }
  }
  if (!summary.eval_before.empty() || !summary.eval_after.empty()) {
    std::printf("%-36s %12s %12s\n", "evaluation", "before", "after");
    const auto& keys = summary.eval_after.empty() ? summary.eval_before : summary.eval_after;
    for (const auto& [key, v] : keys.items()) {
      if (!is_eval_summary_key(key)) continue;
      auto show = [&](const nlohmann::json& m) {
        return m.contains(key) && m[key].is_number() ? std::to_string(m[key].get<double>()).substr(0, 8) : "-";
      };
      std::printf("  %-34s %12s %12s\n", key.c_str(), show(summary.eval_before).c_str(),
                  show(summary.eval_after).c_str());
    }
  }
}

}  // namespace

void register_grpo(CLI::App& app) {
  auto* cmd = app.add_subcommand("grpo", "GRPO reinforcement learning (TRL GRPOConfig names; see configs/README.md)");
  static RunOptions opts;
  add_run_options(cmd, opts, "--set learning_rate=1e-6");
  cmd->callback([] {
    auto run = load_run_config(opts, "grpo");
    rl::GRPOTrainer trainer(rl::GRPOConfig::from_json(run.config, run.source));
    auto summary = trainer.train(run.resume);
    print_run_summary(summary);
  });
}

}  // namespace r1kit::cli
