#!/usr/bin/env bash
# Points per second of a 1,000-point stories260K sweep: local threads against the array tasks of
# the one-node Slurm (scripts/slurm-local.sh, started here if it is not running and then stopped
# again), and the per-task overhead (docs/sweep.md "Measured"). Prints one line per run and the
# machine's load before and after.
# Usage: bench/sweep_slurm.sh BUILD_DIR [MODELS_DIR]  (as root; about 3 minutes on 2 idle cores)
set -euo pipefail
build=$(realpath "$1")
models=${2:-$(dirname "$0")/../../shared/models}
src=$(realpath "$(dirname "$0")/..")
ckpt=$models/tinyllamas/stories260K.bin
[ -s "$ckpt" ] || { echo "bench: $ckpt not found"; exit 1; }
export SLURM_CONF=${FQ_SLURM_DIR:-/var/tmp/fqsim-slurm}/slurm.conf
started=0
if ! "$src/scripts/slurm-local.sh" status >/dev/null 2>&1; then
  "$src/scripts/slurm-local.sh" start >/dev/null
  started=1
fi
work=$(mktemp -d /var/tmp/fqsim-bench.XXXXXX)
cleanup() {
  [ $started -eq 0 ] || "$src/scripts/slurm-local.sh" stop >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
"$build/bin/quantize" --checkpoint "$ckpt" --method fineq --out stories.q >/dev/null
# 10 x 5 x 2 x 5 x 2 = 1,000 points.
sweep=("$build/bin/sweep" --arch "$src/configs/fineq.yaml" --layer stories.q --tokens 256
       --set array.rows=4,6,8,9,12,16,18,24,32,33 --set array.cols=4,8,16,32,64 --set pe.window=fixed,tile
       --set dram.bytes_per_cycle=4,8,16,32,64 --set buffers.weight_bytes=4096,65536 --no-plots)
echo "load before: $(uptime)"
now() { date +%s.%N; }
t_local1=
for jobs in 1 2; do
  t0=$(now)
  "${sweep[@]}" --out local$jobs.csv --jobs "$jobs" >/dev/null 2>&1
  t=$(echo "$(now) - $t0" | bc)
  [ "$jobs" -eq 1 ] && t_local1=$t
  printf 'local --jobs %s: %6.1f s, %6.1f points/s\n' "$jobs" "$t" "$(echo "1000 / $t" | bc -l)"
done
cpus=$(sinfo -h -o %c | head -1)
for k in 250 50 10; do
  t0=$(now)
  "${sweep[@]}" --out slurm$k.csv --backend slurm --points-per-task $k >/dev/null 2>&1
  t=$(echo "$(now) - $t0" | bc)
  cmp -s slurm$k.csv local1.csv || { echo "bench: slurm$k.csv differs from the local CSV"; exit 1; }
  tasks=$((1000 / k))
  # Every CPU busy for t seconds, minus the points' own time (the one-thread local run), per task.
  overhead=$(echo "($t * $cpus - $t_local1) / $tasks" | bc -l)
  printf 'slurm %4d tasks of %3d points: %6.1f s, %6.1f points/s, %.2f s overhead per task\n' "$tasks" "$k" "$t" \
    "$(echo "1000 / $t" | bc -l)" "$overhead"
done
echo "load after: $(uptime)"
