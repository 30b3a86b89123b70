#include "model/model_config.h"

#include "core/atomic_file.h"
#include "core/error.h"

namespace r1kit::model {
namespace {

using nlohmann::json;

std::string where(const std::string& source, const std::string& key) { return source + ": $." + key; }

int64_t require_int(const json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    throw CheckpointError(where(source, key) + " is missing; a Hugging Face config.json for this architecture "
                          "must set it");
  if (!it->is_number_integer())
    throw CheckpointError(where(source, key) + ": expected an integer, got " + it->dump());
  return it->get<int64_t>();
}

int64_t get_int(const json& j, const char* key, int64_t dflt, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_number_integer()) throw CheckpointError(where(source, key) + ": expected an integer, got " + it->dump());
  return it->get<int64_t>();
}

double get_double(const json& j, const char* key, double dflt, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_number()) throw CheckpointError(where(source, key) + ": expected a number, got " + it->dump());
  return it->get<double>();
}

bool get_bool(const json& j, const char* key, bool dflt, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) throw CheckpointError(where(source, key) + ": expected true/false, got " + it->dump());
  return it->get<bool>();
}

std::vector<int64_t> get_ids(const json& j, const char* key, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_number_integer()) return {it->get<int64_t>()};
  if (it->is_array()) {
    std::vector<int64_t> out;
    for (const auto& v : *it) {
      if (!v.is_number_integer()) throw CheckpointError(where(source, key) + ": expected integer ids, got " + it->dump());
      out.push_back(v.get<int64_t>());
    }
    return out;
  }
  throw CheckpointError(where(source, key) + ": expected an id or a list of ids, got " + it->dump());
}

RopeScaling parse_rope_scaling(const json& j, const std::string& source, bool allow_yarn = false,
                               int64_t max_position_embeddings = 0) {
  RopeScaling rs;
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return rs;
  if (!it->is_object()) throw CheckpointError(where(source, "rope_scaling") + ": expected an object or null");
  const json& r = *it;
  // transformers accepts both "rope_type" and the legacy "type".
  std::string type = r.value("rope_type", r.value("type", std::string("default")));
  rs.rope_type = type;
  const std::string src = source;
  if (type == "default") return rs;
  if (type == "linear") {
    rs.factor = get_double(r, "factor", 1.0, src);
    return rs;
  }
  if (type == "llama3") {
    rs.factor = get_double(r, "factor", 8.0, src);
    rs.low_freq_factor = get_double(r, "low_freq_factor", 1.0, src);
    rs.high_freq_factor = get_double(r, "high_freq_factor", 4.0, src);
    rs.original_max_position_embeddings = get_int(r, "original_max_position_embeddings", 8192, src);
    return rs;
  }
  if (type == "yarn" && allow_yarn) {
    rs.original_max_position_embeddings =
        get_int(r, "original_max_position_embeddings", max_position_embeddings, src);
    if (rs.original_max_position_embeddings <= 0)
      throw CheckpointError(where(source, "rope_scaling.original_max_position_embeddings") + ": must be positive");
    // transformers: a missing factor means max_position_embeddings / original_max_position_embeddings.
    rs.factor = get_double(r, "factor",
                           static_cast<double>(max_position_embeddings) /
                               static_cast<double>(rs.original_max_position_embeddings),
                           src);
    // `beta_fast or 32` / `beta_slow or 1`: 0 and null fall back to the defaults as in transformers.
    rs.beta_fast = get_double(r, "beta_fast", 0.0, src);
    if (rs.beta_fast == 0.0) rs.beta_fast = 32.0;
    rs.beta_slow = get_double(r, "beta_slow", 0.0, src);
    if (rs.beta_slow == 0.0) rs.beta_slow = 1.0;
    rs.mscale = get_double(r, "mscale", 0.0, src);
    rs.mscale_all_dim = get_double(r, "mscale_all_dim", 0.0, src);
    if (auto a = r.find("attention_factor"); a != r.end() && !a->is_null())
      rs.attention_factor = get_double(r, "attention_factor", 1.0, src);
    rs.truncate = get_bool(r, "truncate", true, src);
    return rs;
  }
  if (allow_yarn)
    throw CheckpointError(where(source, "rope_scaling.rope_type") + ": \"" + type +
                          "\" is not supported for DeepSeek-V3; supported: default, linear, llama3, yarn");
  throw CheckpointError(where(source, "rope_scaling.rope_type") + ": \"" + type +
                        "\" is not supported for dense models; supported: default, linear, llama3");
}

