// Unit tests of the pieces of code_execution that need no sandbox: code block extraction, output comparison,
// test discovery from records, harness output parsing.
#include <gtest/gtest.h>

#include "rewards/code/code_block.h"
#include "rewards/code/test_harness.h"

using namespace r1kit::rewards::code;
using nlohmann::json;

namespace {
const std::vector<std::string> kPy = language_tags("python");
}

TEST(CodeBlock, TakesTheLastPythonBlock) {
  const std::string text = "First try:\n```python\nprint(1)\n```\nBetter:\n```py\nprint(2)\n```\nDone.";
  EXPECT_EQ(last_code_block(text, kPy, true).value(), "print(2)\n");
}

TEST(CodeBlock, TaggedBlockWinsOverLaterUntaggedOrOtherLanguage) {
  const std::string text = "```python\nx = 1\n```\n```text\noutput 1\n```\n```\nsome log\n```\n";
  EXPECT_EQ(last_code_block(text, kPy, true).value(), "x = 1\n");
  EXPECT_EQ(last_code_block("```\nprint(3)\n```", kPy, true).value(), "print(3)\n");
  EXPECT_FALSE(last_code_block("```\nprint(3)\n```", kPy, false).has_value());
  EXPECT_FALSE(last_code_block("```cpp\nint main(){}\n```", kPy, true).has_value());
}

TEST(CodeBlock, NoBlockGivesNothing) {
  EXPECT_FALSE(last_code_block("def f(): return 1", kPy, true).has_value());
  EXPECT_FALSE(last_code_block("inline ```python x``` only", kPy, true).has_value());
  EXPECT_FALSE(last_code_block("", kPy, true).has_value());
}

TEST(CodeBlock, LongerFencesTildesAndUnclosedBlocks) {
  EXPECT_EQ(last_code_block("````python\na = '```'\n```\nb = 2\n````\n", kPy, true).value(), "a = '```'\n```\nb = 2\n");
  EXPECT_EQ(last_code_block("~~~ Python3 {.numberLines}\nprint(4)\n~~~", kPy, true).value(), "print(4)\n");
  EXPECT_EQ(last_code_block("```python\nprint(5)\n", kPy, true).value(), "print(5)\n");  // truncated completion
  EXPECT_EQ(last_code_block("```python\r\nprint(6)\r\n```\r\n", kPy, true).value(), "print(6)\r\n");
}

TEST(OutputsMatch, IssueCases) {
  EXPECT_FALSE(outputs_match("3\n4\n5", "3"));        // missing lines fail
  EXPECT_FALSE(outputs_match("3\n4\n5", "3\n"));
  EXPECT_TRUE(outputs_match("3 \n4", "3\n4"));        // trailing whitespace ignored
  EXPECT_TRUE(outputs_match("3\n4", "3\t \r\n4\n\n"));  // trailing empty lines ignored
  EXPECT_FALSE(outputs_match("3\n4", "3\n4\n5"));     // extra lines fail
  EXPECT_FALSE(outputs_match("3\n4", " 3\n4"));       // leading whitespace matters
  EXPECT_FALSE(outputs_match("3\n\n4", "3\n4"));      // inner blank lines matter
  EXPECT_TRUE(outputs_match("", "\n\n"));
}

TEST(TestsFromRecord, HumanEvalMbppStdio) {
  const json he = {{"prompt", "def f(x):\n    \"\"\"doc\"\"\"\n"}, {"test", "def check(c):\n    assert c(1) == 2\n"},
                   {"entry_point", "f"}};
  auto s = tests_from_record(he, "def f(x):\n    return x + 1\n", {});
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->stdio);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ(s->program.substr(0, 9), "def f(x):");
  EXPECT_NE(s->asserts[0].find("check(f)"), std::string::npos);
  TestOptions no_prompt;
  no_prompt.prepend_prompt = false;
  EXPECT_EQ(tests_from_record(he, "CODE", no_prompt)->program, "CODE");

  const json mbpp = {{"test_setup_code", "import math"}, {"test_list", {"assert f(1) == 2", "assert f(2) == 3"}},
                     {"challenge_test_list", {"assert f(3) == 4"}}};
  s = tests_from_record(mbpp, "CODE", {});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 2u);
  EXPECT_EQ(s->program, "import math\nCODE");
  TestOptions challenge;
  challenge.mbpp_challenge_tests = true;
  EXPECT_EQ(tests_from_record(mbpp, "CODE", challenge)->size(), 3u);

  const json io = {{"test_cases", {{{"input", "1\n"}, {"output", "2\n"}}, {{"input", "2\n"}, {"output", "3\n"}}}}};
  s = tests_from_record(io, "CODE", {});
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->stdio);
  EXPECT_EQ(s->size(), 2u);
  const json io2 = {{"tc", {{"inputs", {"1", "2", "3"}}, {"outputs", {"2", "3", "4"}}}}};
  TestOptions field;
  field.stdio_field = "tc";
  EXPECT_EQ(tests_from_record(io2, "CODE", field)->size(), 3u);

  EXPECT_FALSE(tests_from_record(json{{"question", "no tests"}}, "CODE", {}));
  TestOptions forced;
  forced.format = TestFormat::stdio;
  EXPECT_FALSE(tests_from_record(mbpp, "CODE", forced));
}

TEST(HarnessOutput, PartialOutputCountsReportedTestsOnly) {
  TestSuite s;
  s.asserts = {"a", "b", "c"};
  const std::string out = "READY\nR 0 pass 3 0\nR 1 error 2 14\nZeroDivision..R 2 pa";
  const HarnessReport r = parse_harness_output(out, s);
  EXPECT_TRUE(r.ready);
  EXPECT_FALSE(r.done);
  ASSERT_EQ(r.verdicts.size(), 3u);
  EXPECT_TRUE(r.verdicts[0]->passed);
  EXPECT_FALSE(r.verdicts[1]->passed);
  EXPECT_EQ(r.verdicts[1]->detail, "ZeroDivision..");
  EXPECT_FALSE(r.verdicts[2].has_value());
  EXPECT_EQ(r.passed(), 1u);
  EXPECT_FALSE(parse_harness_output("garbage", s).ready);
  // A duplicate report of a test does not count twice.
  EXPECT_EQ(parse_harness_output("READY\nR 0 pass 1 0\nR 0 pass 1 0\nDONE\n", s).passed(), 1u);
}

TEST(HarnessOutput, StdioOutputsAreComparedOutsideTheSandbox) {
  TestSuite s;
  s.stdio = true;
  s.io = {{"", "3\n4\n5"}, {"", "3 \n4"}};
  const HarnessReport r = parse_harness_output("READY\nR 0 ran 1 2\n3\nR 1 ran 1 3\n3\n4DONE\n", s);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.verdicts[0]->verdict, "wrong_output");
  EXPECT_EQ(r.verdicts[1]->verdict, "pass");
  EXPECT_EQ(r.passed(), 1u);
}
