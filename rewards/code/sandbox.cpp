#include "rewards/code/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.h"
#include "rewards/deadline.h"

namespace fs = std::filesystem;

namespace r1kit::rewards::code {

namespace {

constexpr size_t kMaxStderrBytes = 64 << 10;
constexpr uint32_t kUidBase = 1'500'000'000u;  // uids nobody uses: each concurrent sandbox gets its own
constexpr int kUidSlots = 256;

// Slot allocator for the per-sandbox uid used when running as root (RLIMIT_NPROC counts per uid, and uid 0 is
// exempt from it). Slots are unique within this process; the pid-based offset keeps processes apart.
class UidSlots {
 public:
  int acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < kUidSlots; ++i) {
      const int s = (next_ + i) % kUidSlots;
      if (!used_[s]) {
        used_[s] = true;
        next_ = s + 1;
        return s;
      }
    }
    return -1;  // all busy: share slot 0's uid (limits then apply to the sharers together)
  }
  void release(int s) {
    if (s < 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    used_[s] = false;
  }

 private:
  std::mutex mutex_;
  bool used_[kUidSlots] = {};
  int next_ = 0;
};

UidSlots& uid_slots() {
  static UidSlots slots;
  return slots;
}

uint32_t uid_for_slot(int slot) {
  return kUidBase + static_cast<uint32_t>(getpid() % 4096) * kUidSlots + static_cast<uint32_t>(slot < 0 ? 0 : slot);
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct SpawnSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;            // "" = inherit
  const SandboxLimits* limits = nullptr;  // nullptr = no rlimits
  long uid = -1;              // >= 0: switch to this uid/gid first
};

// Spawns spec.argv with stdin from a memory file holding `stdin_data` and stdout/stderr captured, in its own
// session, and waits for it (at most limits->wall_s, then the process group is killed).
ExecResult spawn_and_wait(const SpawnSpec& spec, std::string_view stdin_data, double wall_s,
                          uint64_t max_output_bytes) {
  ExecResult res;
  const auto t0 = std::chrono::steady_clock::now();

  Fd in(static_cast<int>(::syscall(SYS_memfd_create, "r1kit-stdin", MFD_CLOEXEC)));
  if (in.fd < 0 || !write_all(in.fd, stdin_data) || ::lseek(in.fd, 0, SEEK_SET) != 0) {
    res.error = std::string("cannot create the stdin memory file: ") + std::strerror(errno);
    return res;
  }
  int out_p[2], err_p[2];
  if (::pipe2(out_p, O_CLOEXEC) != 0) {
    res.error = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  Fd out_r(out_p[0]), out_w(out_p[1]);
  if (::pipe2(err_p, O_CLOEXEC) != 0) {
    res.error = std::string("pipe: ") + std::strerror(errno);
    return res;
  }
  Fd err_r(err_p[0]), err_w(err_p[1]);

  // Everything the child needs, prepared before vfork (the child only makes system calls).
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  struct Limit {
    __rlimit_resource_t resource;
    rlimit value;
  };
  std::vector<Limit> rlimits;
  if (spec.limits != nullptr) {
    const SandboxLimits& l = *spec.limits;
    const rlim_t cpu = static_cast<rlim_t>(std::max(1, l.cpu_s));
    rlimits.push_back({RLIMIT_CPU, {cpu, cpu + 1}});
    rlimits.push_back({RLIMIT_AS, {l.memory_bytes, l.memory_bytes}});
    rlimits.push_back({RLIMIT_NPROC, {static_cast<rlim_t>(l.processes), static_cast<rlim_t>(l.processes)}});
    rlimits.push_back({RLIMIT_FSIZE, {l.file_bytes, l.file_bytes}});
    rlimits.push_back({RLIMIT_NOFILE, {static_cast<rlim_t>(l.open_files), static_cast<rlim_t>(l.open_files)}});
    rlimits.push_back({RLIMIT_CORE, {0, 0}});
  }
  const char* volatile cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  const long uid = spec.uid;
  const pid_t parent = ::getpid();
  const int in_fd = in.fd, out_fd = out_w.fd, err_fd = err_w.fd;

  // Block signals around vfork so no handler of ours runs in the child (which shares our memory); the child
  // resets caught signals to their default and unblocks everything right before exec (as posix_spawn does).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  volatile int child_errno = 0;
  volatile int child_step = 0;
  const pid_t pid = ::vfork();
  if (pid == 0) {
    int step = 1;
    if (::setsid() < 0) goto fail;
    step = 2;
    if (uid >= 0) {
      if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setgid, uid) != 0 ||
          ::syscall(SYS_setuid, uid) != 0)
        goto fail;
    }
    step = 3;  // after the uid switch: a credential change clears the parent-death signal
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto fail;
    if (::getppid() != parent) ::_exit(127);
    step = 4;
    for (const Limit& l : rlimits)
      if (::setrlimit(l.resource, &l.value) != 0) goto fail;
    step = 5;
    if (cwd != nullptr && ::chdir(cwd) != 0) goto fail;
    step = 6;
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) goto fail;
    ::syscall(SYS_close_range, 3u, ~0u, 0u);  // stray inherited descriptors (ignored where unsupported)
    for (int s = 1; s < NSIG; ++s) {
      struct sigaction sa;
      if (::sigaction(s, nullptr, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
        sa.sa_handler = SIG_DFL;
        sa.sa_flags = 0;
        ::sigaction(s, &sa, nullptr);
      }
    }
    {
      struct sigaction sa{};
      sa.sa_handler = SIG_DFL;
      ::sigaction(SIGPIPE, &sa, nullptr);  // a trainer that ignores SIGPIPE must not pass that on
    }
    {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
    }
    step = 7;
    ::execve(argv[0], argv.data(), envp.data());
  fail:
    child_errno = errno;
    child_step = step;
    ::_exit(127);
  }
  const int spawn_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  in.reset();
  out_w.reset();
  err_w.reset();
  if (pid < 0) {
    res.error = std::string("vfork: ") + std::strerror(spawn_errno);
    return res;
  }
  if (child_errno != 0) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    static const char* steps[] = {"", "setsid", "switch to an unprivileged uid", "PR_SET_PDEATHSIG",
                                  "setrlimit", "chdir", "dup2", "execve"};
    res.error = std::string(steps[child_step]) + " failed for '" + spec.argv[0] + "': " +
                std::strerror(child_errno);
    res.wall_s = seconds_since(t0);
    return res;
  }
  res.started = true;

  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  const auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(wall_s));
  bool exited = false, killed = false;
  int status = 0;
  std::chrono::steady_clock::time_point drain_deadline{};
  auto kill_group = [&] {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  };
  char buf[65536];
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    // Our own wall-clock limit, or the caller's per-sample deadline (RewardSet, rewards/deadline.h).
    if (!exited && !killed && (now >= deadline || deadline_passed())) {
      kill_group();
      killed = true;
      res.timed_out = true;
    }
    if (exited && ((out_r.fd < 0 && err_r.fd < 0) || now >= drain_deadline)) break;
    pollfd fds[3];
    int nfds = 0, i_out = -1, i_err = -1, i_pid = -1;
    if (out_r.fd >= 0) fds[i_out = nfds++] = {out_r.fd, POLLIN, 0};
    if (err_r.fd >= 0) fds[i_err = nfds++] = {err_r.fd, POLLIN, 0};
    if (!exited && pidfd.fd >= 0) fds[i_pid = nfds++] = {pidfd.fd, POLLIN, 0};
    int timeout_ms;
    if (exited) {
      timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(drain_deadline - now).count()) + 1;
    } else if (killed) {
      timeout_ms = 10;
    } else {
      timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
      timeout_ms = std::min(timeout_ms, 50);                   // look at the caller's deadline now and then
      if (pidfd.fd < 0) timeout_ms = std::min(timeout_ms, 5);  // no pidfd: poll for the exit
    }
    const int pr = ::poll(fds, static_cast<nfds_t>(nfds), std::max(0, timeout_ms));
    if (pr < 0 && errno != EINTR) break;
    if (pr > 0) {
      if (i_out >= 0 && (fds[i_out].revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = ::read(out_r.fd, buf, sizeof buf);
        if (n > 0) {
          res.out.append(buf, static_cast<size_t>(n));
          if (res.out.size() > max_output_bytes && !exited) {
            res.out.resize(max_output_bytes);
            res.output_truncated = true;
            if (!killed) kill_group();
            killed = true;
          }
        } else if (n == 0 || errno != EINTR) {
          out_r.reset();
        }
      }
      if (i_err >= 0 && (fds[i_err].revents & (POLLIN | POLLHUP | POLLERR))) {
        const ssize_t n = ::read(err_r.fd, buf, sizeof buf);
        if (n > 0) {
          if (res.err.size() < kMaxStderrBytes)
            res.err.append(buf, std::min(static_cast<size_t>(n), kMaxStderrBytes - res.err.size()));
        } else if (n == 0 || errno != EINTR) {
          err_r.reset();
        }
      }
    }
    if (!exited) {
      // Exited? Look without reaping, kill what is left of its process group while the zombie still holds
      // the group id (so the id cannot have been reused), then reap.
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
        ::kill(-pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        exited = true;
        drain_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
      }
    }
  }
  if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) res.term_signal = WTERMSIG(status);
  res.wall_s = seconds_since(t0);
  return res;
}

