// CausalLM: the interface every policy architecture implements, plus loading from and saving to Hugging Face
// checkpoint directories (config.json + *.safetensors [+ tokenizer files]).
//
// Shapes: B = batch, T = new tokens this call, S = cached + new tokens, C = hidden size, V = vocabulary.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/inference_weights.h"
#include "model/kv_cache.h"
#include "model/model_config.h"

namespace r1kit::model {

class CausalLM : public torch::nn::Module {
 public:
  CausalLM(ModelConfig config, bool tied_embeddings)
      : config_(std::move(config)), tied_(tied_embeddings) {}
  ~CausalLM() override = default;

  const ModelConfig& config() const { return config_; }
  /// True when lm_head shares the input embedding matrix (no lm_head.weight parameter).
  bool tied_embeddings() const { return tied_; }

  /// Final hidden states after the last norm.
  ///   input_ids      [B,T] int64
  ///   positions      [B,T] int64 — rotary positions (for left-padded rows: count only real tokens)
  ///   attention_mask [B,S] bool/int (1 = real token) or undefined = all real; covers cached + new tokens
  ///                  — or a full [B,1,T,S] bool mask (true = may attend), used as given (packed SFT rows)
  ///   cache          nullptr, or a KVCache from make_cache(); new keys/values are appended and it advances by T
  /// Returns [B,T,C] in the model dtype. Attention is causal over cache slots; a query always sees itself.
  /// Throws InvalidArgument on shape mismatches or a full cache.
  virtual torch::Tensor hidden_states(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                      const torch::Tensor& attention_mask = {}, KVCache* cache = nullptr) = 0;

  /// lm_head on hidden states [..., C] -> logits [..., V] float32. Lets callers project a few rows at a time so
  /// the whole [B,T,V] tensor never has to exist (train/ token log-probs, rollout last-token sampling).
  virtual torch::Tensor logits(const torch::Tensor& hidden) = 0;

  /// The output projection W [V,C] (the embedding matrix when tied): logits = hidden · Wᵀ. Lets train/ compute
  /// token log-probs chunk by chunk with a memory-bounded backward.
  virtual torch::Tensor output_weight() const = 0;

  /// logits(hidden_states(...)): [B,T,V] float32.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& positions,
                        const torch::Tensor& attention_mask = {}, KVCache* cache = nullptr) {
    return logits(hidden_states(input_ids, positions, attention_mask, cache));
  }

  /// A KV cache sized for this model: batch rows × max_len tokens, in the parameters' dtype and device.
  virtual std::unique_ptr<KVCache> make_cache(int64_t batch, int64_t max_len) const = 0;

  /// Initialises every parameter as transformers' `_init_weights` does for a fresh model (normal(0, 0.02) for
  /// matrices and embeddings, zeros for biases, ones for norms) from `seed`. Used for tests and from-scratch runs.
  virtual void init_weights(uint64_t seed) = 0;

  /// Builds inference-only weight layouts (model/inference_weights.h) from the current parameters; they are used
  /// while autograd is off, until release_inference(). Architectures without special layouts ignore it. Prefer
  /// InferenceScope, which releases them even when generation throws.
  virtual void prepare_inference(const InferenceOptions& options) { (void)options; }
  virtual void release_inference() {}

  /// Tensors as they are saved, under their Hugging Face names (model.layers.0.self_attn.q_proj.weight, …).
  std::vector<std::pair<std::string, torch::Tensor>> hf_state() const;

  torch::ScalarType dtype() const;
  torch::Device device() const;

 protected:
  ModelConfig config_;
  bool tied_;
};

/// prepare_inference() for the lifetime of the scope (the rollout engine holds one per generate() call).
class InferenceScope {
 public:
  InferenceScope(CausalLM& model, const InferenceOptions& options) : model_(model) { model_.prepare_inference(options); }
  ~InferenceScope() { model_.release_inference(); }
  InferenceScope(const InferenceScope&) = delete;
  InferenceScope& operator=(const InferenceScope&) = delete;

 private:
  CausalLM& model_;
};

/// Builds an (uninitialised) model of config.model_type. Throws CheckpointError for an unknown type.
std::shared_ptr<CausalLM> create_causal_lm(const ModelConfig& config, bool tied_embeddings);

/// Loads a Hugging Face checkpoint directory: config.json + model.safetensors or a sharded
/// model.safetensors.index.json. Every parameter must be present with its exact shape; an unexpected tensor is an
/// error unless ignorable (rotary inv_freq buffers, lm_head.weight of a tied model). Errors name the tensor and
/// file (CheckpointError); a missing directory or config.json is an IoError.
/// The model is returned in eval mode on `device` with parameters in `dtype`.
std::shared_ptr<CausalLM> load_pretrained(const std::filesystem::path& dir, torch::Device device = torch::kCPU,
                                          torch::ScalarType dtype = torch::kFloat32);

/// Writes a directory transformers' AutoModelForCausalLM.from_pretrained loads: config.json (the source
/// config with torch_dtype and tie_word_embeddings updated), model.safetensors (parameters in their dtype),
/// generation_config.json, and the tokenizer files (tokenizer.json, tokenizer_config.json,
/// special_tokens_map.json, generation_config.json when present) copied from `tokenizer_dir` if given.
/// Atomic: written to a sibling temporary directory and renamed over `dir`. Throws IoError.
void save_pretrained(const CausalLM& model, const std::filesystem::path& dir,
                     const std::filesystem::path& tokenizer_dir = {});

/// "float32" | "bfloat16" | "float16" <-> torch dtype. Throws InvalidArgument on other names.
torch::ScalarType dtype_from_name(const std::string& name);
std::string dtype_name(torch::ScalarType dtype);

}  // namespace r1kit::model
