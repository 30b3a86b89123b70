#!/usr/bin/env bash
# Developer-only: regenerate tests/fixtures/ with the reference implementations (never run by CI; the outputs
# are committed). Creates .venv-fixtures with the pinned reference packages, then runs scripts/make_fixtures.py.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-fixtures
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  # Full torch (with its CUDA runtime wheels: PyPI has no CPU-only Linux wheel), reference libraries pinned.
  "$VENV/bin/pip" install -q torch==2.15.0 transformers==5.24.0 tokenizers==0.23.3 gguf==0.19.0 \
      safetensors==0.8.0 trl==1.16.0 math-verify==0.9.0 accelerate numpy jinja2
fi
bash scripts/fetch_smollm2.sh "${R1KIT_BIN:-build/cli/r1kit}"
"$VENV/bin/python" scripts/make_fixtures.py --r1kit "${R1KIT_BIN:-build/cli/r1kit}" "$@"
