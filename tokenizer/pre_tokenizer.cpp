#include "tokenizer/pre_tokenizer.h"

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace r1kit::tokenizer {

namespace {

using nlohmann::json;

bool get_bool(const json& j, const char* key, bool def, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) throw ConfigError(where + "." + key + ": expected true or false");
  return j[key].get<bool>();
}

SplitBehavior parse_behavior(const json& j, const std::string& where) {
  if (!j.is_string()) throw ConfigError(where + ": expected a string");
  const std::string b = j;
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  throw ConfigError(where + ": unsupported \"" + b +
                    "\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

struct Event {
  size_t begin, end;
  bool is_match;
};

// HF normalizer.rs NormalizedString::split: matches + gaps -> pieces according to the behaviour.
void split_by_events(std::string_view piece, std::vector<Event>& ev, SplitBehavior behavior,
                     std::vector<std::string_view>& out) {
  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.push_back(piece.substr(b, e - b));
  };
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const auto& e : ev) emit(e.begin, e.end);
      return;
    case SplitBehavior::removed:
      for (const auto& e : ev)
        if (!e.is_match) emit(e.begin, e.end);
      return;
    case SplitBehavior::merged_with_previous: {
      std::vector<Event> acc;
      bool previous_match = false;
      for (const auto& e : ev) {
        if (e.is_match && !previous_match && !acc.empty()) acc.back().end = e.end;
        else acc.push_back(e);
        previous_match = e.is_match;
      }
      for (const auto& e : acc) emit(e.begin, e.end);
      return;
    }
    case SplitBehavior::merged_with_next: {
      std::vector<Event> acc;
      bool previous_match = false;
      for (auto it = ev.rbegin(); it != ev.rend(); ++it) {
        if (it->is_match && !previous_match && !acc.empty()) acc.back().begin = it->begin;
        else acc.push_back(*it);
        previous_match = it->is_match;
      }
      for (auto it = acc.rbegin(); it != acc.rend(); ++it) emit(it->begin, it->end);
      return;
    }
    case SplitBehavior::contiguous: {
      std::vector<Event> acc;
      bool previous_match = false;
      for (const auto& e : ev) {
        if (e.is_match == previous_match && !acc.empty()) acc.back().end = e.end;
        else acc.push_back(e);
        previous_match = e.is_match;
      }
      for (const auto& e : acc) emit(e.begin, e.end);
      return;
    }
  }
}

// Matches (from a regex or literal) -> the full event list covering `piece`.
std::vector<Event> events_from_matches(size_t length, const std::vector<ByteRange>& matches, bool invert) {
  std::vector<Event> ev;
  ev.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (prev != b) ev.push_back({prev, b, invert});
    ev.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != length) ev.push_back({prev, length, invert});
  return ev;
}

}  // namespace

PreTokenizer PreTokenizer::from_json(const json& j, const std::string& where) {
  PreTokenizer p;
  if (j.is_null())
    throw ConfigError(where + ": null, but r1kit supports byte-level BPE only (a ByteLevel pre-tokenizer is needed)");
  p.add(j, where);
  for (size_t i = 0; i < p.steps_.size(); ++i) {
    if (p.steps_[i].kind == Kind::byte_level && i + 1 != p.steps_.size())
      throw ConfigError(where + ": ByteLevel must be the last pre-tokenizer (r1kit maps bytes after all splits)");
  }
  if (p.steps_.empty() || p.steps_.back().kind != Kind::byte_level)
    throw ConfigError(where + ": no ByteLevel pre-tokenizer; r1kit supports byte-level BPE only");
  return p;
}

