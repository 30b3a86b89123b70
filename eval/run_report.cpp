#include "eval/run_report.h"

#include <cctype>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/jsonl.h"

namespace r1kit::eval {
namespace fs = std::filesystem;

namespace {
constexpr int64_t kFinalWindow = 5;  // "final" = mean of the last min(5, steps) logged training steps

std::optional<double> number(const nlohmann::json& rec, const std::string& key) {
  auto it = rec.find(key);
  if (it == rec.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

std::optional<double> tail_mean(const std::vector<nlohmann::json>& recs, const std::string& key) {
  double s = 0;
  int64_t n = 0;
  for (size_t i = recs.size() > kFinalWindow ? recs.size() - kFinalWindow : 0; i < recs.size(); ++i)
    if (auto v = number(recs[i], key)) s += *v, ++n;
  return n ? std::optional<double>(s / n) : std::nullopt;
}

std::string fmt(const std::optional<double>& v, const char* f = "%.4g") {
  if (!v) return "-";
  char b[64];
  std::snprintf(b, sizeof b, f, *v);
  return b;
}

std::string duration(const std::optional<double>& s) {
  if (!s) return "-";
  char b[64];
  if (*s < 60) std::snprintf(b, sizeof b, "%.0f s", *s);
  else if (*s < 3600) std::snprintf(b, sizeof b, "%.1f min", *s / 60);
  else std::snprintf(b, sizeof b, "%.2f h", *s / 3600);
  return b;
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
  }
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string md_cell(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string file_safe(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '=')) c = '_';
  return out;
}

std::string gp_string(const std::string& s) {  // a gnuplot single-quoted string ('' escapes ')
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// The gnuplot to run: options.gnuplot, else $R1KIT_GNUPLOT, else "gnuplot" found on PATH; "" when none.
std::string find_gnuplot(const std::string& wanted, std::string* why) {
  std::string g = wanted;
  if (g.empty())
    if (const char* env = std::getenv("R1KIT_GNUPLOT"); env != nullptr && *env != '\0') g = env;
  if (g.empty()) g = "gnuplot";
  if (g == "none") {
    *why = "plotting disabled (R1KIT_GNUPLOT=none)";
    return "";
  }
  if (g.find('/') != std::string::npos) {
    if (::access(g.c_str(), X_OK) == 0) return g;
    *why = g + " is not an executable file";
    return "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && ::access((fs::path(dir) / g).c_str(), X_OK) == 0) return (fs::path(dir) / g).string();
  *why = "gnuplot is not installed (Debian: apt-get install -y gnuplot-nox)";
  return "";
}

struct PlotSpec {
  std::string file, title, ylabel;
  bool eval;        // from evaluation records
  std::string key;  // metric key ("" for eval: each run's primary eval metric)
};
}  // namespace

RunData load_run(const fs::path& dir, std::string name) {
  RunData r;
  r.dir = dir;
  r.name = name.empty() ? fs::path(dir).lexically_normal().filename().string() : std::move(name);
  if (r.name.empty()) r.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  if (!fs::exists(dir)) {
    r.status = "pending";
    return r;
  }
  if (fs::exists(dir / "config.json")) {
    r.config = load_json_file(dir / "config.json");
    if (r.config.contains("max_steps") && r.config["max_steps"].is_number_integer())
      r.max_steps = r.config["max_steps"].get<int64_t>();
  }
  if (fs::exists(dir / "metrics.jsonl"))
    for (auto& rec : read_jsonl(dir / "metrics.jsonl")) {
      bool is_eval = false;
      for (auto it = rec.begin(); it != rec.end() && !is_eval; ++it) is_eval = it.key().starts_with("eval/");
      if (is_eval) r.evals.push_back(std::move(rec));
      else if (rec.contains("loss")) r.train.push_back(std::move(rec));
    }
  const int64_t last = r.train.empty() ? 0 : r.train.back().value("step", int64_t{0});
  r.status = r.max_steps > 0 && last >= r.max_steps ? "finished" : "incomplete";
  return r;
}

std::string primary_eval_metric(const RunData& run) {
  std::set<std::string> pass1;
  bool acc = false, reward = false;
  for (const auto& rec : run.evals)
    for (auto it = rec.begin(); it != rec.end(); ++it) {
      const std::string& k = it.key();
      if (k.starts_with("eval/") && k.ends_with("/pass@1") && std::count(k.begin(), k.end(), '/') == 2) pass1.insert(k);
      acc |= k == "eval/rewards/math_accuracy/mean";
      reward |= k == "eval/reward";
    }
  if (!pass1.empty()) return *pass1.begin();
  if (acc) return "eval/rewards/math_accuracy/mean";
  return reward ? "eval/reward" : "";
}

RunRow summarize_run(const RunData& run) {
  RunRow row;
  row.name = run.name;
  row.status = run.status;
  row.max_steps = run.max_steps;
  row.steps = run.train.empty() ? 0 : run.train.back().value("step", int64_t{0});
  row.reward = tail_mean(run.train, "reward");
  row.length = tail_mean(run.train, "completions/mean_length");
  row.length_incorrect = tail_mean(run.train, "completions/mean_length_incorrect");
  row.kl = tail_mean(run.train, "kl");
  row.entropy = tail_mean(run.train, "entropy");
  row.eval_metric = primary_eval_metric(run);
  if (!row.eval_metric.empty()) {
    for (const auto& rec : run.evals) {
      auto v = number(rec, row.eval_metric);
      if (!v) continue;
      row.eval_final = v;
      const std::string dataset_prefix = row.eval_metric.substr(0, row.eval_metric.rfind('/') + 1);
      if (dataset_prefix.size() > 5) row.eval_length_incorrect = number(rec, dataset_prefix + "mean_length_incorrect");
      if (!row.eval_best || *v > *row.eval_best) row.eval_best = v, row.eval_best_step = rec.value("step", int64_t{0});
    }
  }
  if (run.wall_seconds) {
    row.wall_seconds = run.wall_seconds;
  } else if (!run.train.empty()) {
    double s = 0;
    for (const auto& rec : run.train) s += number(rec, "step_time").value_or(0.0);
    for (const auto& rec : run.evals)
      for (auto it = rec.begin(); it != rec.end(); ++it)
        if (it.key().ends_with("/seconds") && it.value().is_number()) s += it.value().get<double>();
    row.wall_seconds = s;
  }
  return row;
}

ReportFiles write_report(const std::vector<RunData>& runs, const fs::path& out_dir, const ReportOptions& options) {
  ReportFiles files;
  std::error_code ec;
  fs::create_directories(out_dir / "plots" / "data", ec);
  if (ec) throw IoError(out_dir.string() + ": cannot create the report directory (" + ec.message() + ")");

  // Config keys that differ between runs become columns.
  std::vector<std::map<std::string, std::string>> flat(runs.size());
  std::set<std::string> keys;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].config.is_null()) flatten(runs[i].config, "", flat[i]);
    for (const auto& [k, v] : flat[i]) keys.insert(k);
  }
  std::vector<std::string> diff_keys;
  for (const auto& k : keys) {
    if (k == "output_dir") continue;
    std::set<std::string> values;
    size_t with_config = 0;
    for (size_t i = 0; i < runs.size(); ++i)
      if (!runs[i].config.is_null()) {
        ++with_config;
        values.insert(flat[i].count(k) ? flat[i][k] : "-");
      }
    if (with_config > 1 && values.size() > 1) diff_keys.push_back(k);
  }
  std::vector<RunRow> rows;
  for (const auto& r : runs) rows.push_back(summarize_run(r));
  // Plot data file stems, one per run: two runs with the same name (…/a/grpo and …/b/grpo) get "grpo" and
  // "grpo-2", so neither overwrites the other's data.
  std::vector<std::string> stems;
  std::map<std::string, int> stem_count;
  for (const auto& r : runs) {
    const std::string base = file_safe(r.name);
    const int n = ++stem_count[base];
    stems.push_back(n == 1 ? base : base + "-" + std::to_string(n));
  }
  std::string eval_metric;
  for (const auto& row : rows)
    if (eval_metric.empty()) eval_metric = row.eval_metric;

