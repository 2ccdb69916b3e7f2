#!/usr/bin/env bash
# Installs fqsim's build and test dependencies from Debian 12 packages (run as root).
# Quiet when everything is already present.
set -euo pipefail
packages=(g++ cmake ninja-build pkg-config libfmt-dev libyaml-cpp-dev catch2 libboost-dev
          libsystemc-dev verilator yosys gnuplot-nox nlohmann-json3-dev ccache
          clang libclang-rt-14-dev     # clang + libFuzzer: scripts/ci-fuzz.sh
          slurmctld slurmd slurm-client munge)  # the one-node Slurm of scripts/slurm-local.sh
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

# The OSU 0.18 um standard-cell liberty for scripts/synth_area.sh (docs/energy.md "Area from the
# RTL"). Only the files of qflow-tech-osu018 are unpacked: installing it would pull in qflow and
# its tool chain, which fqsim does not use. FQ_OSU018_DIR overrides the location.
osu_dir=${FQ_OSU018_DIR:-/opt/fqsim/osu018}
osu_lib=$osu_dir/usr/share/qflow/tech/osu018/osu018_stdcells.lib
if [ ! -s "$osu_lib" ]; then
  echo "install-deps: unpacking qflow-tech-osu018 into $osu_dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # The first try hides apt's "download is performed unsandboxed" warning; a failure retries
  # after refreshing the package lists, with errors shown.
  (cd "$tmp" && apt-get download -qq qflow-tech-osu018 2>/dev/null || { apt-get update -qq && apt-get download -qq qflow-tech-osu018; })
  mkdir -p "$osu_dir"
  dpkg -x "$tmp"/qflow-tech-osu018_*.deb "$osu_dir"
  dpkg-deb -f "$tmp"/qflow-tech-osu018_*.deb Version >"$osu_dir/VERSION"
  [ -s "$osu_lib" ] || { echo "install-deps: $osu_lib missing after unpacking qflow-tech-osu018" >&2; exit 1; }
fi
