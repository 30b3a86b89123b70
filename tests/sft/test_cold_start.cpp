// Cold-start converter: GSM8K and MATH records -> {prompt, reasoning, answer}.
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/jsonl.h"
#include "sft/cold_start.h"

namespace r1kit::sft {
namespace {
namespace fs = std::filesystem;

TEST(ColdStart, Gsm8kDropsCalculatorNotesAndBoxesTheFinalAnswer) {
  const nlohmann::json rec = {{"question", "Natalia sold 48 clips ..."},
                              {"answer", "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nSo 1,000 + 1 = "
                                         "<<1000+1=1001>>1,001 in all.\n#### 1,001"}};
  auto out = cold_start_record(rec, "gsm8k", "tags", "train.jsonl", 3);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["prompt"], "Natalia sold 48 clips ...");
  EXPECT_EQ((*out)["reasoning"], "Natalia sold 48/2 = 24 clips in May.\nSo 1,000 + 1 = 1,001 in all.");
  EXPECT_EQ((*out)["answer"], "<answer>\nThe answer is \\boxed{1001}.\n</answer>");
  auto plain = cold_start_record(rec, "gsm8k", "plain", "train.jsonl", 3);
  EXPECT_EQ((*plain)["answer"], "The answer is \\boxed{1001}.");
}

TEST(ColdStart, MathKeepsTheSolutionAndSkipsRecordsWithoutAnswer) {
  auto out = cold_start_record({{"problem", "p"}, {"solution", "So $\\boxed{2}$."}, {"answer", "2"}}, "math", "plain",
                               "m.jsonl", 1);
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)["reasoning"], "So $\\boxed{2}$.");
  EXPECT_EQ((*out)["answer"], "The answer is \\boxed{2}.");
  EXPECT_FALSE(cold_start_record({{"problem", "p"}, {"solution", "s"}, {"answer", ""}}, "math", "plain", "m", 2));
  EXPECT_FALSE(cold_start_record({{"problem", "p"}, {"solution", "s"}, {"answer", nullptr}}, "math", "plain", "m", 3));
}

TEST(ColdStart, WrongFieldsNameTheFileAndLine) {
  try {
    cold_start_record({{"problem", "p"}}, "gsm8k", "tags", "train.jsonl", 7);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("train.jsonl:7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"question\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(cold_start_record({{"question", "q"}, {"answer", "no final line"}}, "gsm8k", "tags", "t", 1), DataError);
}

TEST(ColdStart, ConvertsTheRealGsm8kTrainFile) {
  const fs::path in = fs::path(R1KIT_SOURCE_DIR) / ".." / "shared" / "data" / "gsm8k" / "train.jsonl";
  if (!fs::exists(in)) GTEST_SKIP() << in << " not present (shared data directory missing)";
  const fs::path out = fs::temp_directory_path() / ("r1kit_cold_start_" + std::to_string(::getpid()) + ".jsonl");
  auto st = convert_cold_start("gsm8k", in, out, "tags", 200);
  EXPECT_EQ(st.read, 200);
  EXPECT_EQ(st.written, 200);
  auto recs = read_jsonl(out);
  ASSERT_EQ(recs.size(), 200u);
  for (const auto& r : recs) {
    EXPECT_EQ(r["reasoning"].get<std::string>().find("<<"), std::string::npos);
    EXPECT_NE(r["answer"].get<std::string>().find("\\boxed{"), std::string::npos);
  }
  fs::remove(out);
}

}  // namespace
}  // namespace r1kit::sft
