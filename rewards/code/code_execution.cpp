#include "rewards/code/code_execution.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"
#include "rewards/builtin.h"
#include "rewards/code/code_block.h"

namespace r1kit::rewards::code {

CodeExecutionOptions parse_code_execution_options(const nlohmann::json& args, const std::string& json_path) {
  const nlohmann::json empty = nlohmann::json::object();
  ConfigReader r(args.is_null() ? empty : args, json_path);
  CodeExecutionOptions o;
  o.language = r.get("language", o.language);
  if (language_tags(o.language) != language_tags("python"))
    r.fail("language", "'" + o.language + "' is not supported: code_execution runs Python (\"python\")");
  o.accept_untagged = r.get("accept_untagged", o.accept_untagged);
  o.require_code_block = r.get("require_code_block", o.require_code_block);
  o.python = r.get("python", o.python);
  const std::string fmt = r.get_choice("tests", "auto", {"auto", "humaneval", "mbpp", "stdio"});
  o.tests.format = fmt == "humaneval" ? TestFormat::humaneval
                   : fmt == "mbpp"    ? TestFormat::mbpp
                   : fmt == "stdio"   ? TestFormat::stdio
                                      : TestFormat::automatic;
  o.tests.prepend_prompt = r.get("prepend_prompt", o.tests.prepend_prompt);
  o.tests.stdio_field = r.get("stdio_field", o.tests.stdio_field);
  o.tests.mbpp_challenge_tests = r.get("mbpp_challenge_tests", o.tests.mbpp_challenge_tests);
  o.test_timeout_s = r.get("test_timeout_s", o.test_timeout_s);
  o.max_parallel = r.get("max_parallel", o.max_parallel);

  SandboxLimits& l = o.sandbox.limits;
  const std::string mode = r.get_choice("sandbox", "bwrap", {"bwrap", "none"});
  o.sandbox.mode = mode == "none" ? SandboxMode::none : SandboxMode::bwrap;
  o.sandbox.bwrap = r.get("bwrap", o.sandbox.bwrap);
  o.sandbox.ro_binds = r.get("ro_binds", o.sandbox.ro_binds);
  o.sandbox.drop_privileges = r.get("drop_privileges", o.sandbox.drop_privileges);
  l.wall_s = r.get("timeout_s", l.wall_s);
  l.cpu_s = r.get("cpu_time_s", l.cpu_s);
  const int64_t memory_mb = r.get("memory_mb", int64_t{1024});
  l.processes = r.get("max_processes", l.processes);
  const int64_t file_mb = r.get("max_file_mb", int64_t{16});
  l.open_files = r.get("max_open_files", l.open_files);
  const int64_t tmpfs_mb = r.get("tmpfs_mb", int64_t{64});
  const int64_t output_mb = r.get("max_output_mb", int64_t{16});
  r.finish();

  auto positive = [&](const char* key, double v) {
    if (!(v > 0) || !std::isfinite(v)) r.fail(key, "must be > 0, got " + std::to_string(v));
  };
  positive("timeout_s", l.wall_s);
  positive("test_timeout_s", o.test_timeout_s);
  positive("cpu_time_s", l.cpu_s);
  if (memory_mb < 64) r.fail("memory_mb", "must be >= 64 (Python needs ~40 MiB of address space), got " + std::to_string(memory_mb));
  if (l.processes < 4) r.fail("max_processes", "must be >= 4 (bwrap and the harness use 3), got " + std::to_string(l.processes));
  positive("max_file_mb", static_cast<double>(file_mb));
  if (l.open_files < 16) r.fail("max_open_files", "must be >= 16, got " + std::to_string(l.open_files));
  positive("tmpfs_mb", static_cast<double>(tmpfs_mb));
  positive("max_output_mb", static_cast<double>(output_mb));
  if (o.max_parallel < 0) r.fail("max_parallel", "must be >= 0 (0 = one per hardware thread)");
  l.memory_bytes = static_cast<uint64_t>(memory_mb) << 20;
  l.file_bytes = static_cast<uint64_t>(file_mb) << 20;
  l.tmpfs_bytes = static_cast<uint64_t>(tmpfs_mb) << 20;
  l.max_output_bytes = static_cast<uint64_t>(output_mb) << 20;
  if (o.python.empty() || o.python[0] != '/')
    r.fail("python", "must be an absolute path under /usr (the sandbox only sees /usr), got '" + o.python + "'");
  return o;
}

CodeExecutionRewarder::CodeExecutionRewarder(const nlohmann::json& args, std::string name,
                                             const std::string& json_path)
    : name_(std::move(name)),
      options_(parse_code_execution_options(args, json_path)),
      tags_(language_tags(options_.language)),
      sandbox_(options_.sandbox, json_path),
      // Default 2 per hardware thread: a run spends much of its time in kernel waits (namespace set-up, exits).
      max_parallel_(options_.max_parallel > 0
                        ? options_.max_parallel
                        : 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) {
  sandbox_.check_works(options_.python, json_path);
  if (options_.sandbox.mode == SandboxMode::none)
    log_warn("{}: code_execution runs model-written code WITHOUT a sandbox (\"sandbox\": \"none\")", json_path);
}

CodeRunReport CodeExecutionRewarder::run(const Sample& sample) const {
  CodeRunReport rep;
  std::optional<std::string> code = last_code_block(sample.completion, tags_, options_.accept_untagged);
  if (!code && !options_.require_code_block) code = std::string(sample.completion);
  rep.has_code = code.has_value();
  const std::optional<TestSuite> suite = tests_from_record(sample.record, code ? *code : std::string(), options_.tests);
  if (!suite) {
    rep.score = std::numeric_limits<double>::quiet_NaN();
    return rep;
  }
  rep.tests = suite->size();
  if (!code) {
    rep.score = 0;
    rep.verdicts.assign(rep.tests, "no_code");
    return rep;
  }
  const std::string input = encode_harness_input(*suite, options_.test_timeout_s, options_.sandbox.limits.processes,
                                                 options_.sandbox.mode == SandboxMode::bwrap);
  const std::vector<std::string> argv = {options_.python, "-I", "-c", harness_source()};

  {  // at most max_parallel sandboxes at once
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return active_ < max_parallel_; });
    ++active_;
  }
  struct Done {
    const CodeExecutionRewarder* self;
    ~Done() {
      std::lock_guard<std::mutex> lock(self->mutex_);
      --self->active_;
      self->cv_.notify_one();
    }
  } done{this};

  HarnessReport hr;
  for (int attempt = 0; attempt < 2; ++attempt) {  // retry once if the sandbox did not even start
    const ExecResult ex = sandbox_.run(argv, input);
    hr = parse_harness_output(ex.out, *suite);
    rep.wall_s = ex.wall_s;
    rep.timed_out = ex.timed_out;
    if (hr.ready) break;
    rep.error = !ex.error.empty() ? ex.error : "the harness did not start: exit " + std::to_string(ex.exit_code) +
                                                   " signal " + std::to_string(ex.term_signal) + ": " + ex.err;
  }
  if (!hr.ready) {
    log_warn("{}: sandbox failure, sample not scored (NaN): {}", name_, rep.error);
    rep.score = std::numeric_limits<double>::quiet_NaN();
    return rep;
  }
  rep.error.clear();
  rep.passed = hr.passed();
  for (const auto& v : hr.verdicts) rep.verdicts.push_back(v ? v->verdict : std::string("not_run"));
  rep.score = rep.tests == 0 ? 0.0 : static_cast<double>(rep.passed) / static_cast<double>(rep.tests);
  return rep;
}

double CodeExecutionRewarder::score(const Sample& sample) const { return run(sample).score; }

std::vector<double> CodeExecutionRewarder::score_batch(std::span<const Sample> samples) const {
  std::vector<double> out(samples.size(), 0.0);
  const size_t workers = std::min(samples.size(), static_cast<size_t>(max_parallel_));
  if (workers <= 1) {
    for (size_t i = 0; i < samples.size(); ++i) out[i] = score(samples[i]);
    return out;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < samples.size(); i = next++) out[i] = score(samples[i]);
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace r1kit::rewards::code

namespace r1kit::rewards {

void register_code_rewarders() {
  register_rewarder("code_execution", [](const nlohmann::json& args, const std::string& name,
                                         const std::string& json_path) -> std::unique_ptr<Rewarder> {
    return std::make_unique<code::CodeExecutionRewarder>(args, name, json_path);
  });
}

}  // namespace r1kit::rewards
