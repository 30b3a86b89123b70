#include "model/kv_cache.h"

#include "core/error.h"

namespace r1kit::model {

KVCache::KVCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t max_len, int64_t head_dim,
                 torch::ScalarType dtype, torch::Device device)
    : KVCache(num_layers, batch, num_kv_heads, max_len, head_dim, head_dim, dtype, device) {}

KVCache::KVCache(int64_t num_layers, int64_t batch, int64_t num_kv_heads, int64_t max_len, int64_t key_dim,
                 int64_t value_dim, torch::ScalarType dtype, torch::Device device)
    : batch_(batch), max_len_(max_len) {
  if (num_layers <= 0 || batch <= 0 || num_kv_heads <= 0 || max_len <= 0 || key_dim <= 0 || value_dim <= 0)
    throw InvalidArgument("KVCache: all sizes must be positive (layers " + std::to_string(num_layers) + ", batch " +
                          std::to_string(batch) + ", kv heads " + std::to_string(num_kv_heads) + ", max_len " +
                          std::to_string(max_len) + ", head_dim " + std::to_string(key_dim) +
                          (key_dim == value_dim ? std::string() : ", value dim " + std::to_string(value_dim)) + ")");
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < num_layers; ++l) {
    keys_.push_back(torch::zeros({batch, num_kv_heads, max_len, key_dim}, opts));
    values_.push_back(torch::zeros({batch, num_kv_heads, max_len, value_dim}, opts));
  }
}

std::pair<torch::Tensor, torch::Tensor> KVCache::update(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  if (length_ + t > max_len_)
    throw InvalidArgument("KVCache: " + std::to_string(length_) + " cached + " + std::to_string(t) +
                          " new tokens exceed the capacity of " + std::to_string(max_len_) +
                          " tokens; allocate a larger cache (max_len)");
  if (k.size(0) != batch_)
    throw InvalidArgument("KVCache: batch " + std::to_string(k.size(0)) + " != cache batch " + std::to_string(batch_));
  keys_.at(layer).narrow(2, length_, t).copy_(k);
  values_.at(layer).narrow(2, length_, t).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + t), values_[layer].narrow(2, 0, length_ + t)};
}

void KVCache::advance(int64_t tokens) {
  if (length_ + tokens > max_len_) throw InvalidArgument("KVCache::advance past capacity");
  length_ += tokens;
}

void KVCache::select_rows(const torch::Tensor& rows) {
  for (auto& k : keys_) k = k.index_select(0, rows.to(k.device()));
  for (auto& v : values_) v = v.index_select(0, rows.to(v.device()));
  batch_ = rows.size(0);
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (const auto& k : keys_) total += k.numel() * k.element_size();
  for (const auto& v : values_) total += v.numel() * v.element_size();
  return total;
}

}  // namespace r1kit::model
