#include "rewards/custom/command_rewarder.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "core/config.h"
#include "core/error.h"
#include "core/logging.h"

extern char** environ;

namespace r1kit::rewards::custom {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms <= 0 ? 0 : static_cast<int>(std::min<long long>(ms, 1 << 30));
}

}  // namespace

LineProcess::LineProcess(std::vector<std::string> argv, std::string cwd) : argv_(std::move(argv)), cwd_(std::move(cwd)) {}

LineProcess::~LineProcess() {
  if (pid_ <= 0) return;
  // Polite first: EOF on stdin lets the program finish; then the process group is killed.
  ::close(in_fd_);
  in_fd_ = -1;
  const auto deadline = Clock::now() + std::chrono::milliseconds(500);
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop();
}

std::string LineProcess::ensure_started() {
  if (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return "";  // still running
    ::kill(-pid_, SIGKILL);
    pid_ = -1;
    stop();
  }
  int sv[2], out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return std::string("socketpair: ") + std::strerror(errno);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return std::string("pipe: ") + std::strerror(errno);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  if (!cwd_.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd_.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, def;
  sigemptyset(&none);
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (auto& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(sv[0]);
    ::close(out[0]);
    return "cannot run '" + argv_[0] + "': " + std::strerror(rc);
  }
  pid_ = pid;
  in_fd_ = sv[0];
  out_fd_ = out[0];
  ::fcntl(in_fd_, F_SETFL, ::fcntl(in_fd_, F_GETFL) | O_NONBLOCK);
  buffer_.clear();
  fresh_ = true;
  return "";
}

void LineProcess::stop() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (in_fd_ >= 0) ::close(in_fd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  in_fd_ = out_fd_ = -1;
  buffer_.clear();
}

LineProcess::Status LineProcess::exchange(const std::string& line, double timeout_s, std::string& reply) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  std::string data = line + "\n";
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(in_fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{in_fd_, POLLOUT, 0};
      const int ms = remaining_ms(deadline);
      if (ms == 0) return Status::timeout;
      if (::poll(&p, 1, ms) < 0 && errno != EINTR) return Status::died;
      continue;
    }
    return Status::died;  // EPIPE / ECONNRESET: the program closed its stdin or exited
  }
  char buf[65536];
  while (true) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      reply = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      fresh_ = false;
      return Status::ok;
    }
    pollfd p{out_fd_, POLLIN, 0};
    const int ms = remaining_ms(deadline);
    if (ms == 0) return Status::timeout;
    const int pr = ::poll(&p, 1, ms);
    if (pr < 0 && errno != EINTR) return Status::died;
    if (pr <= 0) continue;
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      buffer_.append(buf, static_cast<size_t>(n));
      if (buffer_.size() > (64u << 20)) return Status::died;  // no newline in 64 MiB: not speaking the protocol
    } else if (n == 0 || errno != EINTR) {
      return Status::died;
    }
  }
}

CommandRewarder::CommandRewarder(const nlohmann::json& args, std::string name, const std::string& json_path)
    : name_(std::move(name)) {
  ConfigReader r(args, json_path);
  const nlohmann::json& command = r.raw("command");
  std::vector<std::string> argv;
  if (command.is_string() && !command.get_ref<const std::string&>().empty()) {
    argv = {"/bin/sh", "-c", command.get<std::string>()};
  } else if (command.is_array() && !command.empty()) {
    for (const auto& a : command) {
      if (!a.is_string())
        throw ConfigError(r.path_of("command") + ": every element must be a string (the program's argv), got " +
                          json_type_phrase(a));
      argv.push_back(a.get<std::string>());
    }
  } else {
    throw ConfigError(r.path_of("command") + " is required: the program to run, as an argv array "
                      "([\"python3\", \"examples/external_reward.py\"]) or a shell command string");
  }
  timeout_s_ = r.get("timeout_s", timeout_s_);
  startup_timeout_s_ = r.get("startup_timeout_s", startup_timeout_s_);
  const int processes = r.get("processes", 1);
  const std::string cwd = r.get("cwd", std::string());
  r.finish();
  if (!(timeout_s_ > 0) || !std::isfinite(timeout_s_)) r.fail("timeout_s", "must be > 0");
  if (!(startup_timeout_s_ >= 0) || !std::isfinite(startup_timeout_s_)) r.fail("startup_timeout_s", "must be >= 0");
  if (processes < 1 || processes > 256) r.fail("processes", "must be in 1..256, got " + std::to_string(processes));
  for (int i = 0; i < processes; ++i) workers_.push_back(std::make_unique<LineProcess>(argv, cwd));
  busy_.assign(workers_.size(), false);
  const std::string err = workers_[0]->ensure_started();
  if (!err.empty())
    throw ConfigError(r.path_of("command") + ": " + err + " — give the program as an argv array whose first "
                      "element is a path or a name in PATH");
}

