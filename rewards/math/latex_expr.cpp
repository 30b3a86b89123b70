#include "rewards/math/latex_expr.h"

#include <array>
#include <cctype>
#include <exception>
#include <map>
#include <string>

#include "rewards/deadline.h"

namespace r1kit::rewards::math {
namespace {

using GiNaC::ex;
using GiNaC::numeric;

struct ParseFail {};

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// One symbol per name for the whole process (GiNaC symbols with equal names are distinct objects).
const GiNaC::symbol& symbol_named(const std::string& name) {
  static std::map<std::string, GiNaC::symbol> table;
  auto it = table.find(name);
  if (it == table.end()) it = table.emplace(name, GiNaC::symbol(name)).first;
  return it->second;
}

constexpr std::array<std::string_view, 33> kGreek = {
    "alpha", "beta",    "gamma", "delta", "epsilon", "varepsilon", "zeta",  "eta",   "theta", "vartheta", "iota",
    "kappa", "lambda",  "mu",    "nu",    "xi",      "rho",        "sigma", "tau",   "upsilon", "phi",    "varphi",
    "chi",   "psi",     "omega", "Gamma", "Delta",   "Theta",      "Lambda", "Sigma", "Phi",  "Psi",      "Omega"};

bool is_greek(std::string_view n) {
  for (auto g : kGreek)
    if (g == n) return true;
  return false;
}

bool is_function_name(std::string_view n) {
  static constexpr std::array<std::string_view, 15> f = {"sin",    "cos",    "tan",    "sec", "csc",
                                                         "cot",    "arcsin", "arccos", "arctan", "log",
                                                         "ln",     "exp",    "sinh",   "cosh", "tanh"};
  for (auto x : f)
    if (x == n) return true;
  return false;
}

class Parser {
 public:
  Parser(std::string_view s, const ExprLimits& lim) : s_(s), lim_(lim) {}

  ParsedExpr run() {
    ParsedExpr out;
    out.value = sum();
    ws();
    if (i_ != s_.size()) throw ParseFail{};
    out.inexact = inexact_;
    out.has_infinity = infinity_;
    return out;
  }

 private:
  std::string_view s_;
  const ExprLimits& lim_;
  size_t i_ = 0, nodes_ = 0;
  bool inexact_ = false, infinity_ = false;

  void tick() {
    if (++nodes_ > lim_.max_nodes) throw ParseFail{};
    if ((nodes_ & 15) == 0 && deadline_passed()) throw ParseFail{};
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) throw ParseFail{};
  }
  // Name of the command at i_ ("\frac" -> "frac") without consuming; "" if none.
  std::string_view peek_command() {
    ws();
    if (i_ >= s_.size() || s_[i_] != '\\') return {};
    size_t j = i_ + 1;
    while (j < s_.size() && is_alpha(s_[j])) ++j;
    return s_.substr(i_ + 1, j - i_ - 1);
  }
  bool eat_command(std::string_view name) {
    if (peek_command() != name || name.empty()) return false;
    i_ += 1 + name.size();
    return true;
  }

  ex sum() {
    ex t = unary();
    for (;;) {
      if (eat('+')) {
        t = t + unary();
      } else if (eat('-')) {
        t = t - unary();
      } else {
        return t;
      }
    }
  }
  ex unary() {
    tick();
    if (eat('-')) return -unary();
    if (eat('+')) return unary();
    return term();
  }
  ex term() {
    ex f = power();
    for (;;) {
      if (eat('*') || eat_command("cdot") || eat_command("times")) {
        f = f * signed_power();
      } else if (eat('/') || eat_command("div")) {
        ex d = signed_power();
        if (d.is_zero()) throw ParseFail{};
        f = f / d;
      } else if (starts_primary()) {
        f = f * power();
      } else {
        return f;
      }
    }
  }
  ex signed_power() {
    if (eat('-')) return -signed_power();
    if (eat('+')) return signed_power();
    return power();
  }
  bool starts_primary() {
    ws();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (is_digit(c) || is_alpha(c) || c == '(' || c == '{') return true;
    if (c == '.' && i_ + 1 < s_.size() && is_digit(s_[i_ + 1])) return true;
    if (c == '\\') {
      std::string_view n = peek_command();
      return n == "frac" || n == "sqrt" || n == "pi" || n == "infty" || n == "binom" || n == "dbinom" ||
             n == "tbinom" || is_function_name(n) || is_greek(n);
    }
    return false;
  }
  ex power() {
    ex b = postfix();
    if (eat('^')) return safe_pow(b, exponent());
    return b;
  }
  ex exponent() {
    tick();
    ws();
    if (eat('-')) return -exponent();
    if (eat('+')) return exponent();
    ex e;
    if (i_ < s_.size() && s_[i_] == '{') {
      ++i_;
      e = sum();
      expect('}');
      while (eat('!')) e = safe_factorial(e);
    } else {
      e = postfix();
    }
    if (eat('^')) return safe_pow(e, exponent());
    return e;
  }
  ex postfix() {
    ex p = primary();
    while (eat('!')) p = safe_factorial(p);
    return p;
  }

