// countdown: TinyZero's compute_score (verl/utils/reward_score/countdown.py):
//   no <answer>…</answer> equation                        -> 0
//   numbers used ≠ the given numbers (each exactly once)   -> format_score (0.1)
//   not evaluable (bad characters, syntax, ÷0)              -> format_score
//   value == target                                         -> score (1.0), else format_score
// Differences: evaluation is exact (rationals) instead of Python eval + |x − target| < 1e-5, and decimal
// literals are rejected.
#include "rewards/rules/countdown.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "rewards/rules/rule_factories.h"

namespace r1kit::rewards::rules {
namespace {

struct Fail {};
using Rat = std::pair<__int128, __int128>;  // num / den, den > 0, reduced

Rat make(__int128 n, __int128 d) {
  if (d == 0) throw Fail{};
  if (d < 0) n = -n, d = -d;
  __int128 a = n < 0 ? -n : n, b = d;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  if (a > 1) n /= a, d /= a;
  constexpr __int128 lim = static_cast<__int128>(INT64_MAX);
  if (n > lim || n < -lim || d > lim) throw Fail{};
  return {n, d};
}

class Eval {
 public:
  Eval(std::string_view s, std::vector<int64_t>* nums) : s_(s), nums_(nums) {}
  Rat run() {
    Rat v = sum();
    ws();
    if (i_ != s_.size()) throw Fail{};
    return v;
  }

 private:
  std::string_view s_;
  std::vector<int64_t>* nums_;
  size_t i_ = 0;
  int depth_ = 0, literals_ = 0;

  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  Rat sum() {
    Rat v = product();
    for (;;) {
      if (eat('+')) {
        Rat r = product();
        v = make(v.first * r.second + r.first * v.second, v.second * r.second);
      } else if (eat('-')) {
        Rat r = product();
        v = make(v.first * r.second - r.first * v.second, v.second * r.second);
      } else {
        return v;
      }
    }
  }
  Rat product() {
    Rat v = unary();
    for (;;) {
      if (eat('*')) {
        Rat r = unary();
        v = make(v.first * r.first, v.second * r.second);
      } else if (eat('/')) {
        Rat r = unary();
        v = make(v.first * r.second, v.second * r.first);
      } else {
        return v;
      }
    }
  }
  Rat unary() {
    if (eat('-')) {
      Rat v = unary();
      return {-v.first, v.second};
    }
    if (eat('+')) return unary();
    return primary();
  }
  Rat primary() {
    ws();
    if (i_ >= s_.size()) throw Fail{};
    if (s_[i_] == '(') {
      if (++depth_ > 64) throw Fail{};
      ++i_;
      Rat v = sum();
      if (!eat(')')) throw Fail{};
      --depth_;
      return v;
    }
    if (!std::isdigit(static_cast<unsigned char>(s_[i_]))) throw Fail{};
    size_t j = i_;
    while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) ++j;
    if (j - i_ > 18 || ++literals_ > 64) throw Fail{};
    int64_t n = std::stoll(std::string(s_.substr(i_, j - i_)));
    i_ = j;
    if (nums_) nums_->push_back(n);
    return {n, 1};
  }
};

class Countdown : public Rewarder {
 public:
  Countdown(std::string name, std::string target_field, std::string numbers_field, double format_score, double score)
      : name_(std::move(name)), target_field_(std::move(target_field)), numbers_field_(std::move(numbers_field)),
        format_score_(format_score), score_(score) {}
  std::string name() const override { return name_; }
  double score(const Sample& s) const override {
    const nlohmann::json& rec = s.record;
    if (!rec.is_object() || !rec.contains(target_field_) || !rec.contains(numbers_field_)) return std::nan("");
    const auto& t = rec[target_field_];
    const auto& ns = rec[numbers_field_];
    if (!t.is_number_integer() || !ns.is_array()) return std::nan("");
    std::vector<int64_t> given;
    for (const auto& n : ns) {
      if (!n.is_number_integer()) return std::nan("");
      given.push_back(n.get<int64_t>());
    }
    std::string_view c = s.completion;
    size_t close = c.rfind("</answer>");
    if (close == std::string_view::npos) return 0.0;
    size_t open = c.rfind("<answer>", close);
    if (open == std::string_view::npos) return 0.0;
    std::string_view eq = c.substr(open + 8, close - open - 8);
    if (eq.size() > 1000) return format_score_;
    std::vector<int64_t> used;
    auto v = evaluate_countdown(eq, &used);
    std::sort(used.begin(), used.end());
    std::sort(given.begin(), given.end());
    if (used != given || !v) return format_score_;
    return (v->second == 1 && v->first == t.get<int64_t>()) ? score_ : format_score_;
  }

 private:
  std::string name_, target_field_, numbers_field_;
  double format_score_, score_;
};

}  // namespace

std::optional<std::pair<int64_t, int64_t>> evaluate_countdown(std::string_view expr, std::vector<int64_t>* numbers) {
  try {
    Eval e(expr, numbers);
    Rat r = e.run();
    return std::pair<int64_t, int64_t>{static_cast<int64_t>(r.first), static_cast<int64_t>(r.second)};
  } catch (const Fail&) {
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::unique_ptr<Rewarder> make_countdown(const ConfigReader& args, const std::string& name) {
  std::string target = args.get("target_field", "target");
  std::string numbers = args.get("numbers_field", "nums");
  double format_score = args.get("format_score", 0.1);
  double score = args.get("score", 1.0);
  return std::make_unique<Countdown>(name, target, numbers, format_score, score);
}

}  // namespace r1kit::rewards::rules
