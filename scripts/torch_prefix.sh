#!/usr/bin/env bash
# Prints LibTorch's CMake prefix (the directory torch.utils.cmake_prefix_path names) without importing torch:
# a --no-deps install of the CUDA wheel cannot be imported, but its headers and libraries are all there.
set -euo pipefail
R1KIT_DEPS="${R1KIT_DEPS:-$HOME/.cache/r1kit}"
"$R1KIT_DEPS/venv/bin/python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("torch")
if spec is None or not spec.submodule_search_locations:
    sys.exit("torch is not installed in this venv: run scripts/setup.sh")
print(os.path.join(list(spec.submodule_search_locations)[0], "share", "cmake"))
PY
