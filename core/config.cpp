#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/strings.h"

namespace r1kit {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// "SOURCE: " or "" when there is no source name.
std::string source_prefix(const std::string& source) { return source.empty() ? std::string() : source + ": "; }

/// The value as compact JSON, cut to ~60 bytes for messages.
std::string preview(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

/// "a string (\"1e-3\")", "null": what we got, for "expected X, got Y" messages.
std::string describe(const json& v) {
  if (v.is_null()) return "null";
  return json_type_phrase(v) + " (" + preview(v) + ")";
}

[[noreturn]] void type_error(const std::string& where, const std::string& expected, const json& v) {
  throw ConfigError(where + ": expected " + expected + ", got " + describe(v));
}

/// Throws ConfigError unless `v` is a JSON integer literal; a float with an integral value (2.0, 1e3) gets a hint.
void check_integer(const json& v, const std::string& where, const std::string& expected) {
  if (v.is_number_integer()) return;  // signed or unsigned integer literal
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
      throw ConfigError(where + ": expected " + expected + ", got " + preview(v) +
                        " — write it without a decimal point or exponent: " +
                        std::to_string(static_cast<long long>(d)));
    }
  }
  type_error(where, expected, v);
}

/// Where a --set path segment list points, for messages: {"a","b"} -> "a.b"; {} -> "the config root".
std::string dotted(const std::vector<std::string>& segments, size_t count) {
  if (count == 0) return "the config root";
  std::vector<std::string> head(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(count));
  return join(head, ".");
}

/// "$.a.b[0]" -> "a.b.0", the form --set understands.
std::string override_key_for(const std::string& json_path) {
  std::string out;
  for (size_t i = 0; i < json_path.size(); ++i) {
    const char c = json_path[i];
    if (i == 0 && c == '$') continue;
    if (c == '[') {
      if (!out.empty()) out += '.';
      continue;
    }
    if (c == ']' || c == '"') continue;
    if (c == '.' && out.empty()) continue;
    out += c;
  }
  return out;
}

const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

const json& null_json() {
  static const json kNull;
  return kNull;
}

}  // namespace

std::string json_type_phrase(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "a discarded value";
  }
  return "a value";
}

std::string json_path_join(const std::string& parent, std::string_view key) {
  const bool identifier =
      !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
      std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  if (identifier) return parent + "." + std::string(key);
  return parent + "[" + json(std::string(key)).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
}

// --- parsing -----------------------------------------------------------------------------------------------------

json parse_json(std::string_view text, const std::string& source) {
  // Duplicate keys: nlohmann keeps the last one silently; a strict config rejects them. The callback tracks the
  // container stack to name the duplicate by its JSON path.
  struct Frame {
    bool is_array;
    std::string path;
    std::set<std::string> keys;
    std::string key;   // last key seen (objects)
    size_t index = 0;  // next element index (arrays)
  };
  std::vector<Frame> stack;
  auto element_done = [&stack] {
    if (!stack.empty() && stack.back().is_array) ++stack.back().index;
  };
  json::parser_callback_t callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start: {
        std::string path = "$";
        if (!stack.empty()) {
          const Frame& parent = stack.back();
          path = parent.is_array ? parent.path + "[" + std::to_string(parent.index) + "]"
                                 : json_path_join(parent.path, parent.key);
        }
        stack.push_back(Frame{event == json::parse_event_t::array_start, std::move(path), {}, {}, 0});
        break;
      }
      case json::parse_event_t::key: {
        Frame& top = stack.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          throw ConfigError(source_prefix(source) + "duplicate key " + json_path_join(top.path, top.key) +
                            " — a key may appear only once in an object (the later value would silently win); "
                            "remove one of them");
        }
        break;
      }
      case json::parse_event_t::value: element_done(); break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        element_done();
        break;
    }
    return true;
  };

  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based count of bytes read when the error was found: the offending byte is at e.byte - 1.
    const size_t at = std::min(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const size_t line_start = at == 0 ? 0 : text.rfind('\n', at - 1) + 1;  // npos + 1 == 0
    const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
    const size_t column = at - line_start + 1;
    std::string what = e.what();
    const size_t colon = what.find(": ", what.find("column"));
    if (what.find("column") != std::string::npos && colon != std::string::npos) {
      what = what.substr(colon + 2);
    } else if (const size_t bracket = what.find("] "); bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string snippet(text.substr(line_start, std::min<size_t>(line_end - line_start, 160)));
    std::replace(snippet.begin(), snippet.end(), '\t', ' ');
    std::string caret(std::min(column - 1, snippet.size()), ' ');
    throw ConfigError((source.empty() ? std::string("<json>") : source) + ":" + std::to_string(line) + ":" +
                      std::to_string(column) + ": " + what + " — fix the JSON syntax\n    " + snippet + "\n    " +
                      caret + "^");
  } catch (const json::exception& e) {  // e.g. out_of_range 406: a number too large for a double (1e400)
    std::string what = e.what();
    if (const size_t bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    throw ConfigError((source.empty() ? std::string("<json>") : source) + ": " + what + " — fix the value");
  }
}

json load_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw IoError(path.string() + ": file not found — check the path (relative paths are resolved from " +
                  fs::current_path(ec).string() + ")");
  }
  if (fs::is_directory(path, ec)) throw IoError(path.string() + ": is a directory, expected a JSON file");
  return parse_json(read_file(path), path.string());
}

