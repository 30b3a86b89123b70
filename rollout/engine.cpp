#include "rollout/engine.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <unordered_set>

#include "core/error.h"
#include "core/log.h"
#include "rollout/sampler.h"
#include "rollout/stop.h"

namespace r1kit::rollout {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::vector<int32_t> to_i32(std::span<const int64_t> ids) { return {ids.begin(), ids.end()}; }
}  // namespace

const char* finish_name(Completion::Finish f) { return f == Completion::Finish::stop ? "stop" : "length"; }

RolloutEngine::RolloutEngine(std::shared_ptr<model::CausalLM> model, const tokenizer::Tokenizer* tokenizer,
                             RolloutOptions options)
    : model_(std::move(model)), tokenizer_(tokenizer), options_(options) {
  if (!model_) throw InvalidArgument("RolloutEngine: model is null");
  if (options_.max_batch_rows < 1 || options_.kv_cache_tokens < 1)
    throw InvalidArgument("RolloutEngine: max_batch_rows and kv_cache_tokens must be positive");
  const auto gemm = model::parse_inference_gemm(options_.gemm);  // an unknown name fails here, not mid-training
  if (options_.gemm != "default" && options_.gemm != "auto" && !model::PreparedLinear::packs(model_->output_weight(), gemm))
    log_warn_line("rollout: gemm \"" + options_.gemm + "\" needs float32 weights on a CPU" +
                  (gemm == model::InferenceGemm::kAvx2Panels ? std::string(" with AVX2/FMA") : std::string()) +
                  " (the model is " + model::dtype_name(model_->dtype()) + " on " + model_->device().str() +
                  "); generating with \"default\"");
}

std::vector<Completion> RolloutEngine::generate(const std::vector<std::vector<int64_t>>& prompts,
                                                const SamplingParams& params, const ProgressFn& progress) {
  params.validate();
  if (!params.stop_strings.empty() && tokenizer_ == nullptr)
    throw InvalidArgument("sampling: stop_strings need a tokenizer; construct the RolloutEngine with one");
  for (size_t i = 0; i < prompts.size(); ++i)
    if (prompts[i].empty()) throw InvalidArgument("generate: prompt " + std::to_string(i) + " is empty");
  stats_ = {};
  // Fused / packed weight layouts for this call only (released on return or throw).
  model::InferenceScope inference_weights(
      *model_, model::InferenceOptions{model::parse_inference_gemm(options_.gemm),
                                       std::min<int64_t>(options_.max_batch_rows,
                                                         static_cast<int64_t>(prompts.size()) * params.n)});
  // CPU: each completion draws from its own stream (stream_uniform), independent of the batch layout. Other
  // devices: torch::multinomial with the seeded default generator (reproducible for the same call only).
  if (!model_->device().is_cpu()) torch::manual_seed(params.seed);
  const int64_t G = params.n;
  std::vector<Completion> out(prompts.size() * G);
  std::vector<size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return prompts[a].size() < prompts[b].size(); });

  size_t done = 0;
  const size_t total = out.size();
  std::vector<size_t> wave;
  int64_t wave_max_len = 0;
  auto fits = [&](size_t count, int64_t max_len) {
    const int64_t rows = static_cast<int64_t>(count) * G;
    return rows * (max_len + params.max_new_tokens) <= options_.kv_cache_tokens;
  };
  // Every prompt is checked before any work starts, so a run never fails half-way through.
  int64_t too_long = 0;
  for (size_t idx : order) {
    const int64_t len = static_cast<int64_t>(prompts[idx].size());
    if (!fits(1, len))
      throw InvalidArgument("generate: prompt " + std::to_string(idx) + " needs " + std::to_string(G) + " × (" +
                            std::to_string(len) + " + " + std::to_string(params.max_new_tokens) +
                            ") KV-cache token slots, more than kv_cache_tokens = " +
                            std::to_string(options_.kv_cache_tokens) +
                            "; lower n or max_new_tokens, or raise the KV budget");
    if (len + params.max_new_tokens > model_->config().max_position_embeddings) ++too_long;
  }
  if (too_long > 0)
    log_warn_line("generate: " + std::to_string(too_long) + " prompt(s) + max_new_tokens reach past the model's " +
                  "max_position_embeddings = " + std::to_string(model_->config().max_position_embeddings) +
                  " positions; the model was not trained for them");
  for (size_t idx : order) {
    const int64_t len = static_cast<int64_t>(prompts[idx].size());
    const bool room = static_cast<int64_t>(wave.size() + 1) * G <= std::max<int64_t>(options_.max_batch_rows, G) &&
                      fits(wave.size() + 1, std::max(wave_max_len, len));
    if (!wave.empty() && !room) {
      run_wave(prompts, wave, params, out, progress, done, total);
      wave.clear();
      wave_max_len = 0;
    }
    wave.push_back(idx);
    wave_max_len = std::max(wave_max_len, len);
  }
  if (!wave.empty()) run_wave(prompts, wave, params, out, progress, done, total);
  return out;
}

