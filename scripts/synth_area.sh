#!/usr/bin/env bash
# Area of fqsim's own RTL from yosys synthesis onto the OSU 0.18 um standard-cell liberty,
# reported in library units and in NAND2 gate equivalents (GE = chip area / NAND2X1 area, read
# from the liberty). The cost model turns GE into um2 at the arch's node (docs/energy.md
# "Area from the RTL"); configs/synth_area.yaml is the cache it reads.
#
#   scripts/synth_area.sh [--print]   synthesize every design, print one YAML line each
#   scripts/synth_area.sh --update    ... and rewrite configs/synth_area.yaml
#   scripts/synth_area.sh --check     re-synthesize the designs marked `check: true` and compare
#                                     their GE with the cache, and compare every design's RTL
#                                     hash; exit 1 with a diff on a mismatch, 77 without liberty
#   scripts/synth_area.sh --check --only NAME[,NAME]
#                                     re-synthesize just these designs (marked or not) and compare
#   scripts/synth_area.sh --print --only NAME[,NAME]
#                                     print just these designs' lines (not with --update: the cache
#                                     is written whole)
# Options: --jobs N (designs synthesized at once by --print and --update; default the number of
#          cores: the large designs take minutes and up to 2.6 GB each),
#          --liberty FILE (default $FQ_LIBERTY or scripts/install-deps.sh's location),
#          --cache FILE (default configs/synth_area.yaml), --rtl DIR (default rtl/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=print
only=""
njobs=$(nproc 2>/dev/null || echo 1)
liberty=${FQ_LIBERTY:-/opt/fqsim/osu018/usr/share/qflow/tech/osu018/osu018_stdcells.lib}
cache=$root/configs/synth_area.yaml
rtl=$root/rtl
while [ $# -gt 0 ]; do
  case $1 in
    --print) mode=print ;;
    --update) mode=update ;;
    --check) mode=check ;;
    --only) only=",$2,"; shift ;;
    --jobs) njobs=$2; shift ;;
    --liberty) liberty=$2; shift ;;
    --cache) cache=$2; shift ;;
    --rtl) rtl=$2; shift ;;
    *) echo "synth_area: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -s "$liberty" ]; then
  echo "synth_area: liberty $liberty not found; run scripts/install-deps.sh (as root) or pass --liberty FILE" >&2
  [ "$mode" = check ] && exit 77
  exit 1
fi
command -v yosys >/dev/null || { echo "synth_area: yosys not found (apt-get install yosys)" >&2; exit 1; }
nand2=$(awk '/cell *\( *NAND2X1 *\)/ {c = 1} c && /area *:/ {gsub(/[^0-9.]/, "", $0); print; exit}' "$liberty")
[ -n "$nand2" ] || { echo "synth_area: $liberty has no cell NAND2X1 with an area" >&2; exit 1; }

