// Ablations (`r1kit ablate`): one base GRPO config, a list of variants (named override sets) and/or a grid of
// values, and seeds → one GRPO run per (variant × grid point × seed), then a summary table and plots
// (eval/run_report.h).
//
//   {"base": "configs/demo/grpo_smollm2_gsm8k.json",        // path (relative to the working directory) or object
//    "output_dir": "runs/ablations/dr_grpo",
//    "seeds": [42, 43],                                      // optional; default: the base config's seed
//    "set": {"max_steps": 8},                                // optional overrides applied to every run
//    "variants": [{"name": "grpo", "set": {"loss_type": "grpo"}}, ...],          // optional
//    "grid": {"loss_type": ["grpo", "dr_grpo"], "scale_rewards": ["group", "none"]}}  // optional
//
// Runs = variants × grid points × seeds (a missing list counts as one empty element). Keys are --set paths
// (core/config.h apply_override: "data.prompt_template", "rewards.1.weight"); an object value is merged key by key
// ({"eval": {"limit": 4}} changes only eval.limit), arrays and other values replace. Run names join the variant name,
// the grid point as key-value segments (last path component: "loss_type-grpo"), and "seed<N>" when there are
// several seeds, with '.': "r1_zero.loss_type-grpo.scale_rewards-none". Every run config is checked
// (rl::GRPOConfig::from_json) before anything starts.
//
// Each run is `r1kit grpo` in a subprocess (`--jobs N` at a time), output in OUTPUT_DIR/<run>/, its console in
// OUTPUT_DIR/logs/<run>.log. A run whose metrics.jsonl reached max_steps is finished and skipped; one that started
// (metrics or checkpoints) but did not finish — or whose max_steps was raised since — is continued with
// `r1kit grpo --resume`; a run directory holding a different config (other than max_steps and the
// logging/eval/save intervals) is an error for that run, never overwritten. A successful subprocess leaves
// OUTPUT_DIR/<run>/ablation_done.json (time, wall seconds). Then OUTPUT_DIR/summary.md, summary.csv and plots/.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/run_report.h"

namespace r1kit::eval {

struct AblationRun {
  std::string name;       // e.g. "r1_zero.loss_type-grpo.scale_rewards-none"
  nlohmann::json config;  // the full GRPO config (base + overrides + seed + output_dir)
};

struct AblationConfig {
  std::string source;                 // file name, for messages
  std::filesystem::path output_dir;
  std::vector<AblationRun> runs;
};

/// Parses an ablation config (strict keys; ConfigError with the JSON path) and builds every run's config; each
/// is validated with rl::GRPOConfig::from_json (an error names the run and the key). `source` names the file.
AblationConfig parse_ablation(const nlohmann::json& j, const std::string& source);

struct AblationOptions {
  std::vector<std::string> only;      // run just these runs (names or variant names); empty = all
  int jobs = 1;                       // concurrent r1kit subprocesses
  std::filesystem::path r1kit_binary; // the r1kit executable; empty = /proc/self/exe
  ReportOptions report;               // gnuplot, title, command
  bool quiet = false;                 // no progress lines on stderr
};

struct AblationOutcome {
  std::vector<std::string> ran, skipped, resumed, failed;  // run names
  ReportFiles report;
};

/// Runs the ablation (see the header comment) and writes the report. A failed run does not stop the others; it is
/// listed in AblationOutcome::failed and in the report's status column. Throws ConfigError / IoError for problems
/// found before any run starts (unknown --only name, unwritable output_dir, missing r1kit binary).
AblationOutcome run_ablation(const AblationConfig& config, const AblationOptions& options);

}  // namespace r1kit::eval
