// Rollout throughput: r1kit's RolloutEngine on GSM8K test questions rendered with the model's chat template.
// Prints one JSON line (tokens/s and where the time went); bench/bench_rollout.py runs this and transformers'
// generate() on the same prompts, n, max_new_tokens, dtype and thread count, and prints the ratio.
//
//   r1kit_bench_rollout MODEL_DIR DATA.jsonl [--prompts P] [--n G] [--max-new-tokens N] [--threads K]
//                       [--temperature T] [--seed S] [--gemm auto|default|onednn|avx2]
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/jsonl.h"
#include "model/causal_lm.h"
#include "rollout/engine.h"
#include "rollout/stop.h"
#include "tokenizer/prompt_template.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR DATA.jsonl [--prompts P] [--n G] [--max-new-tokens N] [--threads K]\n",
                 argv[0]);
    return 2;
  }
  int64_t P = 8, threads = 0;
  r1kit::rollout::SamplingParams sp;
  r1kit::rollout::RolloutOptions ro;
  sp.n = 4;
  sp.max_new_tokens = 256;
  sp.temperature = 1.0;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--prompts") P = std::stoll(v);
    else if (k == "--n") sp.n = std::stoi(v);
    else if (k == "--max-new-tokens") sp.max_new_tokens = std::stoi(v);
    else if (k == "--threads") threads = std::stoll(v);
    else if (k == "--temperature") sp.temperature = std::stod(v);
    else if (k == "--seed") sp.seed = std::stoull(v);
    else if (k == "--gemm") ro.gemm = v;
  }
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  const std::string dir = argv[1];
  auto tok = r1kit::tokenizer::Tokenizer::from_dir(dir);
  auto chat = r1kit::tokenizer::ChatTemplate::from_tokenizer_config(tok.config(), dir);
  auto records = r1kit::read_jsonl(argv[2], P);
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& r : records) {
    auto ids = tok.encode(r1kit::tokenizer::render_prompt("chat", r.at("question").get<std::string>(), &chat), false);
    prompts.emplace_back(ids.begin(), ids.end());
  }
  auto model = r1kit::model::load_pretrained(dir);
  sp.stop_token_ids = r1kit::rollout::default_stop_token_ids(dir, model->config().eos_token_ids, tok.eos_token_id());
  r1kit::rollout::RolloutEngine engine(model, &tok, ro);
  auto t0 = std::chrono::steady_clock::now();
  auto out = engine.generate(prompts, sp);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& st = engine.last_stats();
  std::printf("{\"impl\": \"r1kit\", \"gemm\": \"%s\", \"threads\": %d, \"completions\": %zu, \"generated_tokens\": %lld, "
              "\"seconds\": %.3f, \"tokens_per_s\": %.1f, \"prefill_s\": %.3f, \"decode_s\": %.3f, \"sampling_s\": %.3f}\n",
              ro.gemm.c_str(), at::get_num_threads(), out.size(), static_cast<long long>(st.generated_tokens), secs,
              st.generated_tokens / secs, st.prefill_seconds, st.decode_seconds, st.sample_seconds);
  return 0;
}