# name | top | yosys chparam | files (sorted; all hashed, the .v read) | role kind weight_bits rows cols | check
#   [| modules read as black boxes (priced elsewhere) | memories left unmapped (not priced)]
# PE GE per kind comes from the arrays (array GE / (R*C)); the lone PEs are for comparison.
arr="fq_array.v fq_pe_bitserial.v fq_pe_mac.v fq_pe_temporal.v"
designs=(
  "pe_temporal|fq_pe_temporal||fq_pe_temporal.v|pe temporal 0 1 1|true"
  "pe_mac_w8|fq_pe_mac|-set WBITS 8|fq_pe_mac.v|pe mac 8 1 1|true"
  "pe_mac_w4|fq_pe_mac|-set WBITS 4|fq_pe_mac.v|pe mac 4 1 1|true"
  "pe_bitserial|fq_pe_bitserial|-set WBITS 3|fq_pe_bitserial.v|pe bitserial 0 1 1|true"
  "pe_bitserial_w8|fq_pe_bitserial|-set WBITS 8|fq_pe_bitserial.v|pe bitserial 8 1 1|true"
  "cluster_decoder|fq_cluster_decoder||fq_cluster_decoder.v|decoder temporal 0 1 1|true"
  "array_temporal_4x4|fq_array|-set ROWS 4 -set COLS 4 -set KIND 0|$arr|array temporal 0 4 4|true"
  "array_mac_w8_4x4|fq_array|-set ROWS 4 -set COLS 4 -set KIND 1 -set WBITS 8|$arr|array mac 8 4 4|true"
  "array_mac_w4_4x4|fq_array|-set ROWS 4 -set COLS 4 -set KIND 1 -set WBITS 4|$arr|array mac 4 4 4|true"
  "array_bitserial_4x4|fq_array|-set ROWS 4 -set COLS 4 -set KIND 2 -set WBITS 3|$arr|array bitserial 0 4 4|true"
  "array_temporal_8x8|fq_array|-set ROWS 8 -set COLS 8 -set KIND 0|$arr|array temporal 0 8 8|false"
  "array_mac_w8_8x8|fq_array|-set ROWS 8 -set COLS 8 -set KIND 1 -set WBITS 8|$arr|array mac 8 8 8|false"
  "array_mac_w4_8x8|fq_array|-set ROWS 8 -set COLS 8 -set KIND 1 -set WBITS 4|$arr|array mac 4 8 8|false"
  "array_bitserial_8x8|fq_array|-set ROWS 8 -set COLS 8 -set KIND 2 -set WBITS 3|$arr|array bitserial 0 8 8|false"
  "array_temporal_16x16|fq_array|-set ROWS 16 -set COLS 16 -set KIND 0|$arr|array temporal 0 16 16|false"
  "array_mac_w8_16x16|fq_array|-set ROWS 16 -set COLS 16 -set KIND 1 -set WBITS 8|$arr|array mac 8 16 16|false"
  "array_mac_w4_16x16|fq_array|-set ROWS 16 -set COLS 16 -set KIND 1 -set WBITS 4|$arr|array mac 4 16 16|false"
  "array_bitserial_16x16|fq_array|-set ROWS 16 -set COLS 16 -set KIND 2 -set WBITS 3|$arr|array bitserial 0 16 16|false"
)
# pe.weight_sets other than 2 (WSETS), at 8 x 8: the cost model takes the nearest size with the
# arch's number of sets. And the accumulator width (ACC_W, a study: the engines accumulate in 32
# bits, so the cost model never uses these): what a narrower partial sum would save.
for s in 1 4 8; do
  designs+=("array_temporal_8x8_s$s|fq_array|-set ROWS 8 -set COLS 8 -set KIND 0 -set WSETS $s|$arr|array temporal 0 8 8|false"
            "array_mac_w8_8x8_s$s|fq_array|-set ROWS 8 -set COLS 8 -set KIND 1 -set WBITS 8 -set WSETS $s|$arr|array mac 8 8 8|false"
            "array_bitserial_8x8_s$s|fq_array|-set ROWS 8 -set COLS 8 -set KIND 2 -set WBITS 3 -set WSETS $s|$arr|array bitserial 0 8 8|false")
done
for a in 16 24; do
  designs+=("array_temporal_8x8_acc$a|fq_array|-set ROWS 8 -set COLS 8 -set KIND 0 -set ACC_W $a|$arr|array temporal 0 8 8|false"
            "array_bitserial_8x8_acc$a|fq_array|-set ROWS 8 -set COLS 8 -set KIND 2 -set WBITS 3 -set ACC_W $a|$arr|array bitserial 0 8 8|false")
done
# An INT8 product is already 16 bits: the MAC array's narrowest accumulator studied is 24.
designs+=("array_mac_w8_8x8_acc24|fq_array|-set ROWS 8 -set COLS 8 -set KIND 1 -set WBITS 8 -set ACC_W 24|$arr|array mac 8 8 8|false")

