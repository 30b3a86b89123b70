// `r1kit convert hf SRC --out DST [--dtype D] [--force]`: loads a Hugging Face checkpoint into r1kit and saves it
// again with save_pretrained (dtype change, sharded -> single file, validation that every tensor is consumed).
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "model/causal_lm.h"

namespace r1kit::cli {

void register_convert_hf(CLI::App& convert) {
  auto* cmd = convert.add_subcommand("hf", "Load a Hugging Face checkpoint directory and save it again (validates it)");
  static std::string src, out, dtype = "float32";
  static bool force = false;
  cmd->add_option("SRC", src, "Hugging Face model directory (config.json + *.safetensors)")->required();
  cmd->add_option("--out", out, "Output directory")->required();
  cmd->add_option("--dtype", dtype, "Parameter dtype to save: float32 | bfloat16 | float16")->capture_default_str();
  cmd->add_flag("--force", force, "Replace an existing output directory");
  cmd->callback([] {
    namespace fs = std::filesystem;
    if (fs::exists(out) && !fs::is_empty(out) && !force)
      throw IoError(out + " exists and is not empty; pass --force to replace it");
    auto t0 = std::chrono::steady_clock::now();
    auto model = model::load_pretrained(src, torch::kCPU, model::dtype_from_name(dtype));
    model::save_pretrained(*model, out, src);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("converted %s (%s, %lld parameters, tied head: %s) -> %s [%s] in %.1f s\n", src.c_str(),
                model->config().architecture.c_str(), static_cast<long long>(params),
                model->tied_embeddings() ? "yes" : "no", out.c_str(), dtype.c_str(), secs);
  });
}

}  // namespace r1kit::cli
