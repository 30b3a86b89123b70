// Python str methods for the chat-template Jinja subset. See jinja_strings.h.
#include "tokenizer/jinja_strings.h"

#include <algorithm>

#include <utf8proc.h>

namespace r1kit::tokenizer::jinja {

const std::string& need_string(const Value& v, std::string_view what) {
  if (!v.is_string())
    throw EvalError(std::string(what) + " expects a string, got " + type_name(v));
  return v.s;
}

int64_t need_int(const Value& v, std::string_view what) {
  if (v.type == Value::Type::integer) return v.i;
  if (v.type == Value::Type::boolean) return v.b;
  throw EvalError(std::string(what) + " expects an integer, got " + type_name(v));
}

std::string map_case(const std::string& s, bool upper) {
  std::u32string cps = utf8_decode(s);
  for (auto& c : cps) c = static_cast<char32_t>(upper ? utf8proc_toupper(c) : utf8proc_tolower(c));
  return utf8_encode(cps);
}

static bool is_cased_letter(char32_t c) {
  auto cp = static_cast<utf8proc_int32_t>(c);
  return utf8proc_toupper(cp) != cp || utf8proc_tolower(cp) != cp;
}

std::string title_case(const std::string& s) {
  std::u32string cps = utf8_decode(s);
  bool prev_cased = false;
  for (auto& c : cps) {
    bool cased = is_cased_letter(c);
    c = static_cast<char32_t>(cased ? (prev_cased ? utf8proc_tolower(c) : utf8proc_toupper(c)) : c);
    prev_cased = cased;
  }
  return utf8_encode(cps);
}

std::string capitalize(const std::string& s) {
  std::u32string cps = utf8_decode(s);
  for (size_t k = 0; k < cps.size(); ++k)
    cps[k] = static_cast<char32_t>(k == 0 ? utf8proc_toupper(cps[k]) : utf8proc_tolower(cps[k]));
  return utf8_encode(cps);
}

// str.strip / lstrip / rstrip with Python semantics (chars = None -> whitespace).
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  std::u32string cps = utf8_decode(s);
  std::u32string set;
  bool ws = !chars || chars->is_none() || chars->is_undefined();
  if (!ws) set = utf8_decode(need_string(*chars, "strip()"));
  auto strip_it = [&](char32_t c) { return ws ? is_py_space(c) : set.find(c) != std::u32string::npos; };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && strip_it(cps[b])) ++b;
  if (right)
    while (e > b && strip_it(cps[e - 1])) --e;
  return utf8_encode(std::u32string_view(cps).substr(b, e - b));
}

Value py_split(const std::string& s, const Value* sep, const Value* maxsplit_v, bool from_right) {
  int64_t maxsplit = (maxsplit_v && !maxsplit_v->is_none()) ? need_int(*maxsplit_v, "split()") : -1;
  std::vector<Value> parts;
  if (!sep || sep->is_none()) {
    std::u32string cps = utf8_decode(s);
    std::vector<std::u32string> words;
    if (!from_right) {
      size_t k = 0;
      while (k < cps.size()) {
        while (k < cps.size() && is_py_space(cps[k])) ++k;
        if (k >= cps.size()) break;
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) == maxsplit) {
          size_t e = cps.size();
          while (e > k && is_py_space(cps[e - 1])) --e;
          words.push_back(cps.substr(k, e - k));
          break;
        }
        size_t st = k;
        while (k < cps.size() && !is_py_space(cps[k])) ++k;
        words.push_back(cps.substr(st, k - st));
      }
    } else {
      size_t k = cps.size();
      while (k > 0) {
        while (k > 0 && is_py_space(cps[k - 1])) --k;
        if (k == 0) break;
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) == maxsplit) {
          size_t b = 0;
          while (b < k && is_py_space(cps[b])) ++b;
          words.push_back(cps.substr(b, k - b));
          break;
        }
        size_t en = k;
        while (k > 0 && !is_py_space(cps[k - 1])) --k;
        words.push_back(cps.substr(k, en - k));
      }
      std::reverse(words.begin(), words.end());
    }
    for (auto& w : words) parts.push_back(Value::string(utf8_encode(w)));
    return Value::list(std::move(parts));
  }
  const std::string& d = need_string(*sep, "split()");
  if (d.empty()) throw EvalError("empty separator in split()");
  std::vector<std::string> pieces;
  if (!from_right) {
    size_t start = 0;
    while (true) {
      size_t at = s.find(d, start);
      if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(pieces.size()) == maxsplit)) break;
      pieces.push_back(s.substr(start, at - start));
      start = at + d.size();
    }
    pieces.push_back(s.substr(start));
  } else {
    size_t end = s.size();
    while (true) {
      if (maxsplit >= 0 && static_cast<int64_t>(pieces.size()) == maxsplit) break;
      if (end < d.size()) break;
      size_t at = s.rfind(d, end - d.size());
      if (at == std::string::npos) break;
      pieces.push_back(s.substr(at + d.size(), end - at - d.size()));
      end = at;
    }
    pieces.push_back(s.substr(0, end));
    std::reverse(pieces.begin(), pieces.end());
  }
  for (auto& p : pieces) parts.push_back(Value::string(std::move(p)));
  return Value::list(std::move(parts));
}

std::string py_replace(const std::string& s, const std::string& old, const std::string& repl, int64_t count) {
  std::string out;
  if (old.empty()) {  // Python inserts `repl` between every character
    std::u32string cps = utf8_decode(s);
    int64_t done = 0;
    for (size_t k = 0; k <= cps.size(); ++k) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (k < cps.size()) out += utf8_encode(std::u32string(1, cps[k]));
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start);
    out += repl;
    start = at + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_array()) {
    for (const auto& a : *affix.array)
      if (one(need_string(a, prefix ? "startswith()" : "endswith()"))) return true;
    return false;
  }
  return one(need_string(affix, prefix ? "startswith()" : "endswith()"));
}

}  // namespace r1kit::tokenizer::jinja
