// `r1kit ablate` machinery on the tiny model: a 2×2 grid runs as r1kit subprocesses with periodic evaluation,
// writes summary.md / summary.csv with one row per run and plot scripts (and SVGs when gnuplot is installed);
// a second invocation skips the finished runs; raising max_steps resumes a run; `r1kit report` on two run dirs.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "eval/ablation.h"
#include "tiny_setup.h"

namespace r1kit::eval {
namespace {
namespace fs = std::filesystem;

bool gnuplot_installed() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

std::vector<std::string> csv_rows(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(line);
  return rows;
}

nlohmann::json ablation_config(const testing::TinySetup& s) {
  return {{"base", s.grpo_config("unused")},
          {"output_dir", (s.root / "abl").string()},
          {"grid", {{"loss_type", {"grpo", "dr_grpo"}}, {"scale_rewards", {"group", "none"}}}}};
}

TEST(Ablation, ParsesVariantsGridAndSeeds) {
  testing::TinySetup s("abl_parse");
  nlohmann::json j = {{"base", s.grpo_config("unused")},
                      {"output_dir", (s.root / "abl").string()},
                      {"seeds", {1, 2}},
                      {"set", {{"max_steps", 3}, {"eval", {{"limit", 2}}}}},
                      {"variants", {{{"name", "low"}, {"set", {{"learning_rate", 0.01}}}},
                                    {{"name", "high"}, {"set", {{"learning_rate", 0.1}, {"data.prompt_template", "r1_zero"}}}}}},
                      {"grid", {{"beta", {0.0, 0.04}}}}};
  const auto cfg = parse_ablation(j, "abl.json");
  ASSERT_EQ(cfg.runs.size(), 8u);  // 2 variants × 2 grid points × 2 seeds
  EXPECT_EQ(cfg.runs[0].name, "low.beta-0.0.seed1");
  EXPECT_EQ(cfg.runs[7].name, "high.beta-0.04.seed2");
  EXPECT_EQ(cfg.runs[7].config["learning_rate"].get<double>(), 0.1);
  EXPECT_EQ(cfg.runs[7].config["data"]["prompt_template"], "r1_zero");
  EXPECT_EQ(cfg.runs[7].config["beta"].get<double>(), 0.04);
  EXPECT_EQ(cfg.runs[7].config["seed"].get<int64_t>(), 2);
  EXPECT_EQ(cfg.runs[7].config["max_steps"].get<int64_t>(), 3);
  // An object in "set" is merged key by key: eval.limit changes, eval.path stays.
  EXPECT_EQ(cfg.runs[7].config["eval"]["limit"].get<int64_t>(), 2);
  EXPECT_EQ(cfg.runs[7].config["eval"]["path"], (s.root / "data.jsonl").string());
  EXPECT_EQ(cfg.runs[7].config["output_dir"], (s.root / "abl" / "high.beta-0.04.seed2").string());
  // Errors name the problem: a bad override value is caught before anything runs, an unknown key too.
  j["grid"] = {{"loss_type", {"grpo", "dapoo"}}};
  try {
    parse_ablation(j, "abl.json");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("dapo"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("loss_type-dapoo"), std::string::npos) << e.what();
  }
  j.erase("grid");
  j["seed"] = 1;
  EXPECT_THROW(parse_ablation(j, "abl.json"), ConfigError);
}

TEST(Ablation, ShippedConfigsAreValid) {
  // Paths in the shipped configs are relative to the repository root.
  const auto cwd = fs::current_path();
  fs::current_path(R1KIT_SOURCE_DIR);
  const std::map<std::string, size_t> expected = {{"dr_grpo", 12}, {"dr_grpo_paper", 12}, {"dapo", 6},
                                                  {"dapo_paper", 6}, {"kl", 3}, {"kl_paper", 3}};
  for (const auto& [name, runs] : expected) {
    const std::string path = "configs/ablations/" + name + ".json";
    try {
      EXPECT_EQ(parse_ablation(load_json_file(path), path).runs.size(), runs) << path;
    } catch (const Error& e) {
      ADD_FAILURE() << path << ": " << e.what();
    }
  }
  fs::current_path(cwd);
}

TEST(Ablation, GridRunsSkipsFinishedResumesAndReports) {
  testing::TinySetup s("abl_run");
  const auto cfg = parse_ablation(ablation_config(s), "abl.json");
  ASSERT_EQ(cfg.runs.size(), 4u);
  AblationOptions opt;
  opt.r1kit_binary = R1KIT_BINARY;
  opt.jobs = 2;
  opt.quiet = true;
  opt.report.gnuplot = "none";  // first without gnuplot: scripts + data, and a note
  auto out = run_ablation(cfg, opt);
  ASSERT_TRUE(out.failed.empty()) << read_file(s.root / "abl" / "logs" / (out.failed[0] + ".log"));
  EXPECT_EQ(out.ran.size(), 4u);
  EXPECT_FALSE(out.report.plotted);
  EXPECT_NE(out.report.plot_note.find("R1KIT_GNUPLOT=none"), std::string::npos) << out.report.plot_note;

  const fs::path abl = s.root / "abl";
  const auto rows = csv_rows(abl / "summary.csv");
  ASSERT_EQ(rows.size(), 5u);  // header + 4 runs
  EXPECT_EQ(rows[0].rfind("run,status,loss_type,scale_rewards,steps", 0), 0u) << rows[0];
  const std::vector<std::string> names = {"loss_type-grpo.scale_rewards-group", "loss_type-grpo.scale_rewards-none",
                                          "loss_type-dr_grpo.scale_rewards-group", "loss_type-dr_grpo.scale_rewards-none"};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(rows[i + 1].rfind(names[i] + ",finished,", 0), 0u) << rows[i + 1];
    EXPECT_TRUE(fs::exists(abl / names[i] / "metrics.jsonl"));
    EXPECT_TRUE(fs::exists(abl / names[i] / "ablation_done.json"));
  }
  const std::string md = read_file(abl / "summary.md");
  for (const auto& n : names) EXPECT_NE(md.find("| " + n + " | finished |"), std::string::npos) << md;
  EXPECT_NE(md.find("eval/tiny/pass@1"), std::string::npos) << md;
  for (const char* gp : {"reward.gp", "eval_accuracy.gp", "response_length.gp", "entropy.gp"})
    EXPECT_TRUE(fs::exists(abl / "plots" / gp)) << gp;
  EXPECT_FALSE(fs::exists(abl / "plots" / "kl.gp"));  // beta = 0 everywhere: no KL logged
  EXPECT_TRUE(fs::exists(abl / "plots" / "data" / (names[0] + ".reward.dat")));

