#include "eval/ablation.h"

#include <cctype>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"
#include "rl/grpo_config.h"

extern char** environ;

namespace r1kit::eval {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
const char* kDoneMarker = "ablation_done.json";
// Keys that may differ between an existing run directory and the ablation without making it another run.
const std::set<std::string> kIntervalKeys = {"output_dir", "max_steps", "eval_steps", "logging_steps", "save_steps",
                                             "samples_steps"};

std::string name_part(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '=')) c = '_';
  return s;
}

std::string last_segment(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

/// Applies one override; an object value is merged key by key ({"eval": {"limit": 4}} = "eval.limit=4"), so a
/// partial section keeps the base's other keys. Arrays and scalars replace.
void apply_merge(nlohmann::json& cfg, const std::string& key, const nlohmann::json& value) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it) apply_merge(cfg, key + "." + it.key(), it.value());
    return;
  }
  apply_override(cfg, key + "=" + value.dump());
}

void apply_set(nlohmann::json& cfg, const nlohmann::json& set, const std::string& where, const std::string& source) {
  if (set.is_null()) return;
  if (!set.is_object())
    throw ConfigError(source + ": " + where + ": expected an object of overrides {\"key.path\": value}, got " +
                      json_type_phrase(set));
  for (auto it = set.begin(); it != set.end(); ++it) {
    try {
      apply_merge(cfg, it.key(), it.value());
    } catch (const ConfigError& e) {
      throw ConfigError(source + ": " + where + "." + it.key() + ": " + e.what());
    }
  }
}

void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out[prefix] = j;
  }
}

