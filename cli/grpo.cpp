// `r1kit grpo --config FILE [--set key=value ...] [--resume RUN_DIR]`: GRPO training (rl/grpo_trainer.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "rl/grpo_trainer.h"

namespace r1kit::cli {

void register_grpo(CLI::App& app) {
  auto* cmd = app.add_subcommand("grpo", "GRPO reinforcement learning (TRL GRPOConfig names; see configs/README.md)");
  static std::string config_path, resume;
  static std::vector<std::string> overrides;
  auto* config_opt = cmd->add_option("--config", config_path, "JSON config (comments allowed)");
  cmd->add_option("--set", overrides, "Override a config key: --set learning_rate=1e-6 --set data.limit=100");
  auto* resume_opt = cmd->add_option("--resume", resume,
                                     "Continue the run in this directory from its newest checkpoint, with its own "
                                     "config.json (change settings with --set, e.g. --set max_steps=200)");
  config_opt->excludes(resume_opt);
  cmd->callback([] {
    if (config_path.empty() && resume.empty()) throw ConfigError("grpo: give --config FILE (or --resume RUN_DIR)");
    // A resumed run continues with the configuration it was started with (RUN_DIR/config.json); --set changes it.
    const std::string source = resume.empty() ? config_path : (std::filesystem::path(resume) / "config.json").string();
    auto j = load_json_file(source);
    apply_overrides(j, overrides);
    if (!resume.empty()) {
      for (const auto& o : overrides)
        if (o.rfind("output_dir=", 0) == 0)
          throw ConfigError("grpo: --resume " + resume + " continues that run in place; drop --set " + o);
      j["output_dir"] = resume;
      for (const auto& o : overrides) std::fprintf(stderr, "[grpo] resume with changed setting: %s\n", o.c_str());
    }
    auto cfg = rl::GRPOConfig::from_json(j, source);
    rl::GRPOTrainer trainer(cfg);
    auto summary = trainer.train(resume.empty() ? std::nullopt : std::optional<std::filesystem::path>(resume));
    auto show = [](const char* label, const nlohmann::json& m) {
      if (m.is_null() || m.empty()) return;
      std::printf("%-8s", label);
      for (const char* k : {"reward", "rewards/math_accuracy/mean", "rewards/format/mean", "completions/mean_length",
                            "eval/reward", "eval/rewards/math_accuracy/mean", "eval/rewards/format/mean",
                            "eval/completions/mean_length"})
        if (m.contains(k) && !m[k].is_null()) std::printf("  %s=%.4g", k, m[k].get<double>());
      std::printf("\n");
    };
    std::printf("\nrun directory: %s (metrics.jsonl, samples/, checkpoints/)\n", summary.run_dir.c_str());
    show("first", summary.first_metrics);
    show("last", summary.last_metrics);
    show("before", summary.eval_before);
    show("after", summary.eval_after);
  });
}

}  // namespace r1kit::cli
