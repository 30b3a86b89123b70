#include "eval/evaluator.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/jsonl.h"
#include "core/strings.h"
#include "eval/metrics.h"
#include "eval/presets.h"
#include "rewards/math/extract_answer.h"
#include "tokenizer/prompt_template.h"

namespace r1kit::eval {
namespace fs = std::filesystem;

namespace {
nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

double nan_mean(double sum, int64_t n) { return n > 0 ? sum / static_cast<double>(n) : std::nan(""); }

}  // namespace

size_t accuracy_index(const rewards::RewardSet& set, const std::string& wanted) {
  const auto& e = set.entries();
  if (!wanted.empty()) {
    for (size_t k = 0; k < e.size(); ++k)
      if (e[k].name == wanted) return k;
    throw InvalidArgument("accuracy reward '" + wanted + "' is not in the reward set" + did_you_mean(wanted, set.names()) +
                          "; rewarders: " + join(set.names(), ", "));
  }
  return find_accuracy_rewarder(set).value_or(0);
}

std::optional<size_t> find_accuracy_rewarder(const rewards::RewardSet& set) {
  const auto& e = set.entries();
  for (size_t k = 0; k < e.size(); ++k)
    if (e[k].type == "math_accuracy" || e[k].type == "code_execution" || e[k].type == "countdown") return k;
  return std::nullopt;
}

EvalTask load_task(const fs::path& path, const std::string& question_field, int64_t limit, std::string name) {
  EvalTask task;
  task.name = name.empty() ? dataset_name_for(path) : std::move(name);
  task.path = path.string();
  JsonlReader reader(path);
  nlohmann::json rec;
  while ((limit <= 0 || static_cast<int64_t>(task.records.size()) < limit) && reader.next(rec)) {
    auto it = rec.find(question_field);
    if (it == rec.end() || !it->is_string())
      throw DataError(format_record_error(path, reader.record_number(),
                                          "field \"" + question_field + "\" is missing or not a string; name the "
                                          "question field (--field / eval.question_field)"));
    task.questions.push_back(it->get<std::string>());
    task.records.push_back(std::move(rec));
  }
  if (task.records.empty()) throw DataError(path.string() + ": no records to evaluate");
  return task;
}

EvalResult evaluate(rollout::RolloutEngine& engine, const tokenizer::Tokenizer& tokenizer,
                    const tokenizer::ChatTemplate* chat, const rewards::RewardSet& rewards, const EvalTask& task,
                    const EvalOptions& options, const rollout::ProgressFn& progress) {
  options.sampling.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const size_t acc = accuracy_index(rewards, options.accuracy_reward);
  const bool math = rewards.entries()[acc].type == "math_accuracy";
  std::optional<size_t> format_k;
  for (size_t k = 0; k < rewards.size(); ++k)
    if (rewards.entries()[k].type == "format") format_k = k;
  // A format rewarder of our own when the set has none, so the format rate is always reported.
  std::unique_ptr<rewards::Rewarder> own_format;
  if (!format_k) own_format = rewards::create_rewarder("format", nlohmann::json::object(), "format", "$.format");

  EvalResult result;
  auto& s = result.summary;
  s.dataset = task.name;
  s.path = task.path;
  s.accuracy_reward = rewards.entries()[acc].name;
  s.prompt_template = options.prompt_template;
  s.num_problems = static_cast<int64_t>(task.records.size());
  s.n = options.sampling.n;
  s.temperature = options.sampling.temperature;
  s.reward_names = rewards.names();

  // Prompts.
  std::vector<std::vector<int64_t>> prompts;
  result.problems.resize(task.records.size());
  for (size_t i = 0; i < task.records.size(); ++i) {
    auto& p = result.problems[i];
    p.index = i;
    p.prompt = tokenizer::render_prompt(options.prompt_template, task.questions[i], chat);
    auto ids32 = tokenizer.encode(p.prompt, /*add_special_tokens=*/false);  // templates carry their BOS (TRL)
    std::vector<int64_t> ids(ids32.begin(), ids32.end());
    if (options.max_prompt_length > 0 && static_cast<int64_t>(ids.size()) > options.max_prompt_length)
      ids.erase(ids.begin(), ids.end() - options.max_prompt_length);
    prompts.push_back(std::move(ids));
  }

  // Generation and scoring. Completions come back in (prompt, sample) order.
  std::vector<rollout::Completion> comps;
  {
    torch::NoGradGuard ng;
    comps = engine.generate(prompts, options.sampling, progress);
  }
  std::vector<rewards::Sample> samples;
  samples.reserve(comps.size());
  for (const auto& c : comps)
    samples.push_back(rewards::Sample{result.problems[c.prompt_index].prompt, c.text, task.records[c.prompt_index],
                                      c.finish == rollout::Completion::Finish::length,
                                      static_cast<int64_t>(c.ids.size())});
  const auto scores = rewards.score_batch(samples);

  // Per problem.
  const size_t K = rewards.size();
  std::vector<double> reward_sum(K, 0.0);
  std::vector<int64_t> reward_cnt(K, 0);
  double total_sum = 0, len_sum = 0, len_correct = 0, len_incorrect = 0;
  int64_t total_cnt = 0, formatted = 0, truncated = 0, maj_sum = 0, n_correct = 0;
  for (auto& p : result.problems) p.samples.reserve(s.n);
  for (size_t i = 0; i < comps.size(); ++i) {
    const auto& c = comps[i];
    SampleResult r;
    r.completion = c.text;
    r.tokens = static_cast<int64_t>(c.ids.size());
    r.truncated = c.finish == rollout::Completion::Finish::length;
    for (size_t k = 0; k < K; ++k) {
      const double v = scores.per_rewarder[k][i];
      r.scores.push_back(v);
      if (!std::isnan(v)) reward_sum[k] += v, ++reward_cnt[k];
    }
    r.reward = scores.totals[i];
    if (!std::isnan(r.reward)) total_sum += r.reward, ++total_cnt;
    r.format = format_k ? scores.per_rewarder[*format_k][i] : own_format->score(samples[i]);
    const double a = scores.per_rewarder[acc][i];
    r.correct = !std::isnan(a) && a >= options.correct_threshold;
    if (math) r.answer = rewards::math::extract_answer(c.text);
    len_sum += static_cast<double>(r.tokens);
    (r.correct ? len_correct : len_incorrect) += static_cast<double>(r.tokens);
    n_correct += r.correct;
    formatted += r.format > 0;
    truncated += r.truncated;
    result.problems[c.prompt_index].samples.push_back(std::move(r));
  }
  for (auto& p : result.problems) {
    const int64_t n = static_cast<int64_t>(p.samples.size());
    for (const auto& r : p.samples) p.correct += r.correct;
    for (int64_t k : reported_ks(n)) {
      p.pass_at[k] = pass_at_k(n, p.correct, k);
      s.pass_at[k] += p.pass_at[k];
    }
    if (math) {
      std::vector<std::optional<std::string>> answers;
      for (const auto& r : p.samples) answers.push_back(r.answer);
      const auto vote = majority_vote(answers);
      p.maj_correct = vote.winner >= 0 && p.samples[vote.winner].correct;
      if (vote.winner >= 0) p.maj_answer = p.samples[vote.winner].answer;
      p.maj_votes = vote.votes;
      maj_sum += *p.maj_correct;
    }
  }
  const double P = static_cast<double>(std::max<int64_t>(1, s.num_problems));
  for (auto& [k, v] : s.pass_at) v /= P;
  if (math) s.maj_at_n = static_cast<double>(maj_sum) / P;
  const double N = static_cast<double>(std::max<size_t>(1, comps.size()));
  s.mean_length = len_sum / N;
  const auto n_total = static_cast<int64_t>(comps.size());
  s.mean_length_correct = nan_mean(len_correct, n_correct);
  s.mean_length_incorrect = nan_mean(len_incorrect, n_total - n_correct);
  s.format_rate = static_cast<double>(formatted) / N;
  s.truncated_rate = static_cast<double>(truncated) / N;
  s.reward = nan_mean(total_sum, total_cnt);
  for (size_t k = 0; k < K; ++k) s.reward_means.push_back(nan_mean(reward_sum[k], reward_cnt[k]));
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

nlohmann::json EvalSummary::metrics(const std::string& prefix) const {
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [k, v] : pass_at) m[prefix + "pass@" + std::to_string(k)] = finite_or_null(v);
  if (maj_at_n) m[prefix + "maj@" + std::to_string(n)] = finite_or_null(*maj_at_n);
  m[prefix + "mean_length"] = finite_or_null(mean_length);
  m[prefix + "mean_length_correct"] = finite_or_null(mean_length_correct);
  m[prefix + "mean_length_incorrect"] = finite_or_null(mean_length_incorrect);
  m[prefix + "format_rate"] = finite_or_null(format_rate);
  m[prefix + "truncated_rate"] = finite_or_null(truncated_rate);
  m[prefix + "reward"] = finite_or_null(reward);
  m[prefix + "num_problems"] = num_problems;
  return m;
}

nlohmann::json EvalSummary::to_json() const {
  nlohmann::json j = {{"dataset", dataset}, {"path", path}, {"num_problems", num_problems}, {"n", n},
                      {"temperature", temperature}, {"prompt_template", prompt_template},
                      {"accuracy_reward", accuracy_reward}, {"seconds", seconds}};
  j["metrics"] = metrics("");
  for (size_t k = 0; k < reward_names.size(); ++k) j["rewards"][reward_names[k]] = finite_or_null(reward_means[k]);
  return j;
}

void EvalResult::write_problems(const fs::path& path, const EvalTask& task) const {
  JsonlWriter w(path, /*append=*/false);
  for (const auto& p : problems) {
    nlohmann::json line = {{"index", p.index}, {"question", task.questions[p.index]}, {"correct", p.correct},
                           {"n", p.samples.size()}};
    for (const char* id_key : {"id", "task_id", "unique_id"})
      if (task.records[p.index].contains(id_key)) line[id_key] = task.records[p.index][id_key];
    if (auto gold = rewards::math::gold_answer(task.records[p.index], "answer"); gold && summary.maj_at_n)
      line["gold"] = *gold;
    for (const auto& [k, v] : p.pass_at) line["pass@" + std::to_string(k)] = v;
    if (p.maj_correct) {
      line["maj@" + std::to_string(p.samples.size())] = *p.maj_correct;
      line["maj_answer"] = p.maj_answer ? nlohmann::json(*p.maj_answer) : nlohmann::json(nullptr);
      line["maj_votes"] = p.maj_votes;
    }
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& r : p.samples) {
      nlohmann::json sj = {{"completion", r.completion}, {"correct", r.correct}, {"reward", finite_or_null(r.reward)},
                           {"tokens", r.tokens}, {"truncated", r.truncated}};
      if (summary.maj_at_n) sj["answer"] = r.answer ? nlohmann::json(*r.answer) : nlohmann::json(nullptr);
      for (size_t k = 0; k < summary.reward_names.size(); ++k)
        sj["scores"][summary.reward_names[k]] = finite_or_null(r.scores[k]);
      samples.push_back(std::move(sj));
    }
    line["samples"] = std::move(samples);
    w.write(line);
  }
}

