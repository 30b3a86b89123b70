// command rewarder: examples/external_reward.py end to end; one process kept across calls; restart after the
// program dies; per-call time-out -> 0 and restart; malformed replies -> 0.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <gtest/gtest.h>
#include <thread>

#include "core/error.h"
#include "rewards/code/sandbox.h"
#include "rewards/custom/command_rewarder.h"
#include "rewards/reward_set.h"

using namespace r1kit::rewards;
using namespace r1kit::rewards::custom;
using nlohmann::json;

namespace {

std::string python() { return r1kit::rewards::code::find_executable("python3"); }

#define REQUIRE_PYTHON() \
  if (python().empty()) GTEST_SKIP() << "needs python3 in PATH"

double score(const Rewarder& r, const std::string& completion, const json& rec = {{"answer", "4"}}) {
  return r.score(Sample{"What is 2+2?", completion, rec});
}

std::unique_ptr<CommandRewarder> inline_program(const std::string& code, double timeout_s = 5.0) {
  return std::make_unique<CommandRewarder>(json{{"command", {python(), "-c", code}}, {"timeout_s", timeout_s}},
                                           "cmd", "$.rewards[3]");
}

}  // namespace

TEST(CommandRewarder, ExampleProgramKeptRunningBetweenCalls) {
  REQUIRE_PYTHON();
  CommandRewarder r({{"command", {python(), std::string(R1KIT_SOURCE_DIR) + "/examples/external_reward.py"}}}, "ext",
                    "$.rewards[3]");
  const int pid = r.worker_pid(0);
  EXPECT_GT(pid, 0);
  EXPECT_EQ(score(r, "<think>2+2</think>\nThe answer is 4."), 1.0);
  EXPECT_EQ(score(r, "<think>2+2=4</think>\nThe answer is 5."), 0.0);
  EXPECT_TRUE(std::isnan(score(r, "anything", json{{"question", "no answer field"}})));
  EXPECT_EQ(r.worker_pid(0), pid);  // the same process answered every call
  // Unicode and invalid UTF-8 in model output survive the trip.
  EXPECT_EQ(score(r, "réponse: 4 \xff\xfe"), 1.0);
}

