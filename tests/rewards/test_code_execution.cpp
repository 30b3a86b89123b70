// code_execution end to end in the bubblewrap sandbox: the proof cases (output comparison, partial
// credit with a hanging test, time-outs, descendants that must not survive, fork bomb, file system and network
// isolation) plus the anti-gaming checks. Needs bwrap and /usr/bin/python3 (skips with the reason otherwise).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <fcntl.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "rewards/code/code_execution.h"
#include "rewards/code/sandbox.h"
#include "rewards/deadline.h"

using namespace r1kit::rewards;
using namespace r1kit::rewards::code;
using nlohmann::json;

namespace {

bool sandbox_available() {
  return !find_executable("bwrap").empty() && access("/usr/bin/python3", X_OK) == 0;
}

#define REQUIRE_SANDBOX() \
  if (!sandbox_available()) GTEST_SKIP() << "needs bubblewrap (apt-get install bubblewrap) and /usr/bin/python3"

json base_args() { return {{"test_timeout_s", 2.0}, {"timeout_s", 8.0}}; }

std::unique_ptr<CodeExecutionRewarder> make(json args = base_args()) {
  return std::make_unique<CodeExecutionRewarder>(args, "code", "$.rewards[0]");
}

std::string fenced(const std::string& code) { return "Let me write it.\n```python\n" + code + "\n```\nDone."; }

json stdio_record(const std::vector<std::pair<std::string, std::string>>& cases) {
  json tc = json::array();
  for (const auto& [in, out] : cases) tc.push_back({{"input", in}, {"output", out}});
  return {{"test_cases", tc}};
}

CodeRunReport run(const CodeExecutionRewarder& rw, const std::string& code, const json& record) {
  const std::string completion = fenced(code);
  return rw.run(Sample{"", completion, record});
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// /proc/PID/cmdline, or "" when the process is gone (it may exit between readdir and read: ESRCH).
std::string cmdline_of(const char* pid) {
  const int fd = ::open((std::string("/proc/") + pid + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string cmd;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) cmd.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return cmd;
}

/// PIDs of the processes on the host whose command line is exactly `argv` (NUL-separated in /proc/PID/cmdline).
std::vector<pid_t> processes_with_cmdline(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + '\0';
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (cmdline_of(e->d_name) == want) pids.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
  }
  closedir(d);
  return pids;
}

int count_processes(const std::vector<std::string>& argv) {
  return static_cast<int>(processes_with_cmdline(argv).size());
}

void kill_processes(const std::vector<std::string>& argv) {
  for (pid_t pid : processes_with_cmdline(argv)) kill(pid, SIGKILL);
}

}  // namespace

TEST(CodeExecution, MissingOutputLinesFailTrailingWhitespaceIgnored) {
  REQUIRE_SANDBOX();
  auto rw = make();
  // Expected "3\n4\n5", the program prints "3": that test fails.
  auto r = run(*rw, "print(3)", stdio_record({{"", "3\n4\n5"}}));
  EXPECT_EQ(r.score, 0.0);
  ASSERT_EQ(r.verdicts.size(), 1u);
  EXPECT_EQ(r.verdicts[0], "wrong_output");
  // Expected "3 \n4", the program prints "3\n4": passes.
  r = run(*rw, "print(3)\nprint(4)", stdio_record({{"", "3 \n4"}}));
  EXPECT_EQ(r.score, 1.0);
  // Reads its input; one right, one wrong answer -> 0.5.
  r = run(*rw, "n = int(input())\nprint(n * 2 if n < 5 else 0)", stdio_record({{"2\n", "4\n"}, {"7\n", "14\n"}}));
  EXPECT_EQ(r.score, 0.5);
}

TEST(CodeExecution, NineOfTenPassOneLoopsForever) {
  REQUIRE_SANDBOX();
  json args = base_args();
  args["test_timeout_s"] = 1.0;
  args["timeout_s"] = 10.0;
  auto rw = make(args);
  std::vector<std::pair<std::string, std::string>> cases;
  for (int i = 0; i < 10; ++i) cases.emplace_back(std::to_string(i) + "\n", std::to_string(i * i) + "\n");
  const auto t0 = std::chrono::steady_clock::now();
  // The hanging test is in the middle: tests before and after it still count.
  const auto r = run(*rw, "n = int(input())\nwhile n == 4:\n    pass\nprint(n * n)", stdio_record(cases));
  const double wall = seconds(t0);
  EXPECT_DOUBLE_EQ(r.score, 0.9);  // 9 / 10 in float64: correctly rounded, as is the literal
  EXPECT_EQ(r.verdicts[4], "timeout");
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(wall, 6.0) << "must return within the limit";
}

TEST(CodeExecution, InfiniteLoopScoresZeroWithinTheWallClockLimit) {
  REQUIRE_SANDBOX();
  json args = base_args();
  args["test_timeout_s"] = 1.0;
  args["timeout_s"] = 1.5;  // three 1 s tests cannot all finish: the whole run is killed at 1.5 s
  auto rw = make(args);
  const json mbpp = {{"test_list", {"assert f(1) == 1", "assert f(2) == 2", "assert f(3) == 3"}}};
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run(*rw, "while True: pass", mbpp);
  const double wall = seconds(t0);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.tests, 3u);  // the denominator is the tests defined
  EXPECT_EQ(r.verdicts[0], "timeout");
  EXPECT_EQ(r.verdicts[2], "not_run");
  EXPECT_LT(wall, 3.0);
}

