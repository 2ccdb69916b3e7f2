#!/usr/bin/env bash
# sweep --backend slurm through a real one-node Slurm (scripts/slurm-local.sh), started here on a
# private directory and port and stopped at the end, whatever happens: the merged CSV equals a
# local run's; one array task cancelled on purpose leaves its points missing, reported with
# Slurm's state; --resume submits only them and completes the same CSV.
# Args: BIN_DIR MODELS_DIR SOURCE_DIR. Skips (77) without root or the Slurm packages.
set -uo pipefail
bin=$1 src=$3
if [ "$(id -u)" -ne 0 ]; then echo "skip: needs root to start slurmd"; exit 77; fi
for t in munged slurmctld slurmd sbatch squeue scancel scontrol; do
  command -v "$t" >/dev/null || { echo "skip: $t not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
work=$(mktemp -d /var/tmp/fqsim-slurm-test.XXXXXX)
# A free port pair, so that this test can run beside another cluster (or another run of itself).
in_use() { awk '$4 == "0A" {print $2}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qi ":$(printf %04X "$1")$"; }
port=${FQ_SLURM_TEST_PORT:-}
while [ -z "$port" ]; do
  port=$((20000 + RANDOM % 5000 * 2))
  if in_use "$port" || in_use $((port + 1)); then port=; fi
done
export FQ_SLURM_DIR=$work/cluster FQ_SLURM_PORT=$port
export SLURM_CONF=$FQ_SLURM_DIR/slurm.conf
cleanup() {
  "$src/scripts/slurm-local.sh" stop >/dev/null 2>&1 || echo "slurm-local.sh stop failed"
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
"$src/scripts/slurm-local.sh" start || { echo "FAIL the cluster did not start"; cat "$FQ_SLURM_DIR"/log/* 2>/dev/null | tail -30; exit 1; }
check "start is idempotent" bash -c "'$src/scripts/slurm-local.sh' start | grep -q 'already running'"
check "status prints sinfo" bash -c "'$src/scripts/slurm-local.sh' status | grep -Eq 'idle|mixed'"
cd "$work"

# 600 points (112 of them invalid: weight_bytes=48 holds no tile) on a synthetic 256 x 1024 layer.
"$bin/quantize" --synthetic gemm:N=256,K=1024 --seed 3 --method fineq --out layer.q >/dev/null || exit 1
sweep=("$bin/sweep" --arch "$src/configs/fineq.yaml" --layer layer.q --tokens 1024
       --set array.rows=4,6,8,9,12,16,18,24,32,33 --set array.cols=4,8,16,32,64 --set pe.window=fixed,tile
       --set buffers.weight_bytes=48,4096,65536 --set dram.bytes_per_cycle=8,32 --no-plots)
"${sweep[@]}" --out local.csv --jobs 2 >local.txt 2>&1
check "local run" test $? -eq 0 -a "$(tail -n +2 local.csv | wc -l)" -eq 600
echo "local run: $SECONDS s"

"${sweep[@]}" --out slurm.csv --backend slurm --points-per-task 50 >slurm.txt 2>&1
check "slurm run: exit 0" test $? -eq 0
grep "^\[sweep\]" slurm.txt | tail -1
check "slurm run: 12 tasks of 50 points" grep -q "600 submitted as job [0-9]* (12 tasks of 50 points)" slurm.txt
check "slurm run: progress on stderr" grep -q "12/12 tasks done, 0 running, 0 pending, 0 failed; 600/600 points" slurm.txt
check "slurm run: the same CSV as the local run" cmp -s slurm.csv local.csv
check "slurm run: one shard per task" test "$(ls slurm.slurm/shards/*.csv | wc -l)" -eq 12

# A fault: task 1 of 3 is cancelled while it runs (one task at a time, so it runs after task 0).
"${sweep[@]}" --out fault.csv --backend slurm --points-per-task 200 --max-parallel 1 --no-wait >submit.txt 2>&1
check "--no-wait: exit 0" test $? -eq 0
job=$(sed -n 's/.* submitted as job \([0-9]*\) .*/\1/p' submit.txt)
check "--no-wait: job id printed" test -n "$job"
state=
for ((i = 0; i < 600; i++)); do
  state=$(squeue -h -j "${job}_1" -o %T 2>/dev/null)
  [ "$state" = RUNNING ] && break
  sleep 0.1
done
check "task 1 runs" test "$state" = RUNNING
echo "task 1 running at $SECONDS s"
# Cancelled after its first rows, so that its shard holds whole rows and a cut one, perhaps.
for ((i = 0; i < 200; i++)); do
  [ "$(cat fault.slurm/shards/1-1.part 2>/dev/null | wc -l)" -ge 11 ] && break
  sleep 0.05
done
scancel "${job}_1"
"$bin/sweep" --merge fault.slurm >merge.txt 2>&1
check "merge: non-zero exit with missing points" test $? -ne 0
check "merge: Slurm's state of the cancelled task" grep -q "job $job task 1 (Slurm: CANCELLED, exit code 0:15" merge.txt
part=$(tail -n +2 fault.slurm/shards/1-1.part 2>/dev/null | wc -l)  # whole rows only: a cut last row has no newline
missing=$((200 - part))
echo "task 1 cancelled after $part of its 200 points:"; head -3 merge.txt; tail -1 merge.txt
check "merge: the cancelled task's whole rows kept" test "$part" -gt 0 -a "$part" -lt 200
check "merge: the missing points counted" grep -q "sweep: $missing of 600 points missing" merge.txt
check "merge: the missing points named" grep -q "^    array.rows=.* array.cols=.* pe.window=.* buffers.weight_bytes=.* dram.bytes_per_cycle=" merge.txt
check "merge: all of them in missing.txt" test "$(wc -l <fault.slurm/missing.txt)" -eq "$missing"
check "merge: --resume suggested" grep -q "with --resume to submit only them" merge.txt
check "merge: tasks 0 and 2 complete" test -s fault.slurm/shards/1-0.csv -a -s fault.slurm/shards/1-2.csv
check "merge: every other point in the CSV" test "$(tail -n +2 fault.csv | wc -l)" -eq $((600 - missing))
check "merge: only whole rows, each as in the local run" bash -c "tail -n +2 fault.csv | grep -vxFf local.csv | wc -l | grep -qx 0"

"${sweep[@]}" --out fault.csv --backend slurm --points-per-task 200 >again.txt 2>&1
check "re-run without --resume: refused" test $? -ne 0
check "re-run without --resume: says why" grep -q "add --resume to complete it" again.txt
"${sweep[@]}" --seed 2 --out fault.csv --backend slurm --resume >other.txt 2>&1
check "--resume of another sweep: refused" grep -q "resume of a different sweep (planned 'seed 1', now 'seed 2')" other.txt
# With plots this time (they do not make it another sweep; --seed=1 is the default).
"${sweep[@]/--no-plots/--seed=1}" --out fault.csv --backend slurm --points-per-task 200 --resume >resume.txt 2>&1
check "--resume: exit 0" test $? -eq 0
grep "^\[sweep\]" resume.txt | tail -1
check "--resume: submits only the missing points" grep -q "600 points, $((600 - missing)) done, $missing submitted" resume.txt
check "--resume: the same CSV as the local run" cmp -s fault.csv local.csv
check "--resume: missing.txt gone" test ! -e fault.slurm/missing.txt
check "--resume: plots" test -s fault.gp -a -s fault-pareto.dat

"${sweep[@]}" --out x.csv --backend slurm --jobs 2 >jobs.txt 2>&1
check "--jobs with slurm: refused" grep -q "jobs is for --backend local" jobs.txt
"${sweep[@]}" --out y.csv --backend slurm --sbatch-arg=--partition=nosuch >sbatch.txt 2>&1
check "sbatch error: reported" grep -q "sbatch failed (exit 1): .*nosuch" sbatch.txt
"${sweep[@]}" --out z.csv --resume >local-resume.txt 2>&1
check "--resume with --backend local: refused" grep -q "resume" local-resume.txt

check "sbatch error: no work directory left" test ! -e y.slurm

# A task that fails: the copied layer changes while the job is held, so each task refuses to run.
small=("$bin/sweep" --arch "$src/configs/fineq.yaml" --layer layer.q --set array.rows=6,9 --set array.cols=4,8 --no-plots)
"${small[@]}" --out held.csv --backend slurm --points-per-task 2 --partition local --time-limit 5 --max-parallel 1 \
  --no-wait --sbatch-arg=--hold >held.txt 2>&1
hjob=$(sed -n 's/.* submitted as job \([0-9]*\) .*/\1/p' held.txt)
scontrol -o show job "$hjob" >held-job.txt 2>&1
check "--max-parallel reaches Slurm" grep -q " ArrayTaskId=0-1%1 " held-job.txt
check "--partition reaches Slurm" grep -q " Partition=local " held-job.txt
check "--time-limit reaches Slurm" grep -q " TimeLimit=00:05:00 " held-job.txt
echo >>held.slurm/inputs/layer.q
scontrol release "$hjob"
"$bin/sweep" --merge held.slurm >held-merge.txt 2>&1
check "failed tasks: non-zero exit" test $? -ne 0
check "failed tasks: Slurm's state" grep -q "job $hjob task 1 (Slurm: FAILED, exit code 1:0" held-merge.txt
check "failed tasks: the reason in the task's log" grep -q "layer changed since the sweep was planned" held.slurm/logs/1-1.out
check "failed tasks: all 4 points missing" grep -q "sweep: 4 of 4 points missing" held-merge.txt

"$src/scripts/slurm-local.sh" stop >/dev/null
check "stop stops the daemons" bash -c "! '$src/scripts/slurm-local.sh' status >/dev/null 2>&1"
echo "slurm: $failures failed checks"
[ $failures -eq 0 ]
