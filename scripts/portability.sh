#!/usr/bin/env bash
# Runs the numerics tests (the CTest labels model, rollout, train, rl, sft and eval — every suite whose results
# depend on floating-point kernels, the recipe's end-to-end run included) under other CPU code paths than this machine's default, so that a suite written on one CPU of the
# project's kind (AMD EPYC or Intel Xeon) does not depend on it. CI may run on either; these variables make one
# machine take the other kernels, other summation orders, that the other CPU would:
#
#   ATEN_CPU_CAPABILITY      ATen's vectorised kernels: default (scalar) | avx2 | avx512
#   MKL_ENABLE_INSTRUCTIONS  MKL's GEMM / BLAS code path: SSE4_2 | AVX2 | AVX512
#   DNNL_MAX_CPU_ISA         oneDNN's (the packed inference GEMM's) highest ISA: SSE41 | AVX2 | AVX512_CORE
#   OMP_NUM_THREADS          intra-op threads: 1 and 2 (other reduction splits)
#
#   scripts/portability.sh [--build DIR] [--paths native,avx2,avx512,scalar] [--threads 1,2] [--label REGEX] [-- CTEST ARGS]
#
# Each combination runs `ctest -L REGEX` (default the six suites above) (one test at a time when threads > 1, so threads are not oversubscribed)
# and writes DIR/portability/<path>-t<threads>.log; the script prints one line per combination and exits non-zero
# when any failed. `avx512` is skipped (said so) on a CPU without AVX-512F. CI runs one non-default combination
# (.ci/run); run the whole matrix before changing numerics.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=build
PATHS="native,avx2,avx512,scalar"
THREADS="1,2"
LABEL="^(model|rollout|train|rl|sft|eval)$"
JOBS=$(nproc)
while (($#)); do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --paths) PATHS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --label) LABEL="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "portability.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$BUILD/CTestTestfile.cmake" ] || { echo "portability.sh: $BUILD is not a configured build; run 'make build' first" >&2; exit 2; }

env_of() {
  case "$1" in
    native) echo "" ;;
    avx2)   echo "ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 DNNL_MAX_CPU_ISA=AVX2" ;;
    avx512) echo "ATEN_CPU_CAPABILITY=avx512 MKL_ENABLE_INSTRUCTIONS=AVX512 DNNL_MAX_CPU_ISA=AVX512_CORE" ;;
    scalar) echo "ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 DNNL_MAX_CPU_ISA=SSE41" ;;
    *) echo "portability.sh: unknown code path '$1' (native, avx2, avx512, scalar)" >&2; exit 2 ;;
  esac
}

mkdir -p "$BUILD/portability"
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "portability: labels '$LABEL' on ${cpu:-unknown CPU}, $(date -u +%Y-%m-%dT%H:%MZ)"
failed=0
IFS=, read -ra path_list <<<"$PATHS"
IFS=, read -ra thread_list <<<"$THREADS"
for p in "${path_list[@]}"; do
  vars=$(env_of "$p") || exit 2
  if [ "$p" = avx512 ] && ! grep -qw avx512f /proc/cpuinfo; then
    echo "  $p: skipped (this CPU has no AVX-512F)"
    continue
  fi
  for t in "${thread_list[@]}"; do
    log="$BUILD/portability/$p-t$t.log"
    j=$((JOBS / t)); ((j < 1)) && j=1
    start=$(date +%s)
    (cd "$BUILD" && env $vars OMP_NUM_THREADS="$t" R1KIT_TEST_THREADS="$t" \
       ctest -L "$LABEL" --output-on-failure -j "$j" "$@") >"$log" 2>&1
    rc=$?
    summary=$(grep -E 'tests passed|tests failed' "$log" | tail -1)
    printf '  %-7s threads %s  %-55s %4ds  %s\n' "$p" "$t" "${summary:-no ctest summary (see log)}" \
      $(($(date +%s) - start)) "$log"
    if ((rc != 0)); then
      failed=1
      grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)\)' "$log" | sed 's/^/      /'
    fi
  done
done
exit $failed
