#include "tokenizer/bpe.h"

#include <algorithm>
#include <array>
#include <mutex>

#include "core/error.h"
#include "tokenizer/byte_level.h"

namespace r1kit::tokenizer {

using nlohmann::json;

// Open-addressing hash map: (left id, right id) -> (rank, merged id).
struct BpeModel::MergeTable {
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0, id = 0;
  };
  std::vector<Slot> slots;
  uint64_t mask = 0;

  explicit MergeTable(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    slots.resize(cap);
    mask = cap - 1;
  }
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static uint64_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  void put(uint64_t k, int32_t rank, int32_t id) {  // a repeated pair keeps its last rank, as HF's HashMap
    for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == kEmpty || slots[i].key == k) {
        slots[i] = {k, rank, id};
        return;
      }
    }
  }
  const Slot* get(int32_t a, int32_t b) const {
    const uint64_t k = key(a, b);
    for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == k) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

// Bounded word -> ids cache, sharded by hash with a mutex per shard; a full shard is cleared.
class WordCache {
 public:
  explicit WordCache(size_t capacity) : per_shard_(std::max<size_t>(1, capacity / kShards)) {}

  bool get(std::string_view word, std::vector<int32_t>& out) const {
    const size_t h = std::hash<std::string_view>{}(word);
    const Shard& s = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    const auto it = s.map.find(word);
    if (it == s.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string_view word, const int32_t* ids, size_t n) {
    const size_t h = std::hash<std::string_view>{}(word);
    Shard& s = shards_[h % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.map.size() >= per_shard_) s.map.clear();
    s.map.emplace(std::string(word), std::vector<int32_t>(ids, ids + n));
  }

 private:
  static constexpr size_t kShards = 64;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>, Hash, std::equal_to<>> map;
  };
  std::array<Shard, kShards> shards_;
  size_t per_shard_;
};

namespace {

constexpr size_t kCacheCapacity = 1 << 17;  // words
constexpr size_t kMaxCachedLength = 256;    // bytes; longer pieces are not cached (as HF)

[[noreturn]] void unsupported(const std::string& where, const std::string& what) {
  throw ConfigError(where + ": unsupported " + what + " (r1kit supports byte-level BPE as in GPT-2, Llama-3, Qwen, "
                    "DeepSeek tokenizer.json files)");
}

}  // namespace

BpeModel BpeModel::from_json(const json& m, const std::string& where) {
  if (!m.is_object()) throw ConfigError(where + ": missing or not an object");
  const std::string type = m.value("type", std::string("BPE"));
  if (type != "BPE") throw ConfigError(where + ".type: unsupported \"" + type + "\" (r1kit supports only \"BPE\")");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
    unsupported(where + ".dropout", "BPE dropout " + m["dropout"].dump());
  if (m.value("byte_fallback", false)) unsupported(where + ".byte_fallback", "byte_fallback true");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (m.contains(key) && !m[key].is_null() && !(m[key].is_string() && m[key].get<std::string>().empty()))
      unsupported(where + "." + key, m[key].dump());
  }
  BpeModel b;
  const auto& vocab = m.value("vocab", json());
  if (!vocab.is_object() || vocab.empty()) throw ConfigError(where + ".vocab: expected a non-empty object");
  b.vocab_.reserve(vocab.size() * 2);
  int32_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() >= INT32_MAX)
      throw ConfigError(where + ".vocab[\"" + it.key() + "\"]: expected an id in [0, 2^31)");
    const auto id = it.value().get<int32_t>();
    b.vocab_.emplace(it.key(), id);
    max_id = std::max(max_id, id);
  }
  b.tokens_.resize(static_cast<size_t>(max_id) + 1);
  b.has_id_.assign(static_cast<size_t>(max_id) + 1, 0);
  for (const auto& [tok, id] : b.vocab_) {
    b.tokens_[id] = tok;
    b.has_id_[id] = 1;
  }
  for (int c = 0; c < 256; ++c) {
    const char raw = static_cast<char>(c);
    const std::string ch = byte_level::encode(std::string_view(&raw, 1));
    const auto it = b.vocab_.find(ch);
    b.byte_id_[c] = it == b.vocab_.end() ? -1 : it->second;
  }
  b.ignore_merges_ = m.value("ignore_merges", false);
  if (b.ignore_merges_) {
    for (const auto& [tok, id] : b.vocab_)
      if (auto raw = byte_level::decode(tok)) b.raw_vocab_.emplace(std::move(*raw), id);
  }
  if (m.contains("unk_token") && !m["unk_token"].is_null()) {
    const std::string unk = m["unk_token"];
    const auto it = b.vocab_.find(unk);
    if (it == b.vocab_.end()) throw ConfigError(where + ".unk_token: \"" + unk + "\" is not in the vocabulary");
    b.unk_id_ = it->second;
  }
  b.fuse_unk_ = m.value("fuse_unk", false);

  const auto& merges = m.value("merges", json::array());
  if (!merges.is_array()) throw ConfigError(where + ".merges: expected an array");
  auto table = std::make_shared<MergeTable>(merges.size());
  std::string a, c;
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& e = merges[i];
    const std::string at = where + ".merges[" + std::to_string(i) + "]";
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        throw ConfigError(at + ": expected \"left right\" (one space), got \"" + s + "\"");
      a = s.substr(0, sp);
      c = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      c = e[1].get<std::string>();
    } else {
      throw ConfigError(at + ": expected \"left right\" or [\"left\", \"right\"]");
    }
    const auto ia = b.vocab_.find(a), ic = b.vocab_.find(c), im = b.vocab_.find(a + c);
    if (ia == b.vocab_.end() || ic == b.vocab_.end() || im == b.vocab_.end())
      throw ConfigError(at + ": merge \"" + a + "\" + \"" + c + "\" uses or makes a token missing from $.model.vocab");
    table->put(MergeTable::key(ia->second, ic->second), static_cast<int32_t>(i), im->second);
  }
  b.merges_ = std::move(table);
  b.cache_ = std::make_shared<WordCache>(kCacheCapacity);
  return b;
}

