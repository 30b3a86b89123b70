// Lexer for the Jinja subset used by chat templates (internal to the chat-template renderer).
//
// Splits a template into text and tag tokens with the whitespace rules of the environment transformers uses
// (transformers/utils/chat_template_utils.py: ImmutableSandboxedEnvironment(trim_blocks=True,
// lstrip_blocks=True)) and Jinja's defaults: "\r\n"/"\r" become "\n", one trailing newline of the template is
// dropped, `{%-`/`-%}` strip all whitespace, `{%+`/`+%}` disable lstrip/trim, `{# … #}` comments vanish and
// `{% raw %}…{% endraw %}` is kept verbatim.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::tokenizer::jinja {

/// A syntax problem at a 1-based template line/column. ChatTemplate turns it into a ConfigError naming the source.
class SyntaxError : public std::runtime_error {
 public:
  SyntaxError(int line, int column, const std::string& message)
      : std::runtime_error(message), line(line), column(column) {}
  int line;
  int column;
};

enum class TokenKind : uint8_t {
  text,         // literal template text (already whitespace-controlled)
  var_begin,    // {{
  var_end,      // }}
  block_begin,  // {%
  block_end,    // %}
  name,         // identifier or keyword
  string,       // string literal, escapes decoded
  integer,
  floating,
  op,           // operator / punctuation: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  eof,
};

struct Token {
  TokenKind kind;
  std::string text;  // text/name/op/string contents
  int64_t integer = 0;
  double floating = 0.0;
  int line = 1;
  int column = 1;
};

/// Tokenizes the whole template. Throws SyntaxError for unterminated tags/strings/comments and stray characters.
std::vector<Token> lex_template(std::string_view source);

}  // namespace r1kit::tokenizer::jinja
