# LibTorch from the PyPI `torch` wheel (installed by scripts/setup.sh).
#
# We build imported targets from the wheel's headers and libraries instead of calling find_package(Torch):
# the wheel is built with CUDA, and TorchConfig.cmake insists on a matching CUDA toolkit and the nvidia-* wheels,
# which a CPU-only build needs none of. R1KIT_CUDA decides whether libtorch_cuda is linked:
#   OFF  - CPU only (libtorch_cpu + libc10)
#   ON   - also libtorch_cuda + libc10_cuda; fails if their shared-library dependencies do not resolve
#   AUTO - ON when every dependency of libtorch_cuda.so resolves on this machine (ldd), OFF otherwise
set(R1KIT_CUDA "AUTO" CACHE STRING "Link LibTorch's CUDA support: AUTO, ON or OFF")
set_property(CACHE R1KIT_CUDA PROPERTY STRINGS AUTO ON OFF)

if(NOT TORCH_CMAKE_PREFIX)
  execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/torch_prefix.sh
                  OUTPUT_VARIABLE TORCH_CMAKE_PREFIX OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE _r1kit_rc ERROR_VARIABLE _r1kit_err)
  if(NOT _r1kit_rc EQUAL 0)
    message(FATAL_ERROR "LibTorch not found (${_r1kit_err}). Run `make setup` (scripts/setup.sh) first, "
                        "or pass -DTORCH_CMAKE_PREFIX=<site-packages>/torch/share/cmake.")
  endif()
endif()
get_filename_component(TORCH_ROOT "${TORCH_CMAKE_PREFIX}/../.." ABSOLUTE)
set(TORCH_LIB_DIR "${TORCH_ROOT}/lib")
foreach(_lib c10 torch_cpu)
  if(NOT EXISTS "${TORCH_LIB_DIR}/lib${_lib}.so")
    message(FATAL_ERROR "LibTorch at ${TORCH_ROOT} lacks lib${_lib}.so; reinstall with `make setup`")
  endif()
endforeach()
file(READ "${TORCH_ROOT}/version.py" _torch_version_py)
string(REGEX MATCH "__version__ = '([^']+)'" _m "${_torch_version_py}")
set(R1KIT_TORCH_VERSION "${CMAKE_MATCH_1}")

set(_cuda_ok OFF)
if(NOT R1KIT_CUDA STREQUAL "OFF" AND EXISTS "${TORCH_LIB_DIR}/libtorch_cuda.so")
  execute_process(COMMAND ldd "${TORCH_LIB_DIR}/libtorch_cuda.so" OUTPUT_VARIABLE _ldd RESULT_VARIABLE _ldd_rc)
  if(_ldd_rc EQUAL 0 AND NOT _ldd MATCHES "not found")
    set(_cuda_ok ON)
  else()
    string(REGEX MATCHALL "[^\n\t ]+ => not found" _missing "${_ldd}")
  endif()
endif()
if(R1KIT_CUDA STREQUAL "ON" AND NOT _cuda_ok)
  message(FATAL_ERROR "R1KIT_CUDA=ON but libtorch_cuda.so cannot load: ${_missing}. "
                      "Run `R1KIT_CUDA=ON make setup` to install the wheel's CUDA runtime wheels.")
endif()
set(R1KIT_WITH_CUDA ${_cuda_ok})
message(STATUS "r1kit: LibTorch ${R1KIT_TORCH_VERSION} at ${TORCH_ROOT}; CUDA support: ${R1KIT_WITH_CUDA}")

add_library(r1kit_libtorch INTERFACE)
target_include_directories(r1kit_libtorch SYSTEM INTERFACE
  "${TORCH_ROOT}/include" "${TORCH_ROOT}/include/torch/csrc/api/include")
target_compile_definitions(r1kit_libtorch INTERFACE _GLIBCXX_USE_CXX11_ABI=1
  R1KIT_TORCH_VERSION="${R1KIT_TORCH_VERSION}")
