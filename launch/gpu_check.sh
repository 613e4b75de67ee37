#!/usr/bin/env bash
# GPU check on one GPU, in under 4 minutes: DeepSpeed ZeRO-2 and ZeRO-3 steps of BT (RewardTrainer)
# and DPO (DPOTrainer with its reference model) on a random 1B-class Llama in bf16, then the sharded
# sampling path. Each case runs in its own torchrun process (one rank), so a failure or a hang in one
# leaves the others their time; a table is printed at the end. Exit status: the number of failed cases.
#
#   python launch/gpu_check.py --export-assets .gpu/assets   # first, where .cache/ and ../shared/data are
#   bash launch/gpu_check.sh                                   # on the GPU machine (carry .gpu/assets there)
#
# Environment: OUT (a folder for gpu_check.log and gpu_check.jsonl; default /tmp/genrm_gpu_check),
# ASSETS (default .gpu/assets), PYTHON (default python), BUDGET_S (default 225), NPROC (default 1),
# CASES (default "bt-zero2 bt-zero3 dpo-zero2 dpo-zero3 sample"), EXTRA (more gpu_check.py arguments,
# e.g. "--shape tiny --cpu" to try the script on a CPU).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/genrm_gpu_check}"
ASSETS="${ASSETS:-.gpu/assets}"
PYTHON="${PYTHON:-python}"
BUDGET_S="${BUDGET_S:-225}"
NPROC="${NPROC:-1}"
CASES="${CASES:-bt-zero2 bt-zero3 dpo-zero2 dpo-zero3 sample}"
EXTRA="${EXTRA:-}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
RESULTS="$OUT/gpu_check.jsonl"
: > "$RESULTS"
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false WANDB_MODE=disabled
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"

{
  echo "gpu_check $(date -u +%FT%TZ) on $(hostname)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
  "$PYTHON" - <<'EOF' 2>&1
import importlib
for name in ("torch", "transformers", "trl", "peft", "accelerate", "deepspeed", "datasets", "omegaconf"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as err:  # noqa: BLE001
        print(f"{name} MISSING ({type(err).__name__}: {err})")
EOF
} 2>&1 | tee "$LOG"

if [ ! -f "$ASSETS/pairs.jsonl" ]; then
  echo "no $ASSETS/pairs.jsonl: run 'python launch/gpu_check.py --export-assets $ASSETS' where the repo's .cache and ../shared/data are" | tee -a "$LOG"
  exit 99
fi

failed=0
start=$SECONDS
for case in $CASES; do
  left=$(( BUDGET_S - (SECONDS - start) ))
  cap=70
  [ "$case" = "sample" ] && cap=45
  [ "$left" -lt "$cap" ] && cap=$left
  if [ "$cap" -lt 15 ]; then
    echo "== $case: skipped, ${left}s of the ${BUDGET_S}s budget left" | tee -a "$LOG"
    echo "{\"case\": \"$case\", \"ok\": false, \"error\": \"skipped: budget spent\"}" >> "$RESULTS"
    failed=$((failed + 1))
    continue
  fi
  echo "== $case (limit ${cap}s)" | tee -a "$LOG"
  t0=$SECONDS
  timeout --kill-after=5 "$cap" "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" \
    launch/gpu_check.py --case "$case" --assets "$ASSETS" --results "$RESULTS" --workdir "$OUT/work" $EXTRA >> "$LOG" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1))
    if ! grep -q "\"case\": \"$case\"" "$RESULTS"; then
      echo "{\"case\": \"$case\", \"ok\": false, \"error\": \"exit $rc after $((SECONDS - t0))s (124: timed out); see gpu_check.log\"}" >> "$RESULTS"
    fi
  fi
  grep "^GPU_CHECK " "$LOG" | tail -n 1 | grep -q "\"case\": \"$case\"" && grep "^GPU_CHECK " "$LOG" | tail -n 1
done

echo | tee -a "$LOG"
"$PYTHON" launch/gpu_check.py --table "$RESULTS" 2>&1 | tee -a "$LOG"
echo "total $((SECONDS - start))s; $failed failed; log: $LOG" | tee -a "$LOG"
rm -rf "$OUT/work"
exit $failed