CommandRewarder::~CommandRewarder() = default;

int CommandRewarder::worker_pid(size_t i) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return i < workers_.size() ? workers_[i]->pid() : -1;
}

double CommandRewarder::score(const Sample& sample) const {
  size_t w = 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] {
      for (w = 0; w < busy_.size(); ++w)
        if (!busy_[w]) return true;
      return false;
    });
    busy_[w] = true;
  }
  struct Release {
    const CommandRewarder* self;
    size_t w;
    ~Release() {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->busy_[w] = false;
      self->cv_.notify_one();
    }
  } release{this, w};
  LineProcess& proc = *workers_[w];

  nlohmann::json request = {{"prompt", std::string(sample.prompt)},
                            {"completion", std::string(sample.completion)},
                            {"record", sample.record},
                            {"truncated", sample.truncated},
                            {"completion_tokens", sample.completion_tokens}};
  const std::string line = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string err = proc.ensure_started();
    if (!err.empty()) {
      log_warn("{}: {} (sample scored 0)", name_, err);
      note_call_failure(CallFailure::error);
      return 0.0;
    }
    std::string reply;
    const auto status = proc.exchange(line, timeout_s_ + (proc.fresh() ? startup_timeout_s_ : 0.0), reply);
    if (status == LineProcess::Status::timeout) {
      log_warn("{}: no reply within {} s — program killed, restarted on the next call (sample scored 0)", name_,
               timeout_s_);
      proc.stop();
      note_call_failure(CallFailure::timeout);
      return 0.0;
    }
    if (status == LineProcess::Status::died) {
      proc.stop();
      if (attempt == 0) continue;  // restart and retry once
      log_warn("{}: the program exited twice while scoring one sample (sample scored 0)", name_);
      note_call_failure(CallFailure::error);
      return 0.0;
    }
    try {
      const nlohmann::json j = nlohmann::json::parse(reply);
      if (j.is_object() && j.contains("reward")) {
        const auto& r = j["reward"];
        if (r.is_null()) return std::numeric_limits<double>::quiet_NaN();
        if (r.is_number()) return r.get<double>();
        if (r.is_boolean()) return r.get<bool>() ? 1.0 : 0.0;
      }
    } catch (const nlohmann::json::exception&) {
    }
    log_warn("{}: expected a line {{\"reward\": number}}, got '{}' — program restarted (sample scored 0)", name_,
             reply.substr(0, 200));
    proc.stop();
    note_call_failure(CallFailure::error);
    return 0.0;
  }
  return 0.0;
}

std::vector<double> CommandRewarder::score_batch(std::span<const Sample> samples) const {
  std::vector<double> out(samples.size(), 0.0);
  const size_t workers = std::min(samples.size(), workers_.size());
  if (workers <= 1) {
    for (size_t i = 0; i < samples.size(); ++i) out[i] = score(samples[i]);
    return out;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < workers; ++t)
    threads.emplace_back([&] {
      for (size_t i = next++; i < samples.size(); i = next++) out[i] = score(samples[i]);
    });
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace r1kit::rewards::custom
