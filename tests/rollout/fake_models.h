// Models with known outputs for rollout tests: fixed logits, or a scripted token sequence.
#pragma once

#include <torch/torch.h>

#include "model/causal_lm.h"

namespace r1kit::test {

inline model::ModelConfig fake_config(int64_t vocab) {
  nlohmann::json j = {{"architectures", {"LlamaForCausalLM"}}, {"vocab_size", vocab}, {"hidden_size", 2},
                      {"intermediate_size", 2}, {"num_hidden_layers", 1}, {"num_attention_heads", 1},
                      {"num_key_value_heads", 1}, {"head_dim", 2}};
  return model::ModelConfig::from_json(j, "fake");
}

/// Base: hidden state [B,T,1] carries the rotary position of each token; subclasses map it to logits.
class PositionEchoLM : public model::CausalLM {
 public:
  explicit PositionEchoLM(int64_t vocab) : CausalLM(fake_config(vocab), true) {
    dummy_ = register_parameter("dummy", torch::zeros({1}));
  }
  torch::Tensor hidden_states(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor&,
                              model::KVCache* cache) override {
    if (cache) cache->advance(ids.size(1));
    return positions.to(torch::kFloat32).unsqueeze(-1);
  }
  std::unique_ptr<model::KVCache> make_cache(int64_t batch, int64_t max_len) const override {
    return std::make_unique<model::KVCache>(1, batch, 1, max_len, 1, torch::kFloat32, torch::kCPU);
  }
  void init_weights(uint64_t) override {}
  torch::Tensor output_weight() const override { return torch::zeros({config().vocab_size, 1}); }

 private:
  torch::Tensor dummy_;
};

/// Same logits [V] at every position.
class FixedLogitsLM : public PositionEchoLM {
 public:
  explicit FixedLogitsLM(torch::Tensor logits) : PositionEchoLM(logits.size(0)), logits_(std::move(logits)) {}
  torch::Tensor logits(const torch::Tensor& h) override {
    auto shape = h.sizes().vec();
    shape.back() = logits_.size(0);
    return logits_.expand(shape).contiguous();
  }

 private:
  torch::Tensor logits_;
};

/// Greedy decoding emits script[position - start]; after the script ends, token 0.
class ScriptedLM : public PositionEchoLM {
 public:
  ScriptedLM(int64_t vocab, std::vector<int64_t> script, int64_t start)
      : PositionEchoLM(vocab), script_(std::move(script)), start_(start) {}
  torch::Tensor logits(const torch::Tensor& h) override {
    // h holds the position of the token just fed; the next token is for position + 1.
    auto flat = h.reshape({-1});
    auto out = torch::zeros({flat.size(0), config().vocab_size});
    for (int64_t i = 0; i < flat.size(0); ++i) {
      const int64_t k = static_cast<int64_t>(flat[i].item<float>()) + 1 - start_;
      const int64_t tok = (k >= 0 && k < static_cast<int64_t>(script_.size())) ? script_[k] : 0;
      out[i][tok] = 10.0;
    }
    auto shape = h.sizes().vec();
    shape.back() = config().vocab_size;
    return out.view(shape);
  }

 private:
  std::vector<int64_t> script_;
  int64_t start_;
};

}  // namespace r1kit::test
