// The options every training command shares — `--config FILE [--set key=value …]` or `--resume RUN_DIR [--set …]`
// — and how they become one config object (used by `r1kit grpo` and `r1kit sft`).
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace r1kit::cli {

struct RunOptions {
  std::string config_path, resume;
  std::vector<std::string> overrides;
};

/// Adds --config, --set and --resume (mutually exclusive with --config) to `cmd`, writing into `opts` (which must
/// outlive the parse). `set_example` shows one override in the help, e.g. "--set learning_rate=1e-6".
void add_run_options(CLI::App* cmd, RunOptions& opts, const std::string& set_example);

struct RunConfig {
  nlohmann::json config;                          // the file after --set overrides
  std::string source;                             // the file it came from (for error messages)
  std::optional<std::filesystem::path> resume;    // the run directory to continue, if --resume
};

/// Loads --config FILE, or RUN_DIR/config.json for --resume (the run continues with its own settings; output_dir
/// is forced to RUN_DIR), then applies --set overrides, printing each change of a resumed run.
/// Throws ConfigError (no --config nor --resume; --set output_dir with --resume) and the JSON loader's errors.
RunConfig load_run_config(const RunOptions& opts, const std::string& command);

}  // namespace r1kit::cli
