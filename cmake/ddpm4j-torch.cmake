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
