// Recursive-descent parser following jinja2/parser.py's grammar and precedence. See jinja_parser.h.
#include "tokenizer/jinja_parser.h"

#include <set>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_lexer.h"

namespace r1kit::tokenizer::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  StmtList parse_all() {
    std::string end;
    StmtList body = parse_body({}, end);
    return body;
  }

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int loop_depth_ = 0;

  const Token& peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  [[noreturn]] static void fail(const Token& t, const std::string& message) {
    throw SyntaxError(t.line, t.column, message);
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::eof: return "end of template";
      case TokenKind::var_end: return "'}}'";
      case TokenKind::block_end: return "'%}'";
      case TokenKind::string: return "string literal";
      default: return "'" + t.text + "'";
    }
  }
  bool is_op(const std::string& op, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::op && peek(ahead).text == op;
  }
  bool is_name(const std::string& name, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::name && peek(ahead).text == name;
  }
  void expect_op(const std::string& op) {
    if (!is_op(op)) fail(peek(), "expected '" + op + "', found " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().kind != TokenKind::name) fail(peek(), "expected a name, found " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != TokenKind::block_end) fail(peek(), "expected '%}', found " + describe(peek()));
    next();
  }

  static ExprPtr make(ExprKind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }
  static StmtPtr make_stmt(StmtKind kind, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = at.line;
    s->column = at.column;
    return s;
  }

  // Parses statements until a block tag whose keyword is in `ends` (consumed up to the keyword; `end` set).
  StmtList parse_body(const std::set<std::string>& ends, std::string& end) {
    StmtList body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::eof) {
        if (!ends.empty()) {
          std::string want;
          for (const auto& e : ends) want += (want.empty() ? "'" : " or '") + e + "'";
          fail(t, "unexpected end of template, expected " + want);
        }
        return body;
      }
      if (t.kind == TokenKind::text) {
        auto s = make_stmt(StmtKind::text, t);
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::var_begin) {
        auto s = make_stmt(StmtKind::output, next());
        s->expr = parse_tuple_or_expr();
        if (peek().kind != TokenKind::var_end) fail(peek(), "expected '}}', found " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::block_begin) {
        next();
        const Token& kw = peek();
        if (kw.kind != TokenKind::name) fail(kw, "expected a statement keyword, found " + describe(kw));
        if (ends.count(kw.text)) {
          end = next().text;
          return body;
        }
        body.push_back(parse_statement());
      } else {
        fail(t, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& kw = next();
    const std::string& k = kw.text;
    if (k == "if") return parse_if(kw);
    if (k == "for") return parse_for(kw);
    if (k == "set") return parse_set(kw);
    if (k == "macro") return parse_macro(kw);
    if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) fail(kw, "'" + k + "' outside of a for loop");
      expect_block_end();
      return make_stmt(k == "break" ? StmtKind::loop_break : StmtKind::loop_continue, kw);
    }
    if (k == "generation") {
      expect_block_end();
      auto s = make_stmt(StmtKind::generation, kw);
      std::string end;
      s->body = parse_body({"endgeneration"}, end);
      expect_block_end();
      return s;
    }
    static const std::set<std::string> known_unsupported = {
        "include", "import", "from", "extends", "block", "call", "filter", "with", "autoescape", "do", "trans"};
    if (known_unsupported.count(k)) fail(kw, "unsupported statement '{% " + k + " %}' in chat template");
    fail(kw, "unknown or misplaced statement '{% " + k + " %}'");
  }

  StmtPtr parse_if(const Token& kw) {
    auto s = make_stmt(StmtKind::if_block, kw);
    ExprPtr cond = parse_expr();
    expect_block_end();
    while (true) {
      std::string end;
      StmtList body = parse_body({"elif", "else", "endif"}, end);
      s->branches.emplace_back(std::move(cond), std::move(body));
      if (end == "elif") {
        cond = parse_expr();
        expect_block_end();
      } else if (end == "else") {
        expect_block_end();
        std::string end2;
        StmtList else_body = parse_body({"endif"}, end2);
        s->branches.emplace_back(nullptr, std::move(else_body));
        expect_block_end();
        return s;
      } else {
        expect_block_end();
        return s;
      }
    }
  }

  StmtPtr parse_for(const Token& kw) {
    auto s = make_stmt(StmtKind::for_loop, kw);
    s->targets.push_back(expect_name());
    while (is_op(",")) {
      next();
      s->targets.push_back(expect_name());
    }
    if (!is_name("in")) fail(peek(), "expected 'in' in for loop, found " + describe(peek()));
    next();
    s->expr = parse_or();  // no conditional expression here: `if` starts the loop filter
    if (is_name("if")) {
      next();
      s->filter = parse_expr();
    }
    if (is_name("recursive")) fail(peek(), "unsupported construct 'recursive' loop in chat template");
    expect_block_end();
    ++loop_depth_;
    std::string end;
    s->body = parse_body({"else", "endfor"}, end);
    --loop_depth_;
    if (end == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"}, end);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(const Token& kw) {
    std::string first = expect_name();
    if (is_op(".")) {  // set ns.attr = value
      next();
      auto s = make_stmt(StmtKind::set, kw);
      s->targets.push_back(first);
      s->text = expect_name();
      expect_op("=");
      s->expr = parse_tuple_or_expr();
      expect_block_end();
      return s;
    }
    std::vector<std::string> targets{first};
    while (is_op(",")) {
      next();
      targets.push_back(expect_name());
    }
    if (peek().kind == TokenKind::block_end && targets.size() == 1) {
      next();
      auto s = make_stmt(StmtKind::set_block, kw);
      s->targets = targets;
      std::string end;
      s->body = parse_body({"endset"}, end);
      expect_block_end();
      return s;
    }
    if (is_op("|")) fail(peek(), "unsupported construct: filtered block set ('{% set x | filter %}')");
    auto s = make_stmt(StmtKind::set, kw);
    s->targets = targets;
    expect_op("=");
    s->expr = parse_tuple_or_expr();
    expect_block_end();
    return s;
  }

  StmtPtr parse_macro(const Token& kw) {
    auto s = make_stmt(StmtKind::macro, kw);
    s->text = expect_name();
    expect_op("(");
    while (!is_op(")")) {
      s->targets.push_back(expect_name());
      if (is_op("=")) {
        next();
        s->defaults.push_back(parse_expr());
      } else {
        s->defaults.push_back(nullptr);
      }
      if (!is_op(")")) expect_op(",");
    }
    next();
    expect_block_end();
    int saved = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    s->body = parse_body({"endmacro"}, end);
    loop_depth_ = saved;
    expect_block_end();
    return s;
  }

  // ---- expressions ----

  ExprPtr parse_tuple_or_expr() {
    const Token& at = peek();
    ExprPtr first = parse_expr();
    if (!is_op(",")) return first;
    auto t = make(ExprKind::tuple, at);
    t->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (peek().kind == TokenKind::var_end || peek().kind == TokenKind::block_end) break;
      t->args.push_back(parse_expr());
    }
    return t;
  }

  ExprPtr parse_expr() {
    ExprPtr e = parse_or();
    while (is_name("if")) {
      const Token& at = next();
      auto c = make(ExprKind::condition, at);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      if (is_name("else")) {
        next();
        c->args.push_back(parse_expr());
      } else {
        c->args.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr a, ExprPtr b) {
    auto e = make(ExprKind::binary, at);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const Token& at = next();
      e = binary(at, "or", std::move(e), parse_and());
    }
    return e;
  }
  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const Token& at = next();
      e = binary(at, "and", std::move(e), parse_not());
    }
    return e;
  }
  ExprPtr parse_not() {
    if (is_name("not")) {
      const Token& at = next();
      auto e = make(ExprKind::unary, at);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    ExprPtr chain;  // a < b < c  ==  (a < b) and (b < c); the middle operand is evaluated twice
    ExprPtr* last_right = nullptr;
    while (true) {
      const Token& at = peek();
      std::string op;
      if (at.kind == TokenKind::op &&
          (at.text == "==" || at.text == "!=" || at.text == "<" || at.text == "<=" || at.text == ">" ||
           at.text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      ExprPtr right = parse_math1();
      if (!chain) {
        chain = binary(at, op, std::move(e), std::move(right));
        last_right = &chain->args[1];
      } else {
        fail(at, "unsupported construct: chained comparison");
      }
    }
    (void)last_right;
    return chain ? std::move(chain) : std::move(e);
  }
  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = next();
      e = binary(at, at.text, std::move(e), parse_concat());
    }
    return e;
  }
  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      const Token& at = next();
      e = binary(at, "~", std::move(e), parse_math2());
    }
    return e;
  }
  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = next();
      e = binary(at, at.text, std::move(e), parse_pow());
    }
    return e;
  }
  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      const Token& at = next();
      e = binary(at, "**", std::move(e), parse_unary(true));
    }
    return e;
  }
  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& at = next();
      e = make(ExprKind::unary, at);
      e->name = at.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    if (t.kind == TokenKind::string) {
      auto e = make(ExprKind::literal, t);
      std::string s = next().text;
      while (peek().kind == TokenKind::string) s += next().text;  // adjacent literals concatenate
      e->literal = Value::string(std::move(s));
      return e;
    }
    if (t.kind == TokenKind::integer || t.kind == TokenKind::floating) {
      auto e = make(ExprKind::literal, t);
      e->literal = t.kind == TokenKind::integer ? Value::integer(t.integer) : Value::floating(t.floating);
      next();
      return e;
    }
    if (t.kind == TokenKind::name) {
      auto e = make(ExprKind::literal, t);
      const std::string& n = t.text;
      if (n == "true" || n == "True") e->literal = Value::boolean(true);
      else if (n == "false" || n == "False") e->literal = Value::boolean(false);
      else if (n == "none" || n == "None") e->literal = Value::none();
      else {
        e->kind = ExprKind::name;
        e->name = n;
      }
      next();
      return e;
    }
    if (is_op("(")) {
      const Token& at = next();
      if (is_op(")")) {
        next();
        return make(ExprKind::tuple, at);
      }
      ExprPtr first = parse_expr();
      if (is_op(")")) {
        next();
        return first;
      }
      auto tup = make(ExprKind::tuple, at);
      tup->args.push_back(std::move(first));
      while (is_op(",")) {
        next();
        if (is_op(")")) break;
        tup->args.push_back(parse_expr());
      }
      expect_op(")");
      return tup;
    }
    if (is_op("[")) {
      const Token& at = next();
      auto list = make(ExprKind::list, at);
      while (!is_op("]")) {
        list->args.push_back(parse_expr());
        if (!is_op("]")) expect_op(",");
      }
      next();
      return list;
    }
    if (is_op("{")) {
      const Token& at = next();
      auto dict = make(ExprKind::dict, at);
      while (!is_op("}")) {
        dict->args.push_back(parse_expr());
        expect_op(":");
        dict->args.push_back(parse_expr());
        if (!is_op("}")) expect_op(",");
      }
      next();
      return dict;
    }
    fail(t, "unexpected " + describe(t) + " in expression");
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail(peek(), "unsupported construct: *args / **kwargs in call");
      if (peek().kind == TokenKind::name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parse_expr());
      } else {
        if (!e.kwargs.empty()) fail(peek(), "positional argument after keyword argument");
        e.args.push_back(parse_expr());
      }
      if (!is_op(")")) expect_op(",");
    }
    next();
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        const Token& at = next();
        auto g = make(ExprKind::getattr, at);
        if (peek().kind == TokenKind::integer) {  // foo.0 == foo[0]
          g->kind = ExprKind::getitem;
          g->args.push_back(std::move(e));
          auto idx = make(ExprKind::literal, peek());
          idx->literal = Value::integer(next().integer);
          g->args.push_back(std::move(idx));
        } else {
          g->name = expect_name();
          g->args.push_back(std::move(e));
        }
        e = std::move(g);
      } else if (is_op("[")) {
        const Token& at = next();
        ExprPtr parts[3];
        bool is_slice = false;
        for (int k = 0; k < 3; ++k) {
          if (!is_op(":") && !is_op("]")) parts[k] = parse_expr();
          if (k < 2 && is_op(":")) {
            next();
            is_slice = true;
          } else {
            break;
          }
        }
        expect_op("]");
        auto g = make(is_slice ? ExprKind::slice : ExprKind::getitem, at);
        g->args.push_back(std::move(e));
        if (is_slice) {
          for (auto& p : parts) g->args.push_back(std::move(p));
        } else {
          if (!parts[0]) fail(at, "empty subscript");
          g->args.push_back(std::move(parts[0]));
        }
        e = std::move(g);
      } else if (is_op("(")) {
        auto c = make(ExprKind::call, peek());
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    while (true) {
      if (is_op("|")) {
        next();
        const Token& at = peek();
        std::string name = expect_name();
        if (!is_known_filter(name)) fail(at, "unsupported filter '" + name + "' in chat template");
        auto f = make(ExprKind::filter, at);
        f->name = name;
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_call_args(*f);
        e = std::move(f);
      } else if (is_name("is")) {
        next();
        bool negated = false;
        if (is_name("not")) {
          next();
          negated = true;
        }
        const Token& at = peek();
        std::string name;
        if (at.kind == TokenKind::name) name = next().text;
        else if (at.kind == TokenKind::op && (at.text == "==" || at.text == "!=" || at.text == "<" ||
                                              at.text == "<=" || at.text == ">" || at.text == ">="))
          name = next().text;
        else fail(at, "expected a test name after 'is', found " + describe(at));
        if (!is_known_test(name)) fail(at, "unsupported test '" + name + "' in chat template");
        auto t = make(ExprKind::test, at);
        t->name = name;
        t->negated = negated;
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if (peek().kind == TokenKind::string || peek().kind == TokenKind::integer ||
                   peek().kind == TokenKind::floating ||
                   (peek().kind == TokenKind::name && !is_name("and") && !is_name("or") && !is_name("if") &&
                    !is_name("else") && !is_name("in") && !is_name("is") && !is_name("not"))) {
          t->args.push_back(parse_primary());  // `x is divisibleby 3`, `x is sameas none`
        }
        e = std::move(t);
      } else if (is_op("(")) {
        auto c = make(ExprKind::call, peek());
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
};

}  // namespace

StmtList parse_template(std::string_view source) { return Parser(lex_template(source)).parse_all(); }

}  // namespace r1kit::tokenizer::jinja