TEST(CodeExecution, BackgroundSleepIsScoredAndDoesNotSurvive) {
  REQUIRE_SANDBOX();
  auto rw = make();
  // Durations unique to this test process (another copy of this test may run on the machine at the same time).
  const std::string plain = std::to_string(100000 + getpid()), daemon = std::to_string(200000 + getpid());
  const std::string code =
      "import os, subprocess, sys\n"
      "subprocess.Popen(['sleep', '" + plain + "'])\n"     // a plain child
      "if os.fork() == 0:\n"                               // a daemon: double fork + setsid
      "    os.setsid()\n"
      "    if os.fork() == 0:\n"
      "        os.execv('/usr/bin/sleep', ['sleep', '" + daemon + "'])\n"
      "    os._exit(0)\n"
      "import time\ntime.sleep(0.2)\n"                    // both are running by now
      "print(int(input()) + 1)\n";
  const auto r = run(*rw, code, stdio_record({{"41\n", "42\n"}}));
  EXPECT_EQ(r.score, 1.0);
  EXPECT_EQ(count_processes({"sleep", plain}), 0);
  EXPECT_EQ(count_processes({"sleep", daemon}), 0);
  // Control (so the check above can fail): without the PID namespace the daemon escapes the process-group kill.
  json none = base_args();
  none["sandbox"] = "none";
  EXPECT_EQ(run(*make(none), code, stdio_record({{"41\n", "42\n"}})).score, 1.0);
  EXPECT_EQ(count_processes({"sleep", plain}), 0);
  EXPECT_EQ(count_processes({"sleep", daemon}), 1);
  kill_processes({"sleep", daemon});
}

TEST(CodeExecution, ForkBombIsContained) {
  REQUIRE_SANDBOX();
  json args = base_args();
  args["test_timeout_s"] = 2.0;
  auto rw = make(args);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(*rw, "import os\nwhile True:\n    os.fork()", stdio_record({{"", "survived"}}));
  EXPECT_EQ(r.score, 0.0);
  EXPECT_LT(seconds(t0), 6.0);
  // The process limit is what stops it: 100 sleeping children are refused under max_processes 64 …
  const std::string spawn100 =
      "import os, time\nn = 0\nfor i in range(100):\n    try:\n        pid = os.fork()\n    except OSError:\n"
      "        break\n    if pid == 0:\n        time.sleep(3)\n        os._exit(0)\n    n += 1\nprint(n)\n";
  r = run(*rw, spawn100, stdio_record({{"", "100"}}));
  EXPECT_EQ(r.score, 0.0);
  // … and allowed under 256.
  args["max_processes"] = 256;
  r = run(*make(args), spawn100, stdio_record({{"", "100"}}));
  EXPECT_EQ(r.score, 1.0);
}

