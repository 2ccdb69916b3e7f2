#!/usr/bin/env bash
# Crash-safe outputs (docs/verification.md "Fuzzing"): quantize and compile are killed with
# SIGKILL at random moments while they overwrite an existing output. After every kill each
# final name must hold, byte for byte, either the complete previous output or the complete new
# one; after the loop an uninterrupted rerun must succeed, write the new output and remove the
# temporary files the killed processes left. The kill moments are uniform over 1.2x the
# uninterrupted run time (bash $RANDOM, not seeded: each kill's moment and what it left are printed).
# Args: BIN_DIR SOURCE_DIR [KILLS (default 12 per command)]
set -uo pipefail
bin=$1 src=$2 kills=${3:-12}
source "$(dirname "$0")/../support/cli.sh"
ms_now() { date +%s%3N; }

# kill_loop NAME "OUTPUT..." OLD_DIR NEW_DIR -- CMD...: OLD_DIR and NEW_DIR hold the previous and
# the new version of every OUTPUT (file names relative to $work).
kill_loop() {
  local name=$1 outputs=$2 old=$3 new=$4; shift 5
  local t0 t1 duration i delay before_rename=0 after_rename=0 mixed=0 mid_write=0 f
  for f in $outputs; do cp "$old/$f" "$work/$f"; done
  t0=$(ms_now); "$@" >/dev/null 2>&1; t1=$(ms_now)
  duration=$(( t1 - t0 > 20 ? t1 - t0 : 20 ))
  for ((i = 0; i < kills; ++i)); do
    for f in $outputs; do cp "$old/$f" "$work/$f"; done
    delay=$(( RANDOM % (duration * 12 / 10) ))
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local state=""
    if ls "$work" | grep -q "\.$pid\.tmp$"; then state+=" (temporary file left)"; mid_write=$((mid_write + 1)); fi
    for f in $outputs; do
      if cmp -s "$work/$f" "$old/$f"; then state+=" $f=old"; before_rename=$((before_rename + 1))
      elif cmp -s "$work/$f" "$new/$f"; then state+=" $f=new"; after_rename=$((after_rename + 1))
      else state+=" $f=PARTIAL"; mixed=$((mixed + 1))
      fi
    done
    echo "     $name kill $i at ${delay} ms of ~${duration} ms:$state"
  done
  check "$name: every final name held the complete old or new output after each kill" test $mixed -eq 0
  check "$name: some kills landed before the rename" test $before_rename -gt 0
  echo "     $name: $mid_write of $kills kills left a temporary file (killed while writing)"
  if [ "$name" = quantize ]; then  # it writes each tensor as it goes: most of the run is writing
    check "$name: some kills landed while the output was being written" test $mid_write -gt 0
  fi
  "$@" >/dev/null 2>"$work/rerun.err"
  check "$name: an uninterrupted rerun succeeds" test $? -eq 0
  for f in $outputs; do check "$name: rerun wrote the new $f" cmp -s "$work/$f" "$new/$f"; done
  check "$name: the rerun removed the killed processes' temporary files" test "$(ls "$work" | grep -c '\.tmp$')" -eq 0
}

mkdir -p "$work/old" "$work/new"
# quantize: an 8-bit layer of 6 MB (about 0.5 s); old and new differ in the seed.
q=(--synthetic gemm:N=2048,K=3000 --method rtn --bits 8 --threads 1)
"$bin/quantize" "${q[@]}" --seed 1 --out "$work/old/l.q" >/dev/null
"$bin/quantize" "${q[@]}" --seed 2 --out "$work/new/l.q" >/dev/null
kill_loop quantize "l.q" "$work/old" "$work/new" -- "$bin/quantize" "${q[@]}" --seed 2 --out "$work/l.q"

# compile: .tir and .mem of that layer at 128 and 256 tokens (a 2 MB .tir and an 11 MB .mem).
c=(--arch "$src/configs/int8.yaml" --layer "$work/new/l.q")
"$bin/compile" "${c[@]}" --tokens 128 --out "$work/old/l" >/dev/null
"$bin/compile" "${c[@]}" --tokens 256 --out "$work/new/l" >/dev/null
kill_loop compile "l.tir l.mem" "$work/old" "$work/new" -- "$bin/compile" "${c[@]}" --tokens 256 --out "$work/l"

echo "kill_writers: $failures failed checks"
[ $failures -eq 0 ]
