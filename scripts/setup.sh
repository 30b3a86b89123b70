#!/usr/bin/env bash
# Installs everything r1kit needs on a fresh Debian 12 machine. Idempotent: a second run checks and returns.
#
#   scripts/setup.sh            Debian -dev packages + LibTorch (PyPI `torch` wheel, pinned) in a private venv
#   R1KIT_CUDA=ON scripts/setup.sh   also installs the wheel's CUDA runtime dependencies (nvidia-* wheels)
#
# LibTorch lives in "$R1KIT_DEPS/venv" (default ~/.cache/r1kit); CMake finds it through
# scripts/torch_prefix.sh, which prints the same directory as torch.utils.cmake_prefix_path without importing torch.
set -euo pipefail

TORCH_VERSION="2.15.0"   # pinned; keep in sync with README.md and BENCHMARKS.md
R1KIT_DEPS="${R1KIT_DEPS:-$HOME/.cache/r1kit}"
R1KIT_CUDA="${R1KIT_CUDA:-AUTO}"

APT_PACKAGES=(build-essential cmake ninja-build ccache pkg-config python3 python3-venv python3-pip unzip
              nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libre2-dev libutf8proc-dev
              libginac-dev libcld2-dev bubblewrap
              libgtest-dev libgmock-dev gnuplot-nox)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

VENV="$R1KIT_DEPS/venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
  echo "setup: creating $VENV"
  mkdir -p "$R1KIT_DEPS"
  python3 -m venv "$VENV"
fi
have_torch="$("$PY" - <<'PY' 2>/dev/null || true
import importlib.metadata as m
try: print(m.version("torch"))
except m.PackageNotFoundError: print("")
PY
)"
if [ "$have_torch" != "$TORCH_VERSION" ]; then
  echo "setup: installing LibTorch from the PyPI wheel torch==$TORCH_VERSION (have: '${have_torch:-none}')"
  # --no-deps: the CPU build links libtorch_cpu/libc10 only and needs none of the nvidia-* wheels (~3.5 GB).
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "torch==$TORCH_VERSION"
fi
if [ "$R1KIT_CUDA" = "ON" ]; then
  echo "setup: R1KIT_CUDA=ON: installing the wheel's CUDA runtime dependencies"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
echo "setup: ok (torch $TORCH_VERSION in $VENV)"
