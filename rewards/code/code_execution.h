// code_execution: runs the completion's last fenced code block against the dataset record's tests inside the
// sandbox (rewards/code/sandbox.h) and scores the fraction of tests passed.
//
// Score = tests passed / tests defined. A test that crashes, exits early, prints the wrong output or exceeds its
// per-test timeout fails; the denominator never shrinks. When the whole run hits the sample's wall-clock limit
// (`timeout_s`) or the harness itself dies (e.g. memory limit), the tests it had not reported score 0.
// A completion without a code block scores 0; a record without tests is "not applicable" (NaN); a sandbox that
// fails to start twice in a row (machine overloaded) also gives NaN, with a warning — never a wrong 0.
// Test formats: HumanEval (`prompt` + code, `test`, `check(entry_point)`: one test), MBPP (`test_setup_code`,
// `test_imports`, one test per `test_list` assert), stdin/stdout cases (`test_cases`: [{"input","output"}]).
// Sources: HumanEval (Chen et al. 2021, arXiv 2107.03374) execution protocol; MBPP (Austin et al. 2021,
// arXiv 2108.07732); DeepSeek-R1 §2.2.2 (compiler feedback as the accuracy reward for code).
#pragma once

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rewards/code/sandbox.h"
#include "rewards/code/test_harness.h"
#include "rewards/rewarder.h"

namespace r1kit::rewards::code {

/// Arguments of the `code_execution` rewarder (keys and defaults in configs/README.md).
struct CodeExecutionOptions {
  std::string language = "python";      // fence tag wanted (python: python, py, python3, py3)
  bool accept_untagged = true;          // fall back to the last untagged ``` block
  bool require_code_block = true;       // false: no block -> run the whole completion
  std::string python = "/usr/bin/python3";
  TestOptions tests;
  double test_timeout_s = 3.0;          // wall clock per test
  int max_parallel = 0;                 // concurrent sandboxes per rewarder; 0 = 2 x hardware threads
  SandboxConfig sandbox;                // mode, bwrap, limits (timeout_s, cpu_time_s, memory_mb, ...)
};

/// Parses and validates the rewarder's arguments (strict keys). Throws ConfigError naming `json_path`.
CodeExecutionOptions parse_code_execution_options(const nlohmann::json& args, const std::string& json_path);

/// Details of one scored sample (the CLI and tests use them).
struct CodeRunReport {
  double score = 0;               // passed / tests, 0 without a code block, NaN without tests / sandbox failure
  bool has_code = false;
  size_t tests = 0, passed = 0;
  bool timed_out = false;         // the whole run hit timeout_s
  double wall_s = 0;
  std::vector<std::string> verdicts;  // per test: pass, wrong_output, error, timeout, ..., or "not_run"
  std::string error;              // sandbox failure, if any
};

class CodeExecutionRewarder : public Rewarder {
 public:
  /// Throws ConfigError for bad arguments, a missing bwrap (`apt-get install bubblewrap`), or a sandbox that
  /// does not run on this machine (checked once here by running python in it).
  CodeExecutionRewarder(const nlohmann::json& args, std::string name, const std::string& json_path);

  std::string name() const override { return name_; }
  double score(const Sample& sample) const override;
  /// Scores in parallel, at most `max_parallel` sandboxes at once (shared with concurrent score() calls).
  std::vector<double> score_batch(std::span<const Sample> samples) const override;

  /// score() with the per-test details.
  CodeRunReport run(const Sample& sample) const;
  const CodeExecutionOptions& options() const { return options_; }

 private:
  std::string name_;
  CodeExecutionOptions options_;
  std::vector<std::string> tags_;
  Sandbox sandbox_;
  int max_parallel_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  mutable int active_ = 0;
};

}  // namespace r1kit::rewards::code