/// "" when the run directory's config.json matches `wanted` (resolved), else the first difference.
std::string config_difference(const nlohmann::json& existing, const nlohmann::json& wanted) {
  std::map<std::string, nlohmann::json> a, b;
  flatten(existing, "", a);
  flatten(wanted, "", b);
  for (const auto& [k, v] : b) {
    if (kIntervalKeys.count(k) || !a.count(k)) continue;  // keys added to r1kit later are not a difference
    if (a[k] != v && !(a[k].is_number() && v.is_number() && a[k].get<double>() == v.get<double>()))
      return k + ": the run has " + a[k].dump() + ", the ablation wants " + v.dump();
  }
  return "";
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

std::string tail_of_file(const fs::path& p, size_t lines) {
  std::string text;
  try {
    text = read_file(p);
  } catch (const Error&) {
    return "";
  }
  size_t pos = text.size();
  for (size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

struct Job {
  pid_t pid = -1;
  size_t run = 0;
  bool resumed = false;
  Clock::time_point start;
};

pid_t spawn(const std::vector<std::string>& args, const fs::path& log, int threads) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<std::string> env_store;
  bool has_omp = false;
  for (char** e = environ; *e != nullptr; ++e) {
    env_store.emplace_back(*e);
    has_omp |= env_store.back().starts_with("OMP_NUM_THREADS=");
  }
  if (threads > 0 && !has_omp) env_store.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw IoError("cannot start " + args[0] + ": " + std::strerror(rc));
  return pid;
}
}  // namespace

AblationConfig parse_ablation(const nlohmann::json& j, const std::string& source) {
  ConfigReader r(j, "$", source);
  AblationConfig out;
  out.source = source;
  nlohmann::json base = r.raw("base");
  std::string base_source = source + " $.base";
  if (base.is_string()) {
    base_source = base.get<std::string>();
    base = load_json_file(base_source);
  } else if (!base.is_object()) {
    r.fail("base", "must be the path of a GRPO config (e.g. \"configs/demo/grpo_smollm2_gsm8k.json\") or a GRPO "
                   "config object, got " + json_type_phrase(base));
  }
  out.output_dir = r.require<std::string>("output_dir", "the directory for the runs and the summary, e.g. runs/ablations/kl");
  const auto seeds = r.get<std::vector<int64_t>>("seeds", {});
  for (int64_t s : seeds)
    if (s < 0) r.fail("seeds", "seeds must be >= 0, got " + std::to_string(s));
  const nlohmann::json common = r.raw("set");
  const nlohmann::json variants = r.raw("variants");
  const nlohmann::json grid = r.raw("grid");
  r.finish();

  // Variants.
  struct Variant {
    std::string name;
    nlohmann::json set;
    std::string where;
  };
  std::vector<Variant> vs;
  if (!variants.is_null()) {
    if (!variants.is_array() || variants.empty())
      r.fail("variants", "must be a non-empty list of {\"name\": ..., \"set\": {...}}");
    for (size_t i = 0; i < variants.size(); ++i) {
      const std::string where = "$.variants[" + std::to_string(i) + "]";
      ConfigReader v(variants[i], where, source);
      Variant var{v.require<std::string>("name", "a short run name, e.g. \"dr_grpo\""), v.raw("set"), where + ".set"};
      v.finish();
      if (var.name.empty() || name_part(var.name) != var.name)
        v.fail("name", "'" + var.name + "' must be non-empty and use only letters, digits, '_', '-', '.', '='");
      vs.push_back(std::move(var));
    }
  } else {
    vs.push_back({"", nlohmann::json(), ""});
  }
  // Grid points (keys in JSON object order, i.e. sorted; the last key varies fastest).
  std::vector<std::vector<std::pair<std::string, nlohmann::json>>> points{{}};
  if (!grid.is_null()) {
    if (!grid.is_object() || grid.empty()) r.fail("grid", "must be an object {\"key.path\": [value, ...], ...}");
    for (auto it = grid.begin(); it != grid.end(); ++it) {
      if (!it.value().is_array() || it.value().empty())
        r.fail("grid", it.key() + ": expected a non-empty list of values, got " + json_type_phrase(it.value()));
      std::vector<std::vector<std::pair<std::string, nlohmann::json>>> next;
      for (const auto& p : points)
        for (const auto& value : it.value()) {
          auto q = p;
          q.emplace_back(it.key(), value);
          next.push_back(std::move(q));
        }
      points = std::move(next);
    }
  }

  std::set<std::string> names;
  for (const auto& var : vs)
    for (const auto& point : points)
      for (size_t si = 0; si < std::max<size_t>(1, seeds.size()); ++si) {
        std::vector<std::string> parts;
        if (!var.name.empty()) parts.push_back(var.name);
        for (const auto& [k, v] : point) parts.push_back(last_segment(k) + "-" + name_part(v));
        if (seeds.size() > 1) parts.push_back("seed" + std::to_string(seeds[si]));
        AblationRun run;
        run.name = parts.empty() ? "base" : join(parts, ".");
        if (!names.insert(run.name).second)
          throw ConfigError(source + ": two runs are both named '" + run.name + "': give the variants distinct names");
        run.config = base;
        apply_set(run.config, common, "$.set", source);
        apply_set(run.config, var.set, var.where, source);
        for (const auto& [k, v] : point) apply_set(run.config, nlohmann::json{{k, v}}, "$.grid", source);
        if (!seeds.empty()) run.config["seed"] = seeds[si];
        run.config["output_dir"] = (out.output_dir / run.name).string();
        try {
          (void)rl::GRPOConfig::from_json(run.config, base_source + " (ablation run " + run.name + ")");
        } catch (const ConfigError& e) {
          throw ConfigError(std::string(e.what()) + " [from " + source + "]");
        }
        out.runs.push_back(std::move(run));
      }
  return out;
}

AblationOutcome run_ablation(const AblationConfig& config, const AblationOptions& options) {
  AblationOutcome outcome;
  fs::path binary = options.r1kit_binary;
  if (binary.empty()) binary = fs::read_symlink("/proc/self/exe");
  if (!fs::exists(binary)) throw IoError(binary.string() + ": the r1kit executable was not found");
  const int jobs = std::max(1, options.jobs);

  // Selection.
  std::vector<size_t> selected;
  std::set<std::string> matched;
  for (size_t i = 0; i < config.runs.size(); ++i) {
    const auto& name = config.runs[i].name;
    bool take = options.only.empty();
    for (const auto& o : options.only)
      if (name == o || name.starts_with(o + ".")) take = true, matched.insert(o);
    if (take) selected.push_back(i);
  }
  for (const auto& o : options.only)
    if (!matched.count(o)) {
      std::vector<std::string> names;
      for (const auto& r : config.runs) names.push_back(r.name);
      throw ConfigError("ablate --only " + o + ": no such run" + did_you_mean(o, names) + "; runs: " + join(names, ", "));
    }

  std::error_code ec;
  fs::create_directories(config.output_dir / "logs", ec);
  fs::create_directories(config.output_dir / "configs", ec);
  if (ec) throw IoError(config.output_dir.string() + ": cannot create the ablation directory (" + ec.message() + ")");
  nlohmann::json plan = nlohmann::json::array();
  for (const auto& r : config.runs) plan.push_back({{"name", r.name}, {"config", r.config}});
  write_json_atomic(config.output_dir / "ablation_runs.json", plan);

  auto say = [&](const std::string& s) {
    if (!options.quiet) std::fprintf(stderr, "[ablate] %s\n", s.c_str());
  };
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const int threads = jobs > 1 ? static_cast<int>(std::max(1u, hw / static_cast<unsigned>(jobs))) : 0;

  // Decide each selected run's action.
  struct Pending {
    size_t run;
    bool resume;
  };
  std::vector<Pending> queue;
  std::map<size_t, std::string> failure;
  std::map<size_t, double> measured_wall;
  for (size_t i : selected) {
    const auto& run = config.runs[i];
    const fs::path dir = config.output_dir / run.name;
    const auto cfg = rl::GRPOConfig::from_json(run.config, run.name);
    if (fs::exists(dir / "config.json")) {
      const std::string diff = config_difference(load_json_file(dir / "config.json"), cfg.resolved());
      if (!diff.empty()) {
        failure[i] = "config differs";
        outcome.failed.push_back(run.name);
        say("FAILED " + run.name + ": " + (dir / "config.json").string() + " holds another configuration (" + diff +
            "); delete that directory to run it again, or rename the run");
        continue;
      }
    }
    // Finished: its metrics reached max_steps (ablation_done.json records when and how long; a run whose
    // max_steps was raised since is continued).
    const RunData existing = load_run(dir, run.name);
    const int64_t last = existing.train.empty() ? 0 : existing.train.back().value("step", int64_t{0});
    if (last >= cfg.max_steps && fs::exists(dir / kDoneMarker)) {
      outcome.skipped.push_back(run.name);
      say("skip " + run.name + " (finished: " + std::to_string(last) + " steps)");
      continue;
    }
    if (last >= cfg.max_steps) {
      // Trained to the end but stopped before the run completed (final evaluation, checkpoint): a resume would
      // have nothing to do, so the run is made again from the start rather than reported with missing results.
      say("rerun " + run.name + ": it reached step " + std::to_string(last) + " but has no " + kDoneMarker +
          " (stopped before its final evaluation); running it again from the start");
      fs::remove_all(dir, ec);
    }
    const bool started = fs::exists(dir / "checkpoints") ||
                         (fs::exists(dir / "metrics.jsonl") && fs::file_size(dir / "metrics.jsonl") > 0);
    fs::remove(dir / kDoneMarker, ec);
    queue.push_back({i, started});
  }

  // Run them, `jobs` at a time.
  std::vector<Job> running;
  size_t next = 0, started_count = 0;
  while (next < queue.size() || !running.empty()) {
    while (next < queue.size() && static_cast<int>(running.size()) < jobs) {
      const auto [i, resume] = queue[next++];
      const auto& run = config.runs[i];
      const fs::path dir = config.output_dir / run.name;
      const fs::path cfg_path = config.output_dir / "configs" / (run.name + ".json");
      const fs::path log = config.output_dir / "logs" / (run.name + ".log");
      write_json_atomic(cfg_path, run.config);
      std::vector<std::string> args{binary.string(), "grpo"};
      if (resume) {
        args.insert(args.end(), {"--resume", dir.string(), "--set",
                                 "max_steps=" + run.config.value("max_steps", nlohmann::json(100)).dump()});
      } else {
        args.insert(args.end(), {"--config", cfg_path.string()});
      }
      {
        std::FILE* f = std::fopen(log.c_str(), "a");
        if (f != nullptr) {
          std::string cmdline;
          for (const auto& a : args) cmdline += a + " ";
          std::fprintf(f, "==== %s: %s\n", now_text().c_str(), cmdline.c_str());
          std::fclose(f);
        }
      }
      Job job{spawn(args, log, threads), i, resume, Clock::now()};
      running.push_back(job);
      ++started_count;
      say("[" + std::to_string(started_count) + "/" + std::to_string(queue.size()) + "] " +
          (resume ? "resume " : "start ") + run.name + " (log: " + log.string() + ")");
      (resume ? outcome.resumed : outcome.ran).push_back(run.name);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (size_t j = 0; j < running.size();) {
      int status = 0;
      const pid_t r = ::waitpid(running[j].pid, &status, WNOHANG);
      if (r == 0) {
        ++j;
        continue;
      }
      const Job job = running[j];
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(j));
      const auto& run = config.runs[job.run];
      const double wall = std::chrono::duration<double>(Clock::now() - job.start).count();
      const fs::path log = config.output_dir / "logs" / (run.name + ".log");
      const bool ok = r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok) {
        write_json_atomic(config.output_dir / run.name / kDoneMarker,
                          {{"finished_at", now_text()}, {"wall_seconds", wall}, {"resumed", job.resumed}});
        if (!job.resumed) measured_wall[job.run] = wall;
        const auto row = summarize_run(load_run(config.output_dir / run.name, run.name));
        char buf[256];
        std::snprintf(buf, sizeof buf, "done %s in %.1f s: reward %s, eval %s", run.name.c_str(), wall,
                      row.reward ? std::to_string(*row.reward).c_str() : "-",
                      row.eval_final ? std::to_string(*row.eval_final).c_str() : "-");
        say(buf);
      } else {
        const std::string why = r < 0 ? "wait failed"
                                : WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                    : "signal " + std::to_string(WTERMSIG(status));
        failure[job.run] = why;
        outcome.failed.push_back(run.name);
        say("FAILED " + run.name + " (" + why + "); end of " + log.string() + ":\n" + tail_of_file(log, 8));
      }
    }
  }

  // Report over every run of the ablation (also those not selected this time).
  std::vector<RunData> runs;
  for (size_t i = 0; i < config.runs.size(); ++i) {
    auto data = load_run(config.output_dir / config.runs[i].name, config.runs[i].name);
    if (data.max_steps == 0) data.max_steps = config.runs[i].config.value("max_steps", int64_t{100});
    if (failure.count(i)) data.status = "failed (" + failure[i] + "; logs/" + config.runs[i].name + ".log)";
    if (measured_wall.count(i)) data.wall_seconds = measured_wall[i];
    runs.push_back(std::move(data));
  }
  ReportOptions ro = options.report;
  if (ro.title == ReportOptions{}.title) ro.title = "Ablation " + config.output_dir.string();
  outcome.report = write_report(runs, config.output_dir, ro);
  return outcome;
}

}  // namespace r1kit::eval
