// `r1kit sft --config FILE [--set key=value ...] [--resume RUN_DIR]`: supervised fine-tuning, e.g. the cold-start
// stage before GRPO (sft/sft_trainer.h).
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "cli/run_config.h"
#include "core/config.h"
#include "core/error.h"
#include "sft/sft_trainer.h"

namespace r1kit::cli {

void register_sft(CLI::App& app) {
  auto* cmd = app.add_subcommand("sft", "Supervised fine-tuning / cold start (TRL SFTConfig names; see configs/README.md)");
  static RunOptions opts;
  add_run_options(cmd, opts, "--set learning_rate=1e-5");
  cmd->callback([] {
    auto run = load_run_config(opts, "sft");
    sft::SFTTrainer trainer(sft::SFTConfig::from_json(run.config, run.source));
    auto summary = trainer.train(run.resume);
    std::printf("\nrun directory: %s (metrics.jsonl, samples/, checkpoints/)\n", summary.run_dir.c_str());
    auto num = [](const nlohmann::json& m, const char* k) {
      return m.contains(k) && m[k].is_number() ? m[k].get<double>() : std::nan("");
    };
    if (!summary.first_metrics.is_null())
      std::printf("loss: first step %.4f, last step %.4f\n", num(summary.first_metrics, "loss"),
                  num(summary.last_metrics, "loss"));
    if (!std::isnan(summary.eval_loss_before) || !std::isnan(summary.eval_loss_after))
      std::printf("eval_loss: before %.4f, after %.4f\n", summary.eval_loss_before, summary.eval_loss_after);
    if (!summary.final_checkpoint.empty())
      std::printf("final model: %s  (start GRPO from it: r1kit grpo --config … --set model.path=%s)\n",
                  summary.final_checkpoint.c_str(), summary.final_checkpoint.c_str());
  });
}

}  // namespace r1kit::cli
