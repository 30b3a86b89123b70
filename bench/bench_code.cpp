// Code-execution sandbox throughput: MBPP test-split records with their reference solutions, scored by the
// code_execution rewarder with all cores busy (max_parallel = hardware threads). Reference measured in the same
// run: the same samples through the same harness without bubblewrap ("sandbox": "none"); the ratio is the cost of
// the isolation. Prints one JSON line.
//
//   r1kit_bench_code [--data mbpp.jsonl] [--samples N] [--parallel K (default 2 x hardware threads)]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/jsonl.h"
#include "rewards/code/code_execution.h"

using nlohmann::json;
using namespace r1kit::rewards;

namespace {

struct Run {
  double seconds = 0, mean_score = 0;
};

Run measure(const json& args, const std::vector<json>& records, const std::vector<std::string>& completions) {
  code::CodeExecutionRewarder rw(args, "code", "$");
  std::vector<Sample> samples;
  for (size_t i = 0; i < records.size(); ++i) samples.push_back(Sample{"", completions[i], records[i]});
  const auto t0 = std::chrono::steady_clock::now();
  const auto scores = rw.score_batch(samples);
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (double s : scores) r.mean_score += s / static_cast<double>(scores.size());
  return r;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef R1KIT_SOURCE_DIR
  std::string data = std::string(R1KIT_SOURCE_DIR) + "/../shared/data/code/mbpp.jsonl";
#else
  std::string data;
#endif
  size_t n = 128;
  int parallel = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));  // the rewarder default
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data")) data = argv[i + 1];
    else if (!std::strcmp(argv[i], "--samples")) n = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--parallel")) parallel = std::stoi(argv[i + 1]);
  }
  if (data.empty()) {
    std::fprintf(stderr, "usage: %s --data mbpp.jsonl [--samples N] [--parallel K]\n", argv[0]);
    return 2;
  }
  try {
    const auto all = r1kit::read_jsonl(data);
    std::vector<json> records;
    std::vector<std::string> completions;
    size_t tests = 0;
    for (size_t i = 0; records.size() < n; i = (i + 1) % all.size()) {
      const json& r = all[i];
      const int id = r.value("task_id", 0);
      if (id < 11 || id > 510) continue;  // MBPP test split
      records.push_back(r);
      completions.push_back("```python\n" + r["code"].get<std::string>() + "\n```");
      tests += r["test_list"].size();
    }
    const json base = {{"max_parallel", parallel}, {"test_timeout_s", 10.0}, {"timeout_s", 30.0}};
    json unsandboxed = base;
    unsandboxed["sandbox"] = "none";
    measure(base, {records.begin(), records.begin() + std::min<size_t>(records.size(), 8)},
            {completions.begin(), completions.begin() + std::min<size_t>(completions.size(), 8)});  // warm-up
    const Run ref = measure(unsandboxed, records, completions);
    const Run sb = measure(base, records, completions);
    const json out = {{"bench", "code_execution"},
                      {"samples", records.size()},
                      {"tests", tests},
                      {"parallel", parallel},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"bwrap_executions_per_s", records.size() / sb.seconds},
                      {"bwrap_tests_per_s", tests / sb.seconds},
                      {"bwrap_mean_score", sb.mean_score},
                      {"reference_no_sandbox_executions_per_s", records.size() / ref.seconds},
                      {"reference_mean_score", ref.mean_score},
                      {"ratio_bwrap_vs_no_sandbox", ref.seconds / sb.seconds}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
