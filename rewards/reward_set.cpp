#include "rewards/reward_set.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <set>
#include <thread>
#include <utility>

#include "core/config.h"
#include "core/error.h"
#include "rewards/deadline.h"

namespace r1kit::rewards {

namespace {
thread_local CallFailure t_call_failure = CallFailure::none;
}  // namespace

void note_call_failure(CallFailure failure) { t_call_failure = failure; }

CallFailure take_call_failure() { return std::exchange(t_call_failure, CallFailure::none); }

namespace {

struct CallResult {
  double score;
  double seconds;
  bool timed_out, error;
};

CallResult call_rewarder(const Rewarder& r, const Sample& s, double limit_s) {
  auto t0 = std::chrono::steady_clock::now();
  CallResult out{0.0, 0.0, false, false};
  take_call_failure();
  {
    ScopedDeadline deadline(limit_s);
    try {
      out.score = r.score(s);
    } catch (...) {
      out.score = 0.0;
      out.error = true;
    }
  }
  switch (take_call_failure()) {
    case CallFailure::none: break;
    case CallFailure::error: out.error = true; break;
    case CallFailure::timeout: out.timed_out = true; break;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (limit_s > 0 && out.seconds > limit_s) {
    out.timed_out = true;
    out.score = 0.0;
  }
  if (std::isinf(out.score)) out.score = 0.0;  // contract: finite or NaN
  return out;
}

}  // namespace

RewardSet RewardSet::from_json(const nlohmann::json& rewards, const std::string& json_path, const std::string& source,
                               RewardSetOptions options) {
  const std::string where = source.empty() ? json_path : source + ": " + json_path;
  if (!rewards.is_array())
    throw ConfigError(where + ": expected an array of rewarder objects like [{\"type\": \"math_accuracy\", "
                      "\"weight\": 1.0}], got " + json_type_phrase(rewards));
  if (rewards.empty()) throw ConfigError(where + ": the reward list is empty — add at least one rewarder");
  std::vector<Entry> entries;
  std::set<std::string> names;
  for (size_t i = 0; i < rewards.size(); ++i) {
    const std::string path = json_path + "[" + std::to_string(i) + "]";
    ConfigReader entry(rewards[i], path, source);
    Entry e;
    e.type = entry.require<std::string>("type", "name the rewarder type, e.g. \"type\": \"math_accuracy\"");
    e.weight = entry.get("weight", 1.0);
    if (!std::isfinite(e.weight)) entry.fail("weight", "must be a finite number");
    e.name = entry.get("name", e.type);
    if (e.name.empty()) entry.fail("name", "must not be empty");
    if (!names.insert(e.name).second)
      entry.fail("name", "duplicate rewarder name '" + e.name + "' — give each entry of the same type its own "
                         "\"name\" (metrics are reported as rewards/<name>/mean)");
    nlohmann::json args = nlohmann::json::object();
    for (auto it = rewards[i].begin(); it != rewards[i].end(); ++it)
      if (it.key() != "type" && it.key() != "weight" && it.key() != "name") args[it.key()] = it.value();
    try {
      e.rewarder = create_rewarder(e.type, args, e.name, path);
    } catch (const ConfigError& err) {
      if (source.empty()) throw;
      throw ConfigError(source + ": " + err.what());
    }
    entries.push_back(std::move(e));
  }
  return RewardSet(std::move(entries), options);
}

RewardSet::RewardSet(std::vector<Entry> entries, RewardSetOptions options)
    : entries_(std::move(entries)), options_(options) {
  for (const Entry& e : entries_)
    if (!e.rewarder) throw InvalidArgument("RewardSet: entry '" + e.name + "' has no rewarder");
}

std::vector<std::string> RewardSet::names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.name);
  return out;
}

double RewardSet::total(std::span<const double> scores) const {
  double sum = 0.0;
  bool any = false;
  for (size_t k = 0; k < entries_.size() && k < scores.size(); ++k) {
    if (std::isnan(scores[k])) continue;
    sum += entries_[k].weight * scores[k];
    any = true;
  }
  return any ? sum : std::nan("");
}

std::vector<double> RewardSet::score_one(const Sample& sample) const {
  std::vector<double> out;
  for (const Entry& e : entries_) out.push_back(call_rewarder(*e.rewarder, sample, options_.sample_time_limit_s).score);
  return out;
}

BatchScores RewardSet::score_batch(std::span<const Sample> samples) const {
  const size_t K = entries_.size(), N = samples.size();
  BatchScores out;
  out.names = names();
  for (const Entry& e : entries_) out.weights.push_back(e.weight);
  out.per_rewarder.assign(K, std::vector<double>(N, 0.0));
  out.totals.assign(N, 0.0);
  // Per-worker counters, merged at the end (no atomics in the hot loop).
  size_t workers = options_.num_workers > 0 ? static_cast<size_t>(options_.num_workers)
                                            : std::max(1u, std::thread::hardware_concurrency());
  workers = std::max<size_t>(1, std::min(workers, N));
  std::vector<std::vector<size_t>> timeouts(workers, std::vector<size_t>(K, 0)), errors = timeouts;
  std::vector<std::vector<double>> seconds(workers, std::vector<double>(K, 0.0));
  std::atomic<size_t> next{0};
  auto work = [&](size_t w) {
    for (size_t i = next.fetch_add(1); i < N; i = next.fetch_add(1)) {
      for (size_t k = 0; k < K; ++k) {
        CallResult r = call_rewarder(*entries_[k].rewarder, samples[i], options_.sample_time_limit_s);
        out.per_rewarder[k][i] = r.score;
        seconds[w][k] += r.seconds;
        timeouts[w][k] += r.timed_out;
        errors[w][k] += r.error;
      }
    }
  };
  if (workers == 1 || N <= 1) {
    work(0);
  } else {
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers; ++w) threads.emplace_back(work, w);
    for (auto& t : threads) t.join();
  }
  out.timeouts.assign(K, 0);
  out.errors.assign(K, 0);
  out.seconds.assign(K, 0.0);
  for (size_t w = 0; w < workers; ++w)
    for (size_t k = 0; k < K; ++k) {
      out.timeouts[k] += timeouts[w][k];
      out.errors[k] += errors[w][k];
      out.seconds[k] += seconds[w][k];
    }
  std::vector<double> row(K);
  for (size_t i = 0; i < N; ++i) {
    for (size_t k = 0; k < K; ++k) row[k] = out.per_rewarder[k][i];
    out.totals[i] = total(row);
  }
  return out;
}

}  // namespace r1kit::rewards
