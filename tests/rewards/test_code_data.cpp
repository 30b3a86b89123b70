// code_execution on real records: HumanEval and MBPP (../shared/data/code) with their canonical solutions score
// 1.0, wrong solutions score < 1.
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/jsonl.h"
#include "rewards/code/code_execution.h"
#include "rewards/code/sandbox.h"

using namespace r1kit::rewards;
using namespace r1kit::rewards::code;
using nlohmann::json;

namespace {

const std::string kData = std::string(R1KIT_SOURCE_DIR) + "/../shared/data/code/";

bool ready(const std::string& file) {
  return !find_executable("bwrap").empty() && access("/usr/bin/python3", X_OK) == 0 &&
         access((kData + file).c_str(), R_OK) == 0;
}

std::unique_ptr<CodeExecutionRewarder> make() {
  return std::make_unique<CodeExecutionRewarder>(json{{"test_timeout_s", 5.0}, {"timeout_s", 20.0}}, "code",
                                                 "$.rewards[0]");
}

std::string fenced(const std::string& code) { return "```python\n" + code + "\n```"; }

// Scores `completions[i]` against `records[i]` in parallel.
std::vector<double> score_all(const CodeExecutionRewarder& rw, const std::vector<json>& records,
                              const std::vector<std::string>& completions) {
  std::vector<Sample> samples;
  for (size_t i = 0; i < records.size(); ++i) samples.push_back(Sample{"", completions[i], records[i]});
  return rw.score_batch(samples);
}

}  // namespace

TEST(CodeExecutionData, HumanEvalCanonicalSolutionsPassWrongOnesFail) {
  if (!ready("humaneval.jsonl")) GTEST_SKIP() << "needs bwrap, /usr/bin/python3 and " << kData << "humaneval.jsonl";
  const auto all = r1kit::read_jsonl(kData + "humaneval.jsonl");
  std::vector<json> recs;
  for (size_t i : {0, 2, 11, 53, 101}) recs.push_back(all.at(i));
  auto rw = make();
  std::vector<std::string> right, body_only, wrong;
  for (const auto& r : recs) {
    // A chat model writes the whole function (prompt + body) in a block …
    right.push_back(fenced(r["prompt"].get<std::string>() + r["canonical_solution"].get<std::string>()));
    // … a completion model only the body, which runs after the record's prompt.
    body_only.push_back(fenced(r["canonical_solution"].get<std::string>()));
    wrong.push_back(fenced(r["prompt"].get<std::string>() + "    return None\n"));
  }
  const auto s_right = score_all(*rw, recs, right);
  const auto s_body = score_all(*rw, recs, body_only);
  const auto s_wrong = score_all(*rw, recs, wrong);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(s_right[i], 1.0) << recs[i]["task_id"];
    EXPECT_EQ(s_body[i], 1.0) << recs[i]["task_id"];
    EXPECT_LT(s_wrong[i], 1.0) << recs[i]["task_id"];
  }
}

TEST(CodeExecutionData, MbppCanonicalSolutionsPassWrongOnesFail) {
  if (!ready("mbpp.jsonl")) GTEST_SKIP() << "needs bwrap, /usr/bin/python3 and " << kData << "mbpp.jsonl";
  const auto all = r1kit::read_jsonl(kData + "mbpp.jsonl");
  std::vector<json> recs;
  for (size_t i : {10, 11, 12, 20, 30, 100}) recs.push_back(all.at(i));  // task_ids in the test split
  auto rw = make();
  std::vector<std::string> right, wrong;
  for (const auto& r : recs) {
    right.push_back(fenced(r["code"].get<std::string>()));
    // Right function names, wrong results: every assert fails.
    std::string code = r["code"].get<std::string>();
    wrong.push_back(fenced(code + "\n\n_real = {k: v for k, v in dict(globals()).items() if callable(v)}\n"
                                  "for _k in list(_real):\n    globals()[_k] = lambda *a, **k: object()\n"));
  }
  const auto s_right = score_all(*rw, recs, right);
  const auto s_wrong = score_all(*rw, recs, wrong);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(s_right[i], 1.0) << recs[i]["task_id"];
    EXPECT_LT(s_wrong[i], 1.0) << recs[i]["task_id"];
  }
}

TEST(CodeExecutionData, MbppSanitizedUsesTestImports) {
  if (!ready("mbpp_sanitized.jsonl")) GTEST_SKIP() << "needs bwrap, /usr/bin/python3 and mbpp_sanitized.jsonl";
  const auto all = r1kit::read_jsonl(kData + "mbpp_sanitized.jsonl", 40);
  std::vector<json> recs;
  for (const auto& r : all)
    if (r.contains("test_imports") && !r["test_imports"].empty() && recs.size() < 2) recs.push_back(r);
  for (const auto& r : all)
    if (recs.size() < 4 && (!r.contains("test_imports") || r["test_imports"].empty())) recs.push_back(r);
  auto rw = make();
  std::vector<std::string> right;
  for (const auto& r : recs) right.push_back(fenced(r["code"].get<std::string>()));
  const auto s = score_all(*rw, recs, right);
  for (size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(s[i], 1.0) << recs[i]["task_id"];
}
