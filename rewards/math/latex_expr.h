// A bounded recursive-descent parser from (normalised) LaTeX / plain math to a GiNaC expression.
//
// Untrusted input: every construct has a work cap, so parsing returns quickly or fails — it never computes
// 10^10^10 or 10^6!. Caps (ExprLimits): node count, literal length, integer exponents (|e| ≤ 10,000 and a result
// size bound for numeric bases; |e| ≤ 64 for symbolic bases), roots (index ≤ 100), factorial (n ≤ 10,000),
// binomial (n ≤ 20,000), and the calling thread's cooperative deadline (rewards/deadline.h).
//
// GiNaC is not thread-safe (non-atomic reference counts on shared constants, a global symbol table): callers must
// hold ginac_mutex() while they parse, compare, or destroy GiNaC objects.
#pragma once

#include <ginac/ginac.h>

#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>

namespace r1kit::rewards::math {

struct ExprLimits {
  size_t max_nodes = 400;                 // primaries + operators in one answer
  size_t max_literal_digits = 400;        // digits of one number literal
  long max_integer_exponent = 10000;      // |e| for x^e with numeric x
  long max_result_bits = 400000;          // bits(x) * |e| for numeric x^e (~120,000 decimal digits)
  long max_symbolic_exponent = 64;        // |e| for x^e with symbolic x (bounds expand()/normal())
  long max_factorial = 10000;             // n! for n ≤ this
  long max_binomial = 20000;              // binom(n, k) for n ≤ this
};

struct ParsedExpr {
  GiNaC::ex value;
  bool inexact = false;       // contains a decimal literal (3.14, 1.5e3): compared with a tolerance
  bool has_infinity = false;  // contains \infty (a symbol named "oo")
};

/// The process-wide lock around every GiNaC use in r1kit.
std::mutex& ginac_mutex();

/// Parses `text`; nullopt on a syntax error, an unknown command, an exceeded cap, a passed deadline, or any GiNaC
/// error (division by zero, …). Caller holds ginac_mutex().
/// Grammar: sums, products (*, \cdot, \times, /, \div, implicit "2x", "3\sqrt2"), unary ±, right-associative
/// powers ^, postfix !, groups () [] {} and |…| (abs), numbers (integers, decimals, 1.5e3), single-letter
/// symbols with subscripts (x_1; the letter e is Euler's number), Greek letters, \pi, \infty, \frac, \sqrt[n]{}, \binom, \sin … \arctan,
/// \log_b, \ln, \exp, and the plain words sqrt, pi, sin, cos, tan, log, ln, exp.
std::optional<ParsedExpr> parse_latex_expr(std::string_view text, const ExprLimits& limits = {});

/// True if `e` contains a symbol (GiNaC constants such as Pi do not count).
bool has_symbol(const GiNaC::ex& e);

}  // namespace r1kit::rewards::math
