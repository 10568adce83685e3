#!/usr/bin/env bash
# Installs what wastenet needs on Debian 12, only where it is missing.
# Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail
pkgs=(cmake g++ make pkg-config libeigen3-dev libxtensor-dev xtl-dev libfmt-dev nlohmann-json3-dev libstb-dev zlib1g-dev)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(libgtest-dev python3-torch python3-torchvision python3-pil python3-numpy clang-14 libopencv-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
