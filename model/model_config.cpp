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

RopeScaling parse_rope_scaling(const json& j, const std::string& source) {
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
  throw CheckpointError(where(source, "rope_scaling.rope_type") + ": \"" + type +
                        "\" is not supported for dense models; supported: default, linear, llama3");
}

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
  }
  if (arch == "LlamaForCausalLM") {
    c.model_type = "llama";
  } else if (arch == "Qwen2ForCausalLM") {
    c.model_type = "qwen2";
  } else {
    throw CheckpointError(source + ": architecture \"" + (arch.empty() ? c.model_type : arch) +
                          "\" is not supported; supported: LlamaForCausalLM (model_type llama), "
                          "Qwen2ForCausalLM (qwen2)");
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
  return j;
}

}  // namespace r1kit::model