  // Periodic evaluation (eval_steps = 1): eval/<name>/... records at steps 0, 1 and 2.
  std::vector<int64_t> eval_steps;
  for (const auto& rec : read_jsonl(abl / names[0] / "metrics.jsonl"))
    if (rec.contains("eval/tiny/pass@1")) {
      eval_steps.push_back(rec["step"].get<int64_t>());
      EXPECT_TRUE(rec.contains("eval/tiny/format_rate"));
      EXPECT_TRUE(rec.contains("eval/reward"));
    }
  EXPECT_EQ(eval_steps, (std::vector<int64_t>{0, 1, 2}));

  // Again: every run is finished and skipped; with gnuplot (when installed) the SVGs are drawn.
  opt.report.gnuplot = "";
  out = run_ablation(cfg, opt);
  EXPECT_EQ(out.skipped.size(), 4u);
  EXPECT_TRUE(out.ran.empty());
  if (gnuplot_installed()) {
    EXPECT_TRUE(out.report.plotted) << out.report.plot_note;
    for (const char* svg : {"reward.svg", "eval_accuracy.svg", "response_length.svg", "entropy.svg"}) {
      ASSERT_TRUE(fs::exists(abl / "plots" / svg)) << svg;
      EXPECT_NE(read_file(abl / "plots" / svg).find("<svg"), std::string::npos);
    }
    EXPECT_NE(read_file(abl / "summary.md").find("![reward](plots/reward.svg)"), std::string::npos);
  } else {
    std::printf("gnuplot is not installed: checked the .gp fallback only\n");
  }

