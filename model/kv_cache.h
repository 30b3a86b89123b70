// KV cache for incremental decoding: dense architectures (Llama, Qwen2) store keys and values; DeepSeek-V3's
// multi-head latent attention stores, with H_kv = 1, the normalised KV latent [kv_lora_rank] as the "key" and the
// rotated shared rope key [qk_rope_head_dim] as the "value" of each token.
//
// Every layer owns two buffers [B, H_kv, max_len, D_k] and [B, H_kv, max_len, D_v] (D_k = D_v for dense models).
// All rows share one write position (`length()`); rows that started later (left padding) or finished early are
// handled by the attention mask, and rows can be dropped or reordered with `select_rows` (batch compaction in the
// rollout engine).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace r1kit::model {

class KVCache {
 public:
  /// Allocates num_layers × 2 buffers of [batch, num_kv_heads, max_len, head_dim] in dtype on device
  /// (bytes = 2·L·B·H_kv·max_len·D·itemsize). Throws InvalidArgument on non-positive sizes.
  KVCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t max_len, int64_t head_dim,
          torch::ScalarType dtype, torch::Device device);
  /// As above with different widths: keys [batch, num_kv_heads, max_len, key_dim] and values
  /// [batch, num_kv_heads, max_len, value_dim] (bytes = L·B·H_kv·max_len·(D_k + D_v)·itemsize).
  KVCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t max_len, int64_t key_dim,
          int64_t value_dim, torch::ScalarType dtype, torch::Device device);

  int64_t length() const { return length_; }    // tokens stored per row
  int64_t capacity() const { return max_len_; }
  int64_t batch() const { return batch_; }

  /// Writes k [B, H_kv, T, D_k], v [B, H_kv, T, D_v] for `layer` at slots [length, length+T) and returns views of
  /// the filled part [B, H_kv, length+T, D_k|D_v]. Throws InvalidArgument when length+T exceeds the capacity
  /// (names both).
  std::pair<torch::Tensor, torch::Tensor> update(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);

  /// Commits T new tokens after every layer has called update() for them.
  void advance(int64_t tokens);

  /// Keeps only the rows `rows` [B'] int64 (in that order); used to drop finished sequences.
  void select_rows(const torch::Tensor& rows);

  /// Forgets all tokens (buffers are reused).
  void reset() { length_ = 0; }

  /// Bytes held by the buffers.
  int64_t bytes() const;

 private:
  std::vector<torch::Tensor> keys_, values_;
  int64_t batch_, max_len_, length_ = 0;
};

}  // namespace r1kit::model
