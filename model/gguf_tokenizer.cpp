// tokenizer.json / tokenizer_config.json from GGUF tokenizer metadata. See gguf_tokenizer.h.
#include "model/gguf_tokenizer.h"

#include <array>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace r1kit::model {

namespace {

// GPT-2's byte -> code point table: printable Latin-1 bytes map to themselves, the other 68 bytes (controls,
// space, DEL, NBSP…, soft hyphen) to U+0100.. in byte order, so every byte has a visible single character.
const std::array<uint32_t, 256>& byte_to_codepoint() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// True when `s` is valid UTF-8 made only of characters of the byte-level alphabet (U+0021..U+0143 minus the
// code points that stand for remapped bytes' originals).
bool in_byte_alphabet(const std::string& s) {
  static const std::set<uint32_t> alphabet = [] {
    std::set<uint32_t> a;
    for (uint32_t cp : byte_to_codepoint()) a.insert(cp);
    return a;
  }();
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int len;
    if (c < 0x80) {
      cp = c, len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F, len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F, len = 3;
    } else {
      return false;  // 4-byte sequences are never in the alphabet; invalid leads neither
    }
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!alphabet.count(cp)) return false;
    i += len;
  }
  return true;
}

// The token spelled in the byte-level alphabet: itself when it already is, else each UTF-8 byte mapped.
std::string byte_level_spelling(const std::string& token) {
  if (in_byte_alphabet(token)) return token;
  std::string out;
  for (unsigned char b : token) append_utf8(out, byte_to_codepoint()[b]);
  return out;
}

const nlohmann::json& require(const GgufFile& g, const std::string& key, bool array) {
  if (!g.has(key) || (array && !g.metadata()[key].is_array()))
    throw CheckpointError("GGUF file " + g.path().string() + " lacks tokenizer metadata '" + key +
                          "': the tokenizer cannot be rebuilt; copy tokenizer.json from the original model");
  return g.metadata()[key];
}

// Pre-tokenizer regexes (tokenizer.json of Llama-3 and Qwen2 respectively; llama.cpp uses the same ones).
constexpr const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

nlohmann::ordered_json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

nlohmann::ordered_json pre_tokenizer_for(const std::string& pre) {
  static const std::set<std::string> digits = {"smollm", "starcoder", "refact", "command-r",
                                               "codeshell", "exaone", "minerva"};
  static const std::set<std::string> llama3 = {"llama-bpe", "llama3", "llama-v3", "falcon3", "dbrx", "smaug-bpe"};
  static const std::set<std::string> qwen2 = {"qwen2", "deepseek-r1-qwen"};
  auto split = [](const char* regex) {
    return nlohmann::ordered_json{{"type", "Split"},
                                  {"pattern", {{"Regex", regex}}},
                                  {"behavior", "Isolated"},
                                  {"invert", false}};
  };
  if (digits.count(pre))
    return {{"type", "Sequence"},
            {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}};
  if (llama3.count(pre))
    return {{"type", "Sequence"}, {"pretokenizers", {split(kLlama3Split), byte_level(false)}}};
  if (qwen2.count(pre)) return {{"type", "Sequence"}, {"pretokenizers", {split(kQwen2Split), byte_level(false)}}};
  return byte_level(true);
}

std::string token_at(const GgufFile& g, const std::string& id_key) {
  if (!g.has(id_key)) return {};
  const auto& tokens = g.metadata()["tokenizer.ggml.tokens"];
  const int64_t id = g.get_int(id_key);
  if (id < 0 || id >= static_cast<int64_t>(tokens.size()))
    throw CheckpointError("GGUF file " + g.path().string() + ": " + id_key + " = " + std::to_string(id) +
                          " is outside the vocabulary of " + std::to_string(tokens.size()) + " tokens");
  return tokens[id].get<std::string>();
}

}  // namespace

bool gguf_has_byte_level_bpe(const GgufFile& g) {
  return g.has("tokenizer.ggml.model") && g.metadata()["tokenizer.ggml.model"] == "gpt2" &&
         g.has("tokenizer.ggml.tokens") && g.has("tokenizer.ggml.merges");
}

