// GGUF -> Hugging Face directory. See gguf_convert.h.
#include "model/gguf_convert.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"
#include "model/gguf_tokenizer.h"
#include "model/safetensors.h"

namespace r1kit::model {

namespace {

const char* hf_architecture(const std::string& arch) {
  if (arch == "llama") return "LlamaForCausalLM";
  if (arch == "qwen2") return "Qwen2ForCausalLM";
  return nullptr;
}

[[noreturn]] void unsupported_architecture(const GgufFile& g, const std::string& arch) {
  throw CheckpointError("GGUF file " + g.path().string() + ": architecture " + arch +
                        " is not supported by convert gguf; supported: llama, qwen2");
}

// Writes `out_dir` from a freshly built temporary directory, replacing an old one only when asked.
class StagedDir {
 public:
  StagedDir(const fs::path& out_dir, bool force) : out_(fs::absolute(out_dir).lexically_normal()) {
    if (out_.filename().empty()) out_ = out_.parent_path();
    std::error_code ec;
    if (fs::exists(out_, ec)) {
      if (!fs::is_directory(out_))
        throw IoError(out_.string() + " exists and is not a directory; choose another --out");
      if (!fs::is_empty(out_) && !force)
        throw IoError(out_.string() + " exists and is not empty; pass --force to replace it or choose another --out");
    }
    fs::create_directories(out_.parent_path(), ec);
    std::string tmpl = out_.string() + ".tmp-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw IoError("cannot create a temporary directory next to " + out_.string());
    tmp_ = tmpl;
    const mode_t mask = ::umask(0);  // mkdtemp made it 0700; give it the mode a plain mkdir would
    ::umask(mask);
    ::chmod(tmp_.c_str(), 0777 & ~mask);
  }
  ~StagedDir() {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }
  const fs::path& path() const { return tmp_; }
  void commit() {
    std::error_code ec;
    fs::path old;
    if (fs::exists(out_)) {
      old = out_.string() + ".old-" + std::to_string(::getpid());
      fs::rename(out_, old, ec);
      if (ec) throw IoError("cannot move the old " + out_.string() + " aside: " + ec.message());
    }
    fs::rename(tmp_, out_, ec);
    if (ec) {
      if (!old.empty()) fs::rename(old, out_);
      throw IoError("cannot rename " + tmp_.string() + " to " + out_.string() + ": " + ec.message());
    }
    tmp_.clear();
    if (!old.empty()) fs::remove_all(old, ec);
  }

