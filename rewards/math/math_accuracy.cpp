#include "rewards/math/math_accuracy.h"

#include <cmath>

#include "rewards/builtin.h"
#include "rewards/math/extract_answer.h"

namespace r1kit::rewards::math {

MathAccuracyConfig read_math_accuracy_config(const ConfigReader& args) {
  MathAccuracyConfig c;
  c.gold_field = args.get("gold_field", c.gold_field);
  if (c.gold_field.empty()) args.fail("gold_field", "must name a record field, e.g. \"answer\"");
  c.equivalence.rel_tol = args.get("rel_tol", c.equivalence.rel_tol);
  if (!(c.equivalence.rel_tol > 0 && c.equivalence.rel_tol < 1)) args.fail("rel_tol", "must be in (0, 1), e.g. 1e-6");
  int64_t max_chars = args.get("max_answer_chars", static_cast<int64_t>(c.equivalence.max_answer_chars));
  if (max_chars < 1 || max_chars > 100000) args.fail("max_answer_chars", "must be in [1, 100000]");
  c.equivalence.max_answer_chars = static_cast<size_t>(max_chars);
  return c;
}

double MathAccuracy::score(const Sample& sample) const {
  try {
    auto gold = gold_answer(sample.record, config_.gold_field);
    if (!gold) return std::nan("");
    auto answer = extract_answer(sample.completion);
    if (!answer) return 0.0;
    return answers_equivalent(*gold, *answer, config_.equivalence) ? 1.0 : 0.0;
  } catch (...) {
    return 0.0;  // bad model output never escapes as an exception
  }
}

}  // namespace r1kit::rewards::math

namespace r1kit::rewards {

void register_math_rewarders() {
  register_rewarder("math_accuracy", [](const nlohmann::json& args, const std::string& name,
                                        const std::string& json_path) -> std::unique_ptr<Rewarder> {
    ConfigReader reader(args, json_path);
    auto config = math::read_math_accuracy_config(reader);
    reader.finish();
    return std::make_unique<math::MathAccuracy>(name, std::move(config));
  });
}

}  // namespace r1kit::rewards
