# Finds the LibTorch to build against, for the shim (CMakeLists.txt) and the C++
# benchmark baseline (bench/cpp), and sets the C++ standard it needs. Include it
# before any target.
#
# LibTorch: Debian's libtorch-dev by default; any other (a CUDA build, the one inside
# a torch wheel from scripts/fetch-libtorch, or a pip-installed torch) through
# -DTorch_DIR=<prefix>/share/cmake/Torch or CMAKE_PREFIX_PATH=<prefix>.
if(NOT Torch_DIR AND DEFINED ENV{Torch_DIR})
  set(Torch_DIR "$ENV{Torch_DIR}")
endif()
if(Torch_DIR)
  # A wheel's TorchConfig.cmake looks for its libraries and its Caffe2 config in its own
  # folders only after the system's: with Debian's libtorch-dev installed it would
  # silently use Debian's. Its prefix goes first in the search path instead.
  get_filename_component(DDPM4J_TORCH_PREFIX "${Torch_DIR}/../../.." ABSOLUTE)
  list(PREPEND CMAKE_PREFIX_PATH "${DDPM4J_TORCH_PREFIX}")
endif()
find_package(Torch REQUIRED)

# The LibTorch whose config was found must be the one linked: refuse a mix.
get_filename_component(DDPM4J_FOUND_PREFIX "${Torch_DIR}/../../.." ABSOLUTE)
get_filename_component(DDPM4J_TORCH_LIBRARY "${TORCH_LIBRARY}" REALPATH)
get_filename_component(DDPM4J_FOUND_PREFIX_REAL "${DDPM4J_FOUND_PREFIX}" REALPATH)
string(FIND "${DDPM4J_TORCH_LIBRARY}" "${DDPM4J_FOUND_PREFIX_REAL}/" DDPM4J_AT)
if(NOT DDPM4J_AT EQUAL 0)
  message(FATAL_ERROR "ddpm4j: the LibTorch config in ${Torch_DIR} resolved its library to ${TORCH_LIBRARY}, "
    "which lies outside ${DDPM4J_FOUND_PREFIX}: two LibTorch installations are mixed. "
    "Point CMAKE_PREFIX_PATH (or Torch_DIR) at the one you want.")
endif()

# What differs between LibTorch builds, all here: the C++ standard its headers need
# (2.14's require C++20; earlier ones compile as C++17), and whether it was built with
# CUDA (its config sets CAFFE2_USE_CUDA and TORCH_CUDA_LIBRARIES), which compiles the
# CUDA parts of the shim (DD_WITH_CUDA; native/src/cuda.cpp).
if(Torch_VERSION VERSION_GREATER_EQUAL 2.14)
  set(CMAKE_CXX_STANDARD 20)
else()
  set(CMAKE_CXX_STANDARD 17)
endif()
if(CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES)
  set(DDPM4J_WITH_CUDA ON)
else()
  set(DDPM4J_WITH_CUDA OFF)
endif()

# c10d's backends for torch.distributed (native/src/distributed.cpp), which the shim's
# CMakeLists.txt detects with ddpm4j_detect_c10d() (the C++ benchmark does not need them):
# - DDPM4J_WITH_GLOO: ProcessGroupGloo.hpp compiles (it includes gloo's headers, which a
#   torch wheel does not ship: Debian's libgloo-dev has them) and a program that makes a Gloo
#   device links against this LibTorch (built with Gloo). The shim takes from those headers
#   only what holds across gloo versions: shared_ptr<gloo::transport::Device> is passed
#   through, and no gloo type is laid out, constructed or called in the shim (docs/distributed.md).
# - DDPM4J_WITH_NCCL: in a CUDA build, the same for ProcessGroupNCCL.hpp (nccl.h).
# A failed check is not cached, so that installing the headers and configuring again finds them.
function(ddpm4j_detect_c10d)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "${TORCH_CXX_FLAGS}")
  set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
  # The libraries as files of the LibTorch's own folder: try_compile cannot resolve the imported
  # targets of TORCH_LIBRARIES (their link interfaces name targets of other packages).
  # The libraries' own dependencies need not be found here (a CUDA LibTorch's nvidia-* libraries
  # are found at run time): only the symbols the program uses are checked.
  get_filename_component(lib "${DDPM4J_TORCH_LIBRARY}" DIRECTORY)
  set(CMAKE_REQUIRED_LINK_OPTIONS "-Wl,-rpath,${lib}" "-Wl,--allow-shlib-undefined")
  set(CMAKE_REQUIRED_LIBRARIES "${lib}/libtorch_cpu.so" "${lib}/libc10.so")
  set(CMAKE_REQUIRED_QUIET ON)
  set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_GLOO)
  check_cxx_source_compiles("
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
int main() { return c10d::ProcessGroupGloo::createDeviceForHostname(\"127.0.0.1\") ? 0 : 1; }" DDPM4J_HAVE_GLOO)
  set(have_nccl OFF)
  if(DDPM4J_WITH_CUDA)
    set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_NCCL)
    list(APPEND CMAKE_REQUIRED_INCLUDES ${CUDAToolkit_INCLUDE_DIRS} ${CUDA_INCLUDE_DIRS})
    list(APPEND CMAKE_REQUIRED_LIBRARIES "${lib}/libtorch_cuda.so" "${lib}/libc10_cuda.so")
    check_cxx_source_compiles("
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
int main() { return c10d::ProcessGroupNCCL::Options::create() ? 0 : 1; }" DDPM4J_HAVE_NCCL)
    set(have_nccl ${DDPM4J_HAVE_NCCL})
    if(NOT DDPM4J_HAVE_NCCL)
      unset(DDPM4J_HAVE_NCCL CACHE)
    endif()
  endif()
  if(DDPM4J_HAVE_GLOO)
    set(DDPM4J_WITH_GLOO ON PARENT_SCOPE)
  else()
    unset(DDPM4J_HAVE_GLOO CACHE)
    set(DDPM4J_WITH_GLOO OFF PARENT_SCOPE)
    message(WARNING "ddpm4j: no Gloo for torch.distributed: ProcessGroupGloo.hpp with gloo's headers did not compile and "
      "link against this LibTorch (on Debian, install libgloo-dev). The shim builds without it, and a gloo process group "
      "throws DistributedException saying so.")
  endif()
  if(have_nccl)
    set(DDPM4J_WITH_NCCL ON PARENT_SCOPE)
  else()
    set(DDPM4J_WITH_NCCL OFF PARENT_SCOPE)
  endif()
endfunction()