# The units around the array (docs/energy.md "Area of the control units"): the array controller
# without its PE array and cluster decoders (black boxes: pe_array and decoders price them), at the
# presets' sizes and at 8 x 8 (temporal also at 4 x 4, re-synthesized by --check, and at 16 x 16,
# which checks the interpolation between sizes); the instruction controller without its four instruction memories (left as memories:
# SRAM the report does not price); the DMA engines; the epilogue at 4, 8 and 32 lanes (the cost
# model interpolates between lane counts).
actl="fq_array_ctrl.v"
bb="fq_array.v fq_cluster_decoder.v"
designs+=(
  "array_ctrl_temporal_4x4|fq_array_ctrl|-set ROWS 4 -set COLS 4 -set KIND 0|$actl|array_ctrl temporal 0 4 4|true|$bb|"
  "array_ctrl_temporal_8x8|fq_array_ctrl|-set ROWS 8 -set COLS 8 -set KIND 0|$actl|array_ctrl temporal 0 8 8|false|$bb|"
  "array_ctrl_mac_w8_8x8|fq_array_ctrl|-set ROWS 8 -set COLS 8 -set KIND 1 -set WBITS 8|$actl|array_ctrl mac 8 8 8|false|$bb|"
  "array_ctrl_mac_w4_8x8|fq_array_ctrl|-set ROWS 8 -set COLS 8 -set KIND 1 -set WBITS 4|$actl|array_ctrl mac 4 8 8|false|$bb|"
  "array_ctrl_bitserial_8x8|fq_array_ctrl|-set ROWS 8 -set COLS 8 -set KIND 2 -set WBITS 3|$actl|array_ctrl bitserial 0 8 8|false|$bb|"
  "array_ctrl_temporal_16x16|fq_array_ctrl|-set ROWS 16 -set COLS 16 -set KIND 0|$actl|array_ctrl temporal 0 16 16|false|$bb|"
  "array_ctrl_temporal_33x32|fq_array_ctrl|-set ROWS 33 -set COLS 32 -set KIND 0|$actl|array_ctrl temporal 0 33 32|false|$bb|"
  "array_ctrl_mac_w8_32x32|fq_array_ctrl|-set ROWS 32 -set COLS 32 -set KIND 1 -set WBITS 8|$actl|array_ctrl mac 8 32 32|false|$bb|"
  "array_ctrl_mac_w4_32x32|fq_array_ctrl|-set ROWS 32 -set COLS 32 -set KIND 1 -set WBITS 4|$actl|array_ctrl mac 4 32 32|false|$bb|"
  "array_ctrl_bitserial_33x32|fq_array_ctrl|-set ROWS 33 -set COLS 32 -set KIND 2 -set WBITS 3|$actl|array_ctrl bitserial 0 33 32|false|$bb|"
  "controller|fq_controller||fq_controller.v fq_isa.def fq_isa.vh|controller any 0 1 1|true||imem*"
  "dma_in|fq_dma_in||fq_dma_in.v|dma_in any 0 1 1|false||"
  "dma_out|fq_dma_out||fq_dma_out.v|dma_out any 0 1 1|false||"
)
epi="fq_epilogue.v fq_fp16_to_fp32.v fq_fp32_mul.v fq_int_to_fp32.v"
for c in 4 8 32; do
  designs+=("epilogue_$c|fq_epilogue|-set COLS $c|$epi|epilogue any 0 1 $c|false||")
done

# SHA-256 of the design's RTL files concatenated in the listed order (model/cost recomputes it).
rtl_hash() {
  local f paths=()
  for f in $1; do paths+=("$rtl/$f"); done
  cat "${paths[@]}" | sha256sum | cut -d' ' -f1
}