void EvalResult::write_samples(const fs::path& path) const {
  JsonlWriter w(path, /*append=*/false);
  for (const auto& p : problems)
    for (size_t i = 0; i < p.samples.size(); ++i) {
      const auto& r = p.samples[i];
      nlohmann::json line = {{"problem_index", p.index}, {"sample_index", i}, {"prompt", p.prompt},
                             {"completion", r.completion}, {"reward", finite_or_null(r.reward)},
                             {"correct", r.correct}, {"completion_tokens", r.tokens}};
      for (size_t k = 0; k < summary.reward_names.size(); ++k)
        line["rewards"][summary.reward_names[k]] = finite_or_null(r.scores[k]);
      w.write(line);
    }
}

std::string format_summary_table(const std::vector<EvalSummary>& rows) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-14s %8s %4s %8s %8s %8s %9s %8s %8s %8s\n", "dataset", "problems", "K", "pass@1",
                "pass@K", "maj@K", "length", "format", "trunc", "reward");
  out += buf;
  auto pct = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f%%", 100.0 * v);
    return std::string(b);
  };
  for (const auto& r : rows) {
    const double p1 = r.pass_at.count(1) ? r.pass_at.at(1) : std::nan("");
    const double pk = r.pass_at.empty() ? std::nan("") : r.pass_at.rbegin()->second;
    std::snprintf(buf, sizeof buf, "%-14s %8lld %4lld %8s %8s %8s %9.1f %8s %8s %8.3f\n", r.dataset.c_str(),
                  static_cast<long long>(r.num_problems), static_cast<long long>(r.n), pct(p1).c_str(),
                  pct(pk).c_str(), r.maj_at_n ? pct(*r.maj_at_n).c_str() : "-", r.mean_length,
                  pct(r.format_rate).c_str(), pct(r.truncated_rate).c_str(), r.reward);
    out += buf;
  }
  return out;
}

}  // namespace r1kit::eval