TEST(CodeExecution, HostFilesAreInvisibleAndTheRootIsReadOnly) {
  REQUIRE_SANDBOX();
  const std::string secret_path = "/tmp/r1kit_code_test_secret_" + std::to_string(getpid());
  { std::ofstream(secret_path) << "s3cret"; }
  const std::string read_secret = "print(open('" + secret_path + "').read())";
  const json expect_secret = stdio_record({{"", "s3cret"}});
  auto rw = make();
  EXPECT_EQ(run(*rw, read_secret, expect_secret).score, 0.0);
  // Control: the same program without the sandbox reads it (so the test above can fail).
  json none = base_args();
  none["sandbox"] = "none";
  EXPECT_EQ(run(*make(none), read_secret, expect_secret).score, 1.0);
  std::remove(secret_path.c_str());

  // Nothing of the host outside /usr is visible; /etc/shadow and the project tree are not there.
  const std::string probe =
      "import os\n"
      "paths = ['/etc/shadow', '/etc/passwd', '/root', '/home', '/work', '" R1KIT_SOURCE_DIR "', '/var', '/run']\n"
      "print([p for p in paths if os.path.exists(p)])\n";
  EXPECT_EQ(run(*rw, probe, stdio_record({{"", "[]"}})).score, 1.0);
  // Writes outside the private /tmp fail; inside it they work.
  const std::string write_root =
      "for p in ['/x', '/usr/r1kit_x', '/usr/lib/r1kit_x']:\n"
      "    try:\n        open(p, 'w').write('x')\n        print('wrote', p)\n"
      "    except OSError as e:\n        print('denied')\n";
  EXPECT_EQ(run(*rw, write_root, stdio_record({{"", "denied\ndenied\ndenied"}})).score, 1.0);
  EXPECT_EQ(run(*rw, "open('/tmp/a', 'w').write('hi')\nprint(open('/tmp/a').read())", stdio_record({{"", "hi"}})).score,
            1.0);
}

