// `r1kit report RUN_DIR... [--out DIR] [--name LABEL]...`: one table row per GRPO run directory (summary.md,
// summary.csv) and plots of reward, eval accuracy, response length, entropy and KL vs step (eval/run_report.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/run_report.h"

namespace r1kit::cli {

/// Prints the table rows of a summary.md (its lines starting with '|').
void print_table(const std::filesystem::path& summary_md) {
  const std::string md = read_file(summary_md);
  size_t pos = 0;
  while (pos < md.size()) {
    size_t end = md.find('\n', pos);
    if (end == std::string::npos) end = md.size();
    if (md[pos] == '|') std::printf("%s\n", md.substr(pos, end - pos).c_str());
    pos = end + 1;
  }
}

void register_report(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "Table and plots for GRPO run directories (config.json + metrics.jsonl)");
  static std::vector<std::string> dirs, names;
  static std::string out = "report", title = "GRPO runs";
  cmd->add_option("runs", dirs, "GRPO run directories")->required();
  cmd->add_option("--out", out, "Output directory (summary.md, summary.csv, plots/)")->capture_default_str();
  cmd->add_option("--name", names, "Row labels, one per run directory (default: the directory names)");
  cmd->add_option("--title", title, "Title of summary.md")->capture_default_str();
  cmd->callback([] {
    if (!names.empty() && names.size() != dirs.size())
      throw ConfigError("report: give one --name per run directory (" + std::to_string(dirs.size()) + "), or none");
    std::vector<eval::RunData> runs;
    for (size_t i = 0; i < dirs.size(); ++i) {
      if (!std::filesystem::exists(std::filesystem::path(dirs[i]) / "metrics.jsonl"))
        throw IoError(dirs[i] + ": no metrics.jsonl — give GRPO run directories (the output_dir of r1kit grpo)");
      runs.push_back(eval::load_run(dirs[i], names.empty() ? "" : names[i]));
    }
    eval::ReportOptions ro;
    ro.title = title;
    ro.command = "r1kit report";
    for (const auto& d : dirs) ro.command += " " + d;
    const auto files = eval::write_report(runs, out, ro);
    print_table(files.summary_md);
    std::printf("wrote %s, %s\n", files.summary_md.c_str(), files.summary_csv.c_str());
    if (files.plotted) std::printf("plots: %zu SVG files in %s/plots\n", files.plots.size(), out.c_str());
    else std::printf("plots not drawn: %s\n", files.plot_note.c_str());
  });
}

}  // namespace r1kit::cli