std::vector<std::string> base_env(const std::string& home) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "TMPDIR=" + home, "LANG=C.UTF-8",
          "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"};
}

}  // namespace

std::string find_executable(const std::string& program) {
  auto ok = [](const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p); };
  if (program.empty()) return "";
  if (program.find('/') != std::string::npos) return ok(program) ? fs::absolute(program).string() : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
    if (end > start && ok(candidate)) return candidate.string();
    start = end + 1;
  }
  return "";
}

Sandbox::Sandbox(SandboxConfig config, const std::string& json_path) : config_(std::move(config)) {
  if (config_.mode == SandboxMode::none) return;
  bwrap_path_ = find_executable(config_.bwrap);
  if (bwrap_path_.empty()) {
    throw ConfigError(json_path + ": the code sandbox needs bubblewrap, but '" + config_.bwrap +
                      "' was not found or is not executable — install it (`apt-get install bubblewrap`, "
                      "`dnf install bubblewrap`), or set \"bwrap\" to its path; \"sandbox\": \"none\" runs model "
                      "code without isolation (UNSAFE: only for throw-away machines)");
  }
  {  // `bwrap --help` lists --size from bubblewrap 0.7 on
    SpawnSpec help;
    help.argv = {bwrap_path_, "--help"};
    help.env = base_env("/tmp");
    const ExecResult r = spawn_and_wait(help, "", 10.0, 1 << 20);
    bwrap_has_size_ = r.out.find("--size") != std::string::npos || r.err.find("--size") != std::string::npos;
  }
  for (const auto& p : config_.ro_binds) {
    if (p.empty() || p[0] != '/' || !fs::exists(p))
      throw ConfigError(json_path + ".ro_binds: '" + p + "' is not an existing absolute path — list host paths "
                        "to bind read-only into the sandbox");
  }
}

