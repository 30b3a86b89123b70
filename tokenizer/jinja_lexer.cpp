// Template lexer. Mirrors jinja2/lexer.py (Jinja 3.1) for the options transformers sets; see jinja_lexer.h.
#include "tokenizer/jinja_lexer.h"

#include <algorithm>
#include <cctype>

#include "tokenizer/jinja_value.h"

namespace r1kit::tokenizer::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view raw) {
    src_.reserve(raw.size());
    for (size_t k = 0; k < raw.size(); ++k) {  // newline normalisation, as Jinja does
      if (raw[k] == '\r') {
        src_ += '\n';
        if (k + 1 < raw.size() && raw[k + 1] == '\n') ++k;
      } else {
        src_ += raw[k];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();  // keep_trailing_newline=False
    line_starts_.push_back(0);
    for (size_t k = 0; k < src_.size(); ++k)
      if (src_[k] == '\n') line_starts_.push_back(k + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t idx = find_opener(pos);
      if (idx == std::string::npos) {
        push_text(src_.substr(pos), pos);
        break;
      }
      char kind = src_[idx + 1];  // '{', '%' or '#'
      char sign = idx + 2 < src_.size() ? src_[idx + 2] : '\0';
      std::string text = src_.substr(pos, idx - pos);
      bool is_raw = kind == '%' && match_raw(idx, "raw") != std::string::npos;
      strip_before(text, sign, kind != '{', line_starting);
      push_text(std::move(text), pos);
      size_t p = idx + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        size_t j = src_.find("#}", p);
        if (j == std::string::npos) fail(idx, "missing end of comment tag '#}'");
        size_t end = j + 2;
        end = after_end(end, j > p ? src_[j - 1] : '\0', true);
        line_starting = src_[end - 1] == '\n';
        pos = end;
      } else if (is_raw) {
        pos = lex_raw(idx, line_starting);
      } else {
        pos = lex_tag(idx, p, kind == '%');
        line_starting = src_[pos - 1] == '\n';
      }
    }
    Token eof{TokenKind::eof, "", 0, 0.0, 0, 0};
    set_position(eof, src_.size());
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;

  void set_position(Token& t, size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    t.line = static_cast<int>(line);
    t.column = static_cast<int>(utf8_length(std::string_view(src_).substr(line_starts_[line - 1],
                                                                         offset - line_starts_[line - 1])) + 1);
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    Token t;
    set_position(t, offset);
    throw SyntaxError(t.line, t.column, message);
  }

  void push(TokenKind kind, std::string text, size_t offset) {
    Token t{kind, std::move(text), 0, 0.0, 0, 0};
    set_position(t, offset);
    tokens_.push_back(std::move(t));
  }

  void push_text(std::string text, size_t offset) {
    if (!text.empty()) push(TokenKind::text, std::move(text), offset);
  }

  size_t find_opener(size_t pos) const {
    for (size_t k = src_.find('{', pos); k != std::string::npos; k = src_.find('{', k + 1)) {
      if (k + 1 < src_.size() && (src_[k + 1] == '{' || src_[k + 1] == '%' || src_[k + 1] == '#')) return k;
    }
    return std::string::npos;
  }

  // Whitespace control in front of a tag: `-` strips all whitespace; otherwise lstrip_blocks removes the
  // spaces/tabs between the start of the line and a block or comment tag.
  static void strip_before(std::string& text, char sign, bool block_or_comment, bool line_starting) {
    if (sign == '-') {
      while (!text.empty() && is_ws(text.back())) text.pop_back();
    } else if (sign != '+' && block_or_comment) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting) {
        bool only_ws = l_pos < text.size();
        for (size_t k = l_pos; k < text.size() && only_ws; ++k) only_ws = is_ws(text[k]);
        if (only_ws) text.resize(l_pos);
      }
    }
  }

  // After `%}`/`#}`: `-` eats all whitespace, `+` nothing, otherwise trim_blocks eats one newline.
  size_t after_end(size_t end, char sign_before, bool trim_one_newline) const {
    if (sign_before == '-') {
      while (end < src_.size() && is_ws(src_[end])) ++end;
    } else if (sign_before != '+' && trim_one_newline && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    return end;
  }

  // Matches `{%[-+]? *word *(-%}\s*|%})` at idx (used for raw/endraw); returns the end offset or npos.
  size_t match_raw(size_t idx, std::string_view word) const {
    size_t p = idx + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    while (p < src_.size() && is_ws(src_[p])) ++p;
    if (src_.compare(p, word.size(), word) != 0) return std::string::npos;
    p += word.size();
    while (p < src_.size() && is_ws(src_[p])) ++p;
    if (src_.compare(p, 3, "-%}") == 0) return p + 3;
    if (src_.compare(p, 3, "+%}") == 0) return p + 3;
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return std::string::npos;
  }

  size_t lex_raw(size_t idx, bool& line_starting) {
    size_t p = match_raw(idx, "raw");
    if (src_[p - 3] == '-') {
      while (p < src_.size() && is_ws(src_[p])) ++p;
    }
    for (size_t k = src_.find("{%", p); k != std::string::npos; k = src_.find("{%", k + 1)) {
      size_t end = match_raw(k, "endraw");
      if (end == std::string::npos) continue;
      std::string text = src_.substr(p, k - p);
      strip_before(text, src_[k + 2], true, false);
      push_text(std::move(text), p);
      end = after_end(end, src_[end - 3], true);
      line_starting = src_[end - 1] == '\n';
      return end;
    }
    fail(idx, "missing '{% endraw %}' for this '{% raw %}'");
  }

  static char decode_hex(const std::string& s, size_t k, size_t n, uint32_t& out) {
    out = 0;
    if (k + n > s.size()) return 0;
    for (size_t m = 0; m < n; ++m) {
      char c = s[k + m];
      if (!std::isxdigit(static_cast<unsigned char>(c))) return 0;
      out = out * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                                                         : (std::tolower(c) - 'a' + 10));
    }
    return 1;
  }

  // Python "unicode-escape" decoding of a string literal body (what Jinja applies to string tokens).
  std::string unescape(const std::string& body, size_t offset) const {
    std::u32string out;
    std::u32string in = utf8_decode(body);
    for (size_t k = 0; k < in.size(); ++k) {
      if (in[k] != U'\\' || k + 1 >= in.size()) {
        out.push_back(in[k]);
        continue;
      }
      char32_t c = in[++k];
      switch (c) {
        case U'\n': break;
        case U'\\': out.push_back(U'\\'); break;
        case U'\'': out.push_back(U'\''); break;
        case U'"': out.push_back(U'"'); break;
        case U'a': out.push_back(7); break;
        case U'b': out.push_back(8); break;
        case U'f': out.push_back(12); break;
        case U'n': out.push_back(U'\n'); break;
        case U'r': out.push_back(U'\r'); break;
        case U't': out.push_back(U'\t'); break;
        case U'v': out.push_back(11); break;
        case U'x':
        case U'u':
        case U'U': {
          size_t n = c == U'x' ? 2 : c == U'u' ? 4 : 8;
          std::string hex = utf8_encode(std::u32string_view(in).substr(k + 1, n));
          uint32_t cp;
          if (hex.size() != n || !decode_hex(hex, 0, n, cp)) fail(offset, "truncated \\" + std::string(1, char(c)) +
                                                                              " escape in string literal");
          out.push_back(cp);
          k += n;
          break;
        }
        default:
          if (c >= U'0' && c <= U'7') {
            uint32_t v = 0;
            size_t m = 0;
            for (; m < 3 && k + m < in.size() && in[k + m] >= U'0' && in[k + m] <= U'7'; ++m) v = v * 8 + (in[k + m] - U'0');
            out.push_back(v);
            k += m - 1;
          } else {
            out.push_back(U'\\');
            out.push_back(c);
          }
      }
    }
    return utf8_encode(out);
  }

  // Tokens inside {{ … }} or {% … %}; returns the offset after the closing delimiter (and its whitespace rule).
  size_t lex_tag(size_t open, size_t p, bool block) {
    push(block ? TokenKind::block_begin : TokenKind::var_begin, block ? "{%" : "{{", open);
    std::vector<char> balance;
    while (true) {
      while (p < src_.size() && is_ws(src_[p])) ++p;
      if (p >= src_.size()) fail(open, std::string("missing end of tag '") + (block ? "%}" : "}}") + "'");
      if (balance.empty()) {
        const char* close = block ? "%}" : "}}";
        if (src_[p] == '-' && src_.compare(p + 1, 2, close) == 0) {
          push(block ? TokenKind::block_end : TokenKind::var_end, close, p);
          return after_end(p + 3, '-', block);
        }
        if (block && src_[p] == '+' && src_.compare(p + 1, 2, close) == 0) {
          push(TokenKind::block_end, close, p);
          return p + 3;
        }
        if (src_.compare(p, 2, close) == 0) {
          push(block ? TokenKind::block_end : TokenKind::var_end, close, p);
          return after_end(p + 2, '\0', block);
        }
      }
      char c = src_[p];
      if (c == '\'' || c == '"') {
        size_t q = p + 1;
        while (q < src_.size() && src_[q] != c) q += src_[q] == '\\' ? 2 : 1;
        if (q >= src_.size()) fail(p, "unterminated string literal");
        push(TokenKind::string, unescape(src_.substr(p + 1, q - p - 1), p), p);
        p = q + 1;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t q = p;
        while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        bool is_float = false;
        if (q + 1 < src_.size() && src_[q] == '.' && std::isdigit(static_cast<unsigned char>(src_[q + 1]))) {
          is_float = true;
          ++q;
          while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        }
        if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
          size_t r = q + 1;
          if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
          if (r < src_.size() && std::isdigit(static_cast<unsigned char>(src_[r]))) {
            is_float = true;
            q = r;
            while (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) ++q;
          }
        }
        std::string num;
        for (size_t k = p; k < q; ++k)
          if (src_[k] != '_') num += src_[k];
        Token t{is_float ? TokenKind::floating : TokenKind::integer, num, 0, 0.0, 0, 0};
        set_position(t, p);
        if (is_float) t.floating = std::stod(num);
        else t.integer = std::stoll(num);
        tokens_.push_back(std::move(t));
        p = q;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t q = p;
        while (q < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        push(TokenKind::name, src_.substr(p, q - p), p);
        p = q;
      } else {
        static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op;
        for (const char* t : two)
          if (src_.compare(p, 2, t) == 0) op = t;
        if (op.empty()) {
          if (std::string_view("+-*/%~[](){}.,:|=<>").find(c) == std::string_view::npos)
            fail(p, std::string("unexpected character '") + c + "' in tag");
          op = std::string(1, c);
        }
        if (op == "(" || op == "[" || op == "{") balance.push_back(op[0]);
        if (op == ")" || op == "]" || op == "}") {
          char want = op == ")" ? '(' : op == "]" ? '[' : '{';
          if (balance.empty() || balance.back() != want) fail(p, "unbalanced '" + op + "'");
          balance.pop_back();
        }
        push(TokenKind::op, op, p);
        p += op.size();
      }
    }
  }
};

}  // namespace

std::vector<Token> lex_template(std::string_view source) { return Lexer(source).run(); }

}  // namespace r1kit::tokenizer::jinja
