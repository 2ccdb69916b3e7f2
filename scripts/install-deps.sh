#!/usr/bin/env bash
# Installs fqsim's build and test dependencies from Debian 12 packages (run as root).
# Quiet when everything is already present.
set -euo pipefail
packages=(g++ cmake ninja-build pkg-config libfmt-dev libyaml-cpp-dev catch2 libboost-dev
          libsystemc-dev verilator yosys gnuplot-nox nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
