// r1kit shim (see cmake/gloo_shim/README.md): ProcessGroupGloo.hpp includes this header but uses nothing from it.
#pragma once
