// r1kit shim (see cmake/gloo_shim/README.md): the one member of gloo::Context that ProcessGroupGloo.hpp names
// (in an inline function r1kit never instantiates: calls go through the library's vtable).
#pragma once

#include <chrono>

namespace gloo {
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo
