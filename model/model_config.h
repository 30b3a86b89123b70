// ModelConfig: the hyperparameters of a causal LM, parsed from a Hugging Face `config.json`.
//
// Supported `architectures` / `model_type`: LlamaForCausalLM / llama (SmolLM2, Llama-3, R1-Distill-Llama) and
// Qwen2ForCausalLM / qwen2 (Qwen2.5, R1-Distill-Qwen). Field names and defaults follow transformers'
// LlamaConfig and Qwen2Config (transformers 5.x, models/{llama,qwen2}/configuration_*.py).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace r1kit::model {

/// `rope_scaling` as transformers spells it. type "default" means none.
struct RopeScaling {
  std::string rope_type = "default";        // default | linear | llama3
  double factor = 1.0;                      // e.g. 8.0 for Llama-3.1
  double low_freq_factor = 1.0;             // llama3 only, e.g. 1.0
  double high_freq_factor = 4.0;            // llama3 only, e.g. 4.0
  int64_t original_max_position_embeddings = 8192;  // llama3 only
};

struct ModelConfig {
  std::string architecture;          // e.g. "LlamaForCausalLM"
  std::string model_type;            // e.g. "llama", "qwen2"
  int64_t vocab_size = 0;            // V, e.g. 49152
  int64_t hidden_size = 0;           // C, e.g. 576
  int64_t intermediate_size = 0;     // MLP width, e.g. 1536
  int64_t num_hidden_layers = 0;     // L, e.g. 30
  int64_t num_attention_heads = 0;   // H, e.g. 9
  int64_t num_key_value_heads = 0;   // H_kv (GQA), e.g. 3
  int64_t head_dim = 0;              // D, e.g. 64 (default hidden_size / H)
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;       // bias on q/k/v/o (llama `attention_bias`)
  bool qkv_bias = false;             // bias on q/k/v only (qwen2)
  bool mlp_bias = false;
  /// nullopt when config.json does not say: the checkpoint decides (no lm_head.weight => tied).
  std::optional<bool> tie_word_embeddings;
  std::vector<int64_t> bos_token_ids, eos_token_ids;  // may be empty; eos may be a list in HF configs
  std::optional<int64_t> pad_token_id;
  std::string torch_dtype = "float32";
  nlohmann::json raw;                // the parsed config.json, kept to write it back unchanged

  /// Parses a config.json object. `source` names the file in errors.
  /// Throws CheckpointError for an unknown architecture, a missing required field, a wrong type or an unsupported
  /// option (e.g. `hidden_act` other than silu, `rope_scaling` type yarn/dynamic, Qwen2 sliding window).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  /// Reads DIR/config.json (or the file itself). Throws IoError / CheckpointError.
  static ModelConfig from_file(const std::filesystem::path& dir_or_file);

  /// The config.json to write next to saved weights: `raw` with torch_dtype and the resolved
  /// tie_word_embeddings written in.
  nlohmann::json to_json(const std::string& dtype_name, bool tied) const;
};

}  // namespace r1kit::model
