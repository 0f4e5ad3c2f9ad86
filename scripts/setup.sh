#!/usr/bin/env bash
# Installs every Debian package bnrecal needs and builds the `bnrecal` CLI in Release into ./build
# (the CLI first, so it is usable before the tests and benchmarks are compiled; build those with
# `cmake --build build`). Run as root on Debian 12 from anywhere: it finds the repository.
#   bash scripts/setup.sh                        # install + configure + build the CLI
#   BNRECAL_SKIP_APT=1 bash scripts/setup.sh     # configure + build the CLI only
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build ccache git pkg-config
  libtorch-dev            # libtorch 1.13 (CPU), found by find_package(Torch)
  libopenblas-dev         # an optimized BLAS for libtorch's matmul (Debian's default is the reference one)
  libdnnl-dev             # oneDNN: exact u8 x s8 -> s32 GEMM for the SySMT kernels
  libcli11-dev nlohmann-json3-dev zlib1g-dev libjpeg-dev libpng-dev
  libgtest-dev libbenchmark-dev
  libonnx-dev libonnx-testdata  # ONNX models in and out (ModelProto), and ONNX's operator tests
  libgloo-dev             # headers of Gloo, the backend of the distributed runs (c10d in libtorch)
  clang libclang-rt-14-dev  # libFuzzer, ASan and UBSan for the fuzz targets (fuzz/)
  dataset-fashion-mnist   # the default dataset, /usr/share/datasets/fashion-mnist
  python3-torch python3-torchvision python3-pil python3-numpy  # reference checks against torchvision
  python3-matplotlib      # the plots in docs/ (scripts/plot_*.py)
  python3-onnx            # onnx.checker on bnrecal's ONNX exports (tests)
  python3-pytest          # the Python package's tests (python/tests), run from ctest
)

if [[ "${BNRECAL_SKIP_APT:-0}" != 1 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: installing packages needs root (or set BNRECAL_SKIP_APT=1 if they are installed)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${packages[@]}"
fi

cmake -S "$repo" -B "$repo/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$repo/build" -j "$(nproc)" --target bnrecal
