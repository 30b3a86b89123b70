// Countdown arithmetic (TinyZero, github.com/Jiayi-Pan/TinyZero, verl/utils/reward_score/countdown.py): the model
// must combine the given numbers, each exactly once, with + − × ÷ and parentheses to reach a target.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace r1kit::rewards::rules {

/// Exact rational value of an arithmetic expression over non-negative integer literals with + - * / ( ) and
/// unary minus (TinyZero's allowed characters: digits, + - * / ( ) . and whitespace — we reject '.', i.e.
/// decimals). nullopt on any other character, a syntax error, division by zero, overflow of 64-bit
/// numerator/denominator, more than 64 literals, or nesting deeper than 64. Never evaluates code.
/// `numbers_out` (optional) receives the literals in order.
std::optional<std::pair<int64_t, int64_t>> evaluate_countdown(std::string_view expr,
                                                              std::vector<int64_t>* numbers_out = nullptr);

}  // namespace r1kit::rewards::rules
