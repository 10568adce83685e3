#!/usr/bin/env bash
# Installs the performance peer (ONNX Runtime's CPU engine, from npm) into benchmarks/peers/node_modules
# (ignored by git). --ignore-scripts: the package ships its Linux x64 binaries; no post-install download.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm > /dev/null; then
  echo "setup: npm not found (Debian: apt-get install npm)" >&2
  exit 1
fi
if [ ! -d node_modules/onnxruntime-node ]; then
  npm install --ignore-scripts --no-audit --no-fund
fi
node -e "console.log('onnxruntime-node', require('onnxruntime-node').env.versions.common)"
