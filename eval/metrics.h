// Evaluation metrics of K sampled completions per problem: pass@k, maj@k, and the aggregates `r1kit eval` and
// the GRPO trainer's periodic evaluation report.
//
//   pass@k   unbiased estimator of Chen et al. 2021 (HumanEval, arXiv 2107.03374, eq. 1; numerically stable form
//            of their Fig. 3): with n samples of which c are correct,
//              pass@k = 1 − C(n−c, k) / C(n, k) = 1 − Π_{i=n−c+1}^{n} (1 − k/i)
//            (= 1 when n − c < k). pass@1 = c / n, the mean correctness of the K samples.
//   maj@k    majority vote (self-consistency, Wang et al. 2022, arXiv 2203.11171): the final answers of the k
//            samples are extracted (rewards/math/extract_answer.h) and grouped by the math rewarder's equivalence
//            (rewards/math/equivalence.h); the largest group's answer is the prediction. Samples without an
//            answer do not vote. Ties: the group whose first member was sampled earliest wins (groups are formed
//            in sample order, so this is the earliest-sampled answer among the tied ones). The vote is correct
//            when its representative — that earliest sample of the winning group — was scored correct.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1kit::eval {

/// Unbiased pass@k for n samples with c correct (Chen et al. 2021, eq. 1). Requires 0 <= c <= n, 1 <= k <= n;
/// throws InvalidArgument otherwise. E.g. (n=5, c=2, k=1) -> 0.4, (5, 2, 2) -> 0.7, c = 0 -> 0, n − c < k -> 1.
double pass_at_k(int64_t n, int64_t c, int64_t k);

/// The k values reported for n samples: 1, 2, 4, 8, … below n, then n. E.g. n = 6 -> {1, 2, 4, 6}.
std::vector<int64_t> reported_ks(int64_t n);

/// Equivalence of two extracted answers (first = the group's representative). The default is
/// rewards::math::answers_equivalent.
using AnswerEquivalence = std::function<bool(std::string_view representative, std::string_view answer)>;

struct MajorityVote {
  int64_t winner = -1;     // sample index of the winning group's representative (earliest member); -1: no answers
  int64_t votes = 0;       // members of the winning group
  int64_t num_groups = 0;  // distinct answers
  std::vector<int64_t> group_of;  // [samples] group id (in order of first appearance), -1 for samples without answer
};

/// Majority vote over the answers of one problem's samples in sampling order (nullopt = no answer extracted).
/// Tie rule and grouping in the header comment. Cost: O(samples × groups) equivalence checks.
MajorityVote majority_vote(const std::vector<std::optional<std::string>>& answers,
                           const AnswerEquivalence& equivalent = {});

}  // namespace r1kit::eval
