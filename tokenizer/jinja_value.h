// Values of the Jinja subset used by chat templates (internal to the chat-template renderer).
//
// A Value mirrors the Python object a Jinja template would see when transformers renders it: None, bool, int,
// float, str, list, dict (insertion-ordered), a `namespace()` object, a callable (macro, builtin, bound method)
// or Jinja's `Undefined`. Conversions (str(), repr(), json.dumps, ==, <) follow Python's rules because the output
// must equal transformers' `apply_chat_template(..., tokenize=False)` byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1kit::tokenizer::jinja {

struct Value;
struct ObjectData;

/// Arguments of a call: `f(1, 2, key=3)`.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFunction = std::function<Value(CallArgs&)>;

/// Thrown by value operations and builtins when the template does something Python would reject (type error,
/// undefined value used, bad argument). The evaluator adds the template line/column and rethrows as TemplateError.
class EvalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Value {
  enum class Type : uint8_t { undefined, none, boolean, integer, floating, string, array, object, function };

  Type type = Type::undefined;
  bool b = false;
  int64_t i = 0;
  double d = 0.0;
  std::string s;  // string value; for undefined: the name that was looked up (for error messages)
  std::shared_ptr<std::vector<Value>> array;
  std::shared_ptr<ObjectData> object;
  std::shared_ptr<NativeFunction> function;
  bool tuple = false;  // array that Python would hold as a tuple (repr "(a, b)"); JSON still writes a list

  static Value undefined(std::string hint = {});
  static Value none();
  static Value boolean(bool v);
  static Value integer(int64_t v);
  static Value floating(double v);
  static Value string(std::string v);
  static Value list(std::vector<Value> items = {});
  static Value dict();
  static Value namespace_object();
  static Value callable(NativeFunction fn);

  bool is_undefined() const { return type == Type::undefined; }
  bool is_none() const { return type == Type::none; }
  bool is_string() const { return type == Type::string; }
  bool is_array() const { return type == Type::array; }
  bool is_object() const { return type == Type::object; }
  bool is_number() const { return type == Type::integer || type == Type::floating || type == Type::boolean; }
};

/// A dict or a `namespace()`; entries keep insertion order like a Python dict.
struct ObjectData {
  std::vector<std::pair<std::string, Value>> entries;
  bool is_namespace = false;

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

/// Python type name used in error messages: "int", "str", "list", "dict", "NoneType", "undefined", …
std::string type_name(const Value& v);
/// Python truthiness (undefined is false).
bool truthy(const Value& v);
/// Python str(): None -> "None", True -> "True", 1.0 -> "1.0", lists/dicts as repr; undefined -> "".
std::string to_str(const Value& v);
/// Python repr().
std::string repr(const Value& v);
/// Python float repr: shortest round-trip digits, "1.0", "1e+16", "1e-05", "inf", "nan".
std::string float_repr(double d);
/// Python ==.
bool equals(const Value& a, const Value& b);
/// Python <, <=, >, >= via a three-way result; throws EvalError for unorderable types.
int compare(const Value& a, const Value& b);
/// json.dumps(v, ensure_ascii=False, indent=indent (<0: None), separators=default, sort_keys=sort_keys).
std::string to_json(const Value& v, int indent, bool sort_keys,
                    const std::string* item_separator = nullptr, const std::string* key_separator = nullptr);
/// JSON -> Value. Objects keep the JSON object's key order: insertion order for nlohmann::ordered_json, sorted
/// for nlohmann::json.
template <class BasicJson>
Value from_json(const BasicJson& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return Value::integer(static_cast<int64_t>(j.template get<uint64_t>()));
    case nlohmann::json::value_t::number_float: return Value::floating(j.template get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value obj = Value::dict();
      for (auto it = j.begin(); it != j.end(); ++it) obj.object->entries.emplace_back(it.key(), from_json(*it));
      return obj;
    }
    default: return Value::none();
  }
}

// UTF-8 helpers: Python indexes strings by code point.
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
/// Number of code points.
size_t utf8_length(std::string_view s);
/// Python str.isspace() for one code point.
bool is_py_space(char32_t c);

}  // namespace r1kit::tokenizer::jinja
