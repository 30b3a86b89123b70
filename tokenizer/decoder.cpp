#include "tokenizer/decoder.h"

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace r1kit::tokenizer {

using nlohmann::json;

Decoder Decoder::from_json(const json& j, const std::string& where) {
  Decoder d;
  if (!j.is_null()) d.add(j, where);
  return d;
}

void Decoder::add(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw ConfigError(where + ": expected an object with a string \"type\"");
  const std::string type = j["type"];
  if (type == "ByteLevel") {
    byte_level_ = true;
  } else if (type == "Sequence") {
    const auto& list = j.value("decoders", json::array());
    if (!list.is_array()) throw ConfigError(where + ".decoders: expected an array");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string at = where + ".decoders[" + std::to_string(i) + "]";
      if (!list[i].is_object() || list[i].value("type", std::string()) != "ByteLevel")
        throw ConfigError(at + ".type: unsupported " + list[i].value("type", json()).dump() +
                          " (r1kit supports a Sequence of ByteLevel decoders only)");
      add(list[i], at);
    }
  } else {
    throw ConfigError(where + ".type: unsupported \"" + type +
                      "\" (r1kit supports the decoders ByteLevel, Sequence of ByteLevel and null)");
  }
}

std::string Decoder::decode(const std::vector<std::string_view>& tokens) const {
  std::string out;
  if (!byte_level_) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out += ' ';
      out += tokens[i];
    }
    return out;
  }
  for (const auto t : tokens) {
    if (auto bytes = byte_level::decode(t)) out += *bytes;
    else out += t;  // not byte-level characters (e.g. "<｜begin▁of▁sentence｜>"): the token's own UTF-8
  }
  if (utf8::valid_prefix_length(out) == out.size()) return out;
  return utf8::replace_invalid(out);
}

}  // namespace r1kit::tokenizer
