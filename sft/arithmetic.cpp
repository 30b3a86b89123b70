#include "sft/arithmetic.h"

#include <algorithm>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/jsonl.h"

namespace r1kit::sft {
namespace {

// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and the same sequence everywhere.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int64_t uniform(int64_t lo, int64_t hi) {  // [lo, hi]; the modulo bias (< 2^-40 here) does not matter
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
};

int64_t pow10(int d) {
  int64_t p = 1;
  for (int i = 0; i < d; ++i) p *= 10;
  return p;
}

}  // namespace

nlohmann::json arithmetic_record(const std::vector<int64_t>& operands) {
  if (operands.size() < 2) throw InvalidArgument("arithmetic_record: a sum needs at least 2 operands");
  int64_t total = 0;
  size_t columns = 1;
  std::string prompt;
  for (size_t i = 0; i < operands.size(); ++i) {
    if (operands[i] < 0) throw InvalidArgument("arithmetic_record: operands must be >= 0");
    total += operands[i];
    columns = std::max(columns, std::to_string(operands[i]).size());
    prompt += (i ? "+" : "") + std::to_string(operands[i]);
  }
  prompt += "=";
  // One line per column, right to left: "[carry c: ]d1+d2+…=s". Digits of a shorter number are left out of the
  // columns it does not reach.
  std::string reasoning;
  int64_t carry = 0;
  for (size_t col = 0; col < columns; ++col) {
    std::string line = carry ? "carry " + std::to_string(carry) + ": " : "";
    int64_t sum = carry;
    bool first = true;
    for (int64_t x : operands) {
      const std::string s = std::to_string(x);
      if (col >= s.size()) continue;
      const int d = s[s.size() - 1 - col] - '0';
      line += (first ? "" : "+") + std::to_string(d);
      first = false;
      sum += d;
    }
    line += "=" + std::to_string(sum);
    reasoning += (col ? "\n" : "") + line;
    carry = sum / 10;
  }
  const std::string answer = std::to_string(total);
  return {{"prompt", prompt}, {"reasoning", reasoning}, {"answer_text", "<answer>" + answer + "</answer>"},
          {"answer", answer}};
}

std::vector<nlohmann::json> generate_arithmetic(const ArithmeticOptions& o, const std::set<std::string>& exclude) {
  if (o.operands < 2 || o.operands > 9)
    throw InvalidArgument("arithmetic data: operands must be in 2..9, got " + std::to_string(o.operands));
  if (o.digits < 1 || o.digits > 9)
    throw InvalidArgument("arithmetic data: digits must be in 1..9, got " + std::to_string(o.digits));
  if (o.n < 0) throw InvalidArgument("arithmetic data: n must be >= 0");
  const int64_t lo = o.digits == 1 ? 0 : pow10(o.digits - 1), hi = pow10(o.digits) - 1;
  // Distinct problems available (ordered tuples), capped to avoid overflow; refuse when n cannot be reached.
  double available = 1;
  for (int i = 0; i < o.operands; ++i) available *= static_cast<double>(hi - lo + 1);
  if (static_cast<double>(o.n) + static_cast<double>(exclude.size()) > 0.5 * available)
    throw InvalidArgument("arithmetic data: " + std::to_string(o.n) + " distinct problems (plus " +
                          std::to_string(exclude.size()) + " excluded) is too many for " + std::to_string(o.operands) +
                          " operands of " + std::to_string(o.digits) + " digits; raise digits or operands");
  SplitMix64 rng{o.seed};
  std::set<std::string> seen;
  std::vector<nlohmann::json> out;
  out.reserve(static_cast<size_t>(o.n));
  while (static_cast<int64_t>(out.size()) < o.n) {
    std::vector<int64_t> xs(static_cast<size_t>(o.operands));
    for (auto& x : xs) x = rng.uniform(lo, hi);
    auto rec = arithmetic_record(xs);
    const std::string p = rec["prompt"].get<std::string>();
    if (exclude.count(p) || !seen.insert(p).second) continue;
    out.push_back(std::move(rec));
  }
  return out;
}

std::set<std::string> read_prompts(const std::filesystem::path& path) {
  std::set<std::string> out;
  size_t line = 0;
  for (const auto& r : read_jsonl(path)) {
    ++line;
    if (!r.contains("prompt") || !r["prompt"].is_string())
      throw DataError(format_record_error(path, line, "record without a string \"prompt\" field (expected records "
                                                      "written by `r1kit data arithmetic`)"));
    out.insert(r["prompt"].get<std::string>());
  }
  return out;
}

int64_t write_arithmetic(const ArithmeticOptions& options, const std::filesystem::path& out,
                         const std::set<std::string>& exclude) {
  auto records = generate_arithmetic(options, exclude);
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  write_file_atomic(out, text);
  return static_cast<int64_t>(records.size());
}

}  // namespace r1kit::sft
