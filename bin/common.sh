# Shared by bin/ddpm4j, bin/test and .ci/run; source it, don't run it.
# Installs what a Debian 12 machine lacks and finds a JDK >= 22.

DDPM4J_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages the build, the tests and the main job need. libgloo-dev: gloo's headers, which
# c10d's ProcessGroupGloo.hpp includes and a torch wheel does not ship (torch.distributed's Gloo backend).
DDPM4J_PACKAGES=(libtorch-dev libopenblas0-pthread python3-torch libgloo-dev dataset-fashion-mnist cmake g++ make maven)
# What the test suite needs besides: tmux runs bin/ddpm4j in a terminal (TerminalTest), headless
# Chromium opens the sampling server's page (BrowserPageTest).
DDPM4J_TEST_PACKAGES=(tmux chromium)

ddpm4j_log() { printf 'ddpm4j: %s\n' "$*" >&2; }

ddpm4j_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else ddpm4j_log "need root to run: $*"; return 1
  fi
}

# Installs the missing Debian packages (no-op when all are present).
# Installs the packages of DDPM4J_PACKAGES, and those given as arguments, that are missing.
ddpm4j_install_packages() {
  local missing=() p
  for p in "${DDPM4J_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    ddpm4j_log "installing ${missing[*]}"
    ddpm4j_as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive ddpm4j_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Prints the feature version of the JDK at $1 (e.g. 25), or nothing.
ddpm4j_jdk_version() {
  [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

# Exports JAVA_HOME as a JDK >= 22: $JAVA_HOME if it qualifies, else the newest under /usr/lib/jvm.
ddpm4j_find_jdk() {
  local best="" best_v=0 d v
  for d in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$d" ] && [ -d "$d" ] || continue
    v=$(ddpm4j_jdk_version "$d")
    if [ -n "$v" ] && [ "$v" -ge 22 ]; then
      if [ "$d" = "${JAVA_HOME:-}" ]; then best=$d; best_v=$v; break; fi
      if [ "$v" -gt "$best_v" ]; then best=$d; best_v=$v; fi
    fi
  done
  if [ -z "$best" ]; then
    # Debian 12's own archive has no JDK >= 22; machines with another JDK repository
    # (Adoptium's, or backports) can install one by name.
    local pkg
    for pkg in temurin-25-jdk openjdk-25-jdk temurin-24-jdk openjdk-24-jdk openjdk-23-jdk openjdk-22-jdk; do
      if apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        ddpm4j_log "installing $pkg"
        DEBIAN_FRONTEND=noninteractive ddpm4j_as_root apt-get install -y -qq "$pkg" >/dev/null && ddpm4j_find_jdk && return 0
      fi
    done
    ddpm4j_log "no JDK >= 22 found (looked at JAVA_HOME and /usr/lib/jvm): ddpm4j needs the Foreign Function & Memory API."
    ddpm4j_log "install one (e.g. Temurin 25) and set JAVA_HOME to it."
    return 1
  fi
  export JAVA_HOME=$best
  export PATH="$JAVA_HOME/bin:$PATH"
}

# The LibTorch to build against, from DDPM4J_LIBTORCH:
#   debian     Debian's libtorch-dev (LibTorch 1.13, CPU)
#   2.13.0     a torch version: scripts/fetch-libtorch unpacks the LibTorch of its CPU wheel (pip)
#   /a/folder  the prefix of any CPU LibTorch (holding share/cmake/Torch)
# Without DDPM4J_LIBTORCH, a Torch_DIR in the environment names the folder (its
# share/cmake/Torch); without either, the default below. A LibTorch built with CUDA is
# built by scripts/build-cuda, which sets up the toolkit and the nvidia-* libraries.
# Exports Torch_DIR (read by CMakeLists.txt) and sets DDPM4J_NATIVE_BUILD, a build
# folder of its own per LibTorch, so that switching never mixes two builds.
DDPM4J_DEFAULT_LIBTORCH=2.13.0
# Every LibTorch that CI runs the whole suite on (.ci/run).
DDPM4J_TESTED_LIBTORCH=(debian 2.13.0)
ddpm4j_select_libtorch() {
  local choice=${DDPM4J_LIBTORCH:-} prefix id
  if [ -z "$choice" ] && [ -n "${Torch_DIR:-}" ]; then
    choice=$(cd "$Torch_DIR/../../.." 2>/dev/null && pwd) || { ddpm4j_log "Torch_DIR=$Torch_DIR is not a folder"; return 1; }
  fi
  choice=${choice:-$DDPM4J_DEFAULT_LIBTORCH}
  case "$choice" in
    debian)
      unset Torch_DIR
      DDPM4J_NATIVE_BUILD=$DDPM4J_ROOT/target/native
      DDPM4J_LIBTORCH_ID=debian
      return 0 ;;
    [0-9]*)
      # the wheel comes through pip: Debian's python3-pip where python3 has no pip of its own
      if ! python3 -m pip --version >/dev/null 2>&1; then
        ddpm4j_log "installing python3-pip (LibTorch $choice comes from a torch wheel through pip)"
        ddpm4j_as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive ddpm4j_as_root apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
      fi
      prefix=$("$DDPM4J_ROOT/scripts/fetch-libtorch" "$choice") || { ddpm4j_log "cannot get LibTorch $choice"; return 1; }
      id=$choice ;;
    *)
      if [ ! -f "$choice/share/cmake/Torch/TorchConfig.cmake" ]; then
        ddpm4j_log "DDPM4J_LIBTORCH=$choice: no share/cmake/Torch/TorchConfig.cmake there (give 'debian', a torch version such as 2.13.0, or a LibTorch folder)"
        return 1
      fi
      prefix=$(cd "$choice" && pwd)
      id=custom-$(printf '%s' "$prefix" | cksum | cut -d' ' -f1) ;;
  esac
  if compgen -G "$prefix/lib/libtorch_cuda*" >/dev/null; then
    ddpm4j_log "the LibTorch in $prefix is built with CUDA: build the shim for it with scripts/build-cuda (it sets up the CUDA"
    ddpm4j_log "toolkit and the nvidia-* libraries), and run with -Dddpm4j.library=<its libddpm4j.so>; bin/ddpm4j and bin/test build CPU LibTorch"
    return 1
  fi
  export Torch_DIR=$prefix/share/cmake/Torch
  DDPM4J_NATIVE_BUILD=$DDPM4J_ROOT/target/native-$id
  DDPM4J_LIBTORCH_ID=$id
}

