// Reports over GRPO run directories (`r1kit report`, and the summary `r1kit ablate` writes): one table row per
// run (summary.md, summary.csv) and one plot per metric with one line per run (reward, eval accuracy, response
// length, entropy, KL vs step), drawn by gnuplot as SVG.
//
// Inputs per run: RUN_DIR/config.json (the resolved GRPO config) and RUN_DIR/metrics.jsonl (training records have
// "loss"; evaluation records have "eval/..." keys). Table values:
//   reward / length / KL / entropy  mean over the last min(5, steps) logged training steps (noise-robust "final")
//   eval final / best (step)         the primary eval metric of the last evaluation record / its maximum
//   wall                             Σ step_time + Σ evaluation seconds
// The primary eval metric is eval/<dataset>/pass@1 (first dataset by name; written by the evaluator), else
// eval/rewards/math_accuracy/mean, else eval/reward (runs from before the evaluator).
// Without gnuplot (not on PATH, or $R1KIT_GNUPLOT=none) the .gp scripts and .dat files are still written and the
// report says how to draw them: that is not an error.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace r1kit::eval {

struct RunData {
  std::string name;                    // row label (variant name, or the directory's name)
  std::filesystem::path dir;
  std::string status;                  // "finished", "incomplete", "failed: …", "pending" (no run dir yet)
  nlohmann::json config;               // config.json (null when absent)
  std::vector<nlohmann::json> train;   // training records (have "loss"), in file order
  std::vector<nlohmann::json> evals;   // evaluation records (have an "eval/..." key)
  int64_t max_steps = 0;               // from config.json
  std::optional<double> wall_seconds;  // overrides the Σ step_time estimate (e.g. measured by ablate)
};

/// Reads RUN_DIR/config.json and RUN_DIR/metrics.jsonl (either may be absent: status says so). `name` "" = the
/// directory's name. Throws DataError (FILE:LINE) for a corrupt metrics line.
RunData load_run(const std::filesystem::path& dir, std::string name = "");

/// The table row of a run, as computed for summary.md / summary.csv (see the header comment).
struct RunRow {
  std::string name, status, eval_metric;
  int64_t steps = 0, max_steps = 0;
  std::optional<double> reward, length, kl, entropy, eval_final, eval_best, wall_seconds;
  std::optional<double> length_incorrect;       // training: completions/mean_length_incorrect, last steps' mean
  std::optional<double> eval_length_incorrect;  // last evaluation: <dataset>/mean_length_incorrect
  int64_t eval_best_step = -1;
};
RunRow summarize_run(const RunData& run);
/// Primary eval metric key of a run ("" when it has no evaluation records).
std::string primary_eval_metric(const RunData& run);

struct ReportOptions {
  std::string title = "GRPO runs";
  std::string command;      // how the report was produced (shown in summary.md)
  std::string gnuplot;      // gnuplot executable; "" = $R1KIT_GNUPLOT, else "gnuplot" on PATH; "none" = don't run
};

struct ReportFiles {
  std::filesystem::path summary_md, summary_csv;
  std::vector<std::filesystem::path> scripts, plots;  // plots/*.gp and the drawn plots/*.svg
  bool plotted = false;                               // gnuplot ran and made every plot
  std::string plot_note;                              // why not, when !plotted
};

/// Writes OUT/summary.md, OUT/summary.csv, OUT/plots/{data/*.dat, *.gp, *.svg}. Config keys whose values differ
/// between the runs become table columns (output_dir excluded). Throws IoError when OUT cannot be written.
ReportFiles write_report(const std::vector<RunData>& runs, const std::filesystem::path& out_dir,
                         const ReportOptions& options = {});

}  // namespace r1kit::eval