TEST(CommandRewarder, RestartedAfterItDies) {
  REQUIRE_PYTHON();
  // Answers one request, then exits: every later call finds it dead and restarts it.
  auto r = inline_program(
      "import sys, json\nline = sys.stdin.readline()\nprint(json.dumps({'reward': 0.75}), flush=True)\n");
  EXPECT_EQ(score(*r, "a"), 0.75);
  EXPECT_EQ(score(*r, "b"), 0.75);
  EXPECT_EQ(score(*r, "c"), 0.75);
  // Killed from outside between calls: restarted.
  auto keep = inline_program("import sys\nfor l in sys.stdin:\n    print('{\"reward\": 1}', flush=True)\n");
  EXPECT_EQ(score(*keep, "a"), 1.0);
  const int pid = keep->worker_pid(0);
  kill(pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(score(*keep, "b"), 1.0);
  EXPECT_NE(keep->worker_pid(0), pid);
  // A program that never answers anything (exits at once) scores 0.
  EXPECT_EQ(score(*inline_program("pass"), "x"), 0.0);
}

TEST(CommandRewarder, TimeoutScoresZeroAndRestarts) {
  REQUIRE_PYTHON();
  // Hangs on completions containing "hang", answers otherwise.
  auto r = inline_program(
      "import sys, json, time\n"
      "for line in sys.stdin:\n"
      "    if 'hang' in json.loads(line)['completion']:\n"
      "        time.sleep(600)\n"
      "    print(json.dumps({'reward': 0.5}), flush=True)\n",
      0.5);
  EXPECT_EQ(score(*r, "ok"), 0.5);
  const int pid = r->worker_pid(0);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(score(*r, "hang"), 0.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
  EXPECT_EQ(r->worker_pid(0), -1);                // killed
  EXPECT_NE(kill(pid, 0), 0);                     // and gone
  EXPECT_EQ(score(*r, "ok again"), 0.5);          // restarted
}

TEST(CommandRewarder, MalformedRepliesScoreZero) {
  REQUIRE_PYTHON();
  auto r = inline_program(
      "import sys, json\n"
      "for line in sys.stdin:\n"
      "    c = json.loads(line)['completion']\n"
      "    print({'text': 'not json', 'noreward': json.dumps({'x': 1}), 'null': json.dumps({'reward': None}),"
      "           'num': json.dumps({'reward': -2.5})}[c], flush=True)\n");
  EXPECT_EQ(score(*r, "text"), 0.0);
  EXPECT_EQ(score(*r, "noreward"), 0.0);
  EXPECT_TRUE(std::isnan(score(*r, "null")));
  EXPECT_EQ(score(*r, "num"), -2.5);
}

TEST(CommandRewarder, PoolScoresInParallel) {
  REQUIRE_PYTHON();
  CommandRewarder r({{"command", {python(), "-c",
                                  "import sys, json, time\nfor l in sys.stdin:\n    time.sleep(0.2)\n"
                                  "    print(json.dumps({'reward': len(json.loads(l)['completion'])}), flush=True)\n"}},
                     {"processes", 4}},
                    "pool", "$.rewards[3]");
  const json rec = json::object();
  std::vector<std::string> texts = {"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh"};
  std::vector<Sample> samples;
  for (const auto& t : texts) samples.push_back(Sample{"", t, rec});
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = r.score_batch(samples);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(out[i], static_cast<double>(i + 1));
  EXPECT_LT(wall, 1.4);  // 8 x 0.2 s on 4 copies (plus start-up), not 1.6 s in sequence
}

TEST(CommandRewarder, ConfigErrors) {
  EXPECT_THROW(CommandRewarder(json::object(), "c", "$.rewards[3]"), r1kit::ConfigError);
  EXPECT_THROW(CommandRewarder({{"command", {"/nonexistent/program"}}}, "c", "$.rewards[3]"), r1kit::ConfigError);
  EXPECT_THROW(CommandRewarder({{"command", {"true"}}, {"processes", 0}}, "c", "$.rewards[3]"), r1kit::ConfigError);
  EXPECT_THROW(CommandRewarder({{"command", {"true"}}, {"timeout", 1}}, "c", "$.rewards[3]"), r1kit::ConfigError);
  // A shell string works too.
  CommandRewarder sh({{"command", "while read l; do echo '{\"reward\": 3}'; done"}}, "c", "$.rewards[3]");
  EXPECT_EQ(score(sh, "x"), 3.0);
}

TEST(CommandRewarder, FailuresAreCountedByRewardSet) {
  REQUIRE_PYTHON();
  // A killed (hung) program counts as a time-out, an invalid reply as an error; both samples still score 0.
  const std::string code =
      "import sys, json, time\n"
      "for line in sys.stdin:\n"
      "    c = json.loads(line)['completion']\n"
      "    if c == 'hang':\n"
      "        time.sleep(600)\n"
      "    print('not json' if c == 'bad' else json.dumps({'reward': 1}), flush=True)\n";
  const json cfg = json::array({json{{"type", "command"}, {"command", {python(), "-c", code}}, {"timeout_s", 0.5},
                                     {"processes", 1}}});
  auto set = RewardSet::from_json(cfg, "$.rewards", "", {1, 30.0});
  const json rec = {{"answer", "4"}};
  std::vector<Sample> samples = {Sample{"p", "ok", rec}, Sample{"p", "hang", rec}, Sample{"p", "bad", rec},
                                 Sample{"p", "ok", rec}};
  const auto out = set.score_batch(samples);
  EXPECT_EQ(out.totals, (std::vector<double>{1.0, 0.0, 0.0, 1.0}));
  EXPECT_EQ(out.timeouts.at(0), 1u);
  EXPECT_EQ(out.errors.at(0), 1u);
}
