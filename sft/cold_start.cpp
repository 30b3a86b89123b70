#include "sft/cold_start.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "core/strings.h"

namespace r1kit::sft {
namespace fs = std::filesystem;

std::string strip_calculator_notes(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("<<", i);
    if (open == std::string::npos) break;
    const size_t close = text.find(">>", open + 2);
    if (close == std::string::npos) break;
    out.append(text, i, open - i);
    i = close + 2;
  }
  out.append(text, i, std::string::npos);
  return out;
}

namespace {
std::string field(const nlohmann::json& r, const char* name, const fs::path& file, size_t line, const std::string& src) {
  auto it = r.find(name);
  if (it == r.end() || !it->is_string())
    throw DataError(format_record_error(file, line, std::string("field \"") + name + "\" is missing or not a string — "
                                        "is this a " + src + " file? (--source gsm8k|math)"));
  return it->get<std::string>();
}
}  // namespace

std::optional<nlohmann::json> cold_start_record(const nlohmann::json& r, const std::string& source,
                                                const std::string& answer_style, const fs::path& file, size_t line) {
  if (answer_style != "tags" && answer_style != "plain")
    throw InvalidArgument("answer style must be \"tags\" or \"plain\", got \"" + answer_style + "\"");
  std::string prompt, reasoning, final;
  if (source == "gsm8k") {
    prompt = field(r, "question", file, line, source);
    const std::string answer = field(r, "answer", file, line, source);
    const size_t hash = answer.rfind("####");
    if (hash == std::string::npos)
      throw DataError(format_record_error(file, line, "GSM8K \"answer\" has no \"#### N\" final line"));
    reasoning = std::string(trim(strip_calculator_notes(answer.substr(0, hash))));
    for (char c : trim(std::string_view(answer).substr(hash + 4)))
      if (c != ',') final += c;
  } else if (source == "math") {
    prompt = field(r, "problem", file, line, source);
    reasoning = std::string(trim(field(r, "solution", file, line, source)));
    if (r.contains("answer") && r["answer"].is_null()) return std::nullopt;  // no final answer: skipped, counted
    final = std::string(trim(field(r, "answer", file, line, source)));
  } else {
    throw InvalidArgument("unknown cold-start source \"" + source + "\" (known: gsm8k, math)");
  }
  if (final.empty()) return std::nullopt;
  const std::string sentence = "The answer is \\boxed{" + final + "}.";
  const std::string answer = answer_style == "tags" ? "<answer>\n" + sentence + "\n</answer>" : sentence;
  return nlohmann::json{{"prompt", prompt}, {"reasoning", reasoning}, {"answer", answer}};
}

ColdStartStats convert_cold_start(const std::string& source, const fs::path& in, const fs::path& out,
                                  const std::string& answer_style, int64_t limit) {
  ColdStartStats st;
  JsonlReader reader(in);
  nlohmann::json rec;
  std::string text;
  while ((limit <= 0 || st.read < limit) && reader.next(rec)) {
    ++st.read;
    auto conv = cold_start_record(rec, source, answer_style, in, reader.record_number());
    if (!conv) {
      ++st.skipped_no_answer;
      continue;
    }
    text += conv->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    ++st.written;
  }
  if (st.written == 0) throw DataError(in.string() + ": no record converted (" + std::to_string(st.read) + " read)");
  write_file_atomic(out, text);
  return st;
}

}  // namespace r1kit::sft
