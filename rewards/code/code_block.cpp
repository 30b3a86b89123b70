#include "rewards/code/code_block.h"

#include <algorithm>
#include <cctype>

namespace r1kit::rewards::code {

std::vector<std::string> language_tags(std::string_view language) {
  std::string lang(language);
  std::transform(lang.begin(), lang.end(), lang.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lang == "python" || lang == "py" || lang == "python3") return {"python", "py", "python3", "py3"};
  return {lang};
}

namespace {

struct Fence {
  char ch = 0;
  size_t len = 0;
  std::string_view info;  // text after the fence characters, trimmed
};

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A fence line: up to 3 spaces, then >= 3 of '`' or '~'.
std::optional<Fence> parse_fence(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return std::nullopt;
  Fence f;
  f.ch = line[i];
  size_t j = i;
  while (j < line.size() && line[j] == f.ch) ++j;
  f.len = j - i;
  if (f.len < 3) return std::nullopt;
  f.info = trim_ws(line.substr(j));
  if (f.ch == '`' && f.info.find('`') != std::string_view::npos) return std::nullopt;  // inline code, not a fence
  return f;
}

std::string first_word_lower(std::string_view info) {
  std::string w;
  for (char c : info) {
    if (c == ' ' || c == '\t' || c == '{' || c == ',') break;
    w.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return w;
}

}  // namespace

std::optional<std::string> last_code_block(std::string_view text, const std::vector<std::string>& tags,
                                           bool accept_untagged) {
  std::optional<std::string> tagged, untagged;
  size_t pos = 0;
  bool in_block = false;
  Fence open;
  size_t body_start = 0;
  auto finish = [&](size_t body_end) {
    std::string body(text.substr(body_start, body_end - body_start));
    const std::string tag = first_word_lower(open.info);
    if (tag.empty()) {
      untagged = std::move(body);
    } else if (std::find(tags.begin(), tags.end(), tag) != tags.end()) {
      tagged = std::move(body);
    }
  };
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    const size_t line_end = eol == std::string_view::npos ? text.size() : eol;
    const std::string_view line = text.substr(pos, line_end - pos);
    if (auto f = parse_fence(line)) {
      if (!in_block) {
        in_block = true;
        open = *f;
        body_start = eol == std::string_view::npos ? text.size() : eol + 1;
      } else if (f->ch == open.ch && f->len >= open.len && f->info.empty()) {
        finish(pos);
        in_block = false;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (in_block) finish(text.size());
  if (tagged) return tagged;
  if (accept_untagged && untagged) return untagged;
  return std::nullopt;
}

}  // namespace r1kit::rewards::code
