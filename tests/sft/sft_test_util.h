// Shared setup for the SFT tests: a temporary model directory with the synthetic SmolLM2 tokenizer, SmolLM2's
// chat template (tests/fixtures/sft/chatml_tok) and a tiny random Llama.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "model/causal_lm.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::sft::testing {
namespace fs = std::filesystem;

struct TinySftSetup {
  fs::path root;
  explicit TinySftSetup(const std::string& tag) {
    root = fs::temp_directory_path() / ("r1kit_sft_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "model");
    fs::copy_file(fs::path(R1KIT_FIXTURES_DIR) / "tokenizer" / "synthetic_smollm2" / "tokenizer.json",
                  root / "model" / "tokenizer.json");
    fs::copy_file(fs::path(R1KIT_FIXTURES_DIR) / "sft" / "chatml_tok" / "tokenizer_config.json",
                  root / "model" / "tokenizer_config.json");
    auto tok = tokenizer::Tokenizer::from_dir(root / "model");
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"vocab_size", static_cast<int64_t>(tok.vocab_size())}, {"hidden_size", 32},
                          {"intermediate_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                          {"num_key_value_heads", 2}, {"max_position_embeddings", 256}, {"rms_norm_eps", 1e-5},
                          {"tie_word_embeddings", true}, {"eos_token_id", *tok.eos_token_id()}};
    auto model = model::create_causal_lm(model::ModelConfig::from_json(cfg, "tiny"), true);
    model->init_weights(11);
    model::save_pretrained(*model, root / "model_saved", root / "model");
    fs::remove_all(root / "model");
    fs::rename(root / "model_saved", root / "model");
  }
  ~TinySftSetup() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  /// Writes `n` prompt/completion records ("Q i" -> "A i …") and returns the path.
  fs::path write_data(const std::string& name, int n) const {
    std::string text;
    for (int i = 0; i < n; ++i)
      text += nlohmann::json{{"prompt", "Question " + std::to_string(i) + ": add " + std::to_string(i) + " and 3."},
                             {"reasoning", std::to_string(i) + " + 3 = " + std::to_string(i + 3)},
                             {"answer", "The answer is " + std::to_string(i + 3) + "."}}
                  .dump() +
              "\n";
    write_file_atomic(root / name, text);
    return root / name;
  }
  nlohmann::json config(const std::string& out, const fs::path& data) const {
    return {{"model", {{"path", (root / "model").string()}}},
            {"data", {{"train_file", data.string()}}},
            {"output_dir", (root / out).string()},
            {"max_steps", 4},
            {"per_device_train_batch_size", 4},
            {"gradient_accumulation_steps", 1},
            {"max_length", 128},
            {"learning_rate", 1e-3},
            {"lr_scheduler_type", "constant"},
            {"save_steps", 0},
            {"samples", {{"num_prompts", 0}}},
            {"seed", 3}};
  }
};

}  // namespace r1kit::sft::testing
