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

void KVCache::check_room(int64_t t) const {
  if (length_ + t > max_len_)
    throw InvalidArgument("KVCache: " + std::to_string(length_) + " cached + " + std::to_string(t) +
                          " new tokens exceed the capacity of " + std::to_string(max_len_) +
                          " tokens; allocate a larger cache (max_len)");
}

std::pair<torch::Tensor, torch::Tensor> KVCache::update(int64_t layer, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t t = k.size(2);
  check_room(t);
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

void KVCache::copy_rows_from(const KVCache& src, int64_t src_row, int64_t dst_row, int64_t count, int64_t dst_slot) {
  const int64_t n = src.length();
  if (src.keys_.size() != keys_.size() || src.keys_[0].size(1) != keys_[0].size(1) ||
      src.keys_[0].size(3) != keys_[0].size(3) || src.values_[0].size(3) != values_[0].size(3) || src_row < 0 || src_row >= src.batch_ || dst_row < 0 || count < 0 ||
      dst_row + count > batch_ || dst_slot < 0 || dst_slot + n > max_len_)
    throw InvalidArgument("KVCache::copy_rows_from: source row " + std::to_string(src_row) + " (" + std::to_string(n) +
                          " tokens) into rows [" + std::to_string(dst_row) + ", " + std::to_string(dst_row + count) +
                          ") at slot " + std::to_string(dst_slot) + " does not fit a cache of " +
                          std::to_string(batch_) + " rows × " + std::to_string(max_len_) + " slots");
  for (size_t l = 0; l < keys_.size(); ++l) {
    auto k = src.keys_[l].narrow(0, src_row, 1).narrow(2, 0, n);    // [1,H_kv,n,D_k]
    auto v = src.values_[l].narrow(0, src_row, 1).narrow(2, 0, n);  // [1,H_kv,n,D_v]
    keys_[l].narrow(0, dst_row, count).narrow(2, dst_slot, n).copy_(k.expand({count, -1, -1, -1}));
    values_[l].narrow(0, dst_row, count).narrow(2, dst_slot, n).copy_(v.expand({count, -1, -1, -1}));
  }
}

void KVCache::set_shared_prefix(std::vector<int64_t> group, int64_t length) {
  if (static_cast<int64_t>(group.size()) != batch_ || length < 0 || length > max_len_)
    throw InvalidArgument("KVCache::set_shared_prefix: " + std::to_string(group.size()) + " group ids and " +
                          std::to_string(length) + " slots for a cache of " + std::to_string(batch_) + " rows × " +
                          std::to_string(max_len_) + " slots");
  shared_group_ = std::move(group);
  shared_length_ = length;
}

void KVCache::select_rows(const torch::Tensor& rows) {
  for (auto& k : keys_) k = k.index_select(0, rows.to(k.device()));
  for (auto& v : values_) v = v.index_select(0, rows.to(v.device()));
  batch_ = rows.size(0);
  if (!shared_group_.empty()) {
    auto idx = rows.to(torch::kCPU).to(torch::kInt64).contiguous();
    const int64_t* r = idx.data_ptr<int64_t>();
    std::vector<int64_t> group(batch_);
    for (int64_t i = 0; i < batch_; ++i) group[i] = shared_group_.at(r[i]);
    shared_group_ = std::move(group);
  }
}

int64_t KVCache::bytes() const {
  int64_t total = 0;
  for (const auto& k : keys_) total += k.numel() * k.element_size();
  for (const auto& v : values_) total += v.numel() * v.element_size();
  return total;
}

}  // namespace r1kit::model
