// Syntax tree of the Jinja subset used by chat templates (internal to the chat-template renderer).
// Produced once by parse_template (jinja_parser.h), then walked read-only by every render, so a parsed template
// can be rendered from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace r1kit::tokenizer::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

enum class ExprKind {
  literal,    // literal
  name,       // name
  list,       // args = items
  tuple,      // args = items (evaluates to a list)
  dict,       // args = key0, value0, key1, value1, …
  getattr,    // args[0] . name
  getitem,    // args[0] [ args[1] ]
  slice,      // args[0] [ args[1] : args[2] : args[3] ]  (null = omitted)
  call,       // args[0] ( args[1..] , kwargs )
  filter,     // args[0] | name ( args[1..], kwargs )
  test,       // args[0] is [not] name ( args[1..] )
  unary,      // name ("not", "-", "+") args[0]
  binary,     // args[0] name args[1]; name: + - * / // % ** ~ in notin == != < <= > >= and or
  condition,  // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int column = 0;
  Value literal;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negated = false;  // `is not`
};

enum class StmtKind {
  text,        // text
  output,      // {{ expr }}
  if_block,    // branches (condition null = else)
  for_loop,    // for targets in expr [if filter] body [else else_body]
  set,         // set targets = expr   or   set targets[0].attribute = expr
  set_block,   // set targets[0] %} body {% endset
  macro,       // macro name(params) body
  loop_break,
  loop_continue,
  generation,  // transformers' {% generation %}…{% endgeneration %}: body rendered unchanged
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  int column = 0;
  std::string text;                  // text; macro name; set: namespace attribute (when non-empty)
  ExprPtr expr;                      // output value, for iterable, set value
  ExprPtr filter;                    // for … if filter
  std::vector<std::string> targets;  // loop/set variable names; macro parameter names
  std::vector<ExprPtr> defaults;     // macro parameter defaults (null = required)
  std::vector<std::pair<ExprPtr, StmtList>> branches;
  StmtList body;
  StmtList else_body;
};

}  // namespace r1kit::tokenizer::jinja