# Runs "$@" while holding the build lock of this checkout (target/.build.lock): two builds
# in one target/ folder would overwrite each other's classes. Waits for another holder.
ddpm4j_locked() {
  mkdir -p "$DDPM4J_ROOT/target"
  (
    exec 9>"$DDPM4J_ROOT/target/.build.lock"
    if ! flock -n 9; then
      ddpm4j_log "waiting for another build or test run in $DDPM4J_ROOT to finish"
      flock 9
    fi
    "$@"
  )
}

# Maven in batch mode with the chosen JDK; quiet about JDK 24+'s Unsafe warnings from Maven itself.
ddpm4j_mvn() {
  MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" mvn -B -q "$@"
}

# CMake arguments for a LibTorch built with CUDA whose CUDA libraries come from nvidia-*
# wheels, one per line (read them with mapfile):
#   ddpm4j_cuda_cmake_args NVIDIA_DIR
# NVIDIA_DIR holds the wheels' folders (cu13/, cudnn/, nccl/...): pip's site-packages/nvidia,
# or the nvidia/ folder that scripts/fetch-libtorch VERSION --cuda makes. TorchConfig needs a
# CUDA toolkit even where nothing is compiled with nvcc: DDPM4J_CUDA_HOME, else the root that
# nvcc reports (DDPM4J_NVCC, else nvcc on the PATH; its dry run names the real root behind a
# wrapper). libnvrtc (DDPM4J_NVRTC) and the headers that a toolkit may lack (cuBLAS, cuSPARSE,
# NCCL; ATen/cuda/CUDAContext.h and c10d's ProcessGroupNCCL.hpp include them) come from the wheels.
ddpm4j_cuda_cmake_args() {
  local nvidia=$1 nvcc cuda_home top nvrtc d flags=${CXXFLAGS:-}
  [ -d "$nvidia" ] || { ddpm4j_log "no nvidia-* wheels at $nvidia"; return 1; }
  cuda_home=${DDPM4J_CUDA_HOME:-}
  if [ -z "$cuda_home" ]; then
    nvcc=${DDPM4J_NVCC:-$(command -v nvcc || true)}
    if [ -z "$nvcc" ]; then
      ddpm4j_log "no nvcc on the PATH: a LibTorch built with CUDA needs the CUDA toolkit to configure; install it, or set DDPM4J_NVCC or DDPM4J_CUDA_HOME"
      return 1
    fi
    top=$("$nvcc" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ TOP=//p' | head -n 1)
    cuda_home=$(realpath "${top:-$(dirname "$(realpath "$nvcc")")/..}")
  fi
  if [ ! -x "$cuda_home/bin/nvcc" ] || [ ! -f "$cuda_home/include/cuda_runtime_api.h" ]; then
    ddpm4j_log "$cuda_home is not a CUDA toolkit root (bin/nvcc, include/cuda_runtime_api.h): set DDPM4J_CUDA_HOME"
    return 1
  fi
  nvrtc=${DDPM4J_NVRTC:-$(find "$nvidia" -mindepth 3 -maxdepth 3 -path '*/lib/libnvrtc.so.*' ! -name '*builtins*' 2>/dev/null | sort | head -n 1)}
  for d in $(find "$nvidia" -mindepth 2 -maxdepth 2 -type d -name include | sort); do flags+=" -isystem $d"; done
  ddpm4j_log "CUDA toolkit $cuda_home ($("$cuda_home/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')), nvrtc ${nvrtc:-from the toolkit}"
  printf '%s\n' "-DCUDAToolkit_ROOT=$cuda_home" "-DCUDA_TOOLKIT_ROOT_DIR=$cuda_home" \
    "-DCMAKE_CUDA_COMPILER=$cuda_home/bin/nvcc" "-DCMAKE_CXX_FLAGS=$flags"
  [ -z "$nvrtc" ] || printf '%s\n' "-DCUDA_nvrtc_LIBRARY=$nvrtc"
}

# The library folders of the nvidia-* wheels under NVIDIA_DIR, joined with ':'.
ddpm4j_cuda_library_path() {
  find "$1" -mindepth 2 -maxdepth 2 -type d -name lib | sort | paste -sd: -
}
