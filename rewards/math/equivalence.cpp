#include "rewards/math/equivalence.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/strings.h"
#include "rewards/deadline.h"
#include "rewards/math/latex_expr.h"
#include "rewards/math/normalize_answer.h"

namespace r1kit::rewards::math {
namespace {

using GiNaC::ex;
using GiNaC::numeric;

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// ---- structure -------------------------------------------------------------------------------------------------

struct Node {
  enum Kind { kExpr, kSeq, kSet, kUnion, kEquation } kind = kExpr;
  std::string text;         // kExpr: the leaf text
  char open = 0, close = 0;  // kSeq brackets; 0 = bare list
  std::vector<Node> items;  // kSeq / kSet / kUnion elements; kEquation: {lhs, rhs}
};

// Splits at top-level occurrences of `sep` (depth counts ( [ { against ) ] } regardless of kind, so "[2,5)" nests).
std::vector<std::string_view> split_top(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth == 0 && s.compare(i, sep.size(), sep) == 0) {
      // a command separator must not continue as a longer command ("\in" vs "\infty")
      if (sep[0] == '\\' && i + sep.size() < s.size() && is_alpha(s[i + sep.size()])) continue;
      // '=' must not be part of \le= / <= / >= / != / ==
      if (sep == "=" && ((i > 0 && (s[i - 1] == '<' || s[i - 1] == '>' || s[i - 1] == '!' || s[i - 1] == '=')) ||
                         (i + 1 < s.size() && s[i + 1] == '=')))
        continue;
      parts.push_back(s.substr(start, i - start));
      start = i + sep.size();
      i = start - 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

// Index of the bracket closing s[0] (any kind), or npos.
size_t matching_close(std::string_view s) {
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}')
      if (--depth == 0) return i;
  }
  return std::string_view::npos;
}

Node parse_node(std::string_view t, int depth);

Node leaf(std::string_view t) {
  Node n;
  n.text = std::string(trim(t));
  // ± / ∓ : a ± b is the pair {a + b, a − b}
  for (std::string_view pm : {"\\pm", "\\mp"}) {
    size_t p = n.text.find(pm);
    if (p != std::string::npos && n.text.find(pm, p + 1) == std::string::npos) {
      Node set;
      set.kind = Node::kSet;
      std::string head = n.text.substr(0, p), tail = n.text.substr(p + pm.size());
      set.items.push_back(leaf(head + "+" + tail));
      set.items.push_back(leaf(head + "-" + tail));
      return set;
    }
  }
  return n;
}

Node parse_node(std::string_view t, int depth) {
  t = trim(t);
  if (depth > 3 || t.empty()) return leaf(t);
  if (auto parts = split_top(t, "\\cup"); parts.size() > 1) {
    Node u;
    u.kind = Node::kUnion;
    for (auto p : parts) u.items.push_back(parse_node(p, depth + 1));
    return u;
  }
  if (auto parts = split_top(t, "\\in"); parts.size() == 2) return parse_node(parts[1], depth + 1);
  char first = t.front(), last = t.back();
  if ((first == '(' || first == '[' || first == '{') && (last == ')' || last == ']' || last == '}') &&
      matching_close(t) == t.size() - 1) {
    std::string_view inner = t.substr(1, t.size() - 2);
    auto parts = split_top(inner, ",");
    if (first == '{' && last == '}') {
      if (parts.size() == 1) return parse_node(inner, depth + 1);  // a LaTeX group
      Node s;
      s.kind = Node::kSet;
      for (auto p : parts) s.items.push_back(parse_node(p, depth + 1));
      return s;
    }
    if (parts.size() > 1) {
      Node q;
      q.kind = Node::kSeq;
      q.open = first;
      q.close = last;
      for (auto p : parts) q.items.push_back(parse_node(p, depth + 1));
      return q;
    }
  }
  if (auto parts = split_top(t, ","); parts.size() > 1) {
    Node q;
    q.kind = Node::kSeq;
    for (auto p : parts) q.items.push_back(parse_node(p, depth + 1));
    return q;
  }
  if (auto parts = split_top(t, "="); parts.size() > 1) {
    Node e;
    e.kind = Node::kEquation;
    e.items.push_back(parse_node(parts.front(), depth + 1));
    e.items.push_back(parse_node(parts.back(), depth + 1));
    return e;
  }
  return leaf(t);
}

bool is_single_variable(const Node& n) {
  if (n.kind != Node::kExpr) return false;
  const std::string& s = n.text;
  if (s.size() == 1) return is_alpha(s[0]);
  if (s.size() >= 3 && is_alpha(s[0]) && s[1] == '_') return true;  // x_1
  if (s[0] == '\\') return s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 1) ==
                           std::string::npos;  // \theta
  return false;
}

