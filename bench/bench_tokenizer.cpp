// Tokenizer throughput: encodes every text of a JSONL corpus ({"text": ...} per line) single-threaded and with
// encode_batch, and prints MB/s. bench/bench_tokenizer.py runs this and Hugging Face `tokenizers` on the same
// corpus and prints the ratio.
//
// Usage: bench_tokenizer TOKENIZER_DIR CORPUS.jsonl [REPEATS=3]
// Output (one line each, parsed by bench_tokenizer.py):
//   load_s <seconds>
//   single_thread_mb_s <MB/s>  tokens <n>  bytes <n>      (best of REPEATS, fresh tokenizer per repeat: cold cache)
//   batch_mb_s <MB/s>  threads <n>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR CORPUS.jsonl [REPEATS]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  std::vector<std::string> texts;
  size_t bytes = 0;
  {
    std::ifstream in(argv[2]);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[2]);
      return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
      texts.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
      bytes += texts.back().size();
    }
  }
  using clock = std::chrono::steady_clock;
  const auto secs = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  try {
    double best = 1e30, load = 0;
    size_t tokens = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = clock::now();
      const auto tok = r1kit::tokenizer::Tokenizer::from_dir(argv[1]);
      const auto t1 = clock::now();
      load = secs(t0, t1);
      tokens = 0;
      for (const auto& t : texts) tokens += tok.encode(t, false).size();
      best = std::min(best, secs(t1, clock::now()));
    }
    std::printf("load_s %.3f\n", load);
    std::printf("single_thread_mb_s %.3f tokens %zu bytes %zu\n", bytes / best / 1e6, tokens, bytes);
    const auto tok = r1kit::tokenizer::Tokenizer::from_dir(argv[1]);
    const auto t0 = clock::now();
    const auto batch = tok.encode_batch(texts, false);
    const double bt = secs(t0, clock::now());
    std::printf("batch_mb_s %.3f threads %u\n", bytes / bt / 1e6, std::max(1u, std::thread::hardware_concurrency()));
  } catch (const r1kit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
