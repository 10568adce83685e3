#!/usr/bin/env bash
# Installs what is missing, builds the examples and classifies the bundled sample images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build=${WASTENET_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)" --target wastenet-classify
"$build/examples/wastenet-classify" --truth examples/images/*.jpg
