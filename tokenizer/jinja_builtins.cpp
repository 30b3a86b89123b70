// Filters, tests, globals and methods of the chat-template Jinja subset. See jinja_builtins.h.
#include "tokenizer/jinja_builtins.h"

#include "tokenizer/jinja_strings.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include <utf8proc.h>

namespace r1kit::tokenizer::jinja {
namespace {

const Value* arg(CallArgs& a, size_t index, std::string_view name) {
  for (auto& [k, v] : a.keyword)
    if (k == name) return &v;
  return index < a.positional.size() ? &a.positional[index] : nullptr;
}

Value get_attribute(const Value& v, const std::string& attr) {
  if (v.is_object()) {
    const Value* found = v.object->find(attr);
    if (found) return *found;
  }
  return Value::undefined("'" + type_name(v) + " object' has no attribute '" + attr + "'");
}

Value items_of(const Value& v) {
  if (v.is_undefined()) return Value::list();
  if (!v.is_object() || v.object->is_namespace) throw EvalError("items() needs a dict, got " + type_name(v));
  std::vector<Value> out;
  for (const auto& [k, item] : v.object->entries) {
    out.push_back(Value::list({Value::string(k), item}));
    out.back().tuple = true;
  }
  return Value::list(std::move(out));
}

int64_t py_length(const Value& v) {
  switch (v.type) {
    case Value::Type::undefined: return 0;
    case Value::Type::string: return static_cast<int64_t>(utf8_length(v.s));
    case Value::Type::array: return static_cast<int64_t>(v.array->size());
    case Value::Type::object:
      if (!v.object->is_namespace) return static_cast<int64_t>(v.object->entries.size());
      break;
    default: break;
  }
  throw EvalError("object of type '" + type_name(v) + "' has no len()");
}

// select/reject/selectattr/rejectattr: args[first_test_arg] is the test name (default: truthiness).
Value select_items(const Value& seq, CallArgs& args, bool by_attribute, bool keep) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw EvalError("selectattr/rejectattr need an attribute name");
    attribute = need_string(args.positional[0], "selectattr()");
    next = 1;
  }
  std::string test;
  CallArgs test_args;
  if (next < args.positional.size()) {
    test = need_string(args.positional[next], "select test name");
    if (!is_known_test(test)) throw EvalError("unsupported test '" + test + "'");
    test_args.positional.assign(args.positional.begin() + static_cast<long>(next) + 1, args.positional.end());
  }
  std::vector<Value> out;
  for (const Value& item : iterate(seq, "select")) {
    Value subject = by_attribute ? get_attribute(item, attribute) : item;
    bool pass = test.empty() ? truthy(subject) : apply_test(test, subject, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

const std::set<std::string, std::less<>>& filter_names() {
  static const std::set<std::string, std::less<>> names = {
      "abs",  "capitalize", "count", "d",     "default", "first",   "float",   "indent", "int",     "items",
      "join", "last",       "length", "list", "lower",   "map",     "reject",  "rejectattr", "replace", "reverse",
      "safe", "select",     "selectattr", "sort", "string", "title", "tojson",  "trim",   "unique",  "upper"};
  return names;
}

const std::set<std::string, std::less<>>& test_names() {
  static const std::set<std::string, std::less<>> names = {
      "defined", "undefined", "none",  "string", "number",   "integer",  "float", "boolean", "true",
      "false",   "mapping",   "iterable", "sequence", "callable", "odd", "even",  "divisibleby", "eq",
      "equalto", "==",        "ne",    "!=",     "lt",       "lessthan", "<",     "le",      "<=",
      "gt",      "greaterthan", ">",   "ge",     ">=",       "in",       "lower", "upper",   "sameas"};
  return names;
}

}  // namespace

// Items of an iterable, as Jinja's for loop sees them (dict -> keys, str -> characters, undefined -> none).
std::vector<Value> iterate(const Value& v, std::string_view what) {
  switch (v.type) {
    case Value::Type::array: return *v.array;
    case Value::Type::undefined: return {};
    case Value::Type::string: {
      std::vector<Value> out;
      for (char32_t c : utf8_decode(v.s)) out.push_back(Value::string(utf8_encode(std::u32string(1, c))));
      return out;
    }
    case Value::Type::object: {
      if (v.object->is_namespace) break;
      std::vector<Value> out;
      for (const auto& e : v.object->entries) out.push_back(Value::string(e.first));
      return out;
    }
    default: break;
  }
  throw EvalError(std::string(what) + ": '" + type_name(v) + "' object is not iterable");
}


bool is_known_filter(std::string_view name) { return filter_names().count(name) > 0; }
bool is_known_test(std::string_view name) { return test_names().count(name) > 0; }

Value slice_value(const Value& v, const Value* start_v, const Value* stop_v, const Value* step_v) {
  auto opt = [](const Value* x) { return x && !x->is_none() && !x->is_undefined(); };
  int64_t step = opt(step_v) ? need_int(*step_v, "slice step") : 1;
  if (step == 0) throw EvalError("slice step cannot be zero");
  std::u32string cps;
  int64_t n;
  if (v.is_string()) {
    cps = utf8_decode(v.s);
    n = static_cast<int64_t>(cps.size());
  } else if (v.is_array()) {
    n = static_cast<int64_t>(v.array->size());
  } else {
    throw EvalError("'" + type_name(v) + "' object is not subscriptable");
  }
  auto clamp = [&](const Value* x, int64_t dflt) {
    if (!opt(x)) return dflt;
    int64_t k = need_int(*x, "slice index");
    if (k < 0) k += n;
    if (step > 0) return std::clamp<int64_t>(k, 0, n);
    return std::clamp<int64_t>(k, -1, n - 1);
  };
  int64_t start = clamp(start_v, step > 0 ? 0 : n - 1);
  int64_t stop = clamp(stop_v, step > 0 ? n : -1);
  std::vector<Value> items;
  std::u32string chars;
  for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
    if (v.is_string()) chars.push_back(cps[static_cast<size_t>(k)]);
    else items.push_back((*v.array)[static_cast<size_t>(k)]);
  }
  return v.is_string() ? Value::string(utf8_encode(chars)) : Value::list(std::move(items));
}

Value apply_filter(std::string_view name, const Value& value, CallArgs& args) {
  if (name == "trim") return Value::string(py_strip(to_str(value), arg(args, 0, "chars"), true, true));
  if (name == "length" || name == "count") return Value::integer(py_length(value));
  if (name == "string") return value.is_string() ? value : Value::string(to_str(value));
  if (name == "upper") return Value::string(map_case(to_str(value), true));
  if (name == "lower") return Value::string(map_case(to_str(value), false));
  if (name == "title") return Value::string(title_case(to_str(value)));
  if (name == "capitalize") return Value::string(capitalize(to_str(value)));
  if (name == "safe") return value;
  if (name == "tojson") {
    const Value* ensure_ascii = arg(args, 0, "ensure_ascii");
    if (ensure_ascii && truthy(*ensure_ascii)) throw EvalError("tojson(ensure_ascii=true) is not supported");
    const Value* indent = arg(args, 1, "indent");
    const Value* separators = arg(args, 2, "separators");
    const Value* sort_keys = arg(args, 3, "sort_keys");
    int ind = (indent && !indent->is_none()) ? static_cast<int>(need_int(*indent, "tojson indent")) : -1;
    std::string item_sep, key_sep;
    bool custom = separators && separators->is_array();
    if (custom) {
      if (separators->array->size() != 2) throw EvalError("tojson separators must be a pair of strings");
      item_sep = need_string((*separators->array)[0], "tojson separators");
      key_sep = need_string((*separators->array)[1], "tojson separators");
    }
    return Value::string(to_json(value, ind, sort_keys && truthy(*sort_keys), custom ? &item_sep : nullptr,
                                 custom ? &key_sep : nullptr));
  }
  if (name == "replace") {
    if (args.positional.size() < 2) throw EvalError("replace needs (old, new)");
    const Value* count = arg(args, 2, "count");
    return Value::string(py_replace(to_str(value), need_string(args.positional[0], "replace()"),
                                    need_string(args.positional[1], "replace()"),
                                    (count && !count->is_none()) ? need_int(*count, "replace count") : -1));
  }
  if (name == "default" || name == "d") {
    const Value* dflt = arg(args, 0, "default_value");
    const Value* boolean = arg(args, 1, "boolean");
    bool use_default = value.is_undefined() || (boolean && truthy(*boolean) && !truthy(value));
    if (!use_default) return value;
    return dflt ? *dflt : Value::string("");
  }
  if (name == "first" || name == "last") {
    std::vector<Value> items = iterate(value, name == "first" ? "first" : "last");
    if (items.empty()) return Value::undefined("No " + std::string(name) + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    const Value* sep = arg(args, 0, "d");
    const Value* attribute = arg(args, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(value, "join")) {
      if (!first) out += sep ? to_str(*sep) : "";
      first = false;
      out += to_str(attribute ? get_attribute(item, need_string(*attribute, "join attribute")) : item);
    }
    return Value::string(out);
  }
  if (name == "items") return items_of(value);
  if (name == "list") return Value::list(iterate(value, "list"));
  if (name == "reverse") {
    if (value.is_string()) {
      std::u32string cps = utf8_decode(value.s);
      std::reverse(cps.begin(), cps.end());
      return Value::string(utf8_encode(cps));
    }
    std::vector<Value> items = iterate(value, "reverse");
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "unique") {
    std::vector<Value> out;
    for (const Value& item : iterate(value, "unique")) {
      bool seen = false;
      for (const Value& o : out) seen = seen || equals(o, item);
      if (!seen) out.push_back(item);
    }
    return Value::list(std::move(out));
  }
  if (name == "sort") {
    const Value* reverse = arg(args, 0, "reverse");
    const Value* case_sensitive = arg(args, 1, "case_sensitive");
    const Value* attribute = arg(args, 2, "attribute");
    bool cs = case_sensitive && truthy(*case_sensitive);
    std::vector<Value> items = iterate(value, "sort");
    auto key = [&](const Value& v) {
      Value k = attribute ? get_attribute(v, need_string(*attribute, "sort attribute")) : v;
      if (!cs && k.is_string()) k.s = map_case(k.s, false);
      return k;
    };
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      return compare(key(a), key(b)) < 0;
    });
    if (reverse && truthy(*reverse)) std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "select" || name == "reject") return select_items(value, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return select_items(value, args, true, name == "selectattr");
  if (name == "map") {
    const Value* attribute = arg(args, 99, "attribute");
    std::vector<Value> out;
    if (attribute) {
      const Value* dflt = arg(args, 99, "default");
      for (const Value& item : iterate(value, "map")) {
        Value v = get_attribute(item, need_string(*attribute, "map attribute"));
        out.push_back(v.is_undefined() && dflt ? *dflt : v);
      }
    } else {
      if (args.positional.empty()) throw EvalError("map needs a filter name or attribute=");
      std::string filter = need_string(args.positional[0], "map filter name");
      if (!is_known_filter(filter) || filter == "map") throw EvalError("unsupported filter '" + filter + "' in map");
      CallArgs rest;
      rest.positional.assign(args.positional.begin() + 1, args.positional.end());
      rest.keyword = args.keyword;
      for (const Value& item : iterate(value, "map")) out.push_back(apply_filter(filter, item, rest));
    }
    return Value::list(std::move(out));
  }
  if (name == "int") {
    const Value* dflt = arg(args, 0, "default");
    Value fallback = dflt ? *dflt : Value::integer(0);
    switch (value.type) {
      case Value::Type::integer: return value;
      case Value::Type::boolean: return Value::integer(value.b);
      case Value::Type::floating: return std::isfinite(value.d) ? Value::integer(static_cast<int64_t>(value.d)) : fallback;
      case Value::Type::string:
        try {
          size_t used = 0;
          std::string t = py_strip(value.s, nullptr, true, true);
          int64_t r = std::stoll(t, &used);
          if (used == t.size()) return Value::integer(r);
          double dv = std::stod(t, &used);
          if (used == t.size()) return Value::integer(static_cast<int64_t>(dv));
        } catch (const std::exception&) {
        }
        return fallback;
      default: return fallback;
    }
  }
  if (name == "float") {
    const Value* dflt = arg(args, 0, "default");
    Value fallback = dflt ? *dflt : Value::floating(0.0);
    switch (value.type) {
      case Value::Type::floating: return value;
      case Value::Type::integer: return Value::floating(static_cast<double>(value.i));
      case Value::Type::boolean: return Value::floating(value.b);
      case Value::Type::string:
        try {
          size_t used = 0;
          std::string t = py_strip(value.s, nullptr, true, true);
          double r = std::stod(t, &used);
          if (used == t.size()) return Value::floating(r);
        } catch (const std::exception&) {
        }
        return fallback;
      default: return fallback;
    }
  }
  if (name == "abs") {
    if (value.type == Value::Type::integer) return Value::integer(value.i < 0 ? -value.i : value.i);
    if (value.type == Value::Type::boolean) return Value::integer(value.b);
    if (value.type == Value::Type::floating) return Value::floating(std::fabs(value.d));
    throw EvalError("bad operand type for abs(): '" + type_name(value) + "'");
  }
  if (name == "indent") {
    const Value* width = arg(args, 0, "width");
    const Value* first = arg(args, 1, "first");
    const Value* blank = arg(args, 2, "blank");
    std::string pad = width ? (width->is_string() ? width->s : std::string(need_int(*width, "indent width"), ' '))
                            : std::string(4, ' ');
    std::string s = to_str(value) + "\n";
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t k = 0; k < s.size(); ++k) {
      if (s[k] == '\n') {
        lines.push_back(s.substr(start, k - start));
        start = k + 1;
      }
    }
    std::string rv = lines.empty() ? "" : lines[0];
    for (size_t k = 1; k < lines.size(); ++k) {
      rv += "\n";
      if (!lines[k].empty() || (blank && truthy(*blank))) rv += pad;
      rv += lines[k];
    }
    if (first && truthy(*first)) rv = pad + rv;
    return Value::string(rv);
  }
  throw EvalError("unsupported filter '" + std::string(name) + "'");
}