  // Raising max_steps resumes a finished run (r1kit grpo --resume) — only the one picked with --only.
  auto longer = ablation_config(s);
  longer["set"] = {{"max_steps", 3}};
  opt.only = {names[0]};
  out = run_ablation(parse_ablation(longer, "abl.json"), opt);
  ASSERT_TRUE(out.failed.empty()) << read_file(abl / "logs" / (names[0] + ".log"));
  EXPECT_EQ(out.resumed, (std::vector<std::string>{names[0]}));
  int64_t last = 0;
  for (const auto& rec : read_jsonl(abl / names[0] / "metrics.jsonl"))
    if (rec.contains("loss")) last = rec["step"].get<int64_t>();
  EXPECT_EQ(last, 3);
  EXPECT_EQ(csv_rows(abl / "summary.csv").size(), 5u);  // the summary still covers every run

  // A run directory with another configuration is reported, not overwritten.
  auto other = ablation_config(s);
  other["set"] = {{"learning_rate", 0.2}};
  opt.only = {names[1]};
  out = run_ablation(parse_ablation(other, "abl.json"), opt);
  EXPECT_EQ(out.failed, (std::vector<std::string>{names[1]}));

  // r1kit report on two run directories.
  const std::string cmd = std::string(R1KIT_BINARY) + " report " + (abl / names[0]).string() + " " +
                          (abl / names[2]).string() + " --out " + (s.root / "rep").string() + " > " +
                          (s.root / "rep.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(s.root / "rep.txt");
  const auto rep = csv_rows(s.root / "rep" / "summary.csv");
  ASSERT_EQ(rep.size(), 3u);
  EXPECT_EQ(rep[1].rfind(names[0] + ",", 0), 0u);
  EXPECT_EQ(rep[2].rfind(names[2] + ",", 0), 0u);
  EXPECT_NE(rep[0].find("loss_type"), std::string::npos) << rep[0];  // the differing keys become columns
  EXPECT_NE(read_file(s.root / "rep.txt").find("| " + names[2]), std::string::npos) << read_file(s.root / "rep.txt");
  EXPECT_TRUE(fs::exists(s.root / "rep" / "plots" / "reward.gp"));
}

TEST(Report, RunsWithTheSameNameKeepTheirOwnPlotData) {
  // Two recipe outputs both end in ".../grpo": each run's curve must be drawn from its own data file.
  const fs::path out = fs::temp_directory_path() / ("r1kit_report_same_name_" + std::to_string(::getpid()));
  fs::remove_all(out);
  std::vector<RunData> runs(2);
  for (int i = 0; i < 2; ++i) {
    runs[i].name = "grpo";
    runs[i].dir = out / ("run" + std::to_string(i)) / "grpo";
    runs[i].status = "finished";
    runs[i].max_steps = 2 + i;
    for (int step = 1; step <= 2 + i; ++step)
      runs[i].train.push_back({{"step", step}, {"loss", 0.0}, {"reward", 0.1 * (i + 1)}, {"step_time", 1.0}});
  }
  ReportOptions opt;
  opt.gnuplot = "none";
  write_report(runs, out / "report", opt);
  const auto a = read_file(out / "report" / "plots" / "data" / "grpo.reward.dat");
  const auto b = read_file(out / "report" / "plots" / "data" / "grpo-2.reward.dat");
  EXPECT_NE(a.find("\t0.1\n"), std::string::npos) << a;
  EXPECT_NE(b.find("3\t0.2\n"), std::string::npos) << b;
  const auto gp = read_file(out / "report" / "plots" / "reward.gp");
  EXPECT_NE(gp.find("grpo-2.reward.dat"), std::string::npos) << gp;
  fs::remove_all(out);
}

}  // namespace
}  // namespace r1kit::eval
