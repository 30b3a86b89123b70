// Python-compatible behaviour of template values. See jinja_value.h.
#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace r1kit::tokenizer::jinja {

Value Value::undefined(std::string hint) {
  Value v;
  v.s = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.type = Type::none;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.type = Type::boolean;
  v.b = x;
  return v;
}
Value Value::integer(int64_t x) {
  Value v;
  v.type = Type::integer;
  v.i = x;
  return v;
}
Value Value::floating(double x) {
  Value v;
  v.type = Type::floating;
  v.d = x;
  return v;
}
Value Value::string(std::string x) {
  Value v;
  v.type = Type::string;
  v.s = std::move(x);
  return v;
}
Value Value::list(std::vector<Value> items) {
  Value v;
  v.type = Type::array;
  v.array = std::make_shared<std::vector<Value>>(std::move(items));
  return v;
}
Value Value::dict() {
  Value v;
  v.type = Type::object;
  v.object = std::make_shared<ObjectData>();
  return v;
}
Value Value::namespace_object() {
  Value v = dict();
  v.object->is_namespace = true;
  return v;
}
Value Value::callable(NativeFunction fn) {
  Value v;
  v.type = Type::function;
  v.function = std::make_shared<NativeFunction>(std::move(fn));
  return v;
}

const Value* ObjectData::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void ObjectData::set(const std::string& key, Value value) {
  for (auto& [k, v] : entries) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

std::string type_name(const Value& v) {
  switch (v.type) {
    case Value::Type::undefined: return "undefined";
    case Value::Type::none: return "NoneType";
    case Value::Type::boolean: return "bool";
    case Value::Type::integer: return "int";
    case Value::Type::floating: return "float";
    case Value::Type::string: return "str";
    case Value::Type::array: return "list";
    case Value::Type::object: return v.object->is_namespace ? "Namespace" : "dict";
    case Value::Type::function: return "function";
  }
  return "?";
}

bool truthy(const Value& v) {
  switch (v.type) {
    case Value::Type::undefined:
    case Value::Type::none: return false;
    case Value::Type::boolean: return v.b;
    case Value::Type::integer: return v.i != 0;
    case Value::Type::floating: return v.d != 0.0;
    case Value::Type::string: return !v.s.empty();
    case Value::Type::array: return !v.array->empty();
    case Value::Type::object: return v.object->is_namespace || !v.object->entries.empty();
    case Value::Type::function: return true;
  }
  return false;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e+02"
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      if (static_cast<int>(digits.size()) <= exponent + 1) {
        out = digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
      }
    } else {
      out = "0." + std::string(-exponent - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += eb;
  }
  return negative ? "-" + out : out;
}

namespace {

std::string repr_string(const std::string& s) {
  bool has_single = s.find('\'') != std::string::npos;
  bool has_double = s.find('"') != std::string::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) { out += '\\'; out += quote; }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      out += b;
    } else out += static_cast<char>(c);
  }
  out += quote;
  return out;
}

void json_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof(b), "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void json_dump(const Value& v, int indent, bool sort_keys, const std::string& item_sep, const std::string& key_sep,
               int level, std::string& out) {
  auto newline = [&](int lvl) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * lvl, ' ');
  };
  switch (v.type) {
    case Value::Type::none: out += "null"; return;
    case Value::Type::boolean: out += v.b ? "true" : "false"; return;
    case Value::Type::integer: out += std::to_string(v.i); return;
    case Value::Type::floating:
      if (std::isnan(v.d)) out += "NaN";
      else if (std::isinf(v.d)) out += v.d > 0 ? "Infinity" : "-Infinity";
      else out += float_repr(v.d);
      return;
    case Value::Type::string: json_string(v.s, out); return;
    case Value::Type::array: {
      if (v.array->empty()) { out += "[]"; return; }
      out += '[';
      bool first = true;
      for (const auto& item : *v.array) {
        if (!first) out += item_sep;
        first = false;
        if (indent >= 0) newline(level + 1);
        json_dump(item, indent, sort_keys, item_sep, key_sep, level + 1, out);
      }
      if (indent >= 0) newline(level);
      out += ']';
      return;
    }
    case Value::Type::object: {
      if (v.object->is_namespace) throw EvalError("Object of type Namespace is not JSON serializable");
      if (v.object->entries.empty()) { out += "{}"; return; }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.object->entries) entries.push_back(&e);
      if (sort_keys)
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      bool first = true;
      for (const auto* e : entries) {
        if (!first) out += item_sep;
        first = false;
        if (indent >= 0) newline(level + 1);
        json_string(e->first, out);
        out += key_sep;
        json_dump(e->second, indent, sort_keys, item_sep, key_sep, level + 1, out);
      }
      if (indent >= 0) newline(level);
      out += '}';
      return;
    }
    case Value::Type::undefined: throw EvalError("Object of type Undefined is not JSON serializable");
    case Value::Type::function: throw EvalError("Object of type function is not JSON serializable");
  }
}

}  // namespace