 private:
  fs::path out_, tmp_;
};

}  // namespace

std::string gguf_to_hf_tensor_name(const std::string& name, const fs::path& file) {
  if (name == "token_embd.weight") return "model.embed_tokens.weight";
  if (name == "output_norm.weight") return "model.norm.weight";
  if (name == "output.weight") return "lm_head.weight";
  if (name == "rope_freqs.weight") return "";
  static const std::regex block(R"(blk\.(\d+)\.([a-z_]+)\.(weight|bias))");
  static const std::map<std::string, std::string> parts = {
      {"attn_q", "self_attn.q_proj"},     {"attn_k", "self_attn.k_proj"},  {"attn_v", "self_attn.v_proj"},
      {"attn_output", "self_attn.o_proj"}, {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},      {"attn_norm", "input_layernorm"}, {"ffn_norm", "post_attention_layernorm"},
  };
  std::smatch m;
  if (std::regex_match(name, m, block)) {
    auto it = parts.find(m[2].str());
    if (it != parts.end()) return "model.layers." + m[1].str() + "." + it->second + "." + m[3].str();
  }
  throw CheckpointError("GGUF file " + file.string() + ": tensor '" + name +
                        "' has no Hugging Face counterpart in r1kit's llama/qwen2 mapping; the model uses parts "
                        "r1kit does not implement");
}

torch::Tensor unpermute_rope_rows(const torch::Tensor& w, int64_t n_head) {
  const int64_t rows = w.size(0);
  const int64_t cols = w.dim() > 1 ? w.size(1) : 1;
  if (n_head <= 0 || rows % (2 * n_head) != 0)
    throw CheckpointError("cannot undo the rotary permutation: " + std::to_string(rows) + " rows are not a multiple "
                          "of 2 x " + std::to_string(n_head) + " heads; the head counts in the GGUF are wrong");
  return w.reshape({n_head, rows / n_head / 2, 2, cols}).transpose(1, 2).reshape(w.sizes()).contiguous();
}

nlohmann::ordered_json gguf_hf_config(const GgufFile& g, bool tied) {
  const std::string arch = g.get_string("general.architecture");
  const char* hf_arch = hf_architecture(arch);
  if (!hf_arch) unsupported_architecture(g, arch);
  auto key = [&](const std::string& k) { return arch + "." + k; };
  const int64_t hidden = g.get_int(key("embedding_length"));
  const int64_t heads = g.get_int(key("attention.head_count"));
  const int64_t kv_heads = g.has(key("attention.head_count_kv")) ? g.get_int(key("attention.head_count_kv")) : heads;
  int64_t vocab = 0;
  if (g.has(key("vocab_size"))) vocab = g.get_int(key("vocab_size"));
  else if (g.contains("token_embd.weight")) vocab = g.tensor("token_embd.weight").shape[0];
  else vocab = static_cast<int64_t>(g.metadata()["tokenizer.ggml.tokens"].size());

  nlohmann::ordered_json c;
  c["architectures"] = {hf_arch};
  c["model_type"] = arch;
  c["hidden_size"] = hidden;
  c["intermediate_size"] = g.get_int(key("feed_forward_length"));
  c["num_hidden_layers"] = g.get_int(key("block_count"));
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = kv_heads;
  if (arch == "llama") {
    int64_t head_dim = hidden / heads;
    if (g.has(key("rope.dimension_count"))) head_dim = g.get_int(key("rope.dimension_count"));
    c["head_dim"] = head_dim;
  }
  c["hidden_act"] = "silu";
  c["max_position_embeddings"] = g.get_int(key("context_length"));
  c["rms_norm_eps"] = g.get_float(key("attention.layer_norm_rms_epsilon"));
  c["rope_theta"] = g.has(key("rope.freq_base")) ? g.get_float(key("rope.freq_base")) : 10000.0;
  c["rope_scaling"] = nullptr;
  if (g.has(key("rope.scaling.type")) && g.get_string(key("rope.scaling.type")) != "none") {
    nlohmann::ordered_json rs;
    rs["rope_type"] = g.get_string(key("rope.scaling.type"));
    if (g.has(key("rope.scaling.factor"))) rs["factor"] = g.get_float(key("rope.scaling.factor"));
    if (g.has(key("rope.scaling.original_context_length")))
      rs["original_max_position_embeddings"] = g.get_int(key("rope.scaling.original_context_length"));
    c["rope_scaling"] = rs;
  }
  c["vocab_size"] = vocab;
  c["tie_word_embeddings"] = tied;
  for (const auto& [field, k] : {std::pair{"bos_token_id", "tokenizer.ggml.bos_token_id"},
                                 std::pair{"eos_token_id", "tokenizer.ggml.eos_token_id"},
                                 std::pair{"pad_token_id", "tokenizer.ggml.padding_token_id"}})
    if (g.has(k)) c[field] = g.get_int(k);
  if (arch == "llama") {
    c["attention_bias"] = false;
    c["mlp_bias"] = false;
    c["pretraining_tp"] = 1;
  } else {  // qwen2: biases on q/k/v are implied by the architecture
    c["use_sliding_window"] = false;
  }
  c["attention_dropout"] = 0.0;
  c["initializer_range"] = 0.02;
  c["use_cache"] = true;
  c["torch_dtype"] = "float32";
  return c;
}

GgufConvertSummary convert_gguf_to_hf(const fs::path& gguf_path, const fs::path& out_dir, bool force) {
  const GgufFile g = GgufFile::open(gguf_path);
  GgufConvertSummary s;
  s.architecture = g.get_string("general.architecture");
  if (!hf_architecture(s.architecture)) unsupported_architecture(g, s.architecture);
  const bool tied = !g.contains("output.weight");
  const nlohmann::ordered_json config = gguf_hf_config(g, tied);
  s.layers = config["num_hidden_layers"].get<int64_t>();
  const int64_t heads = config["num_attention_heads"].get<int64_t>();
  const int64_t kv_heads = config["num_key_value_heads"].get<int64_t>();

  // Check every tensor before the slow part, so an unsupported type fails in milliseconds.
  for (const auto& t : g.tensors()) {
    if (!gguf_to_hf_tensor_name(t.name, gguf_path).empty()) ggml_block(t.type, t.name);
    s.tensor_types[ggml_type_name(t.type)] += 1;
  }
  StagedDir staged(out_dir, force);
  NamedTensors tensors;
  for (const auto& t : g.tensors()) {
    const std::string hf = gguf_to_hf_tensor_name(t.name, gguf_path);
    if (hf.empty()) {
      s.notes.push_back("skipped " + t.name + " (llama.cpp's precomputed RoPE factors; not a Hugging Face weight)");
      continue;
    }
    torch::Tensor w = g.dequantize(t.name);  // [out, in] float32 (GGUF dims reversed)
    if (s.architecture == "llama") {
      if (t.name.find(".attn_q.") != std::string::npos) w = unpermute_rope_rows(w, heads);
      else if (t.name.find(".attn_k.") != std::string::npos) w = unpermute_rope_rows(w, kv_heads);
    }
    s.parameters += w.numel();
    tensors.emplace_back(hf, std::move(w));
  }
  save_safetensors(staged.path() / "model.safetensors", tensors);
  tensors.clear();
  write_file_atomic(staged.path() / "config.json", config.dump(2) + "\n");

  nlohmann::ordered_json gen;
  for (const char* f : {"bos_token_id", "eos_token_id", "pad_token_id"})
    if (config.contains(f)) gen[f] = config[f];
  write_file_atomic(staged.path() / "generation_config.json", gen.dump(2) + "\n");

  if (gguf_has_byte_level_bpe(g)) {
    // Invalid UTF-8 inside a token cannot be written as JSON text; replace it rather than fail the conversion.
    write_file_atomic(staged.path() / "tokenizer.json",
                      gguf_tokenizer_json(g).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                          "\n");
    write_file_atomic(staged.path() / "tokenizer_config.json",
                      gguf_tokenizer_config(g, config["max_position_embeddings"].get<int64_t>())
                              .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                          "\n");
    s.tokenizer_written = true;
  } else {
    const std::string model = g.has("tokenizer.ggml.model") ? g.get_string("tokenizer.ggml.model") : "(none)";
    s.notes.push_back("tokenizer not rebuilt (tokenizer.ggml.model = " + model +
                      ", only byte-level BPE \"gpt2\" is supported): copy tokenizer.json and tokenizer_config.json "
                      "from the original model repository");
  }
  staged.commit();
  return s;
}

}  // namespace r1kit::model
