// reasoning_steps, repetition and overlong: rewarders that only look at the completion's text or length.
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <utf8proc.h>
#include <vector>

#include "rewards/rules/rule_factories.h"

namespace r1kit::rewards::rules {
namespace {

/// reasoning_steps: min(1, k / min_steps) where k counts step markers — "Step N:", a line starting "N.",
/// a line starting "-" or "*", "First,", "Second,", "Next,", "Finally," (open-r1 `reasoning_steps_reward`,
/// src/open_r1/rewards.py; pattern re-expressed for RE2, linear time).
class ReasoningSteps : public Rewarder {
 public:
  ReasoningSteps(std::string name, int min_steps)
      : name_(std::move(name)), min_steps_(min_steps),
        re_(R"((?m)(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,))") {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    re2::StringPiece in(s.completion.data(), s.completion.size());
    int k = 0;
    while (k < min_steps_ && RE2::FindAndConsume(&in, re_)) ++k;
    return std::min(1.0, static_cast<double>(k) / min_steps_);
  }

 private:
  std::string name_;
  int min_steps_;
  RE2 re_;
};

// Whitespace-separated, lower-cased words (Python's str.lower().split(), as open-r1's zipngram).
std::vector<std::string> lower_words(std::string_view text) {
  std::vector<std::string> words;
  std::string cur;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid byte: treat as a letter-ish byte
      cp = 0xFFFD;
      n = 1;
    }
    p += n;
    left -= n;
    bool space = cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x1C || cp == 0x1D || cp == 0x1E || cp == 0x1F ||
                 cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
                 cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    if (space) {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(cp), buf);
    cur.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(m));
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

/// repetition: max_penalty · (1 − distinct n-grams / total n-grams) over lower-cased whitespace words; 0 for an
/// empty completion or fewer than n words (open-r1 `get_repetition_penalty_reward`, from Yeo et al. 2025,
/// "Demystifying Long Chain-of-Thought Reasoning in LLMs", arXiv 2502.03373).
class Repetition : public Rewarder {
 public:
  Repetition(std::string name, int n, double max_penalty) : name_(std::move(name)), n_(n), max_penalty_(max_penalty) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    std::vector<std::string> w = lower_words(s.completion);
    if (w.size() < static_cast<size_t>(n_)) return 0.0;
    std::set<std::vector<std::string_view>> seen;
    size_t total = w.size() - n_ + 1;
    for (size_t i = 0; i < total; ++i) seen.insert(std::vector<std::string_view>(w.begin() + i, w.begin() + i + n_));
    double scaling = 1.0 - static_cast<double>(seen.size()) / static_cast<double>(total);
    return scaling * max_penalty_;
  }

 private:
  std::string name_;
  int n_;
  double max_penalty_;
};

/// overlong: DAPO's soft overlong punishment (DAPO, arXiv 2503.14476, eq. 13), lengths in tokens:
///   0                                  if |y| ≤ L_max − L_cache
///   ((L_max − L_cache) − |y|) / L_cache if L_max − L_cache < |y| ≤ L_max
///   −1                                  if |y| > L_max
/// with L_max = max_completion_len, L_cache = cache_len, |y| = Sample::completion_tokens. NaN when the token count
/// is unknown (completion_tokens ≤ 0 for a non-empty completion).
class Overlong : public Rewarder {
 public:
  Overlong(std::string name, int64_t max_len, int64_t cache) : name_(std::move(name)), max_(max_len), cache_(cache) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    int64_t len = s.completion_tokens;
    if (len <= 0) return s.completion.empty() ? 0.0 : std::nan("");
    const int64_t expected = max_ - cache_;
    if (len <= expected) return 0.0;
    if (len <= max_) return static_cast<double>(expected - len) / static_cast<double>(cache_);
    return -1.0;
  }

 private:
  std::string name_;
  int64_t max_, cache_;
};

}  // namespace

std::unique_ptr<Rewarder> make_reasoning_steps(const ConfigReader& args, const std::string& name) {
  int min_steps = args.get("min_steps", 3);
  if (min_steps < 1) args.fail("min_steps", "must be ≥ 1 (open-r1 uses 3)");
  return std::make_unique<ReasoningSteps>(name, min_steps);
}

std::unique_ptr<Rewarder> make_repetition(const ConfigReader& args, const std::string& name) {
  int n = args.get("ngram_size", 3);
  double max_penalty = args.get("max_penalty", -1.0);
  if (n < 1 || n > 64) args.fail("ngram_size", "must be in [1, 64]");
  if (!(max_penalty <= 0) || !std::isfinite(max_penalty))
    args.fail("max_penalty", "must be ≤ 0 (a penalty), e.g. -1.0");
  return std::make_unique<Repetition>(name, n, max_penalty);
}

std::unique_ptr<Rewarder> make_overlong(const ConfigReader& args, const std::string& name) {
  auto max_len = args.require<int64_t>("max_completion_len", "set it to the rollout max_new_tokens, e.g. 20480");
  auto cache = args.require<int64_t>("cache_len", "the soft-punishment zone in tokens, e.g. 4096 (DAPO)");
  if (max_len < 1) args.fail("max_completion_len", "must be ≥ 1");
  if (cache < 1 || cache > max_len) args.fail("cache_len", "must be in [1, max_completion_len]");
  return std::make_unique<Overlong>(name, max_len, cache);
}

}  // namespace r1kit::rewards::rules
