#include "rollout/sampler.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "model/decode_kernels.h"

namespace r1kit::rollout {

void SamplingParams::validate() const {
  auto bad = [](const std::string& what) { throw InvalidArgument("sampling: " + what); };
  if (n < 1) bad("n must be >= 1, got " + std::to_string(n));
  if (!(temperature >= 0.0)) bad("temperature must be >= 0, got " + std::to_string(temperature));
  if (!(top_p > 0.0 && top_p <= 1.0)) bad("top_p must be in (0, 1], got " + std::to_string(top_p));
  if (top_k < -1) bad("top_k must be -1, 0 (off) or positive, got " + std::to_string(top_k));
  if (!(min_p >= 0.0 && min_p < 1.0)) bad("min_p must be in [0, 1), got " + std::to_string(min_p));
  if (max_new_tokens < 1) bad("max_new_tokens must be >= 1, got " + std::to_string(max_new_tokens));
  for (const auto& s : stop_strings)
    if (s.empty()) bad("stop_strings must not contain an empty string");
}

torch::Tensor token_logprobs_from_logits(const torch::Tensor& logits, const torch::Tensor& tokens, double temperature) {
  const double t = temperature > 0 ? temperature : 1.0;
  auto scaled = logits.to(torch::kFloat32) / t;
  // log p(token) = x_token - logsumexp(x): avoids materialising log_softmax over [N,V].
  auto picked = scaled.gather(1, tokens.view({-1, 1})).squeeze(1);
  return picked - torch::logsumexp(scaled, 1);
}

torch::Tensor filtered_probs(const torch::Tensor& logits, const SamplingParams& p) {
  if (!(p.temperature > 0)) throw InvalidArgument("filtered_probs needs temperature > 0");
  auto probs = torch::softmax(logits.to(torch::kFloat32) / p.temperature, -1);  // [N,V]
  const int64_t V = probs.size(1);
  if (p.top_k > 0 && p.top_k < V) {
    auto kth = std::get<0>(probs.topk(p.top_k, 1, true, true)).select(1, p.top_k - 1).unsqueeze(1);
    probs = probs.masked_fill(probs < kth, 0.0);
    probs = probs / probs.sum(1, true);
  }
  if (p.top_p < 1.0) {
    auto [sorted, idx] = probs.sort(1, /*descending=*/true);
    auto cum = sorted.cumsum(1);
    // Drop a token when the mass strictly before it already reaches top_p; the most likely token always stays.
    auto drop_sorted = (cum - sorted) >= p.top_p;
    auto drop = torch::zeros_like(drop_sorted).scatter(1, idx, drop_sorted);
    probs = probs.masked_fill(drop, 0.0);
    probs = probs / probs.sum(1, true);
  }
  if (p.min_p > 0.0) {
    auto threshold = std::get<0>(probs.max(1, true)) * p.min_p;
    probs = probs.masked_fill(probs < threshold, 0.0);
    probs = probs / probs.sum(1, true);
  }
  return probs;
}

namespace {

/// One row of the CPU sampler: `prob` [V] = softmax(logits / T) of the row, `u` uniform in [0,1). Applies top-k,
/// then top-p, then min-p exactly as filtered_probs() does (same keep/drop rule, ties at the top-k threshold kept),
/// and returns the token at which the cumulative kept mass first exceeds u × (kept mass). O(V) for the plain and
/// top-k cases; top-p without top-k sorts only the most likely tokens (a growing prefix) until the cut is found.
int64_t pick_row(const float* prob, int64_t V, const SamplingParams& p, double u, std::vector<int32_t>& cand,
                 std::vector<float>& scratch) {
  const bool use_k = p.top_k > 0 && p.top_k < V, use_p = p.top_p < 1.0, use_min = p.min_p > 0.0;
  if (!use_k && !use_p && !use_min) {
    double total = 0;
    for (int64_t i = 0; i < V; ++i) total += prob[i];
    const double target = u * total;
    double cum = 0;
    int64_t last = 0;
    for (int64_t i = 0; i < V; ++i) {
      if (prob[i] <= 0.0f) continue;
      cum += prob[i];
      last = i;
      if (cum > target) return i;
    }
    return last;  // rounding: u × total at the very top
  }
  bool all = true;  // candidate set = the whole vocabulary (cand unused)
  cand.clear();
  if (use_k) {
    scratch.assign(prob, prob + V);
    std::nth_element(scratch.begin(), scratch.begin() + (p.top_k - 1), scratch.end(), std::greater<float>());
    const float kth = scratch[p.top_k - 1];
    for (int64_t i = 0; i < V; ++i)
      if (prob[i] >= kth) cand.push_back(static_cast<int32_t>(i));
    all = false;
  }
  auto by_prob_desc = [prob](int32_t a, int32_t b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); };
  if (use_p) {
    double kept_total = 0;
    if (all) {
      for (int64_t i = 0; i < V; ++i) kept_total += prob[i];
      cand.resize(V);
      std::iota(cand.begin(), cand.end(), 0);
    } else {
      for (int32_t i : cand) kept_total += prob[i];
    }
    const double limit = p.top_p * kept_total;
    // Sort a growing prefix of the most likely tokens until the cut falls inside it.
    const int64_t n = static_cast<int64_t>(cand.size());
    int64_t sorted = std::min<int64_t>(n, 64), keep = -1;
    for (;;) {
      if (sorted < n)
        std::nth_element(cand.begin(), cand.begin() + sorted, cand.end(), by_prob_desc);
      std::sort(cand.begin(), cand.begin() + sorted, by_prob_desc);
      double before = 0;
      for (int64_t j = 0; j < sorted; ++j) {
        if (before >= limit) {  // the mass strictly before token j already reaches top_p: drop j and the rest
          keep = j;
          break;
        }
        before += prob[cand[j]];
      }
      if (keep >= 0 || sorted == n) break;
      sorted = std::min<int64_t>(n, sorted * 4);
    }
    if (keep >= 0) cand.resize(keep);
    else cand.resize(sorted);
    all = false;
  }
  if (use_min) {
    float pmax = 0;
    if (all) for (int64_t i = 0; i < V; ++i) pmax = std::max(pmax, prob[i]);
    else for (int32_t i : cand) pmax = std::max(pmax, prob[i]);
    const float threshold = static_cast<float>(pmax * p.min_p);
    if (all) {
      for (int64_t i = 0; i < V; ++i)
        if (prob[i] >= threshold) cand.push_back(static_cast<int32_t>(i));
      all = false;
    } else {
      cand.erase(std::remove_if(cand.begin(), cand.end(), [&](int32_t i) { return prob[i] < threshold; }), cand.end());
    }
  }
  double total = 0;
  for (int32_t i : cand) total += prob[i];
  const double target = u * total;
  double cum = 0;
  for (int32_t i : cand) {
    cum += prob[i];
    if (cum > target) return i;
  }
  return cand.empty() ? 0 : cand.back();
}

}  // namespace

