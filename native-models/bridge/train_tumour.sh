#!/usr/bin/env bash
# Train (or resume) the Delineate tumour model folds one after the other, on the CPU, niced, 1 torch thread.
# Usage: train_tumour.sh [folds...]   (default: 0 1 2). Resumes each fold from checkpoint_latest.pth (--c);
# a fold with checkpoint_final.pth and validation/summary.json is skipped; no fold is started after the deadline
# ($WORK/deadline, see nnUNetTrainerDelineateCPU.py). Env: WORK (default /work/nnunet_work), PY (venv python),
# DELINEATE_EPOCHS (default 16; $WORK/epochs_fold_<k> overrides per fold), DELINEATE_TORCH_THREADS (default 1),
# CONFIG (default 2d) and PLANS (default nnUNetPlans2DCPU; the first session's 3d model: 3d_fullres nnUNetPlansCPU).
set -u
WORK=${WORK:-/work/nnunet_work}
PY=${PY:-/work/py/venv/bin/python}
BIN=$(dirname "$PY")
HERE=$(cd "$(dirname "$0")" && pwd)
export nnUNet_raw=$WORK/raw nnUNet_preprocessed=$WORK/preprocessed nnUNet_results=$WORK/results
export DELINEATE_CONTROL_DIR=$WORK
export OMP_NUM_THREADS=${DELINEATE_TORCH_THREADS:-1} MKL_NUM_THREADS=${DELINEATE_TORCH_THREADS:-1}
export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-1} nnUNet_compile=f
export DELINEATE_EPOCHS=${DELINEATE_EPOCHS:-16} DELINEATE_TORCH_THREADS=${DELINEATE_TORCH_THREADS:-1}
# Linux groups CPU time by session ("autogroup"): a process's nice value only ranks it within its own session, so a
# niced training started from one shell still gets an equal share with every other busy shell (session 2 measured
# 3 folds getting 1 core of 2 against niced builds in other sessions). DELINEATE_AUTOGROUP_NICE (e.g. -10, needs
# root) raises this session's group weight instead; see sched(7), "The autogroup feature".
if [ -n "${DELINEATE_AUTOGROUP_NICE:-}" ] && [ -w /proc/self/autogroup ]; then
  echo "$DELINEATE_AUTOGROUP_NICE" > /proc/self/autogroup || true
fi
"$PY" "$HERE/install_trainer.py"
mkdir -p "$WORK/logs"
FOLDS=${*:-0 1 2}
CONFIG=${CONFIG:-2d} PLANS=${PLANS:-nnUNetPlans2DCPU}
OUTDIR=$WORK/results/Dataset501_BrainTumourT1c/nnUNetTrainerDelineateCPU__${PLANS}__${CONFIG}
past_deadline() {
  [ -f "$WORK/deadline" ] || return 1
  "$PY" -c "import sys,datetime;v=open(sys.argv[1]).read().strip()
try: t=float(v)
except ValueError: t=datetime.datetime.fromisoformat(v.replace('Z','+00:00')).timestamp()
import time; sys.exit(0 if time.time()>t else 1)" "$WORK/deadline"
}
for f in $FOLDS; do
  fd=$OUTDIR/fold_$f
  if [ -f "$fd/checkpoint_final.pth" ] && [ -f "$fd/validation/summary.json" ]; then echo "fold $f done"; continue; fi
  if past_deadline; then echo "$(date -u +%FT%TZ) fold $f not started: past deadline" >> "$WORK/logs/train_tumour.log"; continue; fi
  C=""; [ -f "$fd/checkpoint_latest.pth" ] && C="--c"
  echo "$(date -u +%FT%TZ) fold $f start $C" >> "$WORK/logs/train_tumour.log"
  nice -n 10 "$BIN/nnUNetv2_train" 501 "$CONFIG" "$f" -tr nnUNetTrainerDelineateCPU -p "$PLANS" \
      -device cpu $C >> "$WORK/logs/fold_$f.log" 2>&1
  echo "$(date -u +%FT%TZ) fold $f exit $?" >> "$WORK/logs/train_tumour.log"
done
