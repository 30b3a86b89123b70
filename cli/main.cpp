// r1kit: reasoning post-training (cold-start SFT, GRPO, R1-Zero) on LibTorch.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

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
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave cannot be created or read (e.g. --out under a regular file): say which, not "internal".
    std::string paths;
    if (!e.path1().empty()) paths += " '" + e.path1().string() + "'";
    if (!e.path2().empty()) paths += " and '" + e.path2().string() + "'";
    std::fprintf(stderr, "error: cannot use the path%s: %s; check that its parent folders are folders you can write\n",
                 paths.c_str(), e.code().message().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