nlohmann::ordered_json gguf_tokenizer_json(const GgufFile& g) {
  const std::string model = g.has("tokenizer.ggml.model") ? g.get_string("tokenizer.ggml.model") : "";
  if (model != "gpt2")
    throw CheckpointError("GGUF file " + g.path().string() + ": tokenizer.ggml.model is \"" + model +
                          "\"; r1kit rebuilds only byte-level BPE (\"gpt2\") tokenizers — copy tokenizer.json from "
                          "the original model repository");
  const auto& tokens = require(g, "tokenizer.ggml.tokens", true);
  const auto& merges = require(g, "tokenizer.ggml.merges", true);
  const nlohmann::json empty = nlohmann::json::array();
  const auto& types = g.has("tokenizer.ggml.token_type") ? g.metadata()["tokenizer.ggml.token_type"] : empty;

  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  // ordered_json's operator[] searches linearly; append to the underlying vector instead (id order, as HF
  // writes it). A spelling that occurs twice keeps its first position and its last id, like a Python dict.
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  auto& entries = static_cast<std::vector<std::pair<const std::string, nlohmann::ordered_json>>&>(
      vocab.get_ref<nlohmann::ordered_json::object_t&>());
  entries.reserve(tokens.size());
  std::unordered_map<std::string, size_t> position;
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string& tok = tokens[id].get_ref<const std::string&>();
    std::string spelled = byte_level_spelling(tok);
    auto [it, fresh] = position.emplace(spelled, entries.size());
    if (fresh) entries.emplace_back(std::move(spelled), id);
    else entries[it->second].second = id;
    const int64_t type = id < types.size() ? types[id].get<int64_t>() : 1;
    // CONTROL tokens spelled outside the byte alphabet are llama.cpp mislabels: transformers skips them too.
    const bool control = type == 3 && in_byte_alphabet(tok);
    if (control || type == 4) {
      added.push_back({{"id", id},
                       {"content", tok},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", control}});
    }
  }
  nlohmann::ordered_json merge_pairs = nlohmann::ordered_json::array();
  for (const auto& m : merges) {
    const std::string& s = m.get_ref<const std::string&>();
    const size_t sp = s.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos)
      throw CheckpointError("GGUF file " + g.path().string() + ": tokenizer.ggml.merges entry \"" + s +
                            "\" is not two tokens separated by one space; the file is corrupt");
    merge_pairs.push_back({s.substr(0, sp), s.substr(sp + 1)});
  }
  const bool add_bos = g.has("tokenizer.ggml.add_bos_token") && g.get_bool("tokenizer.ggml.add_bos_token");
  nlohmann::ordered_json single = nlohmann::ordered_json::array();
  nlohmann::ordered_json pair = nlohmann::ordered_json::array();
  nlohmann::ordered_json specials = nlohmann::ordered_json::object();
  const std::string bos = token_at(g, "tokenizer.ggml.bos_token_id");
  if (add_bos && !bos.empty()) {
    const int64_t bos_id = g.get_int("tokenizer.ggml.bos_token_id");
    single.push_back({{"SpecialToken", {{"id", bos}, {"type_id", 0}}}});
    pair.push_back({{"SpecialToken", {{"id", bos}, {"type_id", 0}}}});
    specials[bos] = {{"id", bos}, {"ids", {bos_id}}, {"tokens", {bos}}};
  }
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  pair.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (add_bos && !bos.empty()) pair.push_back({{"SpecialToken", {{"id", bos}, {"type_id", 1}}}});
  pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});

  const std::string pre = g.has("tokenizer.ggml.pre") ? g.get_string("tokenizer.ggml.pre") : "default";
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = std::move(added);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = pre_tokenizer_for(pre);
  j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair},
                         {"special_tokens", specials}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", ""},
                {"end_of_word_suffix", ""},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", std::move(vocab)},
                {"merges", std::move(merge_pairs)}};
  return j;
}

nlohmann::ordered_json gguf_tokenizer_config(const GgufFile& g, int64_t model_max_length) {
  nlohmann::ordered_json j;
  auto flag = [&](const char* key) { return g.has(key) && g.get_bool(key); };
  j["add_bos_token"] = flag("tokenizer.ggml.add_bos_token");
  j["add_eos_token"] = flag("tokenizer.ggml.add_eos_token");
  for (const auto& [name, key] : {std::pair{"bos_token", "tokenizer.ggml.bos_token_id"},
                                  std::pair{"eos_token", "tokenizer.ggml.eos_token_id"},
                                  std::pair{"unk_token", "tokenizer.ggml.unknown_token_id"},
                                  std::pair{"pad_token", "tokenizer.ggml.padding_token_id"}}) {
    const std::string tok = token_at(g, key);
    if (g.has(key)) j[name] = tok;
    else j[name] = nullptr;
  }
  if (g.has("tokenizer.chat_template")) j["chat_template"] = g.get_string("tokenizer.chat_template");
  j["clean_up_tokenization_spaces"] = false;
  j["model_max_length"] = model_max_length;
  j["tokenizer_class"] = "PreTrainedTokenizerFast";
  return j;
}

}  // namespace r1kit::model
