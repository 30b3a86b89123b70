// GGUF -> Hugging Face checkpoint directory (config.json, model.safetensors in float32, generation_config.json,
// tokenizer.json, tokenizer_config.json), so a llama.cpp model file can be trained by r1kit and loaded by
// transformers. Mirrors transformers' GGUF loader (`integrations/ggml.py`, `modeling_gguf_pytorch_utils.py`):
// same config fields, same tensor names, llama.cpp's Q/K row permutation undone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/gguf.h"

namespace r1kit::model {

namespace fs = std::filesystem;

/// What a conversion did (printed by `r1kit convert gguf`).
struct GgufConvertSummary {
  std::string architecture;                    // general.architecture, e.g. "llama"
  int64_t layers = 0;                          // num_hidden_layers
  int64_t parameters = 0;                      // elements written to model.safetensors
  std::map<std::string, int64_t> tensor_types;  // ggml type name -> number of tensors of that type
  std::vector<std::string> notes;              // skipped tensors, tokenizer not rebuilt, …
  bool tokenizer_written = false;
};

/// The Hugging Face config.json for the GGUF's architecture (llama -> LlamaForCausalLM, qwen2 ->
/// Qwen2ForCausalLM). `tied` = no separate output tensor. Throws CheckpointError for other architectures or a
/// missing required key (naming it).
nlohmann::ordered_json gguf_hf_config(const GgufFile& gguf, bool tied);

/// Hugging Face name of a GGUF tensor ("blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight");
/// empty for tensors with no Hugging Face counterpart (rope_freqs). Throws CheckpointError for an unknown name.
std::string gguf_to_hf_tensor_name(const std::string& gguf_name, const fs::path& file);

/// Undoes llama.cpp's rotary row permutation of a Q or K projection weight [rows, cols] (or bias [rows]):
/// llama.cpp stored w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols).
torch::Tensor unpermute_rope_rows(const torch::Tensor& w, int64_t n_head);

/// Converts `gguf` into the directory `out_dir`, built under `<out_dir>.tmp-XXXXXX` and renamed into place at the
/// end (a failure leaves no partial directory). An existing non-empty `out_dir` is an IoError unless `force`, in
/// which case it is replaced. Architectures: llama (Q/K un-permuted), qwen2 (with q/k/v biases). Tensors of any
/// type GgufFile::dequantize supports; weights are written as float32. The tokenizer is rebuilt for byte-level BPE
/// vocabularies (see gguf_tokenizer.h); otherwise a note says to copy it. Throws CheckpointError / IoError.
GgufConvertSummary convert_gguf_to_hf(const fs::path& gguf, const fs::path& out_dir, bool force = false);

}  // namespace r1kit::model
