// `r1kit convert gguf MODEL.gguf --out DIR [--force]`: a llama.cpp GGUF file -> Hugging Face checkpoint directory.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/gguf_convert.h"

namespace r1kit::cli {

namespace {

struct ConvertGgufArgs {
  std::string input;
  std::string out;
  bool force = false;
};

std::string human_count(int64_t n) {
  char buf[32];
  if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

}  // namespace

void register_convert(CLI::App& app) {
  auto* convert = app.add_subcommand("convert", "Convert checkpoints into the Hugging Face layout r1kit trains");
  convert->require_subcommand(1);
  auto args = std::make_shared<ConvertGgufArgs>();
  auto* gguf = convert->add_subcommand(
      "gguf", "GGUF (llama.cpp) -> Hugging Face directory: config.json, model.safetensors (float32), "
              "generation_config.json, tokenizer.json, tokenizer_config.json. Architectures: llama, qwen2; "
              "tensor types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K");
  gguf->add_option("model", args->input, "the .gguf file")->required()->check(CLI::ExistingFile);
  gguf->add_option("--out,-o", args->out, "output directory (created; must be absent or empty)")->required();
  gguf->add_flag("--force", args->force, "replace a non-empty output directory");
  gguf->callback([args] {
    const auto start = std::chrono::steady_clock::now();
    const auto s = model::convert_gguf_to_hf(args->input, args->out, args->force);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string types;
    for (const auto& [name, count] : s.tensor_types)
      types += (types.empty() ? "" : ", ") + name + " x" + std::to_string(count);
    std::printf("converted %s -> %s\n", args->input.c_str(), args->out.c_str());
    std::printf("  architecture  %s\n", s.architecture.c_str());
    std::printf("  layers        %lld\n", static_cast<long long>(s.layers));
    std::printf("  parameters    %s (%lld, written as float32)\n", human_count(s.parameters).c_str(),
                static_cast<long long>(s.parameters));
    std::printf("  tensor types  %s\n", types.c_str());
    std::printf("  tokenizer     %s\n", s.tokenizer_written ? "tokenizer.json rebuilt from GGUF metadata" : "not written");
    for (const auto& note : s.notes) std::printf("  note          %s\n", note.c_str());
    std::printf("  seconds       %.1f\n", secs);
  });
}

}  // namespace r1kit::cli
