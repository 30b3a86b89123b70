// ModelConfig: the hyperparameters of a causal LM, parsed from a Hugging Face `config.json`.
//
// Supported `architectures` / `model_type`: LlamaForCausalLM / llama (SmolLM2, Llama-3, R1-Distill-Llama),
// Qwen2ForCausalLM / qwen2 (Qwen2.5, R1-Distill-Qwen) and DeepseekV3ForCausalLM / deepseek_v3 (DeepSeek-V3/R1:
// multi-head latent attention + DeepSeekMoE). Field names and defaults follow transformers' LlamaConfig,
// Qwen2Config and DeepseekV3Config (transformers 5.x, models/{llama,qwen2,deepseek_v3}/configuration_*.py).
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
  std::string rope_type = "default";        // default | linear | llama3 | yarn (yarn: deepseek_v3 only)
  double factor = 1.0;                      // e.g. 8.0 for Llama-3.1, 40.0 for DeepSeek-V3
  double low_freq_factor = 1.0;             // llama3 only, e.g. 1.0
  double high_freq_factor = 4.0;            // llama3 only, e.g. 4.0
  int64_t original_max_position_embeddings = 8192;  // llama3 and yarn (e.g. 4096 for DeepSeek-V3)
  // YaRN (Peng et al. 2023, arXiv 2309.00071), transformers `_compute_yarn_parameters`:
  double beta_fast = 32.0;                  // ramp boundary, rotations (extrapolation side)
  double beta_slow = 1.0;                   // ramp boundary, rotations (interpolation side)
  double mscale = 0.0;                      // 0 = not given
  double mscale_all_dim = 0.0;              // 0 = not given; also scales the MLA softmax (DeepSeek-V3: 1.0)
  std::optional<double> attention_factor;   // explicit cos/sin scale; derived from factor/mscale when absent
  bool truncate = true;                     // floor/ceil the correction range
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

  // ---- deepseek_v3 only (transformers DeepseekV3Config; for other types these keep their defaults) ----
  // Multi-head latent attention (DeepSeek-V2 paper, arXiv 2405.04434, §2.1). head_dim = qk_rope_head_dim.
  int64_t q_lora_rank = 0;            // 0 (config null/0): plain q_proj; else q_a_proj -> q_a_layernorm -> q_b_proj
  int64_t kv_lora_rank = 0;           // latent width r, e.g. 512
  int64_t qk_nope_head_dim = 0;       // e.g. 128
  int64_t qk_rope_head_dim = 0;       // e.g. 64 (even)
  int64_t v_head_dim = 0;             // e.g. 128
  bool rope_interleave = true;        // rotary dims in interleaved pairs (x0,x1),(x2,x3),…
  // DeepSeekMoE (DeepSeek-V3 report, arXiv 2412.19437, §2.1.2): sigmoid router, group-limited top-k.
  int64_t n_routed_experts = 0;       // e.g. 256
  int64_t n_shared_experts = 0;       // e.g. 1 (0: none)
  int64_t num_experts_per_tok = 0;    // top-k, e.g. 8
  int64_t n_group = 1;                // expert groups, e.g. 8
  int64_t topk_group = 1;             // groups kept per token, e.g. 4
  double routed_scaling_factor = 1.0; // e.g. 2.5
  bool norm_topk_prob = true;
  std::string scoring_func = "sigmoid";
  int64_t first_k_dense_replace = 0;  // layers [0, k) use a dense MLP of intermediate_size
  int64_t moe_intermediate_size = 0;  // routed/shared expert width, e.g. 2048
  int64_t num_nextn_predict_layers = 0;  // MTP modules stored as model.layers.{L..L+n-1}.* (skipped on load)
  /// quantization_config.weight_block_size of an FP8 (e4m3, block-scaled) checkpoint, e.g. {128, 128};
  /// empty when the checkpoint is not quantised.
  std::vector<int64_t> fp8_weight_block_size;

  nlohmann::json raw;                // the parsed config.json, kept to write it back unchanged

  /// Parses a config.json object. `source` names the file in errors.
  /// Throws CheckpointError for an unknown architecture, a missing required field, a wrong type or an unsupported
  /// option (e.g. `hidden_act` other than silu, `rope_scaling` type yarn/dynamic, Qwen2 sliding window).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  /// Reads DIR/config.json (or the file itself). Throws IoError / CheckpointError.
  static ModelConfig from_file(const std::filesystem::path& dir_or_file);

  /// The config.json to write next to saved weights: `raw` with torch_dtype and the resolved
  /// tie_word_embeddings written in (and quantization_config dropped: weights are saved dequantised).
  nlohmann::json to_json(const std::string& dtype_name, bool tied) const;
};

}  // namespace r1kit::model
