#include "sft/batch.h"

#include "core/error.h"
#include "train/token_logprobs.h"

namespace r1kit::sft {

Batch make_packed_batch(const std::vector<std::vector<const SFTExample*>>& rows, int64_t pad_id) {
  if (rows.empty()) throw InvalidArgument("make_packed_batch: no rows");
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t T = 1;
  for (const auto& r : rows) {
    int64_t len = 0;
    for (const auto* e : r) len += static_cast<int64_t>(e->ids.size());
    T = std::max(T, len);
  }
  std::vector<int64_t> ids(B * T, pad_id), pos(B * T, 0), segment(B * T, -1), hidden_rows, targets;
  Batch b;
  for (int64_t r = 0; r < B; ++r) {
    int64_t t0 = 0, seg = 0;
    for (const auto* e : rows[r]) {
      const int64_t L = static_cast<int64_t>(e->ids.size());
      for (int64_t i = 0; i < L; ++i) {
        const int64_t flat = r * T + t0 + i;
        ids[flat] = e->ids[i];
        pos[flat] = i;
        segment[flat] = seg;
        if (i > 0 && e->loss_mask[i]) {
          hidden_rows.push_back(flat - 1);
          targets.push_back(e->ids[i]);
        }
      }
      t0 += L;
      ++seg;
      b.num_tokens += L;
    }
  }
  b.input_ids = torch::tensor(ids, torch::kInt64).view({B, T});
  b.positions = torch::tensor(pos, torch::kInt64).view({B, T});
  auto sg = torch::tensor(segment, torch::kInt64).view({B, T});
  auto causal = torch::ones({T, T}, torch::kBool).tril().view({1, T, T});
  auto same = sg.unsqueeze(2) == sg.unsqueeze(1);  // [B,T,T]
  auto valid = (sg >= 0).unsqueeze(1);               // keys that are real tokens
  auto eye = torch::eye(T, torch::kBool).view({1, T, T});
  b.attention_mask = ((same & causal & valid) | eye).unsqueeze(1);  // a pad query sees itself only
  b.hidden_rows = torch::tensor(hidden_rows, torch::kInt64);
  b.targets = torch::tensor(targets, torch::kInt64);
  b.num_target_tokens = static_cast<int64_t>(targets.size());
  return b;
}

Batch make_padded_batch(const std::vector<const SFTExample*>& examples, int64_t pad_id) {
  if (examples.empty()) throw InvalidArgument("make_padded_batch: no examples");
  const int64_t B = static_cast<int64_t>(examples.size());
  int64_t T = 1;
  for (const auto* e : examples) T = std::max<int64_t>(T, e->ids.size());
  std::vector<int64_t> ids(B * T, pad_id), attn(B * T, 0), hidden_rows, targets;
  Batch b;
  for (int64_t r = 0; r < B; ++r) {
    const auto* e = examples[r];
    for (size_t i = 0; i < e->ids.size(); ++i) {
      const int64_t flat = r * T + static_cast<int64_t>(i);
      ids[flat] = e->ids[i];
      attn[flat] = 1;
      if (i > 0 && e->loss_mask[i]) {
        hidden_rows.push_back(flat - 1);
        targets.push_back(e->ids[i]);
      }
    }
    b.num_tokens += static_cast<int64_t>(e->ids.size());
  }
  b.input_ids = torch::tensor(ids, torch::kInt64).view({B, T});
  b.attention_mask = torch::tensor(attn, torch::kInt64).view({B, T});
  b.positions = torch::arange(T, torch::kInt64).view({1, T}).expand({B, T}).contiguous();
  b.hidden_rows = torch::tensor(hidden_rows, torch::kInt64);
  b.targets = torch::tensor(targets, torch::kInt64);
  b.num_target_tokens = static_cast<int64_t>(targets.size());
  return b;
}

std::vector<std::vector<size_t>> pack_examples(const std::vector<SFTExample>& examples, const std::vector<size_t>& order,
                                               int64_t max_length) {
  std::vector<std::vector<size_t>> rows;
  std::vector<int64_t> used;
  for (size_t idx : order) {
    const int64_t L = static_cast<int64_t>(examples[idx].ids.size());
    size_t r = 0;
    while (r < rows.size() && used[r] + L > max_length) ++r;
    if (r == rows.size()) {
      rows.emplace_back();
      used.push_back(0);
    }
    rows[r].push_back(idx);
    used[r] += L;
  }
  return rows;
}

torch::Tensor token_nll_sum(model::CausalLM& model, const Batch& batch, int64_t chunk_rows) {
  if (batch.num_target_tokens == 0) return torch::zeros({}, torch::kFloat32);
  auto hidden = model.hidden_states(batch.input_ids, batch.positions, batch.attention_mask);  // [B,T,C]
  auto h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, batch.hidden_rows);       // [N,C]
  auto logp = train::chunked_token_logprobs(h, model.output_weight(), batch.targets, /*temperature=*/1.0, chunk_rows);
  return -logp.sum();
}

}  // namespace r1kit::sft
