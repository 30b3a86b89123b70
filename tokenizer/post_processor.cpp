#include "tokenizer/post_processor.h"

#include "core/error.h"

namespace r1kit::tokenizer {

using nlohmann::json;

PostProcessor PostProcessor::from_json(const json& j, const std::string& where) {
  PostProcessor p;
  if (!j.is_null()) p.add(j, where);
  return p;
}

void PostProcessor::add(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw ConfigError(where + ": expected an object with a string \"type\"");
  const std::string type = j["type"];
  if (type == "ByteLevel") return;  // adjusts offsets only
  if (type == "Sequence") {
    const auto& list = j.value("processors", json::array());
    if (!list.is_array()) throw ConfigError(where + ".processors: expected an array");
    for (size_t i = 0; i < list.size(); ++i) add(list[i], where + ".processors[" + std::to_string(i) + "]");
    return;
  }
  if (type != "TemplateProcessing")
    throw ConfigError(where + ".type: unsupported \"" + type +
                      "\" (r1kit supports the post-processors TemplateProcessing, ByteLevel, Sequence and null)");
  // A later TemplateProcessing wraps the output of an earlier one (HF applies a Sequence in order).
  std::vector<int32_t> before, after;
  bool seen_a = false;
  const auto& single = j.value("single", json::array());
  const auto& specials = j.value("special_tokens", json::object());
  for (size_t i = 0; i < single.size(); ++i) {
    const auto& piece = single[i];
    const std::string at = where + ".single[" + std::to_string(i) + "]";
    if (piece.contains("Sequence")) {
      if (piece["Sequence"].value("id", std::string()) != "A")
        throw ConfigError(at + ".Sequence.id: only \"A\" is allowed in a single-sequence template");
      if (seen_a) throw ConfigError(at + ": \"$A\" appears twice in the template");
      seen_a = true;
    } else if (piece.contains("SpecialToken")) {
      const std::string name = piece["SpecialToken"].value("id", std::string());
      if (!specials.contains(name) || !specials[name].contains("ids") || !specials[name]["ids"].is_array())
        throw ConfigError(at + ".SpecialToken.id: \"" + name + "\" is not defined in " + where + ".special_tokens");
      auto& dst = seen_a ? after : before;
      for (const auto& id : specials[name]["ids"]) dst.push_back(id.get<int32_t>());
    } else {
      throw ConfigError(at + ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!seen_a) throw ConfigError(where + ".single: the template has no \"$A\"");
  before.insert(before.end(), prefix_.begin(), prefix_.end());
  prefix_ = std::move(before);
  suffix_.insert(suffix_.end(), after.begin(), after.end());
}

}  // namespace r1kit::tokenizer