# Prints the design's YAML line.
synth() {
  local name top params files meta check bbox keep
  IFS='|' read -r name top params files meta check bbox keep <<<"$1"
  local role kind bits rows cols
  read -r role kind bits rows cols <<<"$meta"
  local paths="" libs="" f
  for f in $files; do [[ $f == *.v ]] && paths="$paths $rtl/$f"; done
  for f in $bbox; do libs="$libs $rtl/$f"; done
  local script="read_verilog -sv -I$rtl$paths"
  # Black boxes: their ports only; stat lists their instances without an area.
  [ -n "$libs" ] && script="read_verilog -sv -lib$libs; $script"
  [ -n "$params" ] && script="$script; chparam $params $top"
  if [ -n "$keep" ]; then
    # synth's own script with its memory_map restricted: memories named $keep stay memories
    # (stat lists them without an area), every other one becomes flip-flops as synth would make it.
    script="$script; synth -flatten -top $top -run begin:fine; opt -fast -full; memory_map t:\$mem_v2 c:$keep %d"
    script="$script; opt -full; techmap; opt -fast; abc -fast; opt -fast; hierarchy -check; check"
  else
    script="$script; synth -flatten -top $top"
  fi
  script="$script; dfflibmap -liberty $liberty; abc -liberty $liberty; opt_clean"
  local stat log
  stat=$(mktemp)
  log=$(mktemp)
  if ! yosys -q -l "$log" -p "$script; tee -q -o $stat stat -liberty $liberty" >/dev/null 2>&1; then
    echo "synth_area: yosys failed on $name ($top $params):" >&2
    tail -20 "$log" >&2
    rm -f "$stat" "$log"
    exit 1
  fi
  # The cell table of `stat`: "     NAND2X1     102" between "Number of cells:" and "Chip area".
  awk -v name="$name" -v top="$top" -v params="$params" -v files="$files" -v role="$role" -v kind="$kind" \
      -v bits="$bits" -v rows="$rows" -v cols="$cols" -v check="$check" -v nand2="$nand2" \
      -v hash="$(rtl_hash "$files")" -v bbox="$bbox" -v keep="$keep" '
    /Number of cells:/ { total = $4; incells = 1; next }
    /Chip area/ { area = $NF; incells = 0; next }
    incells && NF == 2 { types = types sep $1 ": " $2; sep = ", "; if ($1 ~ /^DFF/) flops += $2 }
    END {
      n = split(params, w, " "); p = ""
      for (i = 1; i + 2 <= n; i += 3) p = p (p == "" ? "" : ", ") w[i + 1] ": " w[i + 2]
      nf = split(files, fl, " "); fs = ""
      for (i = 1; i <= nf; i++) fs = fs (i > 1 ? ", " : "") fl[i]
      printf "  - {name: %s, top: %s, params: {%s}, role: %s, kind: %s, weight_bits: %d, rows: %d, cols: %d, ", \
             name, top, p, role, kind, bits, rows, cols
      printf "area_lib: %.1f, ge: %.1f, cells: %d, flops: %d, cell_types: {%s}, files: [%s], rtl_sha256: %s, check: %s", \
             area, area / nand2, total, flops, types, fs, hash, check
      # What the area leaves out: black-boxed modules (by module name), unmapped memories.
      nb = split(bbox, bl, " "); bs = ""
      for (i = 1; i <= nb; i++) { sub(/\.v$/, "", bl[i]); bs = bs (i > 1 ? ", " : "") bl[i] }
      if (nb > 0) printf ", black_boxes: [%s]", bs
      if (keep != "") printf ", unmapped_memories: \"%s\"", keep
      printf "}\n"
    }' "$stat"
  rm -f "$stat" "$log"
}

yosys_version=$(yosys -V)
lib_sha=$(sha256sum "$liberty" | cut -d' ' -f1)
# install-deps.sh records the package version beside the unpacked files.
lib_pkg=$(cat "$(dirname "$liberty")/../../../../../VERSION" 2>/dev/null || echo "version unknown")

header() {
  cat <<EOF
# Written by scripts/synth_area.sh --update: do not edit by hand. Area of fqsim's RTL from yosys
# (synth -flatten; dfflibmap and abc onto the liberty; stat -liberty), in the liberty's units
# (area_lib) and in NAND2 gate equivalents (ge = area_lib / nand2_area). model/cost reads it
# (docs/energy.md "Area from the RTL"); rtl_sha256 is the SHA-256 of the design's files
# concatenated in the listed order, so a changed RTL file shows up as a stale entry.
schema: fqsim.synth_area/1
rtl_dir: ../rtl  # relative to this file; where model/cost re-hashes the files
yosys: "$yosys_version"
liberty: {file: $(basename "$liberty"), package: "qflow-tech-osu018 $lib_pkg (Debian 12), OSU 0.18 um standard cells", sha256: $lib_sha, nand2_cell: NAND2X1, nand2_area: $nand2}
designs:
EOF
}

