// `r1kit ablate --config ABL.json [--only NAME]... [--jobs N] [--no-plots]`: runs every variant of an ablation
// (base GRPO config × variants × grid × seeds) as `r1kit grpo` subprocesses, skipping finished runs and resuming
// interrupted ones, then writes OUTPUT_DIR/summary.md, summary.csv and plots/ (eval/ablation.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"
#include "eval/ablation.h"

namespace r1kit::cli {

void register_ablate(CLI::App& app) {
  auto* cmd = app.add_subcommand("ablate", "Run an ablation of GRPO configs and summarise it (table + plots)");
  static std::string config_path;
  static std::vector<std::string> only, overrides;
  static int jobs = 1;
  static bool no_plots = false, list = false;
  cmd->add_option("--config", config_path, "Ablation config (see configs/ablations/)")->required();
  cmd->add_option("--only", only, "Run only this run or variant (repeatable); the summary still covers all");
  cmd->add_option("--jobs", jobs, "Runs at a time (each a subprocess; threads are split between them)")
      ->capture_default_str();
  cmd->add_option("--set", overrides, "Override a key of the ablation config: --set output_dir=runs/x");
  cmd->add_flag("--no-plots", no_plots, "Write the gnuplot scripts and data but do not run gnuplot");
  cmd->add_flag("--list", list, "Print the runs and their overrides, run nothing");
  cmd->callback([] {
    auto j = load_json_file(config_path);
    apply_overrides(j, overrides);
    auto cfg = eval::parse_ablation(j, config_path);
    if (list) {
      for (const auto& r : cfg.runs) std::printf("%s -> %s\n", r.name.c_str(), r.config["output_dir"].get<std::string>().c_str());
      return;
    }
    eval::AblationOptions opt;
    opt.only = only;
    opt.jobs = jobs;
    opt.report.command = "r1kit ablate --config " + config_path;
    if (no_plots) opt.report.gnuplot = "none";
    const auto out = eval::run_ablation(cfg, opt);
    std::printf("ablation %s: %zu run(s) started, %zu resumed, %zu skipped (finished), %zu failed\n",
                cfg.output_dir.c_str(), out.ran.size(), out.resumed.size(), out.skipped.size(), out.failed.size());
    std::printf("summary: %s, %s\n", out.report.summary_md.c_str(), out.report.summary_csv.c_str());
    if (out.report.plotted) std::printf("plots: %zu SVG files in %s\n", out.report.plots.size(), (cfg.output_dir / "plots").c_str());
    else std::printf("plots not drawn: %s\n", out.report.plot_note.c_str());
    if (!out.failed.empty()) throw Error("ablation: failed runs: " + join(out.failed, ", ") + " (see " +
                                         (cfg.output_dir / "logs").string() + ")");
  });
}

}  // namespace r1kit::cli
