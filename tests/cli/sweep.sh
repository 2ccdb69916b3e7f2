#!/usr/bin/env bash
# sweep as a user runs it: a small cross product with an invalid point, the CSV columns, plots,
# resuming, and bad input. Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
source "$(dirname "$0")/../support/cli.sh"
cd "$work"
"$bin/sweep" --arch "$src/configs/int8.yaml" --gemm 16,64,64 --set array.rows=4,8,16 --set array.cols=4,8 \
  --set buffers.weight_bytes=48,65536 --out s.csv --jobs 2 >out.txt 2>&1
check "exit 0" test $? -eq 0
check "header" test "$(head -1 s.csv)" = "array.rows,array.cols,buffers.weight_bytes,status,reason,cycles,time_s,energy_pj,area_um2,utilisation,edp_pj_s,tops,tops_per_w,dram_bytes"
check "12 rows" test "$(tail -n +2 s.csv | wc -l)" -eq 12
check "invalid points are rows with the reason" grep -q '^16,8,48,invalid,".*weight_bytes' s.csv
check "valid points have cycles" grep -qE '^4,4,65536,ok,,[0-9]+,' s.csv
check "cross-product order" test "$(sed -n 2p s.csv | cut -d, -f1-3)" = "4,4,48"
check "plots" test -s s-cycles.png -a -s s-pareto.png -a -s s.gp
cp s.csv before.csv
"$bin/sweep" --arch "$src/configs/int8.yaml" --gemm 16,64,64 --set array.rows=4,8,16 --set array.cols=4,8 \
  --set buffers.weight_bytes=48,65536 --out s.csv --jobs 2 >resume.txt 2>&1
check "resume: nothing to run" grep -q "12 already in s.csv, 0 to run" resume.txt
check "resume: same rows" cmp -s s.csv before.csv
"$bin/sweep" --arch "$src/configs/int8.yaml" --gemm 16,64,64 --set array.rowz=4,8 --out x.csv >err.txt 2>&1
check "unknown key: non-zero exit" test $? -ne 0
check "unknown key: named" grep -q "unknown key" err.txt
echo "sweep: $failures failed checks"
[ $failures -eq 0 ]