void parse_deepseek_v3(const json& j, const std::string& source, ModelConfig& c);

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw CheckpointError(source + ": expected a JSON object");
  ModelConfig c;
  c.raw = j;
  std::string arch;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
    arch = (*it)[0].get<std::string>();
  c.model_type = j.value("model_type", std::string());
  if (arch.empty()) {
    if (c.model_type == "llama") arch = "LlamaForCausalLM";
    if (c.model_type == "qwen2") arch = "Qwen2ForCausalLM";
    if (c.model_type == "deepseek_v3") arch = "DeepseekV3ForCausalLM";
  }
  if (arch == "DeepseekV3ForCausalLM") {
    c.model_type = "deepseek_v3";
    c.architecture = arch;
    parse_deepseek_v3(j, source, c);
    return c;
  }
  if (arch == "LlamaForCausalLM") {
    c.model_type = "llama";
  } else if (arch == "Qwen2ForCausalLM") {
    c.model_type = "qwen2";
  } else {
    throw CheckpointError(source + ": architecture \"" + (arch.empty() ? c.model_type : arch) +
                          "\" is not supported; supported: LlamaForCausalLM (model_type llama), "
                          "Qwen2ForCausalLM (qwen2), DeepseekV3ForCausalLM (deepseek_v3)");
  }
  c.architecture = arch;
  c.vocab_size = require_int(j, "vocab_size", source);
  c.hidden_size = require_int(j, "hidden_size", source);
  c.intermediate_size = require_int(j, "intermediate_size", source);
  c.num_hidden_layers = require_int(j, "num_hidden_layers", source);
  c.num_attention_heads = require_int(j, "num_attention_heads", source);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads, source);
  if (c.num_attention_heads <= 0 || c.hidden_size <= 0 || c.num_key_value_heads <= 0)
    throw CheckpointError(source + ": hidden_size, num_attention_heads and num_key_value_heads must be positive");
  c.head_dim = get_int(j, "head_dim", c.hidden_size / c.num_attention_heads, source);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw CheckpointError(where(source, "num_key_value_heads") + ": " + std::to_string(c.num_key_value_heads) +
                          " does not divide num_attention_heads " + std::to_string(c.num_attention_heads));
  if (c.head_dim % 2 != 0) throw CheckpointError(where(source, "head_dim") + ": must be even for rotary embeddings");
  c.max_position_embeddings = get_int(j, "max_position_embeddings", 2048, source);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, source);
  c.rope_theta = get_double(j, "rope_theta", 10000.0, source);
  // transformers 5 may nest rope parameters in `rope_parameters`.
  if (auto it = j.find("rope_parameters"); it != j.end() && it->is_object()) {
    c.rope_theta = get_double(*it, "rope_theta", c.rope_theta, source);
    json tmp = json::object();
    tmp["rope_scaling"] = *it;
    c.rope_scaling = parse_rope_scaling(tmp, source);
  }
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) c.rope_scaling = parse_rope_scaling(j, source);
  const std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu")
    throw CheckpointError(where(source, "hidden_act") + ": \"" + act + "\" is not supported; supported: silu");
  if (c.model_type == "qwen2") {
    c.qkv_bias = true;
    if (get_bool(j, "use_sliding_window", false, source))
      throw CheckpointError(where(source, "use_sliding_window") +
                            ": sliding-window attention is not supported; set it to false");
  } else {
    c.attention_bias = get_bool(j, "attention_bias", false, source);
    c.mlp_bias = get_bool(j, "mlp_bias", false, source);
  }
  if (auto it = j.find("tie_word_embeddings"); it != j.end() && !it->is_null())
    c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, source);
  c.bos_token_ids = get_ids(j, "bos_token_id", source);
  c.eos_token_ids = get_ids(j, "eos_token_id", source);
  if (auto ids = get_ids(j, "pad_token_id", source); !ids.empty()) c.pad_token_id = ids[0];
  if (auto it = j.find("torch_dtype"); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();
  else if (auto it2 = j.find("dtype"); it2 != j.end() && it2->is_string()) c.torch_dtype = it2->get<std::string>();
  return c;
}