  ex group(char open, char close) {
    expect(open);
    ex e = sum();
    expect(close);
    return e;
  }
  // A LaTeX macro argument: {…}, or one digit / letter / command.
  ex argument() {
    ws();
    if (i_ >= s_.size()) throw ParseFail{};
    char c = s_[i_];
    if (c == '{') return group('{', '}');
    if (is_digit(c)) {
      ++i_;
      return numeric(c - '0');
    }
    if (is_alpha(c)) {
      ++i_;
      return symbol_named(std::string(1, c));
    }
    if (c == '\\') return primary();
    throw ParseFail{};
  }
  // Argument of \sin, \log, …: (…), {…}, or the following power ("\sin x", "\ln 2").
  ex function_argument() {
    ws();
    if (i_ < s_.size() && s_[i_] == '(') return group('(', ')');
    if (i_ < s_.size() && s_[i_] == '{') return group('{', '}');
    return power();
  }
  ex number() {
    size_t start = i_;
    std::string digits;
    size_t frac = 0;
    bool dot = false;
    while (i_ < s_.size() && (is_digit(s_[i_]) || (s_[i_] == '.' && !dot && i_ + 1 < s_.size() &&
                                                   is_digit(s_[i_ + 1])))) {
      if (s_[i_] == '.') {
        dot = true;
      } else {
        digits += s_[i_];
        if (dot) ++frac;
      }
      ++i_;
    }
    if (digits.empty() || digits.size() > lim_.max_literal_digits) throw ParseFail{};
    (void)start;
    ex v = numeric(digits.c_str());
    if (dot) {
      inexact_ = true;
      v = v / GiNaC::pow(numeric(10), numeric(static_cast<long>(frac)));
    }
    // scientific notation: 1.5e3, 2E-4 (only when digits follow)
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t j = i_ + 1;
      bool neg = false;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) neg = s_[j++] == '-';
      size_t k = j;
      while (k < s_.size() && is_digit(s_[k])) ++k;
      if (k > j && k - j <= 4) {
        long e = std::stol(std::string(s_.substr(j, k - j)));
        if (e > 1000) throw ParseFail{};
        v = v * GiNaC::pow(numeric(10), numeric(neg ? -e : e));
        inexact_ = true;
        i_ = k;
      }
    }
    return v;
  }

  ex primary() {
    tick();
    ws();
    if (i_ >= s_.size()) throw ParseFail{};
    char c = s_[i_];
    if (is_digit(c) || c == '.') return number();
    if (c == '(') return group('(', ')');
    if (c == '[') return group('[', ']');
    if (c == '{') return group('{', '}');
    if (c == '|') {
      ++i_;
      ex e = sum();
      expect('|');
      return GiNaC::abs(e);
    }
    if (c == '\\') {
      std::string_view name = peek_command();
      if (name.empty()) throw ParseFail{};
      i_ += 1 + name.size();
      return command(name);
    }
    if (is_alpha(c)) {
      size_t j = i_;
      while (j < s_.size() && is_alpha(s_[j])) ++j;
      std::string_view word = s_.substr(i_, j - i_);
      for (std::string_view w : {"sqrt", "pi", "infty", "arcsin", "arccos", "arctan", "sin", "cos", "tan", "log",
                                 "ln", "exp"}) {
        if (word.substr(0, w.size()) == w && (w.size() == word.size() || w == "pi" || w == "sqrt")) {
          i_ += w.size();
          return command(w);
        }
      }
      ++i_;
      std::string name(1, c);
      if (i_ < s_.size() && s_[i_] == '_') {  // subscript x_1, x_{12}
        ++i_;
        if (i_ < s_.size() && s_[i_] == '{') {
          size_t close = s_.find('}', i_);
          if (close == std::string_view::npos || close - i_ > 8) throw ParseFail{};
          name += "_" + std::string(s_.substr(i_ + 1, close - i_ - 1));
          i_ = close + 1;
        } else if (i_ < s_.size() && (is_digit(s_[i_]) || is_alpha(s_[i_]))) {
          name += "_" + std::string(1, s_[i_++]);
        } else {
          throw ParseFail{};
        }
      }
      if (name == "e") return GiNaC::exp(numeric(1));  // Euler's number (as math-verify reads a lone e)
      return symbol_named(name);
    }
    throw ParseFail{};
  }

  ex command(std::string_view name) {
    if (name == "frac" || name == "cfrac") {
      ex a = argument();
      ex b = argument();
      if (b.is_zero()) throw ParseFail{};
      return a / b;
    }
    if (name == "sqrt") {
      ex index = numeric(2);
      ws();
      if (i_ < s_.size() && s_[i_] == '[') index = group('[', ']');
      if (!GiNaC::is_a<numeric>(index) || !GiNaC::ex_to<numeric>(index).is_pos_integer() ||
          GiNaC::ex_to<numeric>(index) > 100)
        throw ParseFail{};
      ex a = argument();
      return GiNaC::pow(a, 1 / index);
    }
    if (name == "pi") return GiNaC::Pi;
    if (name == "infty") {
      infinity_ = true;
      return symbol_named("oo");
    }
    if (name == "binom" || name == "dbinom" || name == "tbinom") {
      ex n = argument(), k = argument();
      if (!GiNaC::is_a<numeric>(n) || !GiNaC::is_a<numeric>(k)) throw ParseFail{};
      const numeric& nn = GiNaC::ex_to<numeric>(n);
      const numeric& kk = GiNaC::ex_to<numeric>(k);
      if (!nn.is_nonneg_integer() || !kk.is_integer() || nn > lim_.max_binomial) throw ParseFail{};
      return GiNaC::binomial(nn, kk);
    }
    if (is_greek(name)) return symbol_named(std::string(name));
    if (name == "log") {
      ex base;
      bool has_base = false;
      if (eat('_')) {
        base = argument();
        has_base = true;
      }
      ex x = function_argument();
      return has_base ? GiNaC::log(x) / GiNaC::log(base) : GiNaC::log(x);
    }
    if (name == "ln") return GiNaC::log(function_argument());
    if (name == "exp") return GiNaC::exp(function_argument());
    if (name == "sin") return GiNaC::sin(function_argument());
    if (name == "cos") return GiNaC::cos(function_argument());
    if (name == "tan") return GiNaC::tan(function_argument());
    if (name == "sec") return 1 / GiNaC::cos(function_argument());
    if (name == "csc") return 1 / GiNaC::sin(function_argument());
    if (name == "cot") return 1 / GiNaC::tan(function_argument());
    if (name == "arcsin") return GiNaC::asin(function_argument());
    if (name == "arccos") return GiNaC::acos(function_argument());
    if (name == "arctan") return GiNaC::atan(function_argument());
    if (name == "sinh") return GiNaC::sinh(function_argument());
    if (name == "cosh") return GiNaC::cosh(function_argument());
    if (name == "tanh") return GiNaC::tanh(function_argument());
    throw ParseFail{};  // unknown command (\le, \cup, … are handled above this parser or not at all)
  }

  ex safe_factorial(const ex& n) {
    if (!GiNaC::is_a<numeric>(n)) throw ParseFail{};
    const numeric& v = GiNaC::ex_to<numeric>(n);
    if (!v.is_nonneg_integer() || v > lim_.max_factorial) throw ParseFail{};
    return GiNaC::factorial(v);
  }

  ex safe_pow(const ex& b, const ex& e) {
    tick();
    if (GiNaC::is_a<numeric>(e)) {
      const numeric& en = GiNaC::ex_to<numeric>(e);
      if (!en.is_rational()) throw ParseFail{};
      numeric num = GiNaC::abs(en.numer()), den = en.denom();
      if (num > lim_.max_integer_exponent || den > 100) throw ParseFail{};
      long ne = num.to_long();
      if (GiNaC::is_a<numeric>(b)) {
        const numeric& bn = GiNaC::ex_to<numeric>(b);
        if (bn.is_zero() && en.is_negative()) throw ParseFail{};
        if (bn.is_rational()) {
          long bits = static_cast<long>(bn.numer().int_length() + bn.denom().int_length());
          if (bits * ne > lim_.max_result_bits) throw ParseFail{};
        }
      } else if (ne > lim_.max_symbolic_exponent) {
        throw ParseFail{};
      }
    }
    return GiNaC::pow(b, e);
  }
};

}  // namespace

std::mutex& ginac_mutex() {
  static std::mutex m;
  return m;
}

std::optional<ParsedExpr> parse_latex_expr(std::string_view text, const ExprLimits& limits) {
  try {
    Parser p(text, limits);
    ParsedExpr e = p.run();
    // ∞ only as a whole value (±∞): "\infty - \infty" must not simplify to 0.
    if (e.has_infinity) {
      const GiNaC::symbol& oo = symbol_named("oo");
      if (!(e.value.is_equal(oo) || e.value.is_equal(-oo))) return std::nullopt;
    }
    return e;
  } catch (const ParseFail&) {
    return std::nullopt;
  } catch (const std::exception&) {  // GiNaC: pole_error, domain_error, …
    return std::nullopt;
  }
}

bool has_symbol(const GiNaC::ex& e) {
  for (auto it = e.preorder_begin(); it != e.preorder_end(); ++it)
    if (GiNaC::is_a<GiNaC::symbol>(*it)) return true;
  return false;
}

}  // namespace r1kit::rewards::math