void RolloutEngine::run_wave(const std::vector<std::vector<int64_t>>& prompts, const std::vector<size_t>& wave,
                             const SamplingParams& params, std::vector<Completion>& out, const ProgressFn& progress,
                             size_t& done, size_t total) {
  torch::NoGradGuard no_grad;
  const auto device = model_->device();
  const int64_t P = static_cast<int64_t>(wave.size()), G = params.n, max_new = params.max_new_tokens;
  int64_t L = 0;
  for (size_t i : wave) L = std::max<int64_t>(L, static_cast<int64_t>(prompts[i].size()));
  const int64_t capacity = L + max_new;

  // Left-padded prompt batch: [P, L] ids, mask; positions count real tokens only.
  auto ids = torch::zeros({P, L}, torch::kInt64);
  auto mask = torch::zeros({P, L}, torch::kInt64);
  std::vector<int64_t> prompt_len(P);
  for (int64_t p = 0; p < P; ++p) {
    const auto& pr = prompts[wave[p]];
    const int64_t n = static_cast<int64_t>(pr.size());
    prompt_len[p] = n;
    ids[p].narrow(0, L - n, n).copy_(torch::tensor(pr, torch::kInt64));
    mask[p].narrow(0, L - n, n).fill_(1);
    stats_.prompt_tokens += n;
  }
  auto positions = (mask.cumsum(1) - 1).clamp_min(0);

  auto t0 = Clock::now();
  // Share the prefill: row p*G + g is sample g of prompt p.
  int64_t R = P * G;
  auto rows = torch::arange(P, torch::kInt64).repeat_interleave(G);
  std::unique_ptr<model::KVCache> cache;
  torch::Tensor logits;  // [R,V] at each row's last prompt token
  if (device.is_cpu()) {
    // On the CPU one prompt at a time, unpadded: padding every prompt to the wave's longest costs compute in
    // proportion (the 8 GSM8K bench prompts: 1,120 padded token rows for 705 real ones, 59 % more), while a GPU gains from the batch. Each prefill is
    // copied into its G rows, right-aligned at slot L like the left-padded batch.
    cache = model_->make_cache(R, capacity);
    std::vector<torch::Tensor> last(P);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t n = prompt_len[p];
      auto one = model_->make_cache(1, n);
      auto h = model_->hidden_states(torch::tensor(prompts[wave[p]], torch::kInt64).view({1, n}),
                                     torch::arange(n, torch::kInt64).view({1, n}), {}, one.get());
      last[p] = model_->logits(h.select(1, n - 1));  // [1,V]
      cache->copy_rows_from(*one, 0, p * G, G, L - n);
    }
    cache->advance(L);
    // The G rows of a prompt now share slots [0, L) (keys, values and mask): fused attention reads them once.
    std::vector<int64_t> group(R);
    for (int64_t r = 0; r < R; ++r) group[r] = r / G;
    cache->set_shared_prefix(std::move(group), L);
    logits = torch::cat(last).index_select(0, rows);
  } else {
    cache = model_->make_cache(P, capacity);
    auto hidden = model_->hidden_states(ids.to(device), positions.to(device), mask.to(device), cache.get());
    logits = model_->logits(hidden.select(1, L - 1)).index_select(0, rows.to(device));  // [P,V] -> [R,V]
    cache->select_rows(rows.to(device));
  }
  stats_.prefill_seconds += seconds_since(t0);

  auto attn = torch::zeros({R, capacity}, torch::kBool);
  attn.narrow(1, 0, L).copy_(mask.index_select(0, rows).to(torch::kBool));
  attn = attn.to(device);
  std::vector<int64_t> next_pos_v(R);
  std::vector<size_t> slot(R);  // batch row -> index into out
  for (int64_t r = 0; r < R; ++r) {
    const int64_t p = r / G, g = r % G;
    next_pos_v[r] = prompt_len[p];
    slot[r] = wave[p] * G + g;
    out[slot[r]].prompt_index = wave[p];
    out[slot[r]].sample_index = static_cast<int>(g);
  }
  auto next_pos = torch::tensor(next_pos_v, torch::kInt64).to(device);
  std::vector<bool> active(R, true);
  const std::unordered_set<int64_t> stop_ids(params.stop_token_ids.begin(), params.stop_token_ids.end());
  size_t max_stop_len = 0;
  for (const auto& s : params.stop_strings) max_stop_len = std::max(max_stop_len, s.size());
  const int64_t window = static_cast<int64_t>(max_stop_len) + 4;  // tokens: each byte-level token is >= 1 byte
  std::vector<bool> cut_text(out.size(), false);
  std::vector<double> uniforms;  // CPU: this step's uniform of each row

  auto finish = [&](int64_t r, Completion::Finish how) {
    active[r] = false;
    auto& c = out[slot[r]];
    c.finish = how;
    if (tokenizer_ != nullptr) {
      c.text = tokenizer_->decode(to_i32(c.ids), /*skip_special_tokens=*/true);
      if (cut_text[slot[r]]) {
        const size_t end = first_stop_string_end(c.text, params.stop_strings);
        if (end != std::string::npos) c.text.resize(end);
      }
    }
    ++done;
  };

  for (int64_t step = 0; step < max_new; ++step) {
    auto ts = Clock::now();
    SampleResult sampled;
    if (device.is_cpu()) {
      uniforms.resize(R);
      for (int64_t r = 0; r < R; ++r) uniforms[r] = stream_uniform(params.seed, slot[r], out[slot[r]].ids.size());
      sampled = sample_tokens(logits, params, uniforms);
    } else {
      sampled = sample_tokens(logits, params, std::optional<at::Generator>{});
    }
    auto tokens_cpu = sampled.tokens.to(torch::kCPU);
    auto lp_cpu = sampled.logprobs.to(torch::kCPU);
    stats_.sample_seconds += seconds_since(ts);
    const int64_t* tok = tokens_cpu.data_ptr<int64_t>();
    const float* lp = lp_cpu.data_ptr<float>();
    int64_t still = 0;
    for (int64_t r = 0; r < R; ++r) {
      if (!active[r]) continue;
      auto& c = out[slot[r]];
      c.ids.push_back(tok[r]);
      c.logprobs.push_back(lp[r]);
      ++stats_.generated_tokens;
      if (stop_ids.count(tok[r])) {
        finish(r, Completion::Finish::stop);
      } else if (!params.stop_strings.empty()) {
        const int64_t n = static_cast<int64_t>(c.ids.size());
        const int64_t from = std::max<int64_t>(0, n - window);
        const std::string tail =
            tokenizer_->decode(to_i32(std::span<const int64_t>(c.ids).subspan(from)), /*skip_special_tokens=*/false);
        if (first_stop_string_end(tail, params.stop_strings) != std::string::npos) {
          cut_text[slot[r]] = true;
          finish(r, Completion::Finish::stop);
        }
      }
      if (active[r] && static_cast<int64_t>(c.ids.size()) >= max_new) finish(r, Completion::Finish::length);
      if (active[r]) ++still;
    }
    if (progress) progress(done, total, stats_.generated_tokens);
    if (still == 0) break;

    auto tokens = sampled.tokens;
    const int64_t finished_rows = R - still;
    if (finished_rows > 0 && finished_rows >= std::max<int64_t>(1, static_cast<int64_t>(options_.compact_fraction * R))) {
      std::vector<int64_t> keep_v;
      for (int64_t r = 0; r < R; ++r)
        if (active[r]) keep_v.push_back(r);
      auto keep = torch::tensor(keep_v, torch::kInt64).to(device);
      cache->select_rows(keep);
      attn = attn.index_select(0, keep);
      next_pos = next_pos.index_select(0, keep);
      tokens = tokens.index_select(0, keep);
      std::vector<size_t> new_slot;
      for (int64_t r : keep_v) new_slot.push_back(slot[r]);
      slot = std::move(new_slot);
      R = still;
      active.assign(R, true);
    }
    auto td = Clock::now();
    const int64_t past = cache->length();  // == L + step
    attn.select(1, past).fill_(true);
    auto h = model_->hidden_states(tokens.view({R, 1}), next_pos.view({R, 1}), attn.narrow(1, 0, past + 1), cache.get());
    logits = model_->logits(h.select(1, 0));
    next_pos = next_pos + 1;
    stats_.decode_seconds += seconds_since(td);
  }
}

}  // namespace r1kit::rollout
