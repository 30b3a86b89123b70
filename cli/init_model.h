// A randomly initialised model directory from a Hugging Face config.json and a tokenizer — the starting point of a
// from-scratch run (`r1kit init-model`, and the first stage of `r1kit recipe`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace r1kit::cli {

struct InitModelResult {
  nlohmann::json config;   // the config.json written (vocab_size / eos / pad filled in from the tokenizer if absent)
  int64_t parameters = 0;  // parameter count
};

/// Builds the architecture `config` names (create_causal_lm: llama, qwen2, deepseek_v3), initialises it as
/// transformers' `_init_weights` does with `seed` (CausalLM::init_weights), and saves it with the tokenizer files to
/// `out` (model::save_pretrained, atomic). `vocab_size`, `eos_token_id` and `pad_token_id` default to the
/// tokenizer's. `source` names the config in errors. Throws ConfigError / IoError.
InitModelResult init_random_model(nlohmann::json config, const std::filesystem::path& tokenizer_dir, uint64_t seed,
                                  const std::filesystem::path& out, const std::string& source);

}  // namespace r1kit::cli
