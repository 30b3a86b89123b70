#include "rewards/deadline.h"

#include <cmath>

namespace r1kit::rewards {
namespace {
thread_local std::chrono::steady_clock::time_point t_deadline{};
thread_local bool t_deadline_set = false;
}  // namespace

ScopedDeadline::ScopedDeadline(double seconds) : previous_(t_deadline), previous_set_(t_deadline_set) {
  if (seconds > 0 && std::isfinite(seconds)) {
    t_deadline = std::chrono::steady_clock::now() +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    t_deadline_set = true;
  } else {
    t_deadline_set = false;
  }
}

ScopedDeadline::~ScopedDeadline() {
  t_deadline = previous_;
  t_deadline_set = previous_set_;
}

bool deadline_passed() { return t_deadline_set && std::chrono::steady_clock::now() > t_deadline; }

}  // namespace r1kit::rewards
