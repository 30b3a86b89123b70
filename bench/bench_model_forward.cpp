// Forward-pass throughput of an r1kit model: prefill (B×T tokens, no cache) and cached greedy decode.
// Prints one JSON line; bench/bench_model.py runs this and transformers on the same checkpoint and shapes in the
// same process tree and reports the ratio (see BENCHMARKS.md).
//
//   r1kit_bench_model MODEL_DIR [--batch B] [--prompt-len T] [--decode-steps N] [--repeats R] [--threads K]
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "model/causal_lm.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [--batch B] [--prompt-len T] [--decode-steps N] [--repeats R] "
                         "[--threads K]\n", argv[0]);
    return 2;
  }
  int64_t B = 4, T = 128, steps = 32, repeats = 3, threads = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int64_t v = std::stoll(argv[i + 1]);
    if (k == "--batch") B = v;
    else if (k == "--prompt-len") T = v;
    else if (k == "--decode-steps") steps = v;
    else if (k == "--repeats") repeats = v;
    else if (k == "--threads") threads = v;
  }
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  auto model = r1kit::model::load_pretrained(argv[1]);
  torch::NoGradGuard ng;
  const int64_t V = model->config().vocab_size;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  auto ids = torch::randint(V, {B, T}, gen, torch::kInt64);
  auto pos = torch::arange(T).view({1, T}).expand({B, T}).contiguous();
  using clock = std::chrono::steady_clock;
  double best_prefill = 1e30, best_decode = 1e30;
  for (int64_t r = 0; r < repeats + 1; ++r) {  // first round is a warm-up
    auto t0 = clock::now();
    auto logits = model->forward(ids, pos);
    auto t1 = clock::now();
    auto cache = model->make_cache(B, T + steps);
    auto h = model->hidden_states(ids, pos, {}, cache.get());
    auto next = model->logits(h.select(1, T - 1)).argmax(-1).view({B, 1});
    auto t2 = clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      auto p = torch::full({B, 1}, T + s, torch::kInt64);
      next = model->logits(model->hidden_states(next, p, {}, cache.get()).select(1, 0)).argmax(-1).view({B, 1});
    }
    auto t3 = clock::now();
    if (r == 0) continue;
    best_prefill = std::min(best_prefill, std::chrono::duration<double>(t1 - t0).count());
    best_decode = std::min(best_decode, std::chrono::duration<double>(t3 - t2).count());
  }
  std::printf("{\"impl\": \"r1kit\", \"threads\": %d, \"batch\": %lld, \"prompt_len\": %lld, \"decode_steps\": %lld, "
              "\"prefill_tok_s\": %.1f, \"decode_tok_s\": %.1f}\n",
              at::get_num_threads(), static_cast<long long>(B), static_cast<long long>(T),
              static_cast<long long>(steps), B * T / best_prefill, B * steps / best_decode);
  return 0;
}
