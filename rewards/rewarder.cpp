#include "rewards/rewarder.h"

namespace r1kit::rewards {

std::vector<double> Rewarder::score_batch(std::span<const Sample> samples) const {
  std::vector<double> out;
  out.reserve(samples.size());
  for (const auto& s : samples) out.push_back(score(s));
  return out;
}

}  // namespace r1kit::rewards
