#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "core/error.h"

namespace r1kit::tokenizer {

Normalizer Normalizer::from_json(const nlohmann::json& j, const std::string& where) {
  Normalizer n;
  if (!j.is_null()) n.add(j, where);
  return n;
}

void Normalizer::add(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw ConfigError(where + ": expected an object with a string \"type\"");
  const std::string type = j["type"];
  if (type == "NFC") forms_.push_back(Form::nfc);
  else if (type == "NFD") forms_.push_back(Form::nfd);
  else if (type == "NFKC") forms_.push_back(Form::nfkc);
  else if (type == "NFKD") forms_.push_back(Form::nfkd);
  else if (type == "Sequence") {
    const auto& list = j.value("normalizers", nlohmann::json::array());
    if (!list.is_array()) throw ConfigError(where + ".normalizers: expected an array");
    for (size_t i = 0; i < list.size(); ++i) add(list[i], where + ".normalizers[" + std::to_string(i) + "]");
  } else {
    throw ConfigError(where + ".type: unsupported \"" + type +
                      "\" (r1kit supports the normalizers NFC, NFD, NFKC, NFKD, Sequence and null)");
  }
}

std::string Normalizer::normalize(std::string_view text) const {
  std::string cur(text);
  for (const Form f : forms_) {
    bool ascii = true;
    for (const char c : cur) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii) continue;  // every normalization form leaves ASCII unchanged
    int options = UTF8PROC_STABLE;
    switch (f) {
      case Form::nfc: options |= UTF8PROC_COMPOSE; break;
      case Form::nfd: options |= UTF8PROC_DECOMPOSE; break;
      case Form::nfkc: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
      case Form::nfkd: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
    }
    utf8proc_uint8_t* out = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(cur.data()),
                                static_cast<utf8proc_ssize_t>(cur.size()), &out,
                                static_cast<utf8proc_option_t>(options));
    if (n < 0) throw InvalidArgument(std::string("unicode normalization failed: ") + utf8proc_errmsg(n));
    cur.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
    std::free(out);
  }
  return cur;
}

}  // namespace r1kit::tokenizer
