#!/usr/bin/env bash
# CI's bounded fuzz step (docs/verification.md "Fuzzing"): builds the libFuzzer targets with clang
# in build-fuzz (FQ_FUZZ=ON), replays every seed and crash regression under tests/fuzz/, then
# fuzzes each target for FQ_FUZZ_SECONDS (default 15) on a copy of its seed corpus. Fails on any
# crash, leak, timeout or memory blow-up, naming the input it wrote under build-fuzz/artifacts/.
# FQ_FUZZ_RUNS=N also stops each target after N executions (the long runs of verification.md:
# FQ_FUZZ_SECONDS=300 FQ_FUZZ_RUNS=1000000); FQ_FUZZ_WORK=DIR puts the scratch corpora and the
# artifacts in DIR instead of build-fuzz.
# usage: scripts/ci-fuzz.sh [READER...]   (default: every reader of tests/fuzz/CMakeLists.txt)
#        scripts/ci-fuzz.sh --configure   (only configure build-fuzz: .ci/run builds and runs the
#        unit and engine tests in it first, so that one sanitized build serves both)
set -euo pipefail
cd "$(dirname "$0")/.."
configure_only=0
if [ "${1:-}" = --configure ]; then configure_only=1; shift; fi
seconds=${FQ_FUZZ_SECONDS:-15}
runs=${FQ_FUZZ_RUNS:--1}
work=${FQ_FUZZ_WORK:-build-fuzz}  # artifacts/ and corpus/ go here
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(qfile llama2c safetensors arch costs topology tir mem tokenizer sweep_csv hf_config)

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DFQ_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFQ_WERROR=OFF \
  "${launcher[@]}" >/dev/null
[ $configure_only = 0 ] || exit 0
cmake --build build-fuzz -j2 --target fuzz_targets

bin=$PWD/build-fuzz/bin
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/artifacts" "$work/corpus"
mkdir -p "$work/artifacts"
for r in "${readers[@]}"; do
  # Replay: each committed file once, under ASan and UBSan (files, not folders: libFuzzer would
  # add inputs to a folder it is given).
  mapfile -t inputs < <(find tests/fuzz/$r/seeds tests/fuzz/$r/crashes -type f ! -name README.md 2>/dev/null | sort)
  if ! "$bin/fuzz_$r" "${inputs[@]}" >"$work/artifacts/$r-replay.log" 2>&1; then
    tail -40 "$work/artifacts/$r-replay.log"
    echo "ci-fuzz: fuzz_$r crashes on a committed input (log: $work/artifacts/$r-replay.log)" >&2
    exit 1
  fi
  # Search: new inputs go to a scratch corpus, never into the source tree.
  mkdir -p "$work/corpus/$r"
  cp tests/fuzz/$r/seeds/* "$work/corpus/$r/"
  if ! (cd "$work" && "$bin/fuzz_$r" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
          -artifact_prefix=artifacts/$r- -print_final_stats=1 corpus/$r >artifacts/$r.log 2>&1); then
    grep -E 'ERROR|SUMMARY|Test unit written' "$work/artifacts/$r.log" | head -20 >&2
    echo "ci-fuzz: fuzz_$r found a crash: reproduce with build-fuzz/bin/fuzz_$r $work/artifacts/$r-<hash>;" \
         "fix the reader and add the input to tests/fuzz/$r/crashes/ (log: $work/artifacts/$r.log)" >&2
    exit 1
  fi
  time=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$work/artifacts/$r.log" | awk '{ print $5 }')
  grep -E '^#[0-9]+[[:space:]]+DONE' "$work/artifacts/$r.log" | tail -1 |
    awk -v r="$r" -v t="$time" '{ printf "ci-fuzz: %-12s %9s runs in %4s s, %5s edges, corpus %s\n", r, substr($1, 2), t, $4, $8 }'
done
echo "ci-fuzz: ${#readers[@]} targets, ${seconds} s each: no crash"
