#include "eval/metrics.h"

#include "core/error.h"
#include "rewards/math/equivalence.h"

namespace r1kit::eval {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n < 1 || c < 0 || c > n || k < 1 || k > n)
    throw InvalidArgument("pass_at_k: need 0 <= c <= n and 1 <= k <= n, got n = " + std::to_string(n) +
                          ", c = " + std::to_string(c) + ", k = " + std::to_string(k) +
                          " (sample at least k completions per problem)");
  if (n - c < k) return 1.0;  // every k-subset contains a correct sample
  // 1 − C(n−c, k)/C(n, k) = 1 − Π_{i=n−c+1}^{n} (1 − k/i): no large binomials (Chen et al. 2021, Fig. 3).
  double prod = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) prod *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - prod;
}

std::vector<int64_t> reported_ks(int64_t n) {
  std::vector<int64_t> ks;
  for (int64_t k = 1; k < n; k *= 2) ks.push_back(k);
  if (n >= 1) ks.push_back(n);
  return ks;
}

MajorityVote majority_vote(const std::vector<std::optional<std::string>>& answers, const AnswerEquivalence& equivalent) {
  const AnswerEquivalence eq = equivalent ? equivalent : [](std::string_view rep, std::string_view a) {
    return rewards::math::answers_equivalent(rep, a);
  };
  MajorityVote v;
  std::vector<int64_t> rep, count;  // per group: representative sample, members
  v.group_of.assign(answers.size(), -1);
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i]) continue;
    int64_t g = -1;
    for (size_t j = 0; j < rep.size() && g < 0; ++j)
      if (*answers[rep[j]] == *answers[i] || eq(*answers[rep[j]], *answers[i])) g = static_cast<int64_t>(j);
    if (g < 0) {
      g = static_cast<int64_t>(rep.size());
      rep.push_back(static_cast<int64_t>(i));
      count.push_back(0);
    }
    ++count[g];
    v.group_of[i] = g;
  }
  v.num_groups = static_cast<int64_t>(rep.size());
  // Strictly greater: among tied groups the one formed first (earliest-sampled representative) wins.
  for (size_t g = 0; g < rep.size(); ++g)
    if (count[g] > v.votes) v.votes = count[g], v.winner = rep[g];
  return v;
}

}  // namespace r1kit::eval
