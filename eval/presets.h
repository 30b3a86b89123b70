// Evaluation presets for the shared data sets (../shared/data, see its README.md): file, question, rewarders.
//
//   gsm8k      gsm8k/test.jsonl (1,319)        question            math_accuracy (gold after ####) + format
//   math500    math/math500_test.jsonl (500)   problem             math_accuracy (answer) + format
//   aime24     aime/aime24.jsonl (30)          problem             math_accuracy ("025" = 25) + format
//   amc23      aime/amc23.jsonl (40)           problem             math_accuracy (27.0 = 27) + format
//   humaneval  code/humaneval.jsonl (164)      prompt in a python fence, "complete the function"   code_execution
//   mbpp       code/mbpp.jsonl test split (task_id 11–510, 500): text + its assert lines          code_execution
// The code presets score with code_execution (HumanEval: record prompt + code, then `test` and
// check(entry_point); MBPP: test_setup_code + one test per test_list assert) and need bubblewrap.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "eval/evaluator.h"

namespace r1kit::eval {

struct Preset {
  std::string name;            // e.g. "gsm8k"
  std::string file;            // relative to the data directory, e.g. "gsm8k/test.jsonl"
  std::string question_field;  // used when `question` is empty
  std::function<std::string(const nlohmann::json&)> question;  // builds the question from a record (code sets)
  std::function<bool(const nlohmann::json&)> keep;             // record filter (MBPP test split); empty = all
  nlohmann::json rewards;      // default reward set (rewards::RewardSet::from_json array)
  std::string description;
};

/// Every preset, in the order of the header comment.
const std::vector<Preset>& presets();
std::vector<std::string> preset_names();
/// The preset called `name`; ConfigError listing the names (with a did-you-mean) otherwise.
const Preset& find_preset(std::string_view name);

/// The shared data directory: $R1KIT_DATA_DIR when set, else "../shared/data" (relative to the working
/// directory: run from the repository root).
std::filesystem::path default_data_dir();

/// Loads a preset's records from `data_dir` (first `limit` > 0 after filtering). Throws IoError naming the file
/// and suggesting --data-dir / R1KIT_DATA_DIR when it is missing.
EvalTask load_preset(const Preset& preset, const std::filesystem::path& data_dir, int64_t limit = 0);

/// Dataset name for metric keys: the preset whose file `path` ends with (…/gsm8k/test.jsonl -> "gsm8k"), else the
/// file stem ("my_set.jsonl" -> "my_set"). Characters other than [A-Za-z0-9_.-] become '_'.
std::string dataset_name_for(const std::filesystem::path& path);

}  // namespace r1kit::eval