// A word of 3+ ASCII letters that is not a LaTeX command or a known function: the answer is prose.
bool has_word(std::string_view s) {
  static const std::set<std::string, std::less<>> known = {"sqrt", "sin", "cos", "tan", "log", "exp",
                                                            "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
                                                            "sec", "csc", "cot"};
  for (size_t i = 0; i < s.size();) {
    if (!is_alpha(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && is_alpha(s[j])) ++j;
    bool command = i > 0 && s[i - 1] == '\\';
    if (!command && j - i >= 3 && !known.contains(s.substr(i, j - i))) return true;
    i = j;
  }
  return false;
}

// ---- leaf comparison (GiNaC; caller holds ginac_mutex) ----------------------------------------------------------

bool close_enough(const numeric& a, const numeric& b, double tol) {
  double ar = GiNaC::real(a).to_double(), ai = GiNaC::imag(a).to_double();
  double br = GiNaC::real(b).to_double(), bi = GiNaC::imag(b).to_double();
  double scale = std::max(std::hypot(ar, ai), std::hypot(br, bi));
  if (!std::isfinite(scale)) return false;
  if (scale == 0) return true;
  return std::hypot(ar - br, ai - bi) <= tol * scale;
}

std::optional<numeric> numeric_value(const ex& e) {
  ex v = GiNaC::evalf(e);
  if (!GiNaC::is_a<numeric>(v)) return std::nullopt;
  return GiNaC::ex_to<numeric>(v);
}

bool exprs_equal(const ParsedExpr& a, const ParsedExpr& b, double rel_tol) {
  ex d = a.value - b.value;
  if (d.is_zero()) return true;
  const bool exact = !a.inexact && !b.inexact;
  const double tol = exact ? 1e-12 : rel_tol;
  auto is_rational = [](const ex& e) { return GiNaC::is_a<numeric>(e) && GiNaC::ex_to<numeric>(e).is_rational(); };
  if (exact && is_rational(a.value) && is_rational(b.value)) return false;  // exact rationals differ
  if (deadline_passed()) return false;
  bool symbolic = has_symbol(a.value) || has_symbol(b.value);
  if (!symbolic) {
    auto x = numeric_value(a.value), y = numeric_value(b.value);
    return x && y && close_enough(*x, *y, tol);
  }
  if (GiNaC::normal(d).is_zero()) return true;
  if (a.has_infinity || b.has_infinity) return false;
  // Numeric identity test at fixed points (distinct values per symbol).
  GiNaC::lst syms;
  for (const ex* side : {&a.value, &b.value})
    for (auto it = side->preorder_begin(); it != side->preorder_end(); ++it)
      if (GiNaC::is_a<GiNaC::symbol>(*it)) syms.append(*it);
  static constexpr std::array<double, 3> base = {0.5377, 1.8339, 2.2588};
  int agreeing = 0;
  for (int point = 0; point < 3; ++point) {
    if (deadline_passed()) return false;
    GiNaC::exmap values;
    int k = 0;
    for (const ex& s : syms) values[s] = numeric(base[point] + 0.3119 * k++);
    try {
      auto x = numeric_value(a.value.subs(values)), y = numeric_value(b.value.subs(values));
      if (!x || !y) continue;
      if (!close_enough(*x, *y, exact ? 1e-9 : rel_tol)) return false;
      ++agreeing;
    } catch (const std::exception&) {
      continue;  // a pole at this point
    }
  }
  return agreeing >= 2;
}

struct Context {
  const EquivalenceOptions& options;
  bool gold_percent, pred_percent;
};

bool leaf_equal(const std::string& g, const std::string& p, const Context& ctx) {
  if (canonical_text(g) == canonical_text(p)) return true;
  if (has_word(g) || has_word(p)) return false;
  auto a = parse_latex_expr(g);
  auto b = parse_latex_expr(p);
  if (!a || !b) return false;
  try {
    if (exprs_equal(*a, *b, ctx.options.rel_tol)) return true;
    if (ctx.pred_percent != ctx.gold_percent) {  // percent policy: also try value / 100 on the % side
      ParsedExpr& pc = ctx.pred_percent ? *b : *a;
      pc.value = pc.value / 100;
      return exprs_equal(*a, *b, ctx.options.rel_tol);
    }
  } catch (const std::exception&) {
    return false;
  }
  return false;
}

bool nodes_equal(const Node& g, const Node& p, const Context& ctx);

// Multiset matching (greedy is enough: equivalence is transitive).
bool unordered_equal(const std::vector<Node>& g, const std::vector<Node>& p, const Context& ctx) {
  if (g.size() != p.size()) return false;
  std::vector<bool> used(p.size(), false);
  for (const Node& x : g) {
    bool found = false;
    for (size_t j = 0; j < p.size() && !found; ++j)
      if (!used[j] && nodes_equal(x, p[j], ctx)) used[j] = found = true;
    if (!found) return false;
  }
  return true;
}

bool ordered_equal(const std::vector<Node>& g, const std::vector<Node>& p, const Context& ctx) {
  if (g.size() != p.size()) return false;
  for (size_t i = 0; i < g.size(); ++i)
    if (!nodes_equal(g[i], p[i], ctx)) return false;
  return true;
}

Node difference(const Node& eq) {
  Node d;
  d.text = "(" + eq.items[0].text + ")-(" + eq.items[1].text + ")";
  return d;
}

bool nodes_equal(const Node& g, const Node& p, const Context& ctx) {
  if (deadline_passed()) return false;
  using K = Node::Kind;
  if (g.kind == K::kEquation && p.kind != K::kEquation)
    return is_single_variable(g.items[0]) && nodes_equal(g.items[1], p, ctx);
  if (p.kind == K::kEquation && g.kind != K::kEquation)
    return is_single_variable(p.items[0]) && nodes_equal(g, p.items[1], ctx);
  if (g.kind == K::kEquation) {
    if (nodes_equal(g.items[0], p.items[0], ctx) && nodes_equal(g.items[1], p.items[1], ctx)) return true;
    if (nodes_equal(g.items[0], p.items[1], ctx) && nodes_equal(g.items[1], p.items[0], ctx)) return true;
    if (g.items[0].kind != K::kExpr || g.items[1].kind != K::kExpr || p.items[0].kind != K::kExpr ||
        p.items[1].kind != K::kExpr)
      return false;
    Node dg = difference(g), dp = difference(p), ndp = dp;
    ndp.text = "-(" + dp.text + ")";
    return leaf_equal(dg.text, dp.text, ctx) || leaf_equal(dg.text, ndp.text, ctx);
  }
  if (g.kind == K::kUnion || p.kind == K::kUnion) {
    if (g.kind != p.kind) return false;
    return unordered_equal(g.items, p.items, ctx);
  }
  if (g.kind == K::kSet || p.kind == K::kSet) {
    if (g.kind == K::kExpr || p.kind == K::kExpr) {
      const Node& set = g.kind == K::kSet ? g : p;
      const Node& single = g.kind == K::kSet ? p : g;
      return set.items.size() == 1 && nodes_equal(set.items[0], single, ctx);
    }
    return unordered_equal(g.items, p.items, ctx);  // set vs set, or set vs list (any brackets)
  }
  if (g.kind == K::kSeq && p.kind == K::kSeq) {
    bool g_bare = g.open == 0, p_bare = p.open == 0;
    if (g_bare && p_bare) return unordered_equal(g.items, p.items, ctx);
    if (!g_bare && !p_bare && (g.open != p.open || g.close != p.close)) return false;
    return ordered_equal(g.items, p.items, ctx);
  }
  if (g.kind == K::kExpr && p.kind == K::kExpr) return leaf_equal(g.text, p.text, ctx);
  return false;
}

bool is_integer_text(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 300) return false;
  return std::all_of(s.begin(), s.end(), is_digit);
}