[ "$mode" = update ] && [ -n "$only" ] && { echo "synth_area: --only does not combine with --update" >&2; exit 2; }
case $mode in
  print | update)
    [[ $njobs =~ ^[1-9][0-9]*$ ]] || { echo "synth_area: --jobs needs a positive integer, not '$njobs'" >&2; exit 2; }
    # Each design into its own file, up to $njobs at once; the cache is assembled in design order.
    parts=$(mktemp -d)
    trap 'rm -rf "$parts"' EXIT
    i=0
    for d in "${designs[@]}"; do
      [ -z "$only" ] || [[ $only == *",${d%%|*},"* ]] || continue
      while [ "$(jobs -rp | wc -l)" -ge "$njobs" ]; do wait -n || true; done
      (
        start=$SECONDS
        # synth exits on a yosys failure: its own subshell, so the failure is recorded.
        if (synth "$d" >"$parts/$(printf %04d $i).yaml"); then
          echo "synth_area: ${d%%|*} $((SECONDS - start)) s" >&2
        else
          touch "$parts/failed"
        fi
      ) &
      i=$((i + 1))
    done
    wait
    [ ! -e "$parts/failed" ] || { echo "synth_area: a synthesis failed (above); nothing written" >&2; exit 1; }
    out=$(mktemp)
    header >"$out"
    [ $i -eq 0 ] || cat "$parts"/[0-9]*.yaml >>"$out"
    if [ "$mode" = update ]; then
      mv "$out" "$cache"
      echo "synth_area: wrote $cache" >&2
    else
      cat "$out"
      rm -f "$out"
    fi
    ;;
  check)
    [ -f "$cache" ] || { echo "synth_area: cache $cache not found; run scripts/synth_area.sh --update" >&2; exit 1; }
    failures=0
    field() { sed -n "s/.*[{ ]$2: \([^,}]*\).*/\1/p" <<<"$1"; }
    cached_lib=$(grep '^liberty:' "$cache" | sed -n 's/.*sha256: \([0-9a-f]*\).*/\1/p')
    [ "$cached_lib" = "$lib_sha" ] || { echo "synth_area: liberty differs from the cache's ($cached_lib vs $lib_sha): $liberty"; failures=$((failures + 1)); }
    cached_yosys=$(sed -n 's/^yosys: "\(.*\)"$/\1/p' "$cache")
    [ "$cached_yosys" = "$yosys_version" ] || echo "synth_area: note: cache written by $cached_yosys, this is $yosys_version"
    for d in "${designs[@]}"; do
      IFS='|' read -r name _ _ files _ check _ <<<"$d"
      if [ -n "$only" ]; then
        [[ $only == *",$name,"* ]] || continue
        only=${only/,$name,/,}
        check=true
      fi
      line=$(grep -F "  - {name: $name," "$cache" || true)
      if [ -z "$line" ]; then
        echo "FAIL $name: not in $cache (run scripts/synth_area.sh --update)"; failures=$((failures + 1)); continue
      fi
      hash=$(rtl_hash "$files")
      if [ "$(field "$line" rtl_sha256)" != "$hash" ]; then
        echo "FAIL $name: RTL changed since the cache was written ($files): rtl_sha256 $(field "$line" rtl_sha256) in $cache, $hash now; run scripts/synth_area.sh --update"
        failures=$((failures + 1)); continue
      fi
      if [ "$check" = true ]; then
        fresh=$(synth "$d")
        if [ "$fresh" != "$line" ]; then
          echo "FAIL $name: fresh synthesis differs from $cache (ge $(field "$line" ge) cached, $(field "$fresh" ge) now):"
          diff <(tr ',' '\n' <<<"$line") <(tr ',' '\n' <<<"$fresh") | sed 's/^/    /' || true
          failures=$((failures + 1)); continue
        fi
        echo "ok   $name: ge $(field "$fresh" ge), RTL hash matches"
      else
        echo "ok   $name: RTL hash matches (not re-synthesized)"
      fi
    done
    if [ -n "$only" ] && [ "$only" != "," ]; then
      echo "FAIL --only names designs that do not exist: ${only//,/ }"; failures=$((failures + 1))
    fi
    echo "synth_area: $failures failed"
    [ $failures -eq 0 ]
    ;;
esac
