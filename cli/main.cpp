// r1kit: reasoning post-training (cold-start SFT, GRPO, R1-Zero) on LibTorch.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"r1kit: DeepSeek-R1-style reasoning post-training (SFT, GRPO) in C++ / LibTorch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("r1kit ") + R1KIT_VERSION);
  r1kit::cli::register_info(app);
  r1kit::cli::register_convert(app);
  r1kit::cli::register_convert_hf(*app.get_subcommand("convert"));
  r1kit::cli::register_generate(app);
  r1kit::cli::register_grpo(app);
  r1kit::cli::register_sft(app);
  r1kit::cli::register_data(app);
  r1kit::cli::register_tokenize(app);
  r1kit::cli::register_reward(app);
  r1kit::cli::register_eval(app);
  r1kit::cli::register_ablate(app);
  r1kit::cli::register_report(app);
  r1kit::cli::register_init_model(app);
  r1kit::cli::register_recipe(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const r1kit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
