// Synthetic arithmetic data (sft/arithmetic.h): the column-by-column reasoning, determinism from the seed, distinct
// problems, the exclusion of a held-out set, and that an SFT renderer takes the records as they are.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "core/error.h"
#include "core/jsonl.h"
#include "sft/arithmetic.h"

namespace r1kit::sft {
namespace {
namespace fs = std::filesystem;

TEST(Arithmetic, RecordWritesEachColumnWithItsCarry) {
  auto r = arithmetic_record({47, 35});
  EXPECT_EQ(r["prompt"], "47+35=");
  EXPECT_EQ(r["reasoning"], "7+5=12\ncarry 1: 4+3=8");
  EXPECT_EQ(r["answer_text"], "<answer>82</answer>");
  EXPECT_EQ(r["answer"], "82");
  // a carry out of the last column becomes the leading digits; shorter numbers drop out of high columns
  auto s = arithmetic_record({999, 5, 18});
  EXPECT_EQ(s["reasoning"], "9+5+8=22\ncarry 2: 9+1=12\ncarry 1: 9=10");
  EXPECT_EQ(s["answer"], "1022");
  EXPECT_THROW(arithmetic_record({3}), InvalidArgument);
  EXPECT_THROW(arithmetic_record({3, -1}), InvalidArgument);
}

TEST(Arithmetic, DeterministicDistinctAndRespectsExclusions) {
  ArithmeticOptions o;
  o.n = 300;
  o.seed = 7;
  o.operands = 2;
  o.digits = 2;
  const auto a = generate_arithmetic(o), b = generate_arithmetic(o);
  ASSERT_EQ(a.size(), 300u);
  EXPECT_EQ(a, b);
  o.seed = 8;
  EXPECT_NE(generate_arithmetic(o), a);
  std::set<std::string> prompts;
  for (const auto& r : a) {
    prompts.insert(r["prompt"].get<std::string>());
    const auto p = r["prompt"].get<std::string>();
    const auto plus = p.find('+');
    const int x = std::stoi(p.substr(0, plus)), y = std::stoi(p.substr(plus + 1));
    EXPECT_GE(x, 10);
    EXPECT_LE(x, 99);
    EXPECT_EQ(std::to_string(x + y), r["answer"].get<std::string>()) << p;
  }
  EXPECT_EQ(prompts.size(), 300u);  // distinct
  const auto c = generate_arithmetic(o, prompts);
  for (const auto& r : c) EXPECT_EQ(prompts.count(r["prompt"].get<std::string>()), 0u) << r.dump();
  o.n = 5000;  // more than half of the 8100 two-digit pairs: refused rather than looping
  EXPECT_THROW(generate_arithmetic(o), InvalidArgument);
  o.digits = 0;
  EXPECT_THROW(generate_arithmetic(o), InvalidArgument);
}

TEST(Arithmetic, WritesJsonlAndReadsItsPromptsBack) {
  const fs::path dir = fs::temp_directory_path() / ("r1kit_arith_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ArithmeticOptions o;
  o.n = 20;
  o.seed = 3;
  o.digits = 3;
  EXPECT_EQ(write_arithmetic(o, dir / "sub" / "eval.jsonl"), 20);
  const auto recs = read_jsonl(dir / "sub" / "eval.jsonl");
  ASSERT_EQ(recs.size(), 20u);
  EXPECT_EQ(recs, generate_arithmetic(o));
  EXPECT_EQ(read_prompts(dir / "sub" / "eval.jsonl").size(), 20u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace r1kit::sft
