// A tiny random Llama with the synthetic SmolLM2-like tokenizer, a 16-record data set and a GRPO config using
// only built-in rewarders (so `r1kit grpo` subprocesses can run it). Shared by the eval tests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/atomic_file.h"
#include "model/causal_lm.h"
#include "tokenizer/tokenizer.h"

namespace r1kit::eval::testing {

struct TinySetup {
  std::filesystem::path root;
  explicit TinySetup(const std::string& tag) {
    namespace fs = std::filesystem;
    root = fs::temp_directory_path() / ("r1kit_eval_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "tok");
    fs::copy_file(fs::path(R1KIT_FIXTURES_DIR) / "tokenizer" / "synthetic_smollm2" / "tokenizer.json",
                  root / "tok" / "tokenizer.json");
    write_file_atomic(root / "tok" / "tokenizer_config.json", R"({"eos_token": "<|endoftext|>"})");
    auto tok = tokenizer::Tokenizer::from_dir(root / "tok");
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"vocab_size", static_cast<int64_t>(tok.vocab_size())}, {"hidden_size", 32},
                          {"intermediate_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                          {"num_key_value_heads", 1}, {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-5},
                          {"tie_word_embeddings", true}, {"eos_token_id", *tok.eos_token_id()}};
    auto model = model::create_causal_lm(model::ModelConfig::from_json(cfg, "tiny"), true);
    model->init_weights(3);
    model::save_pretrained(*model, root / "model", root / "tok");
    std::string data;
    for (int i = 0; i < 16; ++i)
      data += nlohmann::json{{"question", "item " + std::to_string(i) + ":"}, {"answer", std::to_string(i)}}.dump() + "\n";
    write_file_atomic(root / "data.jsonl", data);
  }
  ~TinySetup() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  /// Rewards: 1 when the completion contains the letter 'a' (a built-in regex rule), plus format (weight 0).
  static nlohmann::json rewards() {
    return nlohmann::json::array(
        {{{"type", "regex"}, {"name", "has_a"}, {"rules", {{{"pattern", "a"}, {"where", "completion"}, {"score", 1.0}}}}},
         {{"type", "format"}, {"weight", 0.0}}});
  }
  /// A GRPO config of a few fast steps with a 4-record eval slice.
  nlohmann::json grpo_config(const std::string& out) const {
    return {{"model", {{"path", (root / "model").string()}}},
            {"data", {{"path", (root / "data.jsonl").string()}, {"prompt_template", "none"}}},
            {"eval", {{"path", (root / "data.jsonl").string()}, {"limit", 4}, {"max_new_tokens", 6}, {"name", "tiny"}}},
            {"rewards", rewards()},
            {"output_dir", (root / out).string()},
            {"max_steps", 2},
            {"eval_steps", 1},
            {"num_generations", 4},
            {"per_device_train_batch_size", 4},
            {"max_completion_length", 6},
            {"learning_rate", 0.05},
            {"lr_scheduler_type", "constant"},
            {"samples_steps", 0},
            {"seed", 5}};
  }
};

}  // namespace r1kit::eval::testing