void write_json_atomic(const fs::path& path, const json& value, int indent) {
  write_file_atomic(path, value.dump(indent, ' ', false, json::error_handler_t::replace) + "\n");
}

// --- overrides ---------------------------------------------------------------------------------------------------

void apply_override(json& cfg, std::string_view assignment) {
  auto bad = [&](const std::string& why) -> void {
    throw ConfigError("--set '" + std::string(assignment) + "': " + why);
  };
  const std::string usage = "write --set key.path=value, e.g. --set train.lr=1e-6 or --set rewards.0.weight=0.5";
  const size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) bad("missing '=' — " + usage);
  const std::string key(trim(assignment.substr(0, eq)));
  if (key.empty()) bad("empty key before '=' — " + usage);
  const std::vector<std::string> segments = split(key, '.');
  for (const std::string& s : segments) {
    if (s.empty()) bad("empty name in key '" + key + "' (dots go only between names) — " + usage);
  }
  const std::string_view text = assignment.substr(eq + 1);
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = std::string(text);  // not JSON: a plain string

  if (cfg.is_null()) cfg = json::object();
  json* cur = &cfg;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    const bool last = i + 1 == segments.size();
    json* next = nullptr;
    if (cur->is_object()) {
      if (last) {
        (*cur)[seg] = std::move(value);
        return;
      }
      next = &(*cur)[seg];
      if (next->is_null()) *next = json::object();
    } else if (cur->is_array()) {
      size_t index = 0;
      const auto [end, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), index);
      if (ec != std::errc() || end != seg.data() + seg.size()) {
        bad("'" + dotted(segments, i) + "' is an array, so '" + seg + "' must be an element index (0.." +
            std::to_string(cur->size()) + ")");
      }
      if (index >= cur->size()) {
        bad("'" + dotted(segments, i) + "' has " + std::to_string(cur->size()) + " elements, index " +
            std::to_string(index) + " is out of range — to replace the whole array write --set " +
            dotted(segments, i) + "=[...]");
      }
      if (last) {
        (*cur)[index] = std::move(value);
        return;
      }
      next = &(*cur)[index];
    } else {
      bad("cannot set '" + key + "': '" + dotted(segments, i) + "' is " + json_type_phrase(*cur) +
          ", not an object — set '" + dotted(segments, i) + "' itself, e.g. --set " + dotted(segments, i) +
          "={\"" + seg + "\": ...}");
    }
    cur = next;
  }
}

void apply_overrides(json& cfg, const std::vector<std::string>& assignments) {
  for (const std::string& a : assignments) apply_override(cfg, a);
}

// --- value conversion --------------------------------------------------------------------------------------------

namespace config_detail {

void read_value(const json& v, const std::string& where, bool& out) {
  if (!v.is_boolean()) type_error(where, "true or false", v);
  out = v.get<bool>();
}

void read_value(const json& v, const std::string& where, int64_t& out) {
  check_integer(v, where, "an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    throw ConfigError(where + ": " + preview(v) + " is too large for a 64-bit signed integer");
  }
  out = v.get<int64_t>();
}

void read_value(const json& v, const std::string& where, int& out) {
  int64_t wide = 0;
  check_integer(v, where, "an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int>::max())) {
    throw ConfigError(where + ": " + preview(v) + " is out of range (at most " +
                      std::to_string(std::numeric_limits<int>::max()) + ")");
  }
  wide = v.get<int64_t>();
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
    throw ConfigError(where + ": " + preview(v) + " is out of range (" +
                      std::to_string(std::numeric_limits<int>::min()) + ".." +
                      std::to_string(std::numeric_limits<int>::max()) + ")");
  }
  out = static_cast<int>(wide);
}

void read_value(const json& v, const std::string& where, uint64_t& out) {
  check_integer(v, where, "a non-negative integer");
  if (!v.is_number_unsigned() && v.get<int64_t>() < 0) {
    throw ConfigError(where + ": expected a non-negative integer, got " + preview(v));
  }
  out = v.get<uint64_t>();
}

void read_value(const json& v, const std::string& where, double& out) {
  if (!v.is_number()) type_error(where, "a number", v);
  out = v.get<double>();
}

