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

  /// Layer `layer`'s whole key and value buffers [B, H_kv, capacity, D_k|D_v], for kernels that write slot
  /// length() themselves (model/decode_kernels.h) instead of calling update(); advance() afterwards.
  std::pair<torch::Tensor, torch::Tensor> buffers(int64_t layer) const { return {keys_.at(layer), values_.at(layer)}; }

  /// Throws InvalidArgument (naming both numbers) when `tokens` more tokens do not fit.
  void check_room(int64_t tokens) const;

  /// Commits T new tokens after every layer has called update() for them.
  void advance(int64_t tokens);

  /// Copies the filled tokens [0, src.length()) of row `src_row` of `src` (same layers, heads and widths) into
  /// rows [dst_row, dst_row + count) at slots [dst_slot, dst_slot + src.length()) of every layer — e.g. one
  /// prompt's prefill into its G sample rows, right-aligned for left padding. Does not change length().
  /// Throws InvalidArgument when the rows or slots fall outside this cache or the layouts differ.
  void copy_rows_from(const KVCache& src, int64_t src_row, int64_t dst_row, int64_t count, int64_t dst_slot);

  /// Declares that rows with equal `group` ids ([batch] ids) hold identical keys and values — and are given
  /// identical attention masks — in slots [0, length): the G samples of one prompt after a shared prefill. A hint
  /// for kernels that can read those slots once per group (model/decode_kernels.h); the module path ignores it.
  /// Kept through select_rows(); cleared by reset(). Throws InvalidArgument on a size mismatch.
  void set_shared_prefix(std::vector<int64_t> group, int64_t length);
  const std::vector<int64_t>& shared_group() const { return shared_group_; }  // [batch] or empty
  int64_t shared_length() const { return shared_length_; }

  /// Keeps only the rows `rows` [B'] int64 (in that order); used to drop finished sequences.
  void select_rows(const torch::Tensor& rows);

  /// Forgets all tokens (buffers are reused).
  void reset() {
    length_ = 0;
    shared_group_.clear();
    shared_length_ = 0;
  }

  /// Bytes held by the buffers.
  int64_t bytes() const;

 private:
  std::vector<torch::Tensor> keys_, values_;
  int64_t batch_, max_len_, length_ = 0;
  std::vector<int64_t> shared_group_;
  int64_t shared_length_ = 0;
};

}  // namespace r1kit::model
