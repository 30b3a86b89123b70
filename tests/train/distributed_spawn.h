// Test helper: runs N copies of the current test binary as torchrun would (RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR=127.0.0.1, MASTER_PORT=<free port>), each running one disabled "worker" test, and collects their exit
// codes and output. CI has no torchrun, so the tests launch the ranks themselves.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace r1kit::testing_dist {

/// A TCP port that was free a moment ago (bind to port 0).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

struct RankResult {
  int exit_code = -1;      // -1: killed after the deadline
  double seconds = 0;      // until it exited (or was killed)
  std::string output;      // stdout + stderr
};

/// Starts `world_size` ranks of this binary running gtest `worker_test` (a DISABLED_ test), with `env` (plus the
/// torchrun variables) in their environment; waits up to `deadline_s` seconds, then kills what is left.
/// Ranks still running 1 s after rank 0 has exited are killed (exit_code -1). With `torchrun_env` false the
/// process gets no torchrun variables (a plain single process).
inline std::vector<RankResult> run_ranks(int world_size, const std::string& worker_test,
                                         const std::map<std::string, std::string>& env, double deadline_s,
                                         const std::filesystem::path& log_dir, bool torchrun_env = true) {
  std::filesystem::create_directories(log_dir);
  const int port = free_port();
  std::vector<pid_t> pids(world_size);
  std::vector<RankResult> out(world_size);
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < world_size; ++r) {
    const std::string log = (log_dir / ("rank" + std::to_string(r) + ".log")).string();
    // posix_spawn (not fork + setenv): the parent has LibTorch's threads running.
    std::map<std::string, std::string> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const auto eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const char* k : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) vars.erase(k);
    vars["OMP_NUM_THREADS"] = "1";  // as torchrun does: ranks share the cores
    for (const auto& [k, v] : env) vars[k] = v;
    if (torchrun_env) {
      vars["RANK"] = vars["LOCAL_RANK"] = std::to_string(r);
      vars["WORLD_SIZE"] = std::to_string(world_size);
      vars["MASTER_ADDR"] = "127.0.0.1";
      vars["MASTER_PORT"] = std::to_string(port);
    }
    vars["R1KIT_DIST_TEST_RANK_DIR"] = log_dir.string();
    std::vector<std::string> kvs;
    for (const auto& [k, v] : vars) kvs.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& kv : kvs) envp.push_back(kv.data());
    envp.push_back(nullptr);
    std::string a0 = "worker", a1 = "--gtest_also_run_disabled_tests", a2 = "--gtest_filter=" + worker_test;
    char* argv[] = {a0.data(), a1.data(), a2.data(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid = -1;
    pids[r] = pid;
  }
  int left = world_size;
  std::vector<bool> done(world_size, false);
  for (int r = 0; r < world_size; ++r)
    if (pids[r] < 0) done[r] = true, --left, out[r].exit_code = 127;
  while (left > 0) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Once rank 0 has exited, the others get 1 s before they are killed (a hanging rank would never end).
    const bool rank0_gone = done[0] && t > out[0].seconds + 1.0;
    for (int r = 0; r < world_size; ++r) {
      if (done[r]) continue;
      int status = 0;
      if (::waitpid(pids[r], &status, WNOHANG) == pids[r]) {
        done[r] = true, --left;
        out[r].seconds = t;
        out[r].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else if (t > deadline_s || rank0_gone) {
        ::kill(pids[r], SIGKILL);  // our own child, by pid
        ::waitpid(pids[r], &status, 0);
        done[r] = true, --left;
        out[r].seconds = t;
        out[r].exit_code = -1;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int r = 0; r < world_size; ++r) {
    std::ifstream in(log_dir / ("rank" + std::to_string(r) + ".log"));
    std::stringstream ss;
    ss << in.rdbuf();
    out[r].output = ss.str();
  }
  return out;
}

}  // namespace r1kit::testing_dist
