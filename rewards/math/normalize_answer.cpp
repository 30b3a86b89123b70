#include "rewards/math/normalize_answer.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/strings.h"

namespace r1kit::rewards::math {
namespace {

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::string out;
  size_t i = 0;
  bool changed = false;
  while (true) {
    size_t p = s.find(from, i);
    if (p == std::string::npos) break;
    out.append(s, i, p - i);
    out.append(to);
    i = p + from.size();
    changed = true;
  }
  if (!changed) return;
  out.append(s, i, std::string::npos);
  s = std::move(out);
}

// Replaces the LaTeX command `cmd` (e.g. "\\left") only where it is not the prefix of a longer command name.
void remove_command(std::string& s, std::string_view cmd, std::string_view with = "") {
  std::string out;
  size_t i = 0;
  while (true) {
    size_t p = s.find(cmd, i);
    if (p == std::string::npos) break;
    size_t e = p + cmd.size();
    out.append(s, i, p - i);
    if (e < s.size() && is_alpha(s[e])) {
      out.append(cmd);
    } else {
      out.append(with);
    }
    i = e;
  }
  out.append(s, i, std::string::npos);
  s = std::move(out);
}

// "\cmd{content}" -> "content" for each wrapper command (balanced braces).
void unwrap_command(std::string& s, std::string_view cmd) {
  std::string needle = std::string(cmd) + "{";
  size_t from = 0;
  for (int guard = 0; guard < 1000; ++guard) {
    size_t p = s.find(needle, from);
    if (p == std::string::npos) return;
    size_t open = p + needle.size() - 1;
    int depth = 0;
    size_t close = std::string::npos;
    for (size_t i = open; i < s.size(); ++i) {
      if (s[i] == '{') ++depth;
      if (s[i] == '}' && --depth == 0) {
        close = i;
        break;
      }
    }
    if (close == std::string::npos) return;
    s = s.substr(0, p) + s.substr(open + 1, close - open - 1) + s.substr(close + 1);
    from = p;
  }
}

// Comma thousands separators: d{1,3}(,ddd)+ not adjacent to other digits/commas/decimal points.
std::string strip_thousands(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    bool start = is_digit(s[i]) && (i == 0 || (!is_digit(s[i - 1]) && s[i - 1] != '.' && s[i - 1] != ','));
    if (!start) {
      out += s[i++];
      continue;
    }
    size_t j = i;
    while (j < s.size() && is_digit(s[j])) ++j;
    size_t lead = j - i;
    size_t k = j, groups = 0;
    auto group_at = [&](size_t at) {
      return at + 3 < s.size() && s[at] == ',' && is_digit(s[at + 1]) && is_digit(s[at + 2]) &&
             is_digit(s[at + 3]) && (at + 4 >= s.size() || !is_digit(s[at + 4]));
    };
    while (lead <= 3 && group_at(k)) {
      k += 4;
      ++groups;
    }
    bool ok = groups > 0 && !(k < s.size() && s[k] == ',' && k + 1 < s.size() && is_digit(s[k + 1]));
    if (ok) {
      for (size_t t = i; t < k; ++t)
        if (s[t] != ',') out += s[t];
      i = k;
    } else {
      out.append(s, i, j - i);
      i = j;
    }
  }
  return out;
}

constexpr std::array<std::string_view, 58> kUnits = {
    "cm",      "mm",      "km",     "meters",  "meter",  "metres",  "metre",   "inches",   "inch",    "feet",
    "foot",    "ft",      "yards",  "yard",    "miles",  "mile",    "mph",     "units",    "unit",    "square",
    "sq",      "cubic",   "degrees", "degree", "deg",    "dollars", "dollar",  "cents",    "cent",    "hours",
    "hour",    "hrs",     "minutes", "minute", "mins",   "seconds", "second",  "sec",      "days",    "day",
    "weeks",   "week",    "years",  "year",    "kg",     "grams",   "gram",    "pounds",   "lbs",     "ounces",
    "oz",      "liters",  "litres", "ml",      "gallons", "cups",   "radians", "percent"};

