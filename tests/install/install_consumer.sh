#!/usr/bin/env bash
# cmake --install of this build into a temporary prefix, then, from outside both trees: an
# installed command finds its preset by name and its cost tables, and a separate CMake project
# builds against the installed package (find_package(fqsim)) and runs tile programs through it.
#   install_consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in bin/simulate bin/quantize bin/regress share/fqsim/configs/fineq.yaml share/fqsim/configs/costs.yaml \
         share/fqsim/rtl/fq_top.v include/fqsim/sim/engine.h lib/cmake/fqsim/fqsimConfig.cmake lib/libfq_core.a; do
  [[ -e $prefix/$f ]] || { echo "FAIL: $f is not installed"; exit 1; }
done

cd "$work"  # nowhere near a source tree
"$prefix/bin/simulate" --arch fineq --gemm 16,64,128 --json sim.json > sim.txt
grep -q '"cycles"' sim.json || { echo "FAIL: no cycles in the report"; cat sim.txt; exit 1; }
"$prefix/bin/simulate" --help > help.txt
grep -q "cost tables are $prefix/share/fqsim/configs/costs.yaml" help.txt ||
  { echo "FAIL: the installed simulate does not take the installed cost tables"; tail -3 help.txt; exit 1; }
if "$prefix/bin/simulate" --arch no_such_preset --gemm 16,64,128 > bad.txt 2>&1; then
  echo "FAIL: an unknown preset was accepted"; exit 1
fi
grep -q "preset of $prefix/share/fqsim/configs: .*fineq" bad.txt || { echo "FAIL: bad preset message"; cat bad.txt; exit 1; }

cmake -S "$src/tests/install/consumer" -B consumer -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > configure.log ||
  { cat configure.log; exit 1; }
cmake --build consumer > build.log || { cat build.log; exit 1; }
# The consumer's executable is not in <prefix>/bin: it finds the presets through FQSIM_DATA_DIR.
FQSIM_DATA_DIR=$prefix/share/fqsim ./consumer/consumer fineq
FQSIM_DATA_DIR=$prefix/share/fqsim ./consumer/consumer int8
FQSIM_DATA_DIR=$prefix/share/fqsim ./consumer/consumer bitserial
echo "PASS: installed into $prefix, commands and a find_package(fqsim) consumer work"
