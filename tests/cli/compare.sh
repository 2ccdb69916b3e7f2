#!/usr/bin/env bash
# compare as a user runs it: three presets on the default layer, the table, CSV ratios, plot, and
# bad input. Args: BIN_DIR MODELS_DIR SOURCE_DIR.
set -uo pipefail
bin=$1 src=$3
source "$(dirname "$0")/../support/cli.sh"
py=/usr/bin/python3
"$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" --arch "$src/configs/int4.yaml" \
  --out "$work/c" >"$work/out.txt" 2>&1
check "exit 0" test $? -eq 0
check "a row per arch" test "$(grep -cE '^(fineq|int8|int4) ' "$work/out.txt")" -eq 3
check "baseline ratios are 1" test "$($py -c "import csv; r=[x for x in csv.DictReader(open('$work/c.csv')) if x['arch']=='int8'][0]; print(r['array_ratio'], r['cycles_ratio'], r['tops_per_w_ratio'])")" = "1 1 1"
check "FineQ array is smaller than INT8's" test "$($py -c "import csv; r=[x for x in csv.DictReader(open('$work/c.csv')) if x['arch']=='fineq'][0]; print(float(r['array_ratio']) < 1)")" = True
# The array areas come from synthesis: FineQ's (33 x 32 temporal PEs and 32 decoders) over INT8's
# (32 x 32 MAC PEs) is the ratio of the cached gate equivalents of the 16 x 16 arrays (the size
# nearest theirs) and the decoder, whatever the node factor.
check "array ratio is the synthesized GE ratio" $py - "$src/configs/synth_area.yaml" "$work/c.csv" <<'PY'
import csv, re, sys
ge = {m[0]: float(m[1]) for m in re.findall(r"name: (\w+),.*? ge: ([0-9.]+),", open(sys.argv[1]).read())}
want = (33 * 32 * ge["array_temporal_16x16"] / 256 + 32 * ge["cluster_decoder"]) / (32 * 32 * ge["array_mac_w8_16x16"] / 256)
got = float([r for r in csv.DictReader(open(sys.argv[2])) if r["arch"] == "fineq"][0]["array_ratio"])
sys.exit(0 if abs(got / want - 1) < 1e-3 else print(f"array_ratio {got}, synthesis gives {want}") or 1)
PY
check "plot" test -s "$work/c.png" -a -s "$work/c.gp"
# The bit-serial peer on the same codes: random FineQ-R weights have outlier clusters in every tile,
# so W = 3 against the temporal array's W = 4 (max |q| = 4): fewer cycles, and every weight bit
# that is set is one pulse.
"$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" --arch "$src/configs/bitserial.yaml" \
  --out "$work/b" >"$work/b.txt" 2>&1
check "bitserial: exit 0" test $? -eq 0
check "bitserial: a row" grep -qE '^bitserial +equal PEs +bit-serial PEs FineQ-R tile window 33x32' "$work/b.txt"
check "bitserial: fewer cycles than temporal on the same codes" $py - "$work/b.csv" <<'PY'
import csv, sys
r = {x["arch"]: x for x in csv.DictReader(open(sys.argv[1]))}
sys.exit(0 if int(r["bitserial"]["cycles"]) < int(r["fineq"]["cycles"]) else 1)
PY
# Prefill and decode, at equal PEs and at equal array area.
"$bin/compare" --arch "$src/configs/fineq.yaml" --arch "$src/configs/int8.yaml" --arch "$src/configs/int4.yaml" \
  --tokens 16,1 --equal-area --out "$work/e" >"$work/e.txt" 2>&1
check "equal area: exit 0" test $? -eq 0
check "equal area: 5 designs x 2 token counts" test "$(($(wc -l <"$work/e.csv") - 1))" -eq 10
check "equal area: scaled arrays fit the baseline's array area and nearly fill it" $py - "$work/e.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = True
for r in rows:
    # The energy split adds up to the energy per token.
    parts = sum(float(r[k]) for k in ("array_pj_per_token", "buffers_pj_per_token", "dram_pj_per_token",
                                      "epilogue_pj_per_token", "control_pj_per_token", "leakage_pj_per_token"))
    ok &= abs(parts / float(r["energy_per_token_pj"]) - 1) < 1e-6
    if r["basis"] == "equal area":
        ok &= 0.95 < float(r["array_ratio"]) <= 1.0
        ok &= int(r["rows"]) * int(r["cols"]) > 33 * 32 if r["arch"] == "fineq" else True
        ok &= int(r["rows"]) % 3 == 0 if r["arch"] == "fineq" else True
    # Throughput per mm2 is TOPS over the total area.
    ok &= abs(float(r["tops_per_mm2"]) / (float(r["tops"]) / (float(r["area_um2"]) * 1e-6)) - 1) < 1e-5
sys.exit(0 if ok and {r["tokens"] for r in rows} == {"16", "1"} else 1)
PY
"$bin/compare" --arch "$src/configs/fineq.yaml" --out "$work/x" >"$work/err.txt" 2>&1
check "one arch: non-zero exit" test $? -ne 0
check "one arch: message" grep -q "two or more --arch" "$work/err.txt"
echo "compare: $failures failed checks"
[ $failures -eq 0 ]