void read_value(const json& v, const std::string& where, float& out) {
  if (!v.is_number()) type_error(where, "a number", v);
  const double d = v.get<double>();
  if (std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
    throw ConfigError(where + ": " + preview(v) + " is out of range for a 32-bit float");
  }
  out = static_cast<float>(d);
}

void read_value(const json& v, const std::string& where, std::string& out) {
  if (!v.is_string()) type_error(where, "a string", v);
  out = v.get<std::string>();
}

namespace {
template <class T>
void read_array(const json& v, const std::string& where, const std::string& expected, std::vector<T>& out) {
  if (!v.is_array()) type_error(where, expected, v);
  out.clear();
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    T element{};
    read_value(v[i], where + "[" + std::to_string(i) + "]", element);
    out.push_back(std::move(element));
  }
}
}  // namespace

void read_value(const json& v, const std::string& where, std::vector<int64_t>& out) {
  read_array(v, where, "an array of integers", out);
}
void read_value(const json& v, const std::string& where, std::vector<double>& out) {
  read_array(v, where, "an array of numbers", out);
}
void read_value(const json& v, const std::string& where, std::vector<std::string>& out) {
  read_array(v, where, "an array of strings", out);
}
void read_value(const json& v, const std::string& /*where*/, json& out) { out = v; }

}  // namespace config_detail

// --- ConfigReader ------------------------------------------------------------------------------------------------

ConfigReader::ConfigReader(const json& object, std::string json_path, std::string source)
    : state_(std::make_shared<State>()) {
  if (!object.is_object()) {
    throw ConfigError(source_prefix(source) + json_path + ": expected an object, got " + describe(object) +
                      " — write it as {\"key\": value, ...}");
  }
  state_->object = &object;
  state_->path = std::move(json_path);
  state_->source = std::move(source);
}

const json* ConfigReader::lookup(std::string_view key) const {
  State& s = *state_;
  if (s.known.find(key) == s.known.end()) s.known.emplace(key);
  if (s.used.find(key) == s.used.end()) s.used.emplace(key);
  const auto it = s.object->find(key);
  return it == s.object->end() ? nullptr : &*it;
}

std::string ConfigReader::where(std::string_view key) const {
  return source_prefix(state_->source) + path_of(key);
}

void ConfigReader::throw_required(std::string_view key, std::string_view hint) const {
  const std::string fix = hint.empty()
                              ? "add it to the config or pass --set " + override_key_for(path_of(key)) + "=<value>"
                              : std::string(hint);
  throw ConfigError(where(key) + " is required: " + fix);
}

bool ConfigReader::has(std::string_view key) const {
  if (state_->known.find(key) == state_->known.end()) state_->known.emplace(key);
  const auto it = state_->object->find(key);
  return it != state_->object->end() && !it->is_null();
}

std::string ConfigReader::get_choice(std::string_view key, const std::string& default_value,
                                     const std::vector<std::string>& allowed) const {
  const json* v = lookup(key);
  if (v == nullptr || v->is_null()) return default_value;
  if (!v->is_string()) {
    throw ConfigError(where(key) + ": expected one of " + quote_list(allowed) + ", got " + describe(*v));
  }
  const std::string value = v->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    throw ConfigError(where(key) + ": '" + value + "' is not one of " + quote_list(allowed) +
                      did_you_mean(value, allowed));
  }
  return value;
}

ConfigReader ConfigReader::child(std::string_view key) const {
  const json* v = lookup(key);
  auto existing = state_->children.find(key);
  if (existing != state_->children.end()) return ConfigReader(existing->second);
  const json& object = (v == nullptr || v->is_null()) ? empty_object() : *v;
  ConfigReader reader(object, path_of(key), state_->source);  // throws if not an object
  state_->children.emplace(std::string(key), reader.state_);
  return reader;
}

const json& ConfigReader::raw(std::string_view key) const {
  const json* v = lookup(key);
  return v == nullptr ? null_json() : *v;
}

void ConfigReader::ignore(std::string_view key) const { lookup(key); }

void ConfigReader::finish() const {
  const State& s = *state_;
  for (const auto& item : s.object->items()) {
    if (s.used.find(item.key()) != s.used.end()) continue;
    const std::vector<std::string> valid(s.known.begin(), s.known.end());
    std::string message = source_prefix(s.source) + "unknown key " + path_of(item.key());
    const std::string suggestion = did_you_mean(item.key(), valid);
    if (!suggestion.empty()) {
      message += suggestion;
    } else if (!valid.empty()) {
      message += " — valid keys here: " + quote_list(valid) + "; remove it or fix its name";
    } else {
      message += " — this section takes no keys; remove it";
    }
    throw ConfigError(message);
  }
  for (const auto& [name, child_state] : s.children) ConfigReader(child_state).finish();
}

void ConfigReader::fail(std::string_view key, const std::string& message) const {
  throw ConfigError(where(key) + ": " + message);
}

}  // namespace r1kit
