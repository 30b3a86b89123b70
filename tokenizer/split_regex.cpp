#include "tokenizer/split_regex.h"

#include <re2/re2.h>

#include <cctype>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace r1kit::tokenizer {

namespace {

constexpr std::string_view kWhitespaceItems = R"(\t\n\x0B\f\r\x{85}\p{Z})";  // Unicode White_Space
constexpr std::string_view kWordItems = R"(\p{L}\p{M}\p{N}\p{Pc})";         // Oniguruma's Unicode \w
constexpr std::string_view kLookaheadAlternative = R"(\s+(?!\S))";

[[noreturn]] void fail(const std::string& where, std::string_view pattern, const std::string& why) {
  throw ConfigError(where + ": unsupported regex " + std::string(pattern) + ": " + why +
                    ". r1kit runs pre-tokenizer regexes on RE2; rewrite the pattern without this construct or "
                    "use a supported tokenizer.json");
}

// Splits at top-level '|' (outside classes and groups), keeping escapes and classes intact.
std::vector<std::string_view> split_alternatives(std::string_view p, const std::string& where) {
  std::vector<std::string_view> alts;
  int depth = 0;
  size_t begin = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      ++i;
      if (i < p.size() && p[i] == '^') ++i;
      if (i < p.size() && p[i] == ']') ++i;
      for (; i < p.size() && p[i] != ']'; ++i) {
        if (p[i] == '\\') ++i;
        else if (p[i] == '[' && i + 1 < p.size() && p[i + 1] == ':') i = p.find(":]", i + 2) + 1;
      }
      if (i >= p.size()) fail(where, p, "unterminated character class");
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      alts.push_back(p.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  alts.push_back(p.substr(begin));
  return alts;
}

// Translates one alternative from Oniguruma (Ruby syntax) to RE2 syntax; see the header.
std::string translate(std::string_view p, std::string_view whole, const std::string& where) {
  std::string out;
  bool after_quantifier = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    bool quantifier = false;
    if (c == '\\') {
      if (i + 1 >= p.size()) fail(where, whole, "trailing backslash");
      const char e = p[++i];
      switch (e) {
        case 's': out += "["; out += kWhitespaceItems; out += "]"; break;
        case 'S': out += "[^"; out += kWhitespaceItems; out += "]"; break;
        case 'd': out += R"(\p{Nd})"; break;
        case 'D': out += R"(\P{Nd})"; break;
        case 'w': out += "["; out += kWordItems; out += "]"; break;
        case 'W': out += "[^"; out += kWordItems; out += "]"; break;
        case 'k': case 'g': fail(where, whole, "backreference or subexpression call");
        case 'p': case 'P': {  // \p{L} or \pL: copied as is
          out += '\\';
          out += e;
          if (i + 1 < p.size() && p[i + 1] == '{') {
            const size_t close = p.find('}', i + 1);
            if (close == std::string_view::npos) fail(where, whole, "unterminated \\p{...}");
            out += p.substr(i + 1, close - i);
            i = close;
          }
          break;
        }
        default:
          if (e >= '1' && e <= '9') fail(where, whole, "backreference");
          out += '\\';
          out += e;
      }
    } else if (c == '[') {
      out += '[';
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      if (i < p.size() && p[i] == ']') { out += "\\]"; ++i; }
      for (; i < p.size() && p[i] != ']'; ++i) {
        const char d = p[i];
        if (d == '\\') {
          const char e = p[++i];
          if (e == 's') out += kWhitespaceItems;
          else if (e == 'd') out += R"(\p{Nd})";
          else if (e == 'w') out += kWordItems;
          else if (e == 'S' || e == 'D' || e == 'W') fail(where, whole, std::string("\\") + e + " inside a class");
          else { out += '\\'; out += e; }
        } else if (d == '[' && i + 1 < p.size() && p[i + 1] == ':') {
          const size_t end = p.find(":]", i + 2);
          out += p.substr(i, end + 2 - i);
          i = end + 1;
        } else if (d == '[') {
          fail(where, whole, "nested character class");
        } else if (d == '&' && i + 1 < p.size() && p[i + 1] == '&') {
          fail(where, whole, "character class intersection &&");
        } else {
          out += d;
        }
      }
      out += ']';
    } else if (c == '(') {
      if (i + 1 < p.size() && p[i + 1] == '?') {
        const char k = i + 2 < p.size() ? p[i + 2] : '\0';
        if (k == ':' || k == '>') {  // non-capturing; atomic approximated as plain (see header)
          out += "(?:";
          i += 2;
        } else if (k == '=' || k == '!' || (k == '<' && i + 3 < p.size() && (p[i + 3] == '=' || p[i + 3] == '!'))) {
          fail(where, whole, "lookaround (only a top-level `\\s+(?!\\S)` alternative is supported)");
        } else if (k == '<' || k == 'P' || k == '\'') {  // named group -> non-capturing
          const size_t close = p.find(k == '\'' ? '\'' : '>', i + 3);
          if (close == std::string_view::npos) fail(where, whole, "unterminated group name");
          out += "(?:";
          i = close;
        } else {  // inline flags (?imx-imx) or (?imx-imx:...)
          out += "(?";
          for (i += 2; i < p.size() && p[i] != ')' && p[i] != ':'; ++i) out += p[i] == 'm' ? 's' : p[i];
          if (i >= p.size()) fail(where, whole, "unterminated group");
          out += p[i];
        }
      } else {
        out += "(?:";
      }
    } else if (c == '?' || c == '*' || c == '+') {
      if (after_quantifier && c == '+') {
        // possessive: dropped
      } else if (after_quantifier && c == '?') {
        out += c;  // lazy
      } else {
        out += c;
        quantifier = true;
      }
    } else if (c == '{') {
      size_t j = i + 1;
      bool digits = false;
      while (j < p.size() && (std::isdigit(static_cast<unsigned char>(p[j])) || p[j] == ',')) {
        digits |= p[j] != ',';
        ++j;
      }
      if (digits && j < p.size() && p[j] == '}') {
        out += p.substr(i, j + 1 - i);
        i = j;
        quantifier = true;
      } else {
        out += "\\{";
      }
    } else if (c == '^') {
      out += "(?m:^)";
    } else if (c == '$') {
      out += "(?m:$)";
    } else {
      out += c;
    }
    after_quantifier = quantifier;
  }
  return out;
}

std::unique_ptr<RE2> compile(const std::string& pattern, std::string_view original, const std::string& where) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(int64_t{64} << 20);
  auto re = std::make_unique<RE2>(pattern, opts);
  if (!re->ok()) fail(where, original, "RE2 rejects the translated pattern " + pattern + " (" + re->error() + ")");
  return re;
}

}  // namespace

