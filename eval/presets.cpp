#include "eval/presets.h"

#include <cctype>
#include <cstdlib>

#include "core/error.h"
#include "core/jsonl.h"
#include "core/strings.h"

namespace r1kit::eval {
namespace fs = std::filesystem;

namespace {
nlohmann::json math_rewards() {
  return nlohmann::json::array({{{"type", "math_accuracy"}, {"weight", 1.0}}, {{"type", "format"}, {"weight", 0.0}}});
}
nlohmann::json code_rewards() {
  return nlohmann::json::array({{{"type", "code_execution"}, {"weight", 1.0}}, {{"type", "format"}, {"weight", 0.0}}});
}
// Question wording for the code sets (r1kit's own; the code_execution rewarder runs the last fenced block).
std::string humaneval_question(const nlohmann::json& r) {
  return "Complete the following Python function. Write the whole function in one ```python code block.\n\n"
         "```python\n" + r.value("prompt", std::string()) + "```";
}
std::string mbpp_question(const nlohmann::json& r) {
  std::string q = r.value("text", std::string()) + "\nYour code should pass these tests:\n";
  for (const auto& t : r.value("test_list", nlohmann::json::array()))
    if (t.is_string()) q += t.get<std::string>() + "\n";
  return q + "Write the Python code in one ```python code block.";
}
}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"gsm8k", "gsm8k/test.jsonl", "question", {}, {}, math_rewards(), "GSM8K test (1,319 grade-school problems)"},
      {"math500", "math/math500_test.jsonl", "problem", {}, {}, math_rewards(), "MATH-500 (PRM800K test split)"},
      {"aime24", "aime/aime24.jsonl", "problem", {}, {}, math_rewards(), "AIME 2024 (30 problems)"},
      {"amc23", "aime/amc23.jsonl", "problem", {}, {}, math_rewards(), "AMC 2023 (40 problems)"},
      {"humaneval", "code/humaneval.jsonl", "prompt", humaneval_question, {}, code_rewards(),
       "HumanEval (164 functions; code_execution)"},
      {"mbpp", "code/mbpp.jsonl", "text", mbpp_question,
       [](const nlohmann::json& r) {
         const int64_t id = r.value("task_id", int64_t{0});
         return id >= 11 && id <= 510;
       },
       code_rewards(), "MBPP test split (task_id 11-510; code_execution)"},
  };
  return all;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.push_back(p.name);
  return names;
}

const Preset& find_preset(std::string_view name) {
  for (const auto& p : presets())
    if (p.name == name) return p;
  throw ConfigError("unknown eval preset '" + std::string(name) + "'" + did_you_mean(name, preset_names()) +
                    "; presets: " + join(preset_names(), ", "));
}

fs::path default_data_dir() {
  if (const char* env = std::getenv("R1KIT_DATA_DIR"); env != nullptr && *env != '\0') return env;
  return "../shared/data";
}

EvalTask load_preset(const Preset& preset, const fs::path& data_dir, int64_t limit) {
  const fs::path path = data_dir / preset.file;
  if (!fs::exists(path))
    throw IoError(path.string() + ": not found — preset '" + preset.name + "' reads the shared data directory; run "
                  "from the repository root or pass --data-dir DIR (or set R1KIT_DATA_DIR)");
  EvalTask task;
  task.name = preset.name;
  task.path = path.string();
  JsonlReader reader(path);
  nlohmann::json rec;
  while ((limit <= 0 || static_cast<int64_t>(task.records.size()) < limit) && reader.next(rec)) {
    if (preset.keep && !preset.keep(rec)) continue;
    std::string q;
    if (preset.question) {
      q = preset.question(rec);
    } else {
      auto it = rec.find(preset.question_field);
      if (it == rec.end() || !it->is_string())
        throw DataError(format_record_error(path, reader.record_number(),
                                            "field \"" + preset.question_field + "\" is missing or not a string"));
      q = it->get<std::string>();
    }
    task.questions.push_back(std::move(q));
    task.records.push_back(std::move(rec));
  }
  if (task.records.empty()) throw DataError(path.string() + ": no records for preset '" + preset.name + "'");
  return task;
}

std::string dataset_name_for(const fs::path& path) {
  const std::string p = path.lexically_normal().generic_string();
  for (const auto& preset : presets())
    if (p == preset.file || p.ends_with("/" + preset.file)) return preset.name;
  std::string name = path.stem().string();
  for (char& ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) ch = '_';
  return name.empty() ? "eval" : name;
}

}  // namespace r1kit::eval
