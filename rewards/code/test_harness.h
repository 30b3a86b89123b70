// The test harness for code_execution: which tests a dataset record defines (HumanEval, MBPP, stdin/stdout), the
// small Python program that runs them inside the sandbox, and the reading of its per-test verdicts.
//
// Protocol. The harness (python3 -I -c SOURCE) reads one input on stdin: netstring-like fields `<len>:<bytes>`
// — kind ("assert" | "stdio"), per-test timeout (s), RLIMIT_NPROC, sandboxed ("1"/"0"), the program, then per
// test either its test code (assert) or its input and the output byte cap (stdio). Before running any model code
// it writes "READY\n"; after each test one record "R <index> <verdict> <ms> <len>\n<len bytes>" (the payload is
// the program's stdout for a stdio test that ran, else the tail of its stderr); at the end "DONE\n".
// Each test runs in its own forked process (fresh state, own session, own working directory /tmp/t<k>) under
// its own wall-clock timer; a hang, crash or exit in test k fails test k only, and the verdicts of the tests before
// it are already on the pipe when the whole run is killed at the sample's wall-clock limit.
// A test passes only when the test code ran to its end: the child reports success with an exit code drawn at
// random per test, so `exit(0)`, `sys.exit()` or `os._exit(0)` before the asserts do not pass. Children close
// every inherited descriptor, and the harness marks itself non-dumpable (PR_SET_DUMPABLE 0) so a child cannot
// write fake verdicts through /proc/<pid>/fd. Expected stdout never enters the sandbox: outputs are compared here.
// Out of scope (documented): a program introspecting its own interpreter (frames, gc) to read the assert it is
// being tested with, or returning objects whose __eq__ always holds.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace r1kit::rewards::code {

enum class TestFormat { automatic, humaneval, mbpp, stdio };

struct TestOptions {
  TestFormat format = TestFormat::automatic;  // "auto": humaneval if `test`+`entry_point`, mbpp if `test_list`,
                                              // stdio if `stdio_field`
  bool prepend_prompt = true;                 // HumanEval: run record.prompt + "\n" + code (imports, signature)
  std::string stdio_field = "test_cases";     // list of {"input","output"} or {"inputs":[…],"outputs":[…]}
  bool mbpp_challenge_tests = false;          // also run MBPP's challenge_test_list
};

/// The tests of one record, ready for the harness.
struct TestSuite {
  bool stdio = false;                                      // false: assert-style tests
  std::string program;                                     // executed first in every test process
  std::vector<std::string> asserts;                        // assert-style: one test code per test
  std::vector<std::pair<std::string, std::string>> io;     // stdio: (input, expected output)
  size_t size() const { return stdio ? io.size() : asserts.size(); }
};

/// Tests of `record` for the program `code`, or nullopt when the record defines none in the requested format.
/// HumanEval: one test, `test` + "\ncheck(<entry_point>)". MBPP: one test per `test_list` assert, after
/// `test_setup_code` / `test_imports`. stdio: one test per case.
std::optional<TestSuite> tests_from_record(const nlohmann::json& record, std::string_view code,
                                           const TestOptions& options);

/// The Python harness program (argument of `python3 -I -c`).
const std::string& harness_source();

/// The harness's stdin for `suite`.
std::string encode_harness_input(const TestSuite& suite, double test_timeout_s, int max_processes, bool sandboxed);

/// stdout of a stdio test compared with the expected text: line by line (split on '\n'), trailing whitespace of
/// every line ignored (spaces, tabs, '\r', '\f', '\v'), trailing empty lines ignored; a missing or extra line fails.
/// outputs_match("3 \n4", "3\n4\n") == true; outputs_match("3\n4\n5", "3") == false.
bool outputs_match(std::string_view expected, std::string_view actual);

/// One test's outcome as the harness reported it.
struct TestVerdict {
  bool passed = false;
  std::string verdict;  // pass | wrong_output | error | timeout | signal<N> | exit<N> | output_limit | bad_test
  std::string detail;   // stderr tail (errors)
  int ms = 0;
};

/// What the harness reported: `ready` once it started; `done` when it finished every test. `verdicts` holds one
/// entry per test of the suite; tests it never reported (killed at the wall-clock limit) are nullopt.
struct HarnessReport {
  bool ready = false;
  bool done = false;
  std::vector<std::optional<TestVerdict>> verdicts;
  size_t passed() const;
};

/// Parses the harness output (possibly cut off anywhere) for `suite`; compares stdio outputs.
HarnessReport parse_harness_output(std::string_view out, const TestSuite& suite);

/// Output byte cap of a stdio test with this expected output (more is a failure).
size_t stdio_output_cap(std::string_view expected);

}  // namespace r1kit::rewards::code