SplitRegex::SplitRegex(std::string_view pattern, const std::string& where) {
  const auto alts = split_alternatives(pattern, where);
  std::string fallback;
  for (size_t k = 0; k < alts.size(); ++k) {
    std::string piece;
    if (alts[k] == kLookaheadAlternative && !has_lookahead_) {
      has_lookahead_ = true;
      piece = "([" + std::string(kWhitespaceItems) + "]+)";
    } else {
      piece = translate(alts[k], pattern, where);
      if (has_lookahead_) fallback += (fallback.empty() ? "" : "|") + piece;
    }
    translated_ += (k ? "|" : "") + piece;
  }
  re_ = compile(translated_, pattern, where);
  if (!fallback.empty()) fallback_ = compile(fallback, pattern, where);
}

SplitRegex::~SplitRegex() = default;
SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;

namespace {

bool whitespace_at(std::string_view s, size_t i) {
  char32_t c;
  utf8::decode(s, i, c);
  return utf8::is_whitespace(c);
}

size_t char_length_at(std::string_view s, size_t i) {
  char32_t c;
  return utf8::decode(s, i, c);
}

}  // namespace

void SplitRegex::find_matches(std::string_view text, std::vector<ByteRange>& out) const {
  const re2::StringPiece input(text.data(), text.size());
  re2::StringPiece m;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!re_->Match(input, pos, text.size(), RE2::UNANCHORED, &m, 1)) break;
    const size_t b = static_cast<size_t>(m.data() - text.data());
    size_t e = b + m.size();
    // Could this be the `\s+(?!\S)` alternative stopping before a non-space? Then check which alternative won.
    if (has_lookahead_ && e > b && e < text.size() && whitespace_at(text, b) && !whitespace_at(text, e) &&
        whitespace_at(text, e - utf8::last_char_length(text, e))) {
      re2::StringPiece sub[2];
      if (re_->Match(input, b, text.size(), RE2::ANCHOR_START, sub, 2) && sub[1].data() != nullptr) {
        const size_t last = utf8::last_char_length(text, e);
        if (e - last > b) {
          e -= last;  // the run gives back its last whitespace character
        } else if (fallback_ && fallback_->Match(input, b, text.size(), RE2::ANCHOR_START, &m, 1)) {
          e = b + m.size();  // one whitespace char: the alternatives after the lookahead one decide
        } else {
          pos = b + char_length_at(text, b);  // no match starts at b
          continue;
        }
      }
    }
    if (e == b) {  // empty match: it still splits the text around it; search on from the next character
      out.emplace_back(static_cast<uint32_t>(b), static_cast<uint32_t>(b));
      pos = b + char_length_at(text, b);
      continue;
    }
    out.emplace_back(static_cast<uint32_t>(b), static_cast<uint32_t>(e));
    pos = e;
  }
}

}  // namespace r1kit::tokenizer
