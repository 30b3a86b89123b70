// placeholder; replaced by the GGUF converter.
#include "cli/commands.h"
namespace r1kit::cli {
void register_convert(CLI::App& app) { app.add_subcommand("convert", "Convert checkpoints (gguf -> HF)"); }
}  // namespace r1kit::cli
