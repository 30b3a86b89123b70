// Mathematical equivalence of a predicted answer and a gold answer (math_accuracy).
//
// Pipeline: normalize_answer() both sides -> equal canonical text? -> integer fast path -> multiple-choice letters
// -> structure (union ∪ of intervals, sets {…}, tuples/intervals (…)/[…], bare lists a, b, equations, ±) ->
// leaf expressions parsed by parse_latex_expr() and compared with GiNaC.
//
// Policies (documented in configs/README.md):
// - Exact vs numeric: when neither side contains a decimal literal, rational values are compared EXACTLY
//   (1/2004! ≠ 1/2006!); exact irrational constants (√17, π, sin(π/12)) are compared after GiNaC simplification
//   and then numerically to a relative 1e-12. When either side contains a decimal (0.5, 4.1231, 1.5e3) the values
//   are compared numerically with relative tolerance `rel_tol` (default 1e-6): √17 = 4.123105625617661.
// - Expressions with symbols: normal(a − b) == 0, else equal values at three fixed random-looking points.
// - Percent: "50\%" equals "50" (the sign is dropped) and also "0.5" (the value / 100) — both readings are tried
//   when exactly one side carries a percent sign.
// - Commas: "7,425,000" is one number (thousands groups of three); "0,1" and "3,5" are pairs, never decimals.
// - Tuples and intervals: brackets must match when both sides have them ("[2,5)" ≠ "(2,5)"); a bare list on one
//   side ("0,1") matches a parenthesised tuple elementwise, in order. Sets {…} and two bare lists compare as
//   multisets (order-free). A partial answer to "find all" (a strict subset) scores 0.
// - Equations: "x = 3" equals "3" when its left side is a single variable; two equations are equal when their
//   sides match or their differences are proportional by ±1.
// - Multiple choice: a gold of a single letter A–E (optionally "(C)" or \text{(C)}) matches a prediction whose
//   leading token is that letter ("C", "(C)", "(C) 12").
// - Plain text (a word of 3+ letters that is not a function name, or an unparsable side): compared as
//   canonical_text() (lower case, no spaces/braces/backslashes).
// Never throws; any failure (cap exceeded, deadline passed, GiNaC error) means "not equivalent".
#pragma once

#include <cstddef>
#include <string_view>

namespace r1kit::rewards::math {

struct EquivalenceOptions {
  double rel_tol = 1e-6;          // relative tolerance when a decimal literal is involved
  size_t max_answer_chars = 1000;  // longer (normalised) predictions are refused (not equivalent)
};

/// True if `prediction` is mathematically equivalent to `gold` under the policies above.
bool answers_equivalent(std::string_view gold, std::string_view prediction, const EquivalenceOptions& options = {});

}  // namespace r1kit::rewards::math
