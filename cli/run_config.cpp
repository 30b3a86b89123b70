#include "cli/run_config.h"

#include <cstdio>

#include "core/config.h"
#include "core/error.h"

namespace r1kit::cli {

void add_run_options(CLI::App* cmd, RunOptions& opts, const std::string& set_example) {
  auto* config_opt = cmd->add_option("--config", opts.config_path, "JSON config (comments allowed)");
  cmd->add_option("--set", opts.overrides, "Override a config key: " + set_example + " --set data.limit=100");
  auto* resume_opt = cmd->add_option("--resume", opts.resume,
                                     "Continue the run in this directory from its newest checkpoint, with its own "
                                     "config.json (change settings with --set, e.g. --set max_steps=200)");
  config_opt->excludes(resume_opt);
}

RunConfig load_run_config(const RunOptions& opts, const std::string& command) {
  if (opts.config_path.empty() && opts.resume.empty())
    throw ConfigError(command + ": give --config FILE (or --resume RUN_DIR)");
  RunConfig out;
  // A resumed run continues with the configuration it was started with (RUN_DIR/config.json); --set changes it.
  out.source = opts.resume.empty() ? opts.config_path : (std::filesystem::path(opts.resume) / "config.json").string();
  out.config = load_json_file(out.source);
  apply_overrides(out.config, opts.overrides);
  if (!opts.resume.empty()) {
    for (const auto& o : opts.overrides)
      if (o.rfind("output_dir=", 0) == 0)
        throw ConfigError(command + ": --resume " + opts.resume + " continues that run in place; drop --set " + o);
    out.config["output_dir"] = opts.resume;
    for (const auto& o : opts.overrides)
      std::fprintf(stderr, "[%s] resume with changed setting: %s\n", command.c_str(), o.c_str());
    out.resume = opts.resume;
  }
  return out;
}

}  // namespace r1kit::cli
