// One function per subcommand; each registers itself on the app and runs through its callback.
#pragma once

#include <CLI/CLI.hpp>

namespace r1kit::cli {

void register_info(CLI::App& app);     // cli/info.cpp
void register_convert(CLI::App& app);  // cli/convert.cpp: the `convert` command and `convert gguf`
void register_convert_hf(CLI::App& convert);
void register_generate(CLI::App& app);  // cli/generate.cpp
void register_grpo(CLI::App& app);      // cli/grpo.cpp
void register_sft(CLI::App& app);       // cli/sft.cpp
void register_data(CLI::App& app);      // cli/data.cpp: `data cold-start`
void register_tokenize(CLI::App& app);  // cli/tokenize.cpp
void register_eval(CLI::App& app);      // cli/eval.cpp
void register_ablate(CLI::App& app);    // cli/ablate.cpp
void register_report(CLI::App& app);    // cli/report.cpp
void register_recipe(CLI::App& app);    // cli/recipe.cpp: init -> data -> SFT -> GRPO with evaluations
void register_init_model(CLI::App& app);  // cli/init_model.cpp: a randomly initialised model directory
void register_reward(CLI::App& app);    // cli/reward.cpp  // cli/convert_hf.cpp: `convert hf`, under `convert`

}  // namespace r1kit::cli