namespace {

/// The CPU sampler with the row uniforms `uu` [N] given (logits [N,V] on the CPU, temperature > 0).
SampleResult sample_cpu(const torch::Tensor& logits, const SamplingParams& p, const double* uu) {
  SampleResult r;
  const int64_t N = logits.size(0), V = logits.size(1);
  r.tokens = torch::empty({N}, torch::kInt64);
  int64_t* tok = r.tokens.data_ptr<int64_t>();
  if (logits.scalar_type() == torch::kFloat32 && model::decode::available()) {
    // One fused softmax pass per row (model/decode_kernels.h) instead of five [N,V] LibTorch ops.
    auto x = logits.contiguous();
    r.logprobs = torch::empty({N}, torch::kFloat32);
    const float* xp = x.data_ptr<float>();
    float* lp = r.logprobs.data_ptr<float>();
    const auto scale = static_cast<float>(1.0 / p.temperature);
    at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
      std::vector<int32_t> cand;
      std::vector<float> scratch, probs(V);
      for (int64_t i = begin; i < end; ++i) {
        const float lse = model::decode::softmax_row(xp + i * V, V, scale, probs.data());
        tok[i] = pick_row(probs.data(), V, p, uu[i], cand, scratch);
        lp[i] = xp[i * V + tok[i]] * scale - lse;
      }
    });
    return r;
  }
  auto scaled = (logits.to(torch::kFloat32) / p.temperature).contiguous();  // [N,V]
  auto lse = torch::logsumexp(scaled, 1);                                   // [N]
  auto probs = torch::exp(scaled - lse.unsqueeze(1)).contiguous();          // [N,V]
  const float* pr = probs.data_ptr<float>();
  at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> cand;
    std::vector<float> scratch;
    for (int64_t i = begin; i < end; ++i) tok[i] = pick_row(pr + i * V, V, p, uu[i], cand, scratch);
  });
  r.logprobs = scaled.gather(1, r.tokens.view({-1, 1})).squeeze(1) - lse;  // = token_logprobs_from_logits
  return r;
}

SampleResult sample_greedy(const torch::Tensor& logits, const SamplingParams& p) {
  SampleResult r;
  r.tokens = logits.argmax(1);
  r.logprobs = token_logprobs_from_logits(logits, r.tokens, p.temperature);
  return r;
}

}  // namespace

SampleResult sample_tokens(const torch::Tensor& logits, const SamplingParams& p, std::optional<at::Generator> gen) {
  if (p.greedy()) return sample_greedy(logits, p);
  if (!logits.device().is_cpu()) {
    SampleResult r;
    auto probs = filtered_probs(logits, p);
    r.tokens = torch::multinomial(probs, 1, /*replacement=*/false).squeeze(1);
    r.logprobs = token_logprobs_from_logits(logits, r.tokens, p.temperature);
    return r;
  }
  // CPU: one uniform per row and an O(V) inverse-CDF walk (torch::multinomial without replacement draws V
  // exponentials per row). Rows are independent and their uniforms drawn up front, so the result does not depend
  // on the thread count.
  const int64_t N = logits.size(0);
  auto u = gen ? at::rand({N}, *gen, torch::kFloat64) : at::rand({N}, torch::kFloat64);
  return sample_cpu(logits, p, u.data_ptr<double>());
}

SampleResult sample_tokens(const torch::Tensor& logits, const SamplingParams& p, const std::vector<double>& uniforms) {
  if (p.greedy()) return sample_greedy(logits, p);
  if (!logits.device().is_cpu() || static_cast<int64_t>(uniforms.size()) != logits.size(0))
    throw InvalidArgument("sample_tokens: " + std::to_string(uniforms.size()) + " uniforms for logits " +
                          c10::str(logits.sizes(), " on ", logits.device()) + " (needs one per row, CPU logits)");
  return sample_cpu(logits, p, uniforms.data());
}

double stream_uniform(uint64_t seed, uint64_t stream, uint64_t step) {
  // splitmix64 (Steele, Lea & Flood 2014) finaliser applied three times, chaining seed → stream → step.
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const uint64_t h = mix(mix(mix(seed) ^ stream) ^ step);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

}  // namespace r1kit::rollout