// Removes trailing unit words (optionally with ^2 / ^3) that follow a number or another unit.
std::string strip_units(std::string s, bool& percent) {
  for (int guard = 0; guard < 4; ++guard) {
    std::string_view t = trim(s);
    // optional ^2 / ^{2} / ^3 after the unit
    size_t end = t.size();
    for (std::string_view pw : {"^{2}", "^{3}", "^2", "^3"})
      if (ends_with(t.substr(0, end), pw)) {
        end -= pw.size();
        break;
      }
    size_t b = end;
    while (b > 0 && is_alpha(t[b - 1])) --b;
    if (b == end || (b > 0 && t[b - 1] == '\\')) break;
    std::string word(t.substr(b, end - b));
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::find(kUnits.begin(), kUnits.end(), word) == kUnits.end()) break;
    std::string_view before = trim(t.substr(0, b));
    if (before.empty() || !(is_digit(before.back()) || before.back() == '}' || before.back() == ')' ||
                            before.back() == '.' || is_alpha(before.back())))
      break;
    if (word == "percent") percent = true;
    s = std::string(before);
  }
  return s;
}

// A whole answer "3\frac{1}{2}" or "-2 \frac{3}{4}" is a mixed number (3½), as in MATH answers: "(3+\frac{1}{2})".
std::string mixed_number(const std::string& s) {
  size_t i = 0;
  std::string sign;
  if (i < s.size() && s[i] == '-') sign = "-", ++i;
  size_t d = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  if (i == d || i - d > 18) return s;
  std::string whole = s.substr(d, i - d);
  while (i < s.size() && s[i] == ' ') ++i;
  if (s.compare(i, 6, "\\frac{") != 0) return s;
  size_t a = i + 6, ae = a;
  while (ae < s.size() && is_digit(s[ae])) ++ae;
  if (ae == a || ae + 1 >= s.size() || s[ae] != '}' || s[ae + 1] != '{') return s;
  size_t b = ae + 2, be = b;
  while (be < s.size() && is_digit(s[be])) ++be;
  if (be == b || be + 1 != s.size() || s[be] != '}') return s;
  return sign + "(" + whole + "+\\frac{" + s.substr(a, ae - a) + "}{" + s.substr(b, be - b) + "})";
}

}  // namespace

NormalizedAnswer normalize_answer(std::string_view answer) {
  NormalizedAnswer out;
  std::string s(trim(answer));
  // display delimiters at both ends
  for (auto [open, close] : {std::pair<std::string_view, std::string_view>{"\\[", "\\]"}, {"\\(", "\\)"}})
    if (starts_with(s, open) && ends_with(s, close) && s.size() >= 4) s = s.substr(2, s.size() - 4);
  replace_all(s, "\\$", "");
  replace_all(s, "$", "");
  replace_all(s, "\\dfrac", "\\frac");
  replace_all(s, "\\tfrac", "\\frac");
  remove_command(s, "\\left");
  remove_command(s, "\\right");
  remove_command(s, "\\bigl");
  remove_command(s, "\\bigr");
  remove_command(s, "\\displaystyle");
  remove_command(s, "\\quad", " ");
  remove_command(s, "\\qquad", " ");
  replace_all(s, "\\!", "");
  replace_all(s, "\\,", "");
  replace_all(s, "\\;", "");
  replace_all(s, "\\:", "");
  replace_all(s, "\\ ", " ");
  replace_all(s, "~", " ");
  for (std::string_view cmd : {"\\text", "\\textbf", "\\textit", "\\textrm", "\\mathrm", "\\mathbf", "\\mbox",
                               "\\mathit", "\\operatorname", "\\boxed"})
    unwrap_command(s, cmd);
  for (std::string_view deg : {"^{\\circ}", "^\\circ", "^{\\degree}", "\\degree", "\\circ", "\xC2\xB0"})
    replace_all(s, deg, "");
  if (s.find('%') != std::string::npos) {
    out.percent = true;
    replace_all(s, "\\%", "");
    replace_all(s, "%", "");
  }
  replace_all(s, "{,}", "");
  replace_all(s, "\\{", "{");
  replace_all(s, "\\}", "}");
  // collapse whitespace
  std::string ws;
  for (char c : s) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space) {
      if (!ws.empty() && ws.back() != ' ') ws += ' ';
    } else {
      ws += c;
    }
  }
  s = std::string(trim(ws));
  while (!s.empty() && s.back() == '.' ) s.pop_back();
  s = strip_thousands(s);
  s = mixed_number(s);
  s = strip_units(s, out.percent);
  out.text = std::string(trim(s));
  return out;
}

std::string canonical_text(std::string_view normalized) {
  std::string out;
  for (char c : normalized) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '\\' || c == '{' || c == '}') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace r1kit::rewards::math
