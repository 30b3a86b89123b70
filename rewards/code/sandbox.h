// Runs an untrusted program under a wall-clock limit, resource limits and (by default) a bubblewrap sandbox.
//
// Isolation with `mode = bwrap` (bubblewrap, https://github.com/containers/bubblewrap):
//   * namespaces: new user, PID, network, IPC, UTS and cgroup namespaces (`--unshare-all --unshare-user`): no
//     network at all (only a down loopback), `--die-with-parent`, `--new-session` (no controlling terminal),
//     `--as-pid-1` (the program is PID 1 itself, so no bwrap process inside holds its stdout where the code under
//     test could reach it through /proc/1/fd). Uid/gid 65534 inside, all capabilities dropped.
//   * file system: the root is an empty tmpfs remounted read-only; the host's /usr (plus /bin, /sbin, /lib*
//     symlinks or read-only binds as on the host, /etc/alternatives, /etc/ld.so.cache, /etc/localtime and the
//     configured extra `ro_binds`) is bind-mounted read-only; a fresh /proc and a minimal /dev; /tmp is a private
//     writable tmpfs of `tmpfs_bytes`, the working directory. Nothing else of the host (home directories, /etc,
//     /work, the host's /tmp) is visible.
//   * rlimits, set in the child before exec and inherited by every process of the sandbox: RLIMIT_CPU
//     (`cpu_s`, per process; SIGXCPU then SIGKILL one second later), RLIMIT_AS (`memory_bytes`), RLIMIT_NPROC
//     (`processes`), RLIMIT_FSIZE (`file_bytes`), RLIMIT_NOFILE (`open_files`), RLIMIT_CORE 0.
//     When r1kit runs as root (where the kernel exempts uid 0 from RLIMIT_NPROC) the child first switches to an
//     otherwise unused uid/gid (1,500,000,000 + a per-process, per-slot offset) so the process limit holds for
//     each sandbox separately.
//   * wall clock: the child calls setsid(); at `wall_s` the whole process group is killed (kill(-pgid, SIGKILL));
//     bwrap's --die-with-parent then kills the sandbox's PID 1, and the kernel kills every process left in the
//     PID namespace — a program that daemonises (double fork + setsid) does not survive.
//   * the child also gets PR_SET_PDEATHSIG=SIGKILL, so the sandbox dies with the scoring thread's process.
// `mode = none` runs the program directly with the same rlimits, process group kill and privilege drop, in a
// fresh host temp dir — UNSAFE (full file system and network access, daemonised descendants may survive); for
// machines without bubblewrap only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::rewards::code {

enum class SandboxMode { bwrap, none };

struct SandboxLimits {
  double wall_s = 10.0;                        // wall-clock limit of one run, seconds (kills the process group)
  int cpu_s = 10;                              // RLIMIT_CPU per process, seconds
  uint64_t memory_bytes = 1024ull << 20;       // RLIMIT_AS per process, bytes
  int processes = 64;                          // RLIMIT_NPROC (processes + threads), per sandbox
  uint64_t file_bytes = 16ull << 20;           // RLIMIT_FSIZE: largest file a process may write, bytes
  int open_files = 64;                         // RLIMIT_NOFILE
  uint64_t tmpfs_bytes = 64ull << 20;          // size of the private /tmp (bwrap mode), bytes
  uint64_t max_output_bytes = 16ull << 20;     // stdout captured at most; more -> killed, output_truncated
};

struct SandboxConfig {
  SandboxMode mode = SandboxMode::bwrap;
  std::string bwrap = "bwrap";                 // program name (searched in PATH) or path
  std::vector<std::string> ro_binds;           // extra host paths bound read-only at the same place
  bool drop_privileges = true;                 // when running as root, run the sandbox as an unused uid
  SandboxLimits limits;
};

/// What happened to one run.
struct ExecResult {
  bool started = false;          // the program was exec'd (false: fork/exec failure, see error)
  bool timed_out = false;        // killed at the wall-clock limit
  bool output_truncated = false; // killed for writing more than max_output_bytes to stdout
  int exit_code = -1;            // exit status when it exited normally, else -1
  int term_signal = 0;           // signal that ended it, else 0
  double wall_s = 0;             // seconds from spawn to reap
  std::string out;               // captured stdout (everything written before the end or the kill)
  std::string err;               // captured stderr (first 64 KiB)
  std::string error;             // why it could not start
};

/// Absolute path of `program` (a path, or a name looked up in PATH), or "" when not found/executable.
std::string find_executable(const std::string& program);

class Sandbox {
 public:
  /// Resolves the bwrap program. Throws ConfigError (naming `json_path`) when bwrap mode is asked for and bwrap
  /// is not installed — with the fix: `apt-get install bubblewrap` (or `"sandbox": "none"`, unsafe).
  Sandbox(SandboxConfig config, const std::string& json_path);

  /// Runs `argv` (argv[0] an absolute path) with `stdin_data` as its standard input (a memory file: never
  /// blocks), environment PATH/HOME/TMPDIR/LANG only. Blocks until it exits or is killed — at limits.wall_s, or
  /// earlier when the calling thread's per-sample deadline (rewards/deadline.h, set by RewardSet) passes.
  /// Thread-safe; never throws for anything the program does.
  ExecResult run(const std::vector<std::string>& argv, std::string_view stdin_data) const;

  /// Runs `python -c "print(6*7)"` in the sandbox; throws ConfigError naming `json_path` with bwrap's message
  /// and the likely fixes when that fails (user namespaces disabled, missing python, ...).
  void check_works(const std::string& python, const std::string& json_path) const;

  const SandboxConfig& config() const { return config_; }

 private:
  std::vector<std::string> bwrap_prefix() const;  // bwrap and its options, up to the command

  SandboxConfig config_;
  std::string bwrap_path_;
  bool bwrap_has_size_ = true;  // bubblewrap >= 0.7 sizes the /tmp tmpfs (--size); older ones rely on RLIMIT_FSIZE
};

}  // namespace r1kit::rewards::code