std::vector<std::string> Sandbox::bwrap_prefix() const {
  std::vector<std::string> a = {bwrap_path_, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
                                "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                                // The program (the harness) is PID 1 itself: no bwrap reaper inside that holds its
                                // stdout and could be reached through /proc/1/fd by the code under test.
                                "--as-pid-1",
                                "--ro-bind", "/usr", "/usr"};
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    const auto st = fs::symlink_status(d, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      a.insert(a.end(), {"--symlink", fs::read_symlink(d, ec).string(), d});
    } else if (fs::is_directory(st)) {
      a.insert(a.end(), {"--ro-bind", d, d});
    }
  }
  for (const char* f : {"/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime"})
    a.insert(a.end(), {"--ro-bind-try", f, f});
  for (const auto& p : config_.ro_binds) a.insert(a.end(), {"--ro-bind", p, p});
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev"});
  if (bwrap_has_size_) a.insert(a.end(), {"--size", std::to_string(config_.limits.tmpfs_bytes)});
  a.insert(a.end(), {"--tmpfs", "/tmp", "--chdir", "/tmp", "--remount-ro", "/", "--"});
  return a;
}

ExecResult Sandbox::run(const std::vector<std::string>& argv, std::string_view stdin_data) const {
  SpawnSpec spec;
  spec.limits = &config_.limits;
  int slot = -1;
  const bool drop = config_.drop_privileges && ::geteuid() == 0;
  if (drop) {
    slot = uid_slots().acquire();
    spec.uid = static_cast<long>(uid_for_slot(slot));
  }
  struct Release {
    int slot;
    ~Release() { uid_slots().release(slot); }
  } release{slot};

  fs::path temp_dir;
  if (config_.mode == SandboxMode::bwrap) {
    spec.argv = bwrap_prefix();
    spec.env = base_env("/tmp");
  } else {
    char tmpl[] = "/tmp/r1kit-nosandbox-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      ExecResult r;
      r.error = std::string("mkdtemp: ") + std::strerror(errno);
      return r;
    }
    temp_dir = tmpl;
    if (drop && ::chown(tmpl, static_cast<uid_t>(spec.uid), static_cast<gid_t>(spec.uid)) != 0) {
      ExecResult r;
      r.error = std::string("chown of the temp dir: ") + std::strerror(errno);
      std::error_code ec;
      fs::remove_all(temp_dir, ec);
      return r;
    }
    spec.cwd = temp_dir.string();
    spec.env = base_env(spec.cwd);
  }
  spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  ExecResult r = spawn_and_wait(spec, stdin_data, config_.limits.wall_s, config_.limits.max_output_bytes);
  if (!temp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(temp_dir, ec);
  }
  return r;
}

void Sandbox::check_works(const std::string& python, const std::string& json_path) const {
  const ExecResult r = run({python, "-I", "-S", "-c", "print(6*7)"}, "");
  if (r.started && r.exit_code == 0 && r.out == "42\n") return;
  std::string why = !r.error.empty() ? r.error
                    : r.timed_out    ? "timed out"
                                     : "exit code " + std::to_string(r.exit_code) + ", stderr: " + r.err;
  throw ConfigError(json_path + ": the code sandbox does not work on this machine (" +
                    (config_.mode == SandboxMode::bwrap ? bwrap_path_ + " " : std::string()) + "running " + python +
                    "): " + why +
                    " — check that `bwrap --unshare-all --unshare-user --ro-bind / / true` runs (unprivileged user "
                    "namespaces must be enabled: sysctl kernel.unprivileged_userns_clone=1 / "
                    "user.max_user_namespaces > 0, or AppArmor's kernel.apparmor_restrict_unprivileged_userns=0), "
                    "that \"python\" names an interpreter under /usr, and that \"memory_mb\" is large enough");
}

}  // namespace r1kit::rewards::code
