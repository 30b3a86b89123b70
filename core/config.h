// Strict JSON configuration: parsing with comments, `--set a.b.c=value` overrides, and ConfigReader, which reads
// a JSON object into C++ structs and rejects wrong types and unknown keys (with "did you mean" suggestions).
//
// Typical use:
//   nlohmann::json cfg = load_json_file(config_path);
//   apply_overrides(cfg, set_args);                       // from repeated --set flags
//   ConfigReader root(cfg, "$", config_path.string());
//   ConfigReader train = root.child("train");
//   double lr = train.get("lr", 1e-6);
//   std::string loss = train.get_choice("loss_type", "dapo", {"grpo", "bnpo", "dr_grpo", "dapo"});
//   root.finish();                                        // unknown key anywhere read so far -> ConfigError
//
// Every error is a ConfigError whose message starts with "SOURCE: $.json.path" (or "SOURCE:LINE:COL" for syntax
// errors) and says how to fix it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit {

/// Parses JSON text; `//` line and `/* */` block comments are allowed. Duplicate keys in one object are rejected.
/// `source` names the text in messages (usually the file path).
/// Throws ConfigError "SOURCE:LINE:COL: <what> — fix the JSON syntax" (LINE and COL 1-based, COL in bytes)
/// followed by the offending line and a caret, or "SOURCE: duplicate key $.a.b ...".
nlohmann::json parse_json(std::string_view text, const std::string& source);

/// Reads and parses a JSON (with comments) file. Throws IoError if it is missing or unreadable, ConfigError on a
/// syntax error (see parse_json).
nlohmann::json load_json_file(const std::filesystem::path& path);

/// Applies one `key.path=VALUE` override (the argument of `--set`) to `cfg` in place.
/// VALUE is parsed as JSON when it is valid JSON (1e-5, true, null, [1,2], {"a":1}, "quoted") and is otherwise
/// taken as a plain string (so `--set model.name=qwen` works without quotes). Missing intermediate objects are
/// created; a null intermediate becomes an object. A numeric segment indexes an existing array
/// (`rewards.0.weight=2`, index < size). Throws ConfigError for a missing '=', an empty key or segment, a path
/// through a non-container value, or an array index that is not a number or out of range.
void apply_override(nlohmann::json& cfg, std::string_view assignment);

/// apply_override for each assignment in order (later ones win).
void apply_overrides(nlohmann::json& cfg, const std::vector<std::string>& assignments);

/// Writes `value` as JSON text (plus a trailing newline) atomically (write_file_atomic). Invalid UTF-8 in strings
/// is replaced by U+FFFD rather than failing. Throws IoError.
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value, int indent = 2);

/// "a number", "an integer", "a string", "a boolean", "an array", "an object", "null": for error messages.
std::string json_type_phrase(const nlohmann::json& value);

/// JSON path of `key` inside the object at `parent`: ("$", "lr") -> "$.lr"; keys that are not identifiers are
/// bracketed: ("$.rewards", "a b") -> "$.rewards[\"a b\"]".
std::string json_path_join(const std::string& parent, std::string_view key);

// --- value conversion used by ConfigReader (one overload per supported C++ type) ---------------------------------
// Each throws ConfigError "<where>: expected ..., got ..." on a type mismatch. `where` is "SOURCE: $.path".
namespace config_detail {
void read_value(const nlohmann::json& v, const std::string& where, bool& out);
void read_value(const nlohmann::json& v, const std::string& where, int& out);              // integers only, range-checked
void read_value(const nlohmann::json& v, const std::string& where, int64_t& out);          // integers only
void read_value(const nlohmann::json& v, const std::string& where, uint64_t& out);         // integers >= 0
void read_value(const nlohmann::json& v, const std::string& where, double& out);           // any number
void read_value(const nlohmann::json& v, const std::string& where, float& out);            // any number
void read_value(const nlohmann::json& v, const std::string& where, std::string& out);
void read_value(const nlohmann::json& v, const std::string& where, std::vector<int64_t>& out);
void read_value(const nlohmann::json& v, const std::string& where, std::vector<double>& out);
void read_value(const nlohmann::json& v, const std::string& where, std::vector<std::string>& out);
void read_value(const nlohmann::json& v, const std::string& where, nlohmann::json& out);   // anything, copied
}  // namespace config_detail

/// Strict reader over one JSON object. Records which keys the code asked about and which it read, so that
/// finish() can reject keys nobody reads (typos) and suggest the intended one.
///
/// A `null` value counts as "not set": get() returns the default, get_optional() returns nullopt (the key still
/// counts as read). The reader keeps a pointer into the json it was built from: that json must outlive it.
/// Copies of a reader share their bookkeeping.
class ConfigReader {
 public:
  /// Throws ConfigError "SOURCE: $.path: expected an object, got ..." if `object` is not an object.
  explicit ConfigReader(const nlohmann::json& object, std::string json_path = "$", std::string source = "");

