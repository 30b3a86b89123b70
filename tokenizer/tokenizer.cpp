#include "tokenizer/tokenizer.h"

#include <atomic>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace r1kit::tokenizer {

namespace fs = std::filesystem;
using nlohmann::json;

struct Tokenizer::Impl {
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;
  PostProcessor post_processor;
  Decoder decoder;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> added_by_content;  // content -> index in `added`
  std::unordered_map<int32_t, int32_t> added_by_id;           // id -> index in `added`
  std::unordered_set<std::string> special_contents;
  AddedTokenMatcher raw_matcher, normalized_matcher;
  size_t vocab_size = 0;
  json config = json::object();
  std::optional<int32_t> bos_id, eos_id, pad_id;
  std::string bos, eos;

  void encode_plain(std::string_view text, std::vector<int32_t>& ids) const {
    thread_local std::vector<std::string_view> pieces;
    thread_local std::deque<std::string> arena;
    pieces.clear();
    arena.clear();
    pre_tokenizer.split(text, pieces, arena);
    for (const auto p : pieces) model.encode_piece(p, ids);
  }

  void encode_segment(std::string_view text, std::vector<int32_t>& ids) const {
    std::string normalized;
    if (!normalizer.is_identity()) {
      normalized = normalizer.normalize(text);
      text = normalized;
    }
    if (normalized_matcher.empty()) {
      encode_plain(text, ids);
      return;
    }
    std::vector<Segment> segs;
    normalized_matcher.split(text, segs);
    for (const auto& s : segs) {
      if (s.token >= 0) ids.push_back(added[s.token].id);
      else encode_plain(text.substr(s.begin, s.end - s.begin), ids);
    }
  }

  void encode(std::string_view text, bool add_special_tokens, std::vector<int32_t>& ids) const {
    std::string fixed;
    if (utf8::valid_prefix_length(text) != text.size()) {
      fixed = utf8::replace_invalid(text);
      text = fixed;
    }
    if (add_special_tokens) ids.insert(ids.end(), post_processor.prefix().begin(), post_processor.prefix().end());
    if (raw_matcher.empty()) {
      encode_segment(text, ids);
    } else {
      std::vector<Segment> segs;
      raw_matcher.split(text, segs);
      for (const auto& s : segs) {
        if (s.token >= 0) ids.push_back(added[s.token].id);
        else encode_segment(text.substr(s.begin, s.end - s.begin), ids);
      }
    }
    if (add_special_tokens) ids.insert(ids.end(), post_processor.suffix().begin(), post_processor.suffix().end());
  }
};

namespace {

json parse_json(const fs::path& path) {
  const std::string text = read_file(path);  // IoError if missing
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ConfigError(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

bool flag(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return false;
  if (!j[key].is_boolean()) throw ConfigError(where + "." + key + ": expected true or false");
  return j[key].get<bool>();
}

// tokenizer_config.json's bos_token etc.: a string, {"content": ...} (transformers' AddedToken dict) or null.
std::optional<std::string> config_token(const json& cfg, const char* key, const std::string& file) {
  if (!cfg.contains(key) || cfg[key].is_null()) return std::nullopt;
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  throw ConfigError(file + ": $." + key + ": expected a string, an object with \"content\", or null");
}

}  // namespace

Tokenizer Tokenizer::from_dir(const fs::path& dir) {
  const fs::path cfg = dir / "tokenizer_config.json";
  return from_file(dir / "tokenizer.json", fs::exists(cfg) ? cfg : fs::path());
}

Tokenizer Tokenizer::from_file(const fs::path& tokenizer_json, const fs::path& config_path) {
  const json j = parse_json(tokenizer_json);
  const std::string file = tokenizer_json.string();
  const std::string root = file + ": $";
  if (!j.is_object()) throw ConfigError(file + ": expected a JSON object");
  auto impl = std::make_shared<Impl>();
  impl->normalizer = Normalizer::from_json(j.value("normalizer", json()), root + ".normalizer");
  if (!j.contains("model")) throw ConfigError(root + ".model: missing (a tokenizer.json needs a BPE model)");
  impl->model = BpeModel::from_json(j["model"], root + ".model");
  impl->pre_tokenizer = PreTokenizer::from_json(j.value("pre_tokenizer", json()), root + ".pre_tokenizer");
  impl->post_processor = PostProcessor::from_json(j.value("post_processor", json()), root + ".post_processor");
  impl->decoder = Decoder::from_json(j.value("decoder", json()), root + ".decoder");

  const auto& added = j.value("added_tokens", json::array());
  if (!added.is_array()) throw ConfigError(root + ".added_tokens: expected an array");
  std::vector<int32_t> raw_idx, norm_idx;
  std::vector<std::string> raw_pat, norm_pat;
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string at = root + ".added_tokens[" + std::to_string(i) + "]";
    const json& a = added[i];
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
        !a["content"].is_string())
      throw ConfigError(at + ": expected {\"id\": int, \"content\": string, ...}");
    AddedToken t;
    t.id = a["id"].get<int32_t>();
    t.content = a["content"].get<std::string>();
    t.special = flag(a, "special", at);
    t.lstrip = flag(a, "lstrip", at);
    t.rstrip = flag(a, "rstrip", at);
    t.single_word = flag(a, "single_word", at);
    t.normalized = a.contains("normalized") ? flag(a, "normalized", at) : !t.special;
    if (t.id < 0) throw ConfigError(at + ".id: negative id");
    const auto idx = static_cast<int32_t>(impl->added.size());
    if (impl->added_by_content.count(t.content)) continue;  // duplicate content: first entry wins
    impl->added_by_content.emplace(t.content, idx);
    impl->added_by_id.emplace(t.id, idx);
    if (t.special) impl->special_contents.insert(t.content);
    if (t.normalized) {
      norm_idx.push_back(idx);
      norm_pat.push_back(impl->normalizer.is_identity() ? t.content : impl->normalizer.normalize(t.content));
    } else {
      raw_idx.push_back(idx);
      raw_pat.push_back(t.content);
    }
    impl->added.push_back(std::move(t));
  }
  impl->raw_matcher = AddedTokenMatcher(impl->added, raw_idx, raw_pat);
  impl->normalized_matcher = AddedTokenMatcher(impl->added, norm_idx, norm_pat);
  impl->vocab_size = impl->model.size();
  for (const auto& t : impl->added)
    if (impl->model.token_to_id(t.content) < 0) ++impl->vocab_size;