std::string repr(const Value& v) {
  switch (v.type) {
    case Value::Type::string: return repr_string(v.s);
    case Value::Type::array: {
      std::string out = v.tuple ? "(" : "[";
      for (size_t k = 0; k < v.array->size(); ++k) {
        if (k) out += ", ";
        out += repr((*v.array)[k]);
      }
      if (v.tuple && v.array->size() == 1) out += ",";
      return out + (v.tuple ? ")" : "]");
    }
    case Value::Type::object: {
      if (v.object->is_namespace) return "<Namespace>";
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : v.object->entries) {
        if (!first) out += ", ";
        first = false;
        out += repr_string(k) + ": " + repr(item);
      }
      return out + "}";
    }
    default: return to_str(v);
  }
}

std::string to_str(const Value& v) {
  switch (v.type) {
    case Value::Type::undefined: return "";
    case Value::Type::none: return "None";
    case Value::Type::boolean: return v.b ? "True" : "False";
    case Value::Type::integer: return std::to_string(v.i);
    case Value::Type::floating: return float_repr(v.d);
    case Value::Type::string: return v.s;
    case Value::Type::function: return "<function>";
    default: return repr(v);
  }
}

namespace {
bool numeric(const Value& v, double& out, bool& is_int, int64_t& iout) {
  switch (v.type) {
    case Value::Type::boolean: out = v.b; iout = v.b; is_int = true; return true;
    case Value::Type::integer: out = static_cast<double>(v.i); iout = v.i; is_int = true; return true;
    case Value::Type::floating: out = v.d; is_int = false; return true;
    default: return false;
  }
}
}  // namespace

bool equals(const Value& a, const Value& b) {
  double da = 0, db = 0;
  bool ia = false, ib = false;
  int64_t xa = 0, xb = 0;
  if (numeric(a, da, ia, xa) && numeric(b, db, ib, xb)) return (ia && ib) ? xa == xb : da == db;
  if (a.type != b.type) return false;
  switch (a.type) {
    case Value::Type::undefined:
    case Value::Type::none: return true;
    case Value::Type::string: return a.s == b.s;
    case Value::Type::array: {
      if (a.array->size() != b.array->size()) return false;
      for (size_t k = 0; k < a.array->size(); ++k)
        if (!equals((*a.array)[k], (*b.array)[k])) return false;
      return true;
    }
    case Value::Type::object: {
      if (a.object == b.object) return true;
      if (a.object->is_namespace || b.object->is_namespace) return false;
      if (a.object->entries.size() != b.object->entries.size()) return false;
      for (const auto& [k, item] : a.object->entries) {
        const Value* other = b.object->find(k);
        if (!other || !equals(item, *other)) return false;
      }
      return true;
    }
    case Value::Type::function: return a.function == b.function;
    default: return false;
  }
}

int compare(const Value& a, const Value& b) {
  double da = 0, db = 0;
  bool ia = false, ib = false;
  int64_t xa = 0, xb = 0;
  if (numeric(a, da, ia, xa) && numeric(b, db, ib, xb)) {
    if (ia && ib) return xa < xb ? -1 : (xa > xb ? 1 : 0);
    return da < db ? -1 : (da > db ? 1 : 0);
  }
  if (a.type == Value::Type::string && b.type == Value::Type::string) {
    int c = a.s.compare(b.s);  // UTF-8 byte order == code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.type == Value::Type::array && b.type == Value::Type::array) {
    size_t n = std::min(a.array->size(), b.array->size());
    for (size_t k = 0; k < n; ++k) {
      if (!equals((*a.array)[k], (*b.array)[k])) return compare((*a.array)[k], (*b.array)[k]);
    }
    return a.array->size() < b.array->size() ? -1 : (a.array->size() > b.array->size() ? 1 : 0);
  }
  throw EvalError("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

std::string to_json(const Value& v, int indent, bool sort_keys, const std::string* item_separator,
                    const std::string* key_separator) {
  std::string item_sep = item_separator ? *item_separator : (indent >= 0 ? "," : ", ");
  std::string key_sep = key_separator ? *key_separator : ": ";
  std::string out;
  json_dump(v, indent, sort_keys, item_sep, key_sep, 0, out);
  return out;
}

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t k = 0;
  while (k < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[k]);
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && k + len <= s.size();
    char32_t cp = 0;
    if (ok) {
      cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
      for (int m = 1; m < len && ok; ++m) {
        unsigned char cc = static_cast<unsigned char>(s[k + m]);
        if ((cc & 0xC0) != 0x80) ok = false;
        cp = (cp << 6) | (cc & 0x3F);
      }
    }
    if (!ok) {  // keep undecodable bytes round-trippable (like Python's surrogateescape)
      out.push_back(0xDC00 + c);
      ++k;
      continue;
    }
    out.push_back(cp);
    k += len;
  }
  return out;
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) {
    if (cp >= 0xDC80 && cp <= 0xDCFF) out += static_cast<char>(cp - 0xDC00);
    else if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace r1kit::tokenizer::jinja
