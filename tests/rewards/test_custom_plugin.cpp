// plugin rewarder: builds examples/reward_plugin/keyword_reward.c with the system C compiler at run time, loads
// it and scores; broken plugins (missing symbol, other API version, failing init) are ConfigErrors naming the
// .so and the symbol.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <thread>

#include "core/error.h"
#include "rewards/code/sandbox.h"
#include "rewards/custom/plugin_rewarder.h"

namespace fs = std::filesystem;
using namespace r1kit::rewards;
using namespace r1kit::rewards::custom;
using nlohmann::json;

namespace {

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cc_ = code::find_executable("cc");
    if (cc_.empty()) cc_ = code::find_executable("gcc");
    if (cc_.empty()) GTEST_SKIP() << "no C compiler (cc/gcc) to build the example plugin";
    dir_ = fs::temp_directory_path() / ("r1kit_plugin_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  // Compiles C source (a file or text) into dir_/name.so; returns its path.
  std::string build(const std::string& name, const std::string& source_file) {
    const std::string so = (dir_ / (name + ".so")).string();
    const std::string cmd = cc_ + " -shared -fPIC -O1 -fvisibility=hidden -I" + std::string(R1KIT_SOURCE_DIR) +
                            " " + source_file + " -o " + so + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return so;
  }
  std::string build_text(const std::string& name, const std::string& text) {
    const std::string c = (dir_ / (name + ".c")).string();
    std::ofstream(c) << text;
    return build(name, c);
  }
  std::string cc_;
  fs::path dir_;
};

double score(const Rewarder& r, const std::string& completion) {
  const json rec = {{"answer", "4"}};
  return r.score(Sample{"What is 2+2?", completion, rec});
}

const char* kApiVersion = "#include \"rewards/plugin_api.h\"\n";

}  // namespace

TEST_F(PluginTest, ExamplePluginScores) {
  const std::string so = build("keyword", std::string(R1KIT_SOURCE_DIR) + "/examples/reward_plugin/keyword_reward.c");
  PluginRewarder r({{"path", so}, {"args", {{"keyword", "\\boxed"}, {"max_answer_chars", 30}}}}, "kw", "$.rewards[2]");
  EXPECT_EQ(score(r, "<think>\\boxed{no}</think>The answer is \\boxed{4}."), 1.0);
  EXPECT_EQ(score(r, "<think>\\boxed{4}</think>The answer is 4."), 0.0);
  EXPECT_EQ(score(r, "<think>…</think>" + std::string(40, 'x') + " \\boxed{4}"), 0.5);  // over-long answer
  // Through the registry, concurrently.
  auto reg = create_rewarder("plugin", {{"path", so}, {"concurrent", true}}, "kw", "$.rewards[2]");
  std::vector<std::thread> threads;
  std::vector<double> out(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { out[i] = score(*reg, i % 2 ? "so \\boxed{4}" : "so 4"); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], i % 2 ? 1.0 : 0.0);
}

TEST_F(PluginTest, MissingSymbolNamesTheLibraryAndSymbol) {
  const std::string so = build_text("nofree", std::string(kApiVersion) +
      "int r1kit_reward_api_version(void) { return R1KIT_REWARD_API_VERSION; }\n"
      "int r1kit_reward_init(const char* a, void** s) { *s = 0; return 0; }\n"
      "int r1kit_reward_score(void* s, const char* p, const char* c, const char* r, double* o) { *o = 1; return 0; }\n");
  try {
    PluginRewarder r({{"path", so}}, "p", "$.rewards[2]");
    FAIL() << "expected ConfigError";
  } catch (const r1kit::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(so), std::string::npos) << m;
    EXPECT_NE(m.find("r1kit_reward_free"), std::string::npos) << m;
    EXPECT_NE(m.find("$.rewards[2].path"), std::string::npos) << m;
  }
}

TEST_F(PluginTest, VersionMismatchAndFailingInit) {
  const std::string body =
      "int r1kit_reward_init(const char* a, void** s) { *s = 0; return a[1] == '}' ? 0 : 7; }\n"
      "int r1kit_reward_score(void* s, const char* p, const char* c, const char* r, double* o) {\n"
      "  if (c[0] == 'n') { *o = 0.0 / 0.0; return 0; }\n"
      "  if (c[0] == 'e') return 3;\n"
      "  *o = 0.25; return 0; }\n"
      "void r1kit_reward_free(void* s) {}\n";
  const std::string v2 = build_text("v2", std::string(kApiVersion) + "int r1kit_reward_api_version(void) { return 2; }\n" + body);
  try {
    PluginRewarder r({{"path", v2}}, "p", "$.rewards[2]");
    FAIL() << "expected ConfigError";
  } catch (const r1kit::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(v2), std::string::npos) << m;
    EXPECT_NE(m.find("r1kit_reward_api_version"), std::string::npos) << m;
    EXPECT_NE(m.find("version 2"), std::string::npos) << m;
  }
  const std::string v1 = build_text("v1", std::string(kApiVersion) +
      "int r1kit_reward_api_version(void) { return R1KIT_REWARD_API_VERSION; }\n" + body);
  PluginRewarder ok({{"path", v1}}, "p", "$.rewards[2]");  // args "{}" -> init succeeds
  EXPECT_EQ(score(ok, "x"), 0.25);
  EXPECT_TRUE(std::isnan(score(ok, "nan")));  // the plugin says "not applicable"
  EXPECT_TRUE(std::isnan(score(ok, "error")));  // non-zero return -> NaN, logged
  EXPECT_THROW(PluginRewarder({{"path", v1}, {"args", {{"x", 1}}}}, "p", "$.rewards[2]"), r1kit::ConfigError);
  EXPECT_THROW(PluginRewarder({{"path", (dir_ / "absent.so").string()}}, "p", "$"), r1kit::ConfigError);
  EXPECT_THROW(PluginRewarder(json::object(), "p", "$"), r1kit::ConfigError);  // path required
}