  // summary.csv
  std::string csv = "run,status";
  for (const auto& k : diff_keys) csv += "," + csv_field(k);
  csv += ",steps,max_steps,reward,completion_length,completion_length_incorrect,kl,entropy,eval_metric,eval_final,"
         "eval_best,eval_best_step,eval_length_incorrect,wall_seconds,run_dir\n";
  auto num = [](const std::optional<double>& v) { return v ? fmt(v, "%.6g") : std::string(); };
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& row = rows[i];
    csv += csv_field(row.name) + "," + csv_field(row.status);
    for (const auto& k : diff_keys) csv += "," + csv_field(flat[i].count(k) ? flat[i][k] : "");
    csv += "," + std::to_string(row.steps) + "," + std::to_string(row.max_steps) + "," + num(row.reward) + "," +
           num(row.length) + "," + num(row.length_incorrect) + "," + num(row.kl) + "," + num(row.entropy) + "," +
           csv_field(row.eval_metric) + "," + num(row.eval_final) + "," + num(row.eval_best) + "," +
           (row.eval_best_step >= 0 ? std::to_string(row.eval_best_step) : "") + "," + num(row.eval_length_incorrect) +
           "," + num(row.wall_seconds) + "," +
           csv_field(runs[i].dir.string()) + "\n";
  }
  files.summary_csv = out_dir / "summary.csv";
  write_file_atomic(files.summary_csv, csv);