namespace {

// DeepseekV3Config (transformers 5.x models/deepseek_v3/configuration_deepseek_v3.py); missing keys take its
// defaults, as transformers' from_pretrained would.
void parse_deepseek_v3(const json& j, const std::string& source, ModelConfig& c) {
  auto positive = [&](const char* key, int64_t v) {
    if (v <= 0) throw CheckpointError(where(source, key) + ": must be positive, got " + std::to_string(v));
    return v;
  };
  c.vocab_size = positive("vocab_size", require_int(j, "vocab_size", source));
  c.hidden_size = positive("hidden_size", require_int(j, "hidden_size", source));
  c.intermediate_size = positive("intermediate_size", require_int(j, "intermediate_size", source));
  c.num_hidden_layers = positive("num_hidden_layers", require_int(j, "num_hidden_layers", source));
  c.num_attention_heads = positive("num_attention_heads", require_int(j, "num_attention_heads", source));
  // MLA expands the latent into one key/value per head: there is no grouped-query sharing, and transformers
  // only works when num_key_value_heads >= num_attention_heads. The key is therefore not used.
  c.num_key_value_heads = c.num_attention_heads;
  auto q_lora = j.find("q_lora_rank");
  c.q_lora_rank = (q_lora == j.end() || q_lora->is_null()) ? 0 : get_int(j, "q_lora_rank", 0, source);
  if (q_lora == j.end()) c.q_lora_rank = 1536;  // DeepseekV3Config default
  if (c.q_lora_rank < 0) throw CheckpointError(where(source, "q_lora_rank") + ": must be null, 0 or positive");
  c.kv_lora_rank = positive("kv_lora_rank", get_int(j, "kv_lora_rank", 512, source));
  c.qk_nope_head_dim = positive("qk_nope_head_dim", get_int(j, "qk_nope_head_dim", 128, source));
  c.qk_rope_head_dim = positive("qk_rope_head_dim", get_int(j, "qk_rope_head_dim", 64, source));
  c.v_head_dim = positive("v_head_dim", get_int(j, "v_head_dim", 128, source));
  if (c.qk_rope_head_dim % 2 != 0)
    throw CheckpointError(where(source, "qk_rope_head_dim") + ": must be even for rotary embeddings");
  c.head_dim = c.qk_rope_head_dim;  // as DeepseekV3Config.__post_init__: the rotary width
  c.rope_interleave = get_bool(j, "rope_interleave", true, source);
  c.attention_bias = get_bool(j, "attention_bias", false, source);
  c.mlp_bias = false;

  c.n_routed_experts = positive("n_routed_experts", get_int(j, "n_routed_experts", 256, source));
  c.n_shared_experts = get_int(j, "n_shared_experts", 1, source);
  if (c.n_shared_experts < 0) throw CheckpointError(where(source, "n_shared_experts") + ": must be >= 0");
  c.num_experts_per_tok = positive("num_experts_per_tok", get_int(j, "num_experts_per_tok", 8, source));
  // null n_group / topk_group: no grouping (one group holding every expert).
  c.n_group = j.contains("n_group") && j["n_group"].is_null() ? 1 : get_int(j, "n_group", 8, source);
  c.topk_group = j.contains("topk_group") && j["topk_group"].is_null() ? c.n_group
                                                                        : get_int(j, "topk_group", 4, source);
  positive("n_group", c.n_group);
  positive("topk_group", c.topk_group);
  if (c.n_routed_experts % c.n_group != 0)
    throw CheckpointError(where(source, "n_group") + ": " + std::to_string(c.n_group) +
                          " does not divide n_routed_experts " + std::to_string(c.n_routed_experts));
  const int64_t per_group = c.n_routed_experts / c.n_group;
  if (per_group < 2)
    throw CheckpointError(where(source, "n_group") + ": each group needs at least 2 experts (the group score sums "
                          "its top-2 scores); lower n_group");
  if (c.topk_group > c.n_group)
    throw CheckpointError(where(source, "topk_group") + ": " + std::to_string(c.topk_group) + " exceeds n_group " +
                          std::to_string(c.n_group));
  if (c.num_experts_per_tok > c.topk_group * per_group)
    throw CheckpointError(where(source, "num_experts_per_tok") + ": " + std::to_string(c.num_experts_per_tok) +
                          " exceeds the " + std::to_string(c.topk_group * per_group) +
                          " experts in the topk_group kept groups");
  c.routed_scaling_factor = get_double(j, "routed_scaling_factor", 2.5, source);
  c.norm_topk_prob = get_bool(j, "norm_topk_prob", true, source);
  c.scoring_func = j.contains("scoring_func") && j["scoring_func"].is_string() ? j["scoring_func"].get<std::string>()
                                                                               : std::string("sigmoid");
  if (c.scoring_func != "sigmoid")
    throw CheckpointError(where(source, "scoring_func") + ": \"" + c.scoring_func +
                          "\" is not supported; DeepSeek-V3 routing uses \"sigmoid\" (softmax scoring is the "
                          "DeepSeek-V2 router, which r1kit does not implement)");
  if (auto it = j.find("topk_method"); it != j.end() && it->is_string() && it->get<std::string>() != "noaux_tc")
    throw CheckpointError(where(source, "topk_method") + ": \"" + it->get<std::string>() +
                          "\" is not supported; DeepSeek-V3 uses \"noaux_tc\" (bias-corrected group-limited top-k)");
  c.first_k_dense_replace = j.contains("first_k_dense_replace") && j["first_k_dense_replace"].is_null()
                                ? 0
                                : get_int(j, "first_k_dense_replace", 3, source);
  if (c.first_k_dense_replace < 0)
    throw CheckpointError(where(source, "first_k_dense_replace") + ": must be >= 0");
  c.moe_intermediate_size = positive("moe_intermediate_size", get_int(j, "moe_intermediate_size", 2048, source));
  c.num_nextn_predict_layers = get_int(j, "num_nextn_predict_layers", get_int(j, "num_mtp_layers", 1, source), source);

  c.max_position_embeddings = get_int(j, "max_position_embeddings", 4096, source);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6, source);
  c.rope_theta = get_double(j, "rope_theta", 10000.0, source);
  if (auto it = j.find("rope_parameters"); it != j.end() && it->is_object()) {
    c.rope_theta = get_double(*it, "rope_theta", c.rope_theta, source);
    c.rope_scaling = parse_rope_scaling(json{{"rope_scaling", *it}}, source, true, c.max_position_embeddings);
  }
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    c.rope_scaling = parse_rope_scaling(j, source, true, c.max_position_embeddings);
  const std::string act = j.value("hidden_act", std::string("silu"));
  if (act != "silu")
    throw CheckpointError(where(source, "hidden_act") + ": \"" + act + "\" is not supported; supported: silu");

