#!/usr/bin/env bash
# Determinism (docs/verification.md "Fuzzing"): every output file of quantize (.q), compile (.tir,
# .mem), simulate (report JSON, trace JSON) and compare (CSV) is byte-identical between 1 and 2
# threads and between reruns. The reports carry no wall-clock fields (time_s is simulated time);
# the check below fails if one appears. Args: BIN_DIR SOURCE_DIR
set -uo pipefail
bin=$1 src=$2
source "$(dirname "$0")/../support/cli.sh"
# same NAME FILE...: each FILE.t1 (1 thread), FILE.t2 (2 threads) and FILE.r2 (a rerun with 2)
# exists and all three are identical.
same() {
  local name=$1 f; shift
  for f in "$@"; do
    check "$name: $(basename "$f") written" test -s "$f.t1"
    check "$name: $(basename "$f") identical for 1 and 2 threads" cmp "$f.t1" "$f.t2"
    check "$name: $(basename "$f") identical across reruns" cmp "$f.t2" "$f.r2"
  done
}
# run3 CMD...: runs CMD as t1 (FQ_THREADS=1), t2 and r2 (FQ_THREADS=2), @ in its arguments
# replaced by that suffix.
run3() {
  local tag
  for tag in t1:1 t2:2 r2:2; do
    local suffix=${tag%%:*} threads=${tag##*:} args=() a
    for a in "$@"; do args+=("${a//@/$suffix}"); done
    FQ_THREADS=$threads "${args[@]}" >/dev/null || echo "     (exit $? from ${args[*]})"
  done
}

for m in "fineq" "fineq --group 96" "rtn --bits 4" "rtn --bits 8 --clip mse" "bfp" "mxfp4"; do
  name=${m// /}
  # quantize takes --threads; FQ_THREADS is what the other commands use.
  for tag in t1:1 t2:2 r2:2; do
    "$bin/quantize" --synthetic gemm:N=384,K=1200 --seed 4 --method $m --threads "${tag##*:}" \
      --out "$work/$name.q.${tag%%:*}" >/dev/null
  done
  same "quantize $m" "$work/$name.q"
done

cp "$work/fineq.q.t1" "$work/f.q"
cp "$work/rtn--bits4.q.t1" "$work/i4.q"
for arch in fineq int4; do
  layer=$work/f.q
  [ $arch = int4 ] && layer=$work/i4.q
  run3 "$bin/compile" --arch "$src/configs/$arch.yaml" --layer "$layer" --tokens 24 --out "$work/c-$arch.@"
  for tag in t1 t2 r2; do
    mv "$work/c-$arch.$tag.tir" "$work/c-$arch.tir.$tag"
    mv "$work/c-$arch.$tag.mem" "$work/c-$arch.mem.$tag"
  done
  same "compile $arch" "$work/c-$arch.tir" "$work/c-$arch.mem"
  run3 "$bin/simulate" --arch "$src/configs/$arch.yaml" --layer "$layer" --tokens 24 \
    --json "$work/s-$arch.json.@" --trace "$work/t-$arch.json.@"
  same "simulate $arch" "$work/s-$arch.json" "$work/t-$arch.json"
  check "simulate $arch: no wall-clock field in the report" \
    test -z "$(grep -iE '"[a-z_]*(wall|elapsed|host|date|clock_s)[a-z_]*"' "$work/s-$arch.json.t1")"
done

run3 "$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" \
  --arch "$src/configs/int4.yaml" --layer "$work/f.q" --tokens 24 --out "$work/cmp.@"
for tag in t1 t2 r2; do mv "$work/cmp.$tag.csv" "$work/cmp.csv.$tag"; done
same "compare" "$work/cmp.csv"

echo "determinism: $failures failed checks"
[ $failures -eq 0 ]