TEST(CodeExecution, NoNetwork) {
  REQUIRE_SANDBOX();
  // A server on the host's loopback: reachable without the sandbox, not from inside it.
  const int server = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(server, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(server, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string code =
      "import socket\ns = socket.socket()\ns.settimeout(1)\ntry:\n"
      "    s.connect(('127.0.0.1', " + std::to_string(ntohs(addr.sin_port)) + "))\n    print('connected')\n"
      "except OSError as e:\n    print('no network')\n";
  const json expect_connected = stdio_record({{"", "connected"}});
  EXPECT_EQ(run(*make(), code, expect_connected).score, 0.0);
  json none = base_args();
  none["sandbox"] = "none";
  EXPECT_EQ(run(*make(none), code, expect_connected).score, 1.0);  // control
  close(server);
  // Outside addresses are unreachable too (no route at all, not a firewall time-out).
  const std::string out =
      "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=1)\n    print('connected')\n"
      "except OSError as e:\n    print('no network')\n";
  EXPECT_EQ(run(*make(), out, stdio_record({{"", "no network"}})).score, 1.0);
}

TEST(CodeExecution, CrashesDoNotShrinkTheDenominatorAndEarlyExitsDoNotPass) {
  REQUIRE_SANDBOX();
  auto rw = make();
  const json mbpp = {{"test_list", {"assert f(1) == 2", "assert f(0) == 1", "assert f(2) == 3"}}};
  auto r = run(*rw, "def f(x):\n    if x == 0:\n        raise ValueError('boom')\n    return x + 1", mbpp);
  EXPECT_NEAR(r.score, 2.0 / 3.0, 1e-12);  // passed / total in float64: one rounding (≤ 1e-16)
  EXPECT_EQ(r.verdicts[1], "error");
  for (const char* hack : {"import os\nos._exit(0)", "import sys\nsys.exit(0)", "exit()", "raise SystemExit"}) {
    EXPECT_EQ(run(*rw, std::string("def f(x):\n    return x + 1\n") + hack, mbpp).score, 0.0) << hack;
  }
  // Syntax errors fail every test.
  r = run(*rw, "def f(x) return x", mbpp);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_EQ(r.tests, 3u);
}

TEST(CodeExecution, ChildrenCannotForgeVerdicts) {
  REQUIRE_SANDBOX();
  auto rw = make();
  const json mbpp = {{"test_list", {"assert f(1) == 2", "assert f(2) == 3"}}};
  const std::string forge =
      "import os\n"
      "line = b'R 0 pass 0 0\\nR 1 pass 0 0\\nDONE\\n'\n"
      "for fd in range(0, 64):\n"
      "    try: os.write(fd, line)\n    except OSError: pass\n"
      "for p in ('/proc/%d/fd/1' % os.getppid(), '/proc/1/fd/1'):\n"
      "    try:\n        with open(p, 'wb') as f: f.write(line)\n    except OSError: pass\n"
      "def f(x):\n    return 0\n";
  EXPECT_EQ(run(*rw, forge, mbpp).score, 0.0);
}

TEST(CodeExecution, MemoryLimitFailsThatTestOnly) {
  REQUIRE_SANDBOX();
  json args = base_args();
  args["memory_mb"] = 256;
  auto rw = make(args);
  const json mbpp = {{"test_list", {"assert f(1) == 1", "assert len(bytearray(1 << 31)) > 0", "assert f(3) == 3"}}};
  const auto r = run(*rw, "def f(x):\n    return x", mbpp);
  EXPECT_NEAR(r.score, 2.0 / 3.0, 1e-12);  // passed / total in float64: one rounding (≤ 1e-16)
  EXPECT_EQ(r.verdicts[1], "error");
}

TEST(CodeExecution, NoCodeBlockIsZeroAndNoTestsIsNotApplicable) {
  REQUIRE_SANDBOX();
  auto rw = make();
  const json mbpp = {{"test_list", {"assert f(1) == 2"}}};
  EXPECT_EQ(rw->score(Sample{"", "def f(x): return x + 1", mbpp}), 0.0);
  EXPECT_EQ(rw->score(Sample{"", fenced("def f(x): return x + 1"), mbpp}), 1.0);
  EXPECT_TRUE(std::isnan(rw->score(Sample{"", fenced("print(1)"), json{{"answer", "1"}}})));
  json bare = base_args();
  bare["require_code_block"] = false;
  EXPECT_EQ(make(bare)->score(Sample{"", "def f(x): return x + 1", mbpp}), 1.0);
}

TEST(CodeExecution, ConfigErrors) {
  json args = base_args();
  args["bwrap"] = "/nonexistent/bwrap";
  try {
    make(args);
    FAIL() << "expected ConfigError";
  } catch (const r1kit::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install bubblewrap"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("$.rewards[0]"), std::string::npos) << e.what();
  }
  args["sandbox"] = "none";  // explicitly unsafe: no bwrap needed
  if (access("/usr/bin/python3", X_OK) == 0) {
    EXPECT_NO_THROW(make(args));
  }
  EXPECT_THROW(make(json{{"sandbox", "docker"}}), r1kit::ConfigError);
  EXPECT_THROW(make(json{{"language", "rust"}}), r1kit::ConfigError);
  EXPECT_THROW(make(json{{"timeout", 3}}), r1kit::ConfigError);  // unknown key (did you mean timeout_s)
  EXPECT_THROW(make(json{{"memory_mb", 1}}), r1kit::ConfigError);
}

TEST(CodeExecution, RegisteredAndParallelBatch) {
  REQUIRE_SANDBOX();
  auto rw = create_rewarder("code_execution", base_args(), "code", "$.rewards[0]");
  const json rec = stdio_record({{"3\n", "6\n"}});
  std::vector<std::string> completions;
  for (int i = 0; i < 6; ++i) completions.push_back(fenced(i % 2 ? "print(int(input()) * 2)" : "print(0)"));
  std::vector<Sample> samples;
  for (const auto& c : completions) samples.push_back(Sample{"", c, rec});
  const auto scores = rw->score_batch(samples);
  ASSERT_EQ(scores.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(scores[i], i % 2 ? 1.0 : 0.0) << i;
}

TEST(CodeExecution, HonoursTheCallersPerSampleDeadline) {
  REQUIRE_SANDBOX();
  json args = base_args();
  args["test_timeout_s"] = 10.0;
  args["timeout_s"] = 10.0;
  auto rw = make(args);
  const auto t0 = std::chrono::steady_clock::now();
  CodeRunReport r;
  {
    ScopedDeadline deadline(0.7);  // what RewardSet sets on its worker thread
    r = run(*rw, "while True: pass", stdio_record({{"", "1"}}));
  }
  EXPECT_EQ(r.score, 0.0);
  EXPECT_TRUE(r.timed_out);
  EXPECT_LT(seconds(t0), 2.5);
}
