// Benchmark: math answer verifications per second of math_accuracy (single thread), on the (gold, prediction)
// pairs of tests/fixtures/math/agreement.jsonl. bench/bench_math.py runs this binary and PyPI math-verify on the
// same pairs in the same run and prints the ratio (goal ≥ 100×).
//
// Usage: r1kit_bench_math [PAIRS.jsonl] [MIN_SECONDS]
// Prints one JSON line: {"pairs": N, "rounds": R, "seconds": S, "verifications_per_s": V, "equivalent": E}.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "core/jsonl.h"
#include "rewards/math/math_accuracy.h"

int main(int argc, char** argv) {
  try {
    std::string path = argc > 1 ? argv[1] : "tests/fixtures/math/agreement.jsonl";
    double min_seconds = argc > 2 ? std::stod(argv[2]) : 2.0;
    auto rows = r1kit::read_jsonl(path);
    std::vector<nlohmann::json> records;
    std::vector<std::string> completions;
    for (const auto& row : rows) {
      records.push_back(nlohmann::json{{"answer", row.at("gold")}});
      completions.push_back("\\boxed{" + row.at("pred").get<std::string>() + "}");
    }
    r1kit::rewards::math::MathAccuracy acc("math_accuracy", {});
    size_t rounds = 0, verifications = 0, equivalent = 0;
    auto t0 = std::chrono::steady_clock::now();
    double secs = 0;
    do {
      equivalent = 0;
      for (size_t i = 0; i < records.size(); ++i) {
        r1kit::rewards::Sample s{"", completions[i], records[i]};
        equivalent += acc.score(s) == 1.0;
      }
      verifications += records.size();
      ++rounds;
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (secs < min_seconds);
    std::printf("{\"pairs\": %zu, \"rounds\": %zu, \"seconds\": %.4f, \"verifications_per_s\": %.1f, "
                "\"equivalent\": %zu}\n",
                records.size(), rounds, secs, verifications / secs, equivalent);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