int32_t BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_id_[id]) return nullptr;
  return &tokens_[id];
}

void BpeModel::encode_piece(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  if (bytes.size() == 1 && byte_id_[static_cast<uint8_t>(bytes[0])] >= 0) {
    out.push_back(byte_id_[static_cast<uint8_t>(bytes[0])]);
    return;
  }
  if (ignore_merges_) {
    const auto it = raw_vocab_.find(std::string(bytes));
    if (it != raw_vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = bytes.size() < kMaxCachedLength;
  if (cacheable && cache_->get(bytes, out)) return;
  const size_t first = out.size();
  merge_word(bytes, out);
  if (cacheable) cache_->put(bytes, out.data() + first, out.size() - first);
}

void BpeModel::merge_word(std::string_view bytes, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id, prev, next;
    bool removed;
  };
  struct Item {
    int32_t rank, pos, new_id;
  };
  thread_local std::vector<Symbol> sym;
  thread_local std::vector<Item> heap;
  sym.clear();
  heap.clear();
  for (const char ch : bytes) {
    int32_t id = byte_id_[static_cast<uint8_t>(ch)];
    if (id < 0) {
      if (unk_id_ < 0) continue;  // no unk token: HF drops the character
      if (fuse_unk_ && !sym.empty() && sym.back().id == unk_id_) continue;
      id = unk_id_;
    }
    const auto n = static_cast<int32_t>(sym.size());
    sym.push_back({id, n - 1, n + 1, false});
  }
  if (sym.empty()) return;
  sym.back().next = -1;
  // Lowest rank first, then leftmost (HF word.rs `Ord for Merge`).
  const auto later = [](const Item& x, const Item& y) { return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos; };
  const MergeTable& mt = *merges_;
  for (size_t i = 0; i + 1 < sym.size(); ++i) {
    if (const auto* s = mt.get(sym[i].id, sym[i + 1].id)) heap.push_back({s->rank, static_cast<int32_t>(i), s->id});
  }
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Item top = heap.back();
    heap.pop_back();
    Symbol& cur = sym[top.pos];
    if (cur.removed || cur.next < 0) continue;
    const int32_t right = cur.next;
    const auto* s = mt.get(cur.id, sym[right].id);
    if (!s || s->id != top.new_id) continue;  // stale entry
    cur.id = top.new_id;
    cur.next = sym[right].next;
    sym[right].removed = true;
    if (cur.next >= 0) sym[cur.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const auto* p = mt.get(sym[cur.prev].id, cur.id)) {
        heap.push_back({p->rank, cur.prev, p->id});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    if (cur.next >= 0) {
      if (const auto* p = mt.get(cur.id, sym[cur.next].id)) {
        heap.push_back({p->rank, top.pos, p->id});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace r1kit::tokenizer