# Not libtorch.so: in the wheel it is a stub whose DT_NEEDED includes libtorch_cuda.so.
set(_torch_libs "${TORCH_LIB_DIR}/libtorch_cpu.so" "${TORCH_LIB_DIR}/libc10.so")
if(R1KIT_WITH_CUDA)
  # --no-as-needed: nothing references libtorch_cuda directly, but loading it registers the CUDA kernels.
  target_link_options(r1kit_libtorch INTERFACE "LINKER:--no-as-needed,${TORCH_LIB_DIR}/libtorch_cuda.so,${TORCH_LIB_DIR}/libc10_cuda.so,--as-needed")
  target_compile_definitions(r1kit_libtorch INTERFACE R1KIT_WITH_CUDA=1)
endif()
target_link_libraries(r1kit_libtorch INTERFACE ${_torch_libs} pthread)
# OpenMP, as the wheel was built with it (and as torch.utils.cpp_extension compiles extensions): at::parallel_for
# is an inline `#pragma omp parallel` in ATen's headers, so without -fopenmp our own parallel loops (the rollout
# sampler, the fused decode kernels, GGUF dequantisation) would silently run on one thread. Linked against the
# wheel's own libgomp so that one OpenMP runtime (one thread pool, one OMP_NUM_THREADS) serves LibTorch and r1kit.
target_compile_options(r1kit_libtorch INTERFACE -fopenmp)
if(EXISTS "${TORCH_LIB_DIR}/libgomp.so.1")
  target_link_libraries(r1kit_libtorch INTERFACE "${TORCH_LIB_DIR}/libgomp.so.1")
else()
  target_link_options(r1kit_libtorch INTERFACE -fopenmp)
endif()

# torch.distributed's C++ core (c10d: TCPStore, ProcessGroupGloo) is part of libtorch_cpu.so; ProcessGroupNCCL is in
# libtorch_cuda.so. r1kit_c10d_sources(<files>) lets those sources (train/distributed.cpp) include the c10d
# process-group headers: the wheel lacks Gloo's headers, so cmake/gloo_shim declares the few Gloo names
# ProcessGroupGloo.hpp mentions (-idirafter: real Gloo headers win where present). With CUDA, the NCCL backend
# also needs the CUDA runtime and nccl.h headers (CUDA toolkit or the nvidia-* wheels); without them r1kit uses
# Gloo for CUDA tensors too. The sources see R1KIT_WITH_NCCL=1 when NCCL is available.
set(R1KIT_WITH_NCCL OFF)
if(R1KIT_WITH_CUDA)
  find_package(CUDAToolkit QUIET)
  get_filename_component(_nv "${TORCH_ROOT}/../nvidia" ABSOLUTE)
  file(GLOB _nv_includes "${_nv}/*/include" "${_nv}/cu*/include")
  find_path(R1KIT_NCCL_INCLUDE_DIR nccl.h HINTS "${_nv}/nccl/include" ${CUDAToolkit_INCLUDE_DIRS})
  find_path(R1KIT_CUDART_INCLUDE_DIR cuda_runtime_api.h HINTS ${_nv_includes} ${CUDAToolkit_INCLUDE_DIRS})
  if(R1KIT_NCCL_INCLUDE_DIR AND R1KIT_CUDART_INCLUDE_DIR)
    set(R1KIT_WITH_NCCL ON)
  else()
    message(STATUS "r1kit: nccl.h or cuda_runtime_api.h not found; multi-GPU training uses Gloo")
  endif()
endif()
function(r1kit_c10d_sources)
  set(_opts "-idirafter" "${CMAKE_SOURCE_DIR}/cmake/gloo_shim")
  set(_defs "")
  if(R1KIT_WITH_NCCL)
    list(APPEND _opts "-isystem" "${R1KIT_CUDART_INCLUDE_DIR}" "-isystem" "${R1KIT_NCCL_INCLUDE_DIR}")
    list(APPEND _defs R1KIT_WITH_NCCL=1)
  endif()
  set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS "${_opts}" COMPILE_DEFINITIONS "${_defs}")
endfunction()

# The wheel's libtorch_cpu.so needs libcudart/libcupti at load time; they come from the CUDA toolkit (ld.so.conf)
# or, after `R1KIT_CUDA=ON make setup`, from the nvidia-* wheels. RPATH covers the wheel's own lib folder.
set(CMAKE_BUILD_RPATH "${TORCH_LIB_DIR}" CACHE INTERNAL "")