std::string_view strip_leading_zeros(std::string_view s) {
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  return s;
}

// "C", "(C)", "C)" -> 'C'; 0 if the text is not a lone choice letter A–E.
char choice_letter(std::string_view s, bool allow_trailing_text) {
  s = trim(s);
  bool paren = !s.empty() && s[0] == '(';
  if (paren) s.remove_prefix(1);
  if (s.empty() || s[0] < 'A' || s[0] > 'E') return 0;
  char letter = s[0];
  s.remove_prefix(1);
  if (!s.empty() && s[0] == ')') s.remove_prefix(1);
  else if (paren) return 0;
  s = trim(s);
  if (s.empty()) return letter;
  if (!allow_trailing_text || !(paren || !is_alpha(s[0]))) return 0;
  // The trailing text must not name another choice ("(C) or (D)", "C, D"): no standalone letter A–E.
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] >= 'A' && s[i] <= 'E' && (i == 0 || !is_alpha(s[i - 1])) && (i + 1 == s.size() || !is_alpha(s[i + 1])))
      return 0;
  return letter;
}

}  // namespace

bool answers_equivalent(std::string_view gold, std::string_view prediction, const EquivalenceOptions& options) {
  if (prediction.size() > 4 * options.max_answer_chars) return false;
  NormalizedAnswer g = normalize_answer(gold), p = normalize_answer(prediction);
  if (p.text.size() > options.max_answer_chars || g.text.empty() || p.text.empty()) return false;
  if (canonical_text(g.text) == canonical_text(p.text)) return true;
  if (is_integer_text(g.text) && is_integer_text(p.text) && g.percent == p.percent)
    return (g.text[0] == '-') == (p.text[0] == '-') && strip_leading_zeros(g.text) == strip_leading_zeros(p.text);
  if (char letter = choice_letter(g.text, false)) return choice_letter(p.text, true) == letter;
  Node gn = parse_node(g.text, 0), pn = parse_node(p.text, 0);
  Context ctx{options, g.percent, p.percent};
  std::lock_guard<std::mutex> lock(ginac_mutex());
  try {
    return nodes_equal(gn, pn, ctx);
  } catch (...) {
    return false;
  }
}

}  // namespace r1kit::rewards::math