void PreTokenizer::add(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw ConfigError(where + ": expected an object with a string \"type\"");
  const std::string type = j["type"];
  Step s;
  if (type == "Sequence") {
    const auto& list = j.value("pretokenizers", json::array());
    if (!list.is_array()) throw ConfigError(where + ".pretokenizers: expected an array");
    for (size_t i = 0; i < list.size(); ++i) add(list[i], where + ".pretokenizers[" + std::to_string(i) + "]");
    return;
  }
  if (type == "Split") {
    const auto& pat = j.value("pattern", json());
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
      s.kind = Kind::split_regex;
      s.regex = std::make_shared<SplitRegex>(pat["Regex"].get<std::string>(), where + ".pattern.Regex");
    } else if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) {
      s.kind = Kind::split_string;
      s.literal = pat["String"];
    } else {
      throw ConfigError(where + ".pattern: expected {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    }
    s.behavior = parse_behavior(j.value("behavior", json()), where + ".behavior");
    s.invert = get_bool(j, "invert", false, where);
  } else if (type == "Digits") {
    s.kind = Kind::digits;
    s.individual_digits = get_bool(j, "individual_digits", false, where);
  } else if (type == "ByteLevel") {
    s.kind = Kind::byte_level;
    s.add_prefix_space = get_bool(j, "add_prefix_space", true, where);
    if (get_bool(j, "use_regex", true, where))
      s.regex = std::make_shared<SplitRegex>(byte_level::kGpt2Regex, where + " (ByteLevel GPT-2 regex)");
  } else {
    throw ConfigError(where + ".type: unsupported \"" + type +
                      "\" (r1kit supports the pre-tokenizers Split, Digits, ByteLevel and Sequence)");
  }
  steps_.push_back(std::move(s));
}

void PreTokenizer::apply(const Step& step, std::string_view piece, std::vector<std::string_view>& out,
                         std::deque<std::string>& arena) const {
  thread_local std::vector<ByteRange> matches;
  matches.clear();
  switch (step.kind) {
    case Kind::byte_level: {
      if (step.add_prefix_space && piece.front() != ' ') {
        arena.push_back(" " + std::string(piece));
        piece = arena.back();
      }
      if (!step.regex) {
        out.push_back(piece);
        return;
      }
      step.regex->find_matches(piece, matches);
      std::vector<Event> ev = events_from_matches(piece.size(), matches, false);
      split_by_events(piece, ev, SplitBehavior::isolated, out);
      return;
    }
    case Kind::split_regex: {
      step.regex->find_matches(piece, matches);
      if (step.behavior == SplitBehavior::isolated && !step.invert) {  // hot path: every range is a piece
        size_t prev = 0;
        for (const auto& [b, e] : matches) {
          if (b > prev) out.push_back(piece.substr(prev, b - prev));
          if (e > b) out.push_back(piece.substr(b, e - b));
          prev = e;
        }
        if (prev < piece.size()) out.push_back(piece.substr(prev));
        return;
      }
      break;
    }
    case Kind::split_string: {
      if (!step.literal.empty()) {
        for (size_t at = piece.find(step.literal); at != std::string_view::npos;
             at = piece.find(step.literal, at + step.literal.size()))
          matches.emplace_back(static_cast<uint32_t>(at), static_cast<uint32_t>(at + step.literal.size()));
      }
      break;
    }
    case Kind::digits: {
      // Each numeric character is a match; Isolated when individual_digits, else Contiguous.
      std::vector<Event> ev;
      size_t last = 0;
      for (size_t i = 0; i < piece.size();) {
        char32_t c;
        const size_t n = utf8::decode(piece, i, c);
        if (utf8::is_numeric(c)) {
          if (last < i) ev.push_back({last, i, false});
          ev.push_back({i, i + n, true});
          last = i + n;
        }
        i += n;
      }
      if (last < piece.size()) ev.push_back({last, piece.size(), false});
      split_by_events(piece, ev,
                      step.individual_digits ? SplitBehavior::isolated : SplitBehavior::contiguous, out);
      return;
    }
  }
  std::vector<Event> ev = events_from_matches(piece.size(), matches, step.invert);
  split_by_events(piece, ev, step.behavior, out);
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces,
                         std::deque<std::string>& arena) const {
  if (text.empty()) return;
  std::vector<std::string_view> cur{text}, next;
  for (const Step& step : steps_) {
    next.clear();
    for (const auto piece : cur) apply(step, piece, next, arena);
    cur.swap(next);
  }
  pieces.insert(pieces.end(), cur.begin(), cur.end());
}

}  // namespace r1kit::tokenizer