bool apply_test(std::string_view name, const Value& v, CallArgs& args) {
  using T = Value::Type;
  auto other = [&]() -> const Value& {
    if (args.positional.empty()) throw EvalError("test '" + std::string(name) + "' needs an argument");
    return args.positional[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.type == T::integer || v.type == T::floating || v.type == T::boolean;
  if (name == "integer") return v.type == T::integer;
  if (name == "float") return v.type == T::floating;
  if (name == "boolean") return v.type == T::boolean;
  if (name == "true") return v.type == T::boolean && v.b;
  if (name == "false") return v.type == T::boolean && !v.b;
  if (name == "mapping") return v.is_object() && !v.object->is_namespace;
  if (name == "iterable") return v.is_string() || v.is_array() || v.is_undefined() || (v.is_object() && !v.object->is_namespace);
  if (name == "sequence") return v.is_string() || v.is_array() || (v.is_object() && !v.object->is_namespace);
  if (name == "callable") return v.type == T::function;
  if (name == "odd" || name == "even") {
    int64_t k = need_int(v, "odd/even test");
    return ((k % 2) != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    int64_t d = need_int(other(), "divisibleby");
    if (d == 0) throw EvalError("divisibleby 0");
    return need_int(v, "divisibleby") % d == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equals(v, other());
  if (name == "ne" || name == "!=") return !equals(v, other());
  if (name == "lt" || name == "lessthan" || name == "<") return compare(v, other()) < 0;
  if (name == "le" || name == "<=") return compare(v, other()) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare(v, other()) > 0;
  if (name == "ge" || name == ">=") return compare(v, other()) >= 0;
  if (name == "in") {
    const Value& container = other();
    if (container.is_string()) return v.is_string() && container.s.find(v.s) != std::string::npos;
    for (const Value& item : iterate(container, "in test"))
      if (equals(item, v)) return true;
    return false;
  }
  if (name == "lower") return v.is_string() && map_case(v.s, false) == v.s;
  if (name == "upper") return v.is_string() && map_case(v.s, true) == v.s;
  if (name == "sameas") {
    const Value& o = other();
    if (v.type != o.type) return false;
    if (v.is_none() || v.is_undefined()) return true;
    if (v.type == T::boolean) return v.b == o.b;
    if (v.is_array()) return v.array == o.array;
    if (v.is_object()) return v.object == o.object;
    return false;
  }
  throw EvalError("unsupported test '" + std::string(name) + "'");
}

Value call_method(const Value& obj, const std::string& name, CallArgs& args) {
  if (obj.is_string()) {
    const std::string& s = obj.s;
    if (name == "strip") return Value::string(py_strip(s, arg(args, 0, "chars"), true, true));
    if (name == "lstrip") return Value::string(py_strip(s, arg(args, 0, "chars"), true, false));
    if (name == "rstrip") return Value::string(py_strip(s, arg(args, 0, "chars"), false, true));
    if (name == "split") return py_split(s, arg(args, 0, "sep"), arg(args, 1, "maxsplit"), false);
    if (name == "rsplit") return py_split(s, arg(args, 0, "sep"), arg(args, 1, "maxsplit"), true);
    if (name == "startswith" || name == "endswith") {
      const Value* a = arg(args, 0, "prefix");
      if (!a) throw EvalError(name + "() needs an argument");
      return Value::boolean(affix_match(s, *a, name == "startswith"));
    }
    if (name == "replace") {
      if (args.positional.size() < 2) throw EvalError("replace() needs (old, new)");
      const Value* count = arg(args, 2, "count");
      return Value::string(py_replace(s, need_string(args.positional[0], "replace()"),
                                      need_string(args.positional[1], "replace()"),
                                      count ? need_int(*count, "replace count") : -1));
    }
    if (name == "upper" || name == "lower") return Value::string(map_case(s, name == "upper"));
    if (name == "title") return Value::string(title_case(s));
    if (name == "capitalize") return Value::string(capitalize(s));
    if (name == "find" || name == "rfind" || name == "count") {
      const Value* a = arg(args, 0, "sub");
      if (!a) throw EvalError(name + "() needs an argument");
      const std::string& sub = need_string(*a, name + "()");
      if (name == "count") {
        if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s)) + 1);
        int64_t n = 0;
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
        return Value::integer(n);
      }
      size_t at = name == "find" ? s.find(sub) : s.rfind(sub);
      return Value::integer(at == std::string::npos ? -1 : static_cast<int64_t>(utf8_length(s.substr(0, at))));
    }
    if (name == "join") {
      if (args.positional.empty()) throw EvalError("join() needs an iterable");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(args.positional[0], "join()")) {
        if (!first) out += s;
        first = false;
        out += need_string(item, "str.join() item");
      }
      return Value::string(out);
    }
    if (name == "splitlines") {
      std::vector<Value> out;
      size_t start = 0;
      for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] == '\n' || s[k] == '\r') {
          out.push_back(Value::string(s.substr(start, k - start)));
          if (s[k] == '\r' && k + 1 < s.size() && s[k + 1] == '\n') ++k;
          start = k + 1;
        }
      }
      if (start < s.size()) out.push_back(Value::string(s.substr(start)));
      return Value::list(std::move(out));
    }
    if (name == "isdigit" || name == "isspace" || name == "isalpha" || name == "isalnum") {
      std::u32string cps = utf8_decode(s);
      if (cps.empty()) return Value::boolean(false);
      for (char32_t c : cps) {
        auto cat = utf8proc_category(c);
        bool alpha = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        bool digit = cat == UTF8PROC_CATEGORY_ND;
        bool ok = name == "isdigit" ? digit : name == "isspace" ? is_py_space(c) : name == "isalpha" ? alpha
                                                                                                    : (alpha || digit);
        if (!ok) return Value::boolean(false);
      }
      return Value::boolean(true);
    }
  } else if (obj.is_object() && !obj.object->is_namespace) {
    if (name == "items") return items_of(obj);
    if (name == "keys" || name == "values") {
      std::vector<Value> out;
      for (const auto& [k, v] : obj.object->entries) out.push_back(name == "keys" ? Value::string(k) : v);
      return Value::list(std::move(out));
    }
    if (name == "get") {
      const Value* key = arg(args, 0, "key");
      const Value* dflt = arg(args, 1, "default");
      if (!key) throw EvalError("get() needs a key");
      const Value* found = key->is_string() ? obj.object->find(key->s) : nullptr;
      return found ? *found : (dflt ? *dflt : Value::none());
    }
  }
  static const std::set<std::string> mutators = {"append", "extend", "insert", "pop", "remove", "clear",
                                                 "update", "setdefault", "popitem", "sort", "reverse"};
  if (mutators.count(name))
    throw EvalError("method '" + name + "' mutates a " + type_name(obj) +
                    ", which chat templates may not do (transformers renders in an immutable sandbox)");
  throw EvalError("unsupported method '" + name + "' on a " + type_name(obj) + " value");
}

