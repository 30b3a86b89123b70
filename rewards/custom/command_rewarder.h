// command: a reward rule written as any program that speaks JSON lines. r1kit starts the program once (or a
// small pool of copies) and keeps it running; per sample it writes one line
//   {"prompt": "...", "completion": "...", "record": {...}, "truncated": false, "completion_tokens": 123}
// to the program's stdin and reads one line {"reward": x} from its stdout (x a number, or null = not applicable).
// The program's stderr goes to r1kit's stderr. See examples/external_reward.py.
//
// Config: {"type": "command", "command": ["python3", "my_reward.py"] (argv, searched in PATH; a string runs
// under /bin/sh -c), "timeout_s": 10 (per call), "startup_timeout_s": 10 (extra time for the first call after a
// (re)start), "processes": 1 (copies, for parallel scoring), "cwd": "" (working directory; "" = r1kit's)}.
// Failures (bad model output never is one): no reply within timeout_s -> the program is killed and restarted
// on the next call, the sample scores 0; the program exited -> restarted and the sample retried once (0 if it
// dies again); a reply that is not {"reward": number|null} -> 0, the program is restarted (its stdout may be out
// of step) and a warning is logged.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rewards/rewarder.h"

namespace r1kit::rewards::custom {

/// One running copy of the program, with line-based request/reply over pipes. Not thread-safe (one user at a
/// time). The program runs in its own session; stopping it kills its whole process group.
class LineProcess {
 public:
  LineProcess(std::vector<std::string> argv, std::string cwd);
  ~LineProcess();
  LineProcess(const LineProcess&) = delete;
  LineProcess& operator=(const LineProcess&) = delete;

  /// Starts the program if it is not running. Returns "" or the reason it could not be started.
  std::string ensure_started();
  enum class Status { ok, timeout, died };
  /// Writes `line` + "\n" and reads one reply line (without "\n") into `reply`, within `timeout_s` in total.
  Status exchange(const std::string& line, double timeout_s, std::string& reply);
  /// Kills the process group and reaps it.
  void stop();
  bool running() const { return pid_ > 0; }
  /// True from a (re)start until the first reply: that call may also spend the program's start-up time.
  bool fresh() const { return fresh_; }
  int pid() const { return pid_; }

 private:
  std::vector<std::string> argv_;
  std::string cwd_;
  int pid_ = -1;
  int in_fd_ = -1;   // our end of the program's stdin (a socket, so a dead reader cannot SIGPIPE us)
  int out_fd_ = -1;  // the program's stdout
  std::string buffer_;
  bool fresh_ = false;
};

class CommandRewarder : public Rewarder {
 public:
  /// Starts one copy to check that the program can be run: ConfigError naming the JSON path otherwise.
  CommandRewarder(const nlohmann::json& args, std::string name, const std::string& json_path);
  ~CommandRewarder() override;

  std::string name() const override { return name_; }
  double score(const Sample& sample) const override;
  /// Scores on all copies at once ("processes").
  std::vector<double> score_batch(std::span<const Sample> samples) const override;

  /// pid of copy `i` (tests), -1 when it is not running.
  int worker_pid(size_t i) const;

 private:
  std::string name_;
  double timeout_s_ = 10.0;
  double startup_timeout_s_ = 10.0;
  std::vector<std::unique_ptr<LineProcess>> workers_;
  mutable std::vector<bool> busy_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
};

}  // namespace r1kit::rewards::custom
