// Cooperative per-sample deadline for rewarders. RewardSet sets a deadline on the worker thread before it calls a
// rewarder; long-running rewarders (math equivalence, …) poll deadline_passed() at their loop points and give up
// (scoring 0) once it has passed. This complements "bounded by construction" (input-size and work caps inside each
// rewarder): nothing is ever killed or detached, so a runaway can only cost its own sample's time budget.
#pragma once

#include <chrono>

namespace r1kit::rewards {

/// Sets the calling thread's deadline to now + `seconds` for the lifetime of this object (restores the previous
/// one on destruction). seconds <= 0 or non-finite means "no deadline".
class ScopedDeadline {
 public:
  explicit ScopedDeadline(double seconds);
  ~ScopedDeadline();
  ScopedDeadline(const ScopedDeadline&) = delete;
  ScopedDeadline& operator=(const ScopedDeadline&) = delete;

 private:
  std::chrono::steady_clock::time_point previous_;
  bool previous_set_;
};

/// True when the calling thread has a deadline and it has passed. Costs one steady_clock read.
bool deadline_passed();

}  // namespace r1kit::rewards
