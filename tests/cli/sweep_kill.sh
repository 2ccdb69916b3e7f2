#!/usr/bin/env bash
# An interrupted sweep resumes to the CSV of an uninterrupted run (issue 19, docs/sweep.md): a
# 96-point sweep is killed with SIGKILL at a random moment, then run again with the same --out
# (which keeps the whole rows already there and drops a row cut short) to the end; the CSV must
# equal, byte for byte, the CSV of one uninterrupted run. Repeated for each kill. The kill moments
# are uniform over 1.2x the uninterrupted run time (bash $RANDOM; each is printed).
# Args: BIN_DIR MODELS_DIR SOURCE_DIR; FQ_KILLS=N sets the number of kills (default 10).
set -uo pipefail
bin=$1 src=$3 kills=${FQ_KILLS:-10}
source "$(dirname "$0")/../support/cli.sh"
ms_now() { date +%s%3N; }
cd "$work"
args=(--arch "$src/configs/int8.yaml" --gemm 64,512,512 --set array.rows=4,8,12,16,24,32 --set array.cols=4,8,16,32
      --set dram.bytes_per_cycle=4,8,16,32 --jobs 2 --no-plots)
t0=$(ms_now)
"$bin/sweep" "${args[@]}" --out ref.csv >ref.txt 2>&1
check "uninterrupted run: exit 0" test $? -eq 0
duration=$(( $(ms_now) - t0 ))
[ $duration -gt 20 ] || duration=20
check "uninterrupted run: 96 rows" test "$(tail -n +2 ref.csv | wc -l)" -eq 96
partial=0 resumed=0 same=0
for ((i = 0; i < kills; ++i)); do
  rm -f s.csv
  delay=$(( RANDOM % (duration * 12 / 10) ))
  "$bin/sweep" "${args[@]}" --out s.csv >/dev/null 2>&1 &
  pid=$!
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rows=$([ -f s.csv ] && tail -n +2 s.csv | wc -l || echo 0)
  [ "$rows" -lt 96 ] && partial=$((partial + 1))
  "$bin/sweep" "${args[@]}" --out s.csv >last.txt 2>&1 && resumed=$((resumed + 1)) || cat last.txt
  cmp -s s.csv ref.csv && same=$((same + 1))
  echo "     kill $i at ${delay} ms of ~${duration} ms: $rows rows left; resumed to the reference: $(cmp -s s.csv ref.csv && echo yes || echo NO)"
done
check "some kills interrupted the sweep" test $partial -gt 0
check "every interrupted sweep resumed" test $resumed -eq "$kills"
check "every resumed CSV equals the uninterrupted one" test $same -eq "$kills"
echo "sweep_kill: $failures failed checks"
[ $failures -eq 0 ]
