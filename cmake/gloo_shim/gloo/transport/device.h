// r1kit shim (see cmake/gloo_shim/README.md): transport types ProcessGroupGloo.hpp holds only by pointer.
#pragma once

namespace gloo::transport {
class Device;
class UnboundBuffer;
}  // namespace gloo::transport