  // Plot data and scripts.
  std::vector<PlotSpec> specs = {{"reward", "Training reward", "reward", false, "reward"},
                                 {"eval_accuracy", "Evaluation: " + (eval_metric.empty() ? "none" : eval_metric),
                                  "accuracy", true, ""},
                                 {"response_length", "Mean response length", "tokens", false, "completions/mean_length"},
                                 {"response_length_incorrect", "Mean length of incorrect responses", "tokens", false,
                                  "completions/mean_length_incorrect"},
                                 {"entropy", "Policy entropy", "nats / token", false, "entropy"},
                                 {"kl", "KL to the reference", "KL", false, "kl"}};
  std::string gp_all;
  for (const auto& spec : specs) {
    std::vector<std::string> plot_lines;
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto& recs = spec.eval ? runs[i].evals : runs[i].train;
      const std::string key = spec.eval ? rows[i].eval_metric : spec.key;
      if (key.empty()) continue;
      std::string dat = "# step\t" + key + "\n";
      size_t points = 0;
      for (const auto& rec : recs)
        if (auto v = number(rec, key)) {
          dat += std::to_string(rec.value("step", int64_t{0})) + "\t" + fmt(v, "%.8g") + "\n";
          ++points;
        }
      if (points == 0) continue;
      const std::string dat_name = "data/" + stems[i] + "." + spec.file + ".dat";
      write_file_atomic(out_dir / "plots" / dat_name, dat);
      plot_lines.push_back(gp_string(dat_name) + " using 1:2 with linespoints title " + gp_string(runs[i].name));
    }
    if (plot_lines.empty()) continue;  // e.g. no KL when every run has beta = 0
    std::string gp = "# " + spec.title + " vs step, one line per run. Draw: cd " + (out_dir / "plots").string() +
                     " && gnuplot " + spec.file + ".gp\n";
    gp += "set terminal svg size 900,520 noenhanced font 'sans,12' background rgb 'white'\n";
    gp += "set output " + gp_string(spec.file + ".svg") + "\n";
    gp += "set title " + gp_string(spec.title) + "\nset xlabel 'step'\nset ylabel " + gp_string(spec.ylabel) + "\n";
    gp += "set grid\nset key outside right top\nset datafile separator tab\n";
    gp += "plot ";
    for (size_t j = 0; j < plot_lines.size(); ++j) gp += (j ? ", \\\n     " : "") + plot_lines[j];
    gp += "\n";
    const fs::path script = out_dir / "plots" / (spec.file + ".gp");
    write_file_atomic(script, gp);
    files.scripts.push_back(script);
  }

  // Draw.
  std::string why;
  const std::string gnuplot = find_gnuplot(options.gnuplot, &why);
  if (files.scripts.empty()) {
    files.plot_note = "no metrics to plot yet";
  } else if (gnuplot.empty()) {
    files.plot_note = why + ": the plot scripts (plots/*.gp) and data (plots/data/*.dat) were written; draw them "
                      "with `cd " + (out_dir / "plots").string() + " && for f in *.gp; do gnuplot $f; done`";
  } else {
    files.plotted = true;
    fs::remove(out_dir / "plots" / "gnuplot.log", ec);
    for (const auto& script : files.scripts) {
      const std::string cmd = "cd " + shell_quote((out_dir / "plots").string()) + " && " + shell_quote(gnuplot) + " " +
                              shell_quote(script.filename().string()) + " >> gnuplot.log 2>&1";
      const int rc = std::system(cmd.c_str());
      fs::path svg = script;
      svg.replace_extension(".svg");
      if (rc != 0 || !fs::exists(svg)) {
        files.plotted = false;
        files.plot_note = gnuplot + " failed on " + script.string() + " (exit " + std::to_string(rc) + "; see " +
                          (out_dir / "plots" / "gnuplot.log").string() + ")";
      } else {
        files.plots.push_back(svg);
      }
    }
  }

  // summary.md
  std::string md = "# " + options.title + "\n\n";
  if (!options.command.empty()) md += "Made by `" + options.command + "`.\n\n";
  md += "reward, length, wrong length (mean length of the incorrect completions), KL and entropy: mean of the last " +
        std::to_string(kFinalWindow) + " logged training steps; eval: the primary evaluation metric (`" +
        (eval_metric.empty() ? std::string("none") : eval_metric) + "`) at the last evaluation and its best value "
        "(step); eval wrong length: mean length of the incorrect evaluation completions at the last evaluation; "
        "wall: training steps + evaluations.\n\n";
  md += "| run | status |";
  for (const auto& k : diff_keys) md += " " + md_cell(k) + " |";
  md += " steps | reward | length | wrong length | KL | entropy | eval final | eval best (step) | eval wrong length | "
        "wall |\n|---|---|";
  for (size_t j = 0; j < diff_keys.size(); ++j) md += "---|";
  md += "---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& row = rows[i];
    md += "| " + md_cell(row.name) + " | " + md_cell(row.status) + " |";
    for (const auto& k : diff_keys) md += " " + md_cell(flat[i].count(k) ? flat[i][k] : "-") + " |";
    md += " " + std::to_string(row.steps) + "/" + std::to_string(row.max_steps) + " | " + fmt(row.reward) + " | " +
          fmt(row.length, "%.1f") + " | " + fmt(row.length_incorrect, "%.1f") + " | " + fmt(row.kl) + " | " +
          fmt(row.entropy) + " | " + fmt(row.eval_final) + " | " +
          (row.eval_best ? fmt(row.eval_best) + " (" + std::to_string(row.eval_best_step) + ")" : "-") + " | " +
          fmt(row.eval_length_incorrect, "%.1f") + " | " + duration(row.wall_seconds) + " |\n";
  }
  md += "\n## Plots\n\n";
  if (files.plotted) {
    for (const auto& p : files.plots) md += "![" + p.stem().string() + "](plots/" + p.filename().string() + ")\n";
  } else {
    md += "Not drawn: " + files.plot_note + ".\n";
  }
  files.summary_md = out_dir / "summary.md";
  write_file_atomic(files.summary_md, md);
  return files;
}

}  // namespace r1kit::eval