  if (!config_path.empty()) {
    impl->config = parse_json(config_path);
    if (!impl->config.is_object()) throw ConfigError(config_path.string() + ": expected a JSON object");
  }
  const std::string cfg_file = config_path.empty() ? std::string("tokenizer_config.json") : config_path.string();
  Tokenizer tok(impl);
  auto resolve = [&](const char* key, std::optional<int32_t>& id, std::string* text) {
    const auto s = config_token(impl->config, key, cfg_file);
    if (!s) return;
    const int32_t found = tok.token_to_id(*s);
    if (found < 0)
      throw ConfigError(cfg_file + ": $." + key + ": \"" + *s + "\" is not a token of " + file +
                        " (fix the token string or add it to added_tokens)");
    id = found;
    if (text) *text = *s;
  };
  resolve("bos_token", impl->bos_id, &impl->bos);
  resolve("eos_token", impl->eos_id, &impl->eos);
  resolve("pad_token", impl->pad_id, nullptr);
  return tok;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->encode(text, add_special_tokens, ids);
  return ids;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                          bool add_special_tokens) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  const size_t threads =
      std::min<size_t>(texts.size(), std::max<unsigned>(1, std::thread::hardware_concurrency()));
  if (threads <= 1) {
    for (size_t i = 0; i < texts.size(); ++i) out[i] = encode(texts[i], add_special_tokens);
    return out;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto worker = [&] {
    try {
      for (size_t i = next++; i < texts.size(); i = next++) out[i] = encode(texts[i], add_special_tokens);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string_view> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    const std::string* t = nullptr;
    if (const auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end())
      t = &impl_->added[it->second].content;
    else
      t = impl_->model.id_to_token(id);
    if (!t) continue;
    if (skip_special_tokens && impl_->special_contents.count(*t)) continue;
    tokens.push_back(*t);
  }
  return impl_->decoder.decode(tokens);
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  if (const auto it = impl_->added_by_content.find(std::string(token)); it != impl_->added_by_content.end())
    return impl_->added[it->second].id;
  return impl_->model.token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end())
    return impl_->added[it->second].content;
  const std::string* t = impl_->model.id_to_token(id);
  return t ? *t : std::string();
}

size_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
std::optional<int32_t> Tokenizer::bos_token_id() const { return impl_->bos_id; }
std::optional<int32_t> Tokenizer::eos_token_id() const { return impl_->eos_id; }
std::optional<int32_t> Tokenizer::pad_token_id() const { return impl_->pad_id; }
std::string Tokenizer::bos_token() const { return impl_->bos; }
std::string Tokenizer::eos_token() const { return impl_->eos; }
const json& Tokenizer::config() const { return impl_->config; }

bool Tokenizer::is_special(int32_t id) const {
  const auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

}  // namespace r1kit::tokenizer