  /// True when `key` is present and not null. Registers `key` as a valid key (for suggestions) but does not
  /// mark it read.
  bool has(std::string_view key) const;

  /// Value of `key` converted to T, or `default_value` when absent or null. Marks `key` read.
  /// T: bool, int, int64_t, uint64_t, double, float, std::string, std::vector<int64_t>, std::vector<double>,
  /// std::vector<std::string>, nlohmann::json. T is deduced from the default, so write get("beta", 0.0) for a
  /// double (get("beta", 0) reads an int and rejects 0.04). Throws ConfigError on a type mismatch (message names
  /// the path and shows the offending value).
  template <class T>
  T get(std::string_view key, T default_value) const {
    const nlohmann::json* v = lookup(key);
    if (v == nullptr || v->is_null()) return default_value;
    T out;
    config_detail::read_value(*v, where(key), out);
    return out;
  }
  /// Overload so that string literals give std::string: get("name", "x").
  std::string get(std::string_view key, const char* default_value) const {
    return get<std::string>(key, std::string(default_value));
  }

  /// Like get() without a default: absent or null throws ConfigError "SOURCE: $.a.b is required: <hint>".
  /// With an empty `hint` the message suggests adding the key or passing `--set a.b=<value>`.
  template <class T>
  T require(std::string_view key, std::string_view hint = {}) const {
    const nlohmann::json* v = lookup(key);
    if (v == nullptr || v->is_null()) throw_required(key, hint);
    T out;
    config_detail::read_value(*v, where(key), out);
    return out;
  }

  /// The value converted to T, or nullopt when absent or null. Marks `key` read.
  template <class T>
  std::optional<T> get_optional(std::string_view key) const {
    const nlohmann::json* v = lookup(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    T out;
    config_detail::read_value(*v, where(key), out);
    return out;
  }

  /// A string that must be one of `allowed` (default when absent or null). Throws ConfigError
  /// "SOURCE: $.a.b: 'dapoo' is not one of 'grpo', 'dapo' — did you mean 'dapo'?".
  std::string get_choice(std::string_view key, const std::string& default_value,
                         const std::vector<std::string>& allowed) const;

  /// Reader for the object at `key`; absent or null gives an empty object (all defaults). Marks `key` read.
  /// finish() on this reader also checks every child obtained through child(). Throws ConfigError if the value
  /// is not an object.
  ConfigReader child(std::string_view key) const;

  /// The raw value at `key` (a null json when absent). Marks `key` read, with everything below it: use this to
  /// hand a sub-tree to code that validates it itself (e.g. rewarder args).
  const nlohmann::json& raw(std::string_view key) const;

  /// Marks `key` as read without reading it (a key accepted for compatibility and ignored).
  void ignore(std::string_view key) const;

  /// Throws ConfigError for the first (alphabetical) key of this object that was never read, then recursively
  /// for every child(): "SOURCE: unknown key $.model.lrr — did you mean 'lr'?" when a key the code asked about
  /// is close, else the message lists the valid keys.
  void finish() const;

  /// Throws ConfigError "SOURCE: $.path.key: <message>": for range checks done by the caller, e.g.
  /// `if (lr <= 0) r.fail("lr", "must be > 0, got " + std::to_string(lr));`.
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;

  /// JSON path of this object ("$", "$.train", ...), of `key` inside it, and the source name.
  const std::string& path() const { return state_->path; }
  std::string path_of(std::string_view key) const { return json_path_join(state_->path, key); }
  const std::string& source() const { return state_->source; }
  /// The object this reader reads.
  const nlohmann::json& object() const { return *state_->object; }

 private:
  struct State {
    const nlohmann::json* object = nullptr;
    std::string path, source;
    std::set<std::string, std::less<>> known;  // keys the code asked about (valid names)
    std::set<std::string, std::less<>> used;   // keys read (or ignored)
    std::map<std::string, std::shared_ptr<State>, std::less<>> children;
  };
  explicit ConfigReader(std::shared_ptr<State> state) : state_(std::move(state)) {}

  /// Registers `key` as known and read; returns the value or nullptr when absent.
  const nlohmann::json* lookup(std::string_view key) const;
  /// "SOURCE: $.path.key" (or "$.path.key" without a source).
  std::string where(std::string_view key) const;
  [[noreturn]] void throw_required(std::string_view key, std::string_view hint) const;

  std::shared_ptr<State> state_;
};

}  // namespace r1kit
