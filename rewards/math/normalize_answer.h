// String-level normalisation of a math answer before it is parsed (math_accuracy).
//
// Removes presentation that never changes the value: $ and \$, \( \) \[ \] delimiters, \left / \right, thin
// spaces (\! \, \; \:), \displaystyle, \dfrac / \tfrac -> \frac, \text{…} / \mbox{…} / \mathrm{…} / \textbf{…}
// wrappers (the content is kept), degrees (^\circ, °), a trailing sentence period, trailing unit words after a
// number ("5 cm", "12\text{ inches}^2"), LaTeX thousands groups ("7{,}425{,}000") and comma thousands
// separators where they *are* separators: "7,425,000" -> "7425000" (groups of exactly three digits after the
// first 1–3 digits; so "0,1" stays a pair and "3,5" is the pair (3, 5), never the decimal 3.5).
// A whole answer of the form "3\frac{1}{2}" is a mixed number (3½ = 7/2), as MATH writes them.
// A percent sign is removed and reported in `percent` (see equivalence.h for the percent policy).
#pragma once

#include <string>
#include <string_view>

namespace r1kit::rewards::math {

struct NormalizedAnswer {
  std::string text;      // normalised text, single-spaced, trimmed
  bool percent = false;  // the answer carried a % / \%
};

NormalizedAnswer normalize_answer(std::string_view answer);

/// Canonical form for plain-text comparison: normalised, lower-cased, without whitespace, backslashes and braces.
std::string canonical_text(std::string_view normalized);

}  // namespace r1kit::rewards::math