  if (auto it = j.find("quantization_config"); it != j.end() && !it->is_null()) {
    const json& q = *it;
    const std::string method = q.value("quant_method", std::string());
    const std::string fmt = q.value("fmt", std::string("e4m3"));
    if (method != "fp8" || fmt != "e4m3")
      throw CheckpointError(where(source, "quantization_config") + ": quant_method \"" + method + "\" fmt \"" +
                            fmt + "\" is not supported; supported: fp8 e4m3 with block scales (weight_scale_inv), "
                            "or an unquantised checkpoint");
    c.fp8_weight_block_size = {128, 128};
    if (auto b = q.find("weight_block_size"); b != q.end() && !b->is_null()) {
      if (!b->is_array() || b->size() != 2 || !(*b)[0].is_number_integer() || !(*b)[1].is_number_integer() ||
          (*b)[0].get<int64_t>() <= 0 || (*b)[1].get<int64_t>() <= 0)
        throw CheckpointError(where(source, "quantization_config.weight_block_size") +
                              ": expected two positive integers such as [128, 128], got " + b->dump());
      c.fp8_weight_block_size = {(*b)[0].get<int64_t>(), (*b)[1].get<int64_t>()};
    }
  }

  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false, source);
  c.bos_token_ids = get_ids(j, "bos_token_id", source);
  c.eos_token_ids = get_ids(j, "eos_token_id", source);
  if (auto ids = get_ids(j, "pad_token_id", source); !ids.empty()) c.pad_token_id = ids[0];
  if (auto it = j.find("torch_dtype"); it != j.end() && it->is_string()) c.torch_dtype = it->get<std::string>();
  else if (auto it2 = j.find("dtype"); it2 != j.end() && it2->is_string()) c.torch_dtype = it2->get<std::string>();
}

}  // namespace

ModelConfig ModelConfig::from_file(const std::filesystem::path& dir_or_file) {
  auto path = std::filesystem::is_directory(dir_or_file) ? dir_or_file / "config.json" : dir_or_file;
  std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw CheckpointError(path.string() + ": invalid JSON (" + e.what() + ")");
  }
  return from_json(j, path.string());
}

json ModelConfig::to_json(const std::string& dtype_name, bool tied) const {
  json j = raw;
  j["torch_dtype"] = dtype_name;
  if (j.contains("dtype")) j["dtype"] = dtype_name;
  j["tie_word_embeddings"] = tied;
  j.erase("quantization_config");  // weights are written dequantised in dtype_name
  return j;
}

}  // namespace r1kit::model