Value global_function(std::string_view name) {
  if (name == "range") {
    return Value::callable([](CallArgs& a) {
      if (a.positional.empty() || a.positional.size() > 3) throw EvalError("range() takes 1 to 3 arguments");
      int64_t start = 0, stop, step = 1;
      if (a.positional.size() == 1) {
        stop = need_int(a.positional[0], "range()");
      } else {
        start = need_int(a.positional[0], "range()");
        stop = need_int(a.positional[1], "range()");
        if (a.positional.size() == 3) step = need_int(a.positional[2], "range()");
      }
      if (step == 0) throw EvalError("range() arg 3 must not be zero");
      std::vector<Value> out;
      for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
        if (out.size() >= 100000) throw EvalError("range too big (sandbox limit 100000)");
        out.push_back(Value::integer(k));
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "namespace" || name == "dict") {
    bool ns = name == "namespace";
    return Value::callable([ns](CallArgs& a) {
      Value obj = ns ? Value::namespace_object() : Value::dict();
      for (const Value& p : a.positional) {
        if (!p.is_object()) throw EvalError("namespace()/dict() positional argument must be a dict");
        for (const auto& [k, v] : p.object->entries) obj.object->set(k, v);
      }
      for (const auto& [k, v] : a.keyword) obj.object->set(k, v);
      return obj;
    });
  }
  if (name == "raise_exception") {
    return Value::callable([](CallArgs& a) -> Value {
      throw RaisedException(a.positional.empty() ? std::string() : to_str(a.positional[0]));
    });
  }
  if (name == "strftime_now") {
    return Value::callable([](CallArgs& a) {
      if (a.positional.empty()) throw EvalError("strftime_now() needs a format");
      std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char buf[256];
      size_t n = std::strftime(buf, sizeof(buf), need_string(a.positional[0], "strftime_now()").c_str(), &local);
      return Value::string(std::string(buf, n));
    });
  }
  return Value::undefined("'" + std::string(name) + "' is undefined");
}

}  // namespace r1kit::tokenizer::jinja
