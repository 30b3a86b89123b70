// `r1kit grpo --config FILE [--set key=value ...] [--resume RUN_DIR]`: GRPO training (rl/grpo_trainer.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "cli/run_config.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "eval/run_report.h"
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

/// Mean and sample standard deviation (n - 1) of `key` over steps[from, from + k); false when a step lacks it.
bool mean_std(const std::vector<nlohmann::json>& steps, size_t from, size_t k, const std::string& key, double* mean,
              double* sd) {
  std::vector<double> v;
  for (size_t i = from; i < from + k && i < steps.size(); ++i) {
    if (!steps[i].contains(key) || !steps[i][key].is_number()) return false;
    v.push_back(steps[i][key].get<double>());
  }
  if (v.empty()) return false;
  double sum = 0;
  for (double x : v) sum += x;
  *mean = sum / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - *mean) * (x - *mean);
  *sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : std::nan("");
  return true;
}

/// Prints what a user checks first: rewards (total and per rewarder) and length averaged over the first and the
/// last k = min(5, steps / 2) steps, with the step-to-step noise — the sample std of the per-step values over the
/// first k steps — and the change in units of it (a change of several σ is learning, not noise); then the
/// evaluation before and after. Draws the run's curves (report/plots/*.svg, eval/run_report.h).
void print_run_summary(const rl::RunSummary& summary) {
  std::vector<nlohmann::json> steps;
  const auto metrics_path = summary.run_dir / "metrics.jsonl";
  if (std::filesystem::exists(metrics_path))
    for (auto& m : read_jsonl(metrics_path))
      if (m.contains("reward")) steps.push_back(std::move(m));
  std::printf("\nrun directory: %s (metrics.jsonl, samples/, checkpoints/, report/)\n", summary.run_dir.c_str());
  if (!steps.empty()) {
    const size_t k = std::max<size_t>(1, std::min<size_t>(5, steps.size() / 2));
    std::printf("training: mean of the first %zu and the last %zu of %zu steps; noise = std of the first %zu steps\n", k,
                k, steps.size(), k);
    std::printf("  %-34s %10s    %10s %10s %10s %8s\n", "", "first", "last", "change", "noise", "change/noise");
    for (const auto& [key, v] : steps.front().items()) {
      if (!is_summary_key(key)) continue;
      double a = 0, sa = 0, b = 0, sb = 0;
      if (!mean_std(steps, 0, k, key, &a, &sa) || !mean_std(steps, steps.size() - k, k, key, &b, &sb)) continue;
      char ratio[32] = "-";
      if (std::isfinite(sa) && sa > 0) std::snprintf(ratio, sizeof ratio, "%+.1f", (b - a) / sa);
      std::printf("  %-34s %10.4f -> %10.4f %+10.4f %10.4f %8s\n", key.c_str(), a, b, b - a, std::isfinite(sa) ? sa : 0.0,
                  ratio);
    }
  }
  if (steps.size() >= 2) {
    try {
      const auto report_dir = summary.run_dir / "report";
      eval::ReportOptions ro;
      ro.title = "GRPO run " + summary.run_dir.filename().string();
      ro.command = "r1kit grpo (end of run)";
      const auto files = eval::write_report({eval::load_run(summary.run_dir)}, report_dir, ro);
      if (files.plotted)
        std::printf("curves: %s (reward, accuracy, length, ... vs step; %zu SVG files)\n",
                    (report_dir / "plots" / "reward.svg").c_str(), files.plots.size());
      else
        std::printf("curves not drawn: %s\n", files.plot_note.c_str());
    } catch (const Error& e) {  // the run itself is done and saved: a report problem is only reported
      std::printf("curves not written: %s\n", e.what());
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
