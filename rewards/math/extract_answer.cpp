#include "rewards/math/extract_answer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/strings.h"

namespace r1kit::rewards::math {
namespace {

// Last position of `needle` in `hay`, case-insensitive (ASCII); npos if none. Linear in |hay|·|needle|.
size_t rfind_icase(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (size_t i = hay.size() - needle.size() + 1; i-- > 0;) {
    size_t j = 0;
    while (j < needle.size() &&
           std::tolower(static_cast<unsigned char>(hay[i + j])) == std::tolower(static_cast<unsigned char>(needle[j])))
      ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

std::string_view rest_of_line(std::string_view text, size_t from) {
  size_t end = text.find('\n', from);
  return text.substr(from, end == std::string_view::npos ? std::string_view::npos : end - from);
}

// Strips a trailing sentence period ("42." -> "42") but not a decimal point's digits.
std::string clean_tail(std::string_view s) {
  s = trim(s);
  while (!s.empty() && (s.back() == '.' || s.back() == ',' || s.back() == ';' || s.back() == '!')) s.remove_suffix(1);
  return std::string(trim(s));
}

// Content of the balanced {...} group starting at text[open] == '{'; nullopt if unbalanced.
std::optional<std::string_view> brace_group(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '{' || text[i + 1] == '}')) {
      ++i;  // escaped brace: literal
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}' && --depth == 0) return text.substr(open + 1, i - open - 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> last_boxed(std::string_view text) {
  size_t best = std::string_view::npos, best_len = 0;
  for (std::string_view cmd : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    size_t p = text.rfind(cmd);
    if (p != std::string_view::npos && (best == std::string_view::npos || p > best)) {
      best = p;
      best_len = cmd.size();
    }
  }
  if (best == std::string_view::npos) return std::nullopt;
  size_t i = best + best_len;
  while (i < text.size() && text[i] == ' ') ++i;
  if (i < text.size() && text[i] == '{') return brace_group(text, i);
  // "\boxed 5": one token up to whitespace or '$'.
  size_t j = i;
  while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != '$') ++j;
  if (j == i || best_len == 0) return std::nullopt;
  return text.substr(i, j - i);
}

std::optional<std::string> extract_answer(std::string_view text) {
  // An <answer> block after the last \boxed (e.g. a boxed guess inside <think>) is the final answer.
  size_t close = text.rfind("</answer>");
  size_t open = close == std::string_view::npos ? close : text.rfind("<answer>", close);
  size_t boxed_at = std::max(text.rfind("\\boxed") == std::string_view::npos ? 0 : text.rfind("\\boxed") + 1,
                             text.rfind("\\fbox") == std::string_view::npos ? 0 : text.rfind("\\fbox") + 1);
  bool answer_block = open != std::string_view::npos;
  if (!answer_block || boxed_at == 0 || boxed_at - 1 > open) {
    if (auto boxed = last_boxed(text)) return std::string(trim(*boxed));
  }
  if (answer_block) return std::string(trim(text.substr(open + 8, close - open - 8)));
  if (size_t p = text.rfind("####"); p != std::string_view::npos) {
    std::string a = clean_tail(rest_of_line(text, p + 4));
    if (!a.empty()) return a;
  }
  if (size_t p = rfind_icase(text, "the answer is"); p != std::string_view::npos) {
    std::string_view line = rest_of_line(text, p + 13);
    line = trim(line);
    if (!line.empty() && line.front() == ':') line = trim(line.substr(1));
    // End of sentence: ". " or a final '.'; a '.' between digits is a decimal point.
    for (size_t i = 0; i < line.size(); ++i)
      if (line[i] == '.' && (i + 1 == line.size() || std::isspace(static_cast<unsigned char>(line[i + 1])))) {
        line = line.substr(0, i);
        break;
      }
    std::string a = clean_tail(line);
    if (!a.empty()) return a;
  }
  if (size_t p = rfind_icase(text, "answer:"); p != std::string_view::npos) {
    std::string a = clean_tail(rest_of_line(text, p + 7));
    if (!a.empty()) return a;
  }
  // Bold span on the last non-empty line.
  std::string_view t = trim(text);
  size_t nl = t.rfind('\n');
  std::string_view last = nl == std::string_view::npos ? t : t.substr(nl + 1);
  if (size_t close = last.rfind("**"); close != std::string_view::npos && close >= 2) {
    size_t open = last.rfind("**", close - 1);
    if (open != std::string_view::npos && open + 2 <= close) {
      std::string a = clean_tail(last.substr(open + 2, close - open - 2));
      if (!a.empty()) return a;
    }
  }
  return std::nullopt;
}

std::optional<std::string> gold_answer(const nlohmann::json& record, const std::string& field) {
  if (!record.is_object()) return std::nullopt;
  auto it = record.find(field);
  if (it == record.end() || it->is_null()) return std::nullopt;
  std::string text;
  if (it->is_string()) {
    text = it->get<std::string>();
  } else if (it->is_number_integer() || it->is_number_unsigned()) {
    text = it->dump();
  } else if (it->is_number_float()) {
    double v = it->get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.0f", v);
      text = buf;
    } else {
      text = it->dump();
    }
  } else {
    return std::nullopt;
  }
  std::string_view sv = text;
  if (size_t p = sv.rfind("####"); p != std::string_view::npos) {
    std::string a = clean_tail(rest_of_line(sv, p + 4));
    return a.empty() ? std::nullopt : std::optional<std::string>(a);
  }
  if (sv.find("\\boxed") != std::string_view::npos || sv.find("\\fbox") != std::string_view::npos)
    if (auto b = last_boxed(sv)) return std::string(trim(*b));
  std::string a(trim(sv));
  return a.empty() ? std::nullopt : std::optional<std::string>(a);
}

}  // namespace r1kit::rewards::math
