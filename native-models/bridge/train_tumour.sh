#!/usr/bin/env bash
# Train (or resume) the Delineate tumour model folds one after the other, on the CPU, niced, 1 torch thread.
# Usage: train_tumour.sh [folds...]   (default: 0 1 2). Resumes each fold from checkpoint_latest.pth (--c);
# a fold with checkpoint_final.pth is skipped. Env: WORK (default /work/nnunet_work), PY (venv python),
# DELINEATE_EPOCHS (default 16), DELINEATE_TORCH_THREADS (default 1).
set -u
WORK=${WORK:-/work/nnunet_work}
PY=${PY:-/work/py/venv/bin/python}
BIN=$(dirname "$PY")
HERE=$(cd "$(dirname "$0")" && pwd)
export nnUNet_raw=$WORK/raw nnUNet_preprocessed=$WORK/preprocessed nnUNet_results=$WORK/results
export OMP_NUM_THREADS=${DELINEATE_TORCH_THREADS:-1} MKL_NUM_THREADS=${DELINEATE_TORCH_THREADS:-1}
export nnUNet_n_proc_DA=${nnUNet_n_proc_DA:-1} nnUNet_compile=f
export DELINEATE_EPOCHS=${DELINEATE_EPOCHS:-16} DELINEATE_TORCH_THREADS=${DELINEATE_TORCH_THREADS:-1}
"$PY" "$HERE/install_trainer.py"
mkdir -p "$WORK/logs"
FOLDS=${*:-0 1 2}
OUTDIR=$WORK/results/Dataset501_BrainTumourT1c/nnUNetTrainerDelineateCPU__nnUNetPlansCPU__3d_fullres
for f in $FOLDS; do
  fd=$OUTDIR/fold_$f
  if [ -f "$fd/checkpoint_final.pth" ] && [ -f "$fd/validation/summary.json" ]; then echo "fold $f done"; continue; fi
  C=""; [ -f "$fd/checkpoint_latest.pth" ] && C="--c"
  echo "$(date -u +%FT%TZ) fold $f start $C" >> "$WORK/logs/train_tumour.log"
  nice -n 10 "$BIN/nnUNetv2_train" 501 3d_fullres "$f" -tr nnUNetTrainerDelineateCPU -p nnUNetPlansCPU \
      -device cpu $C >> "$WORK/logs/fold_$f.log" 2>&1
  echo "$(date -u +%FT%TZ) fold $f exit $?" >> "$WORK/logs/train_tumour.log"
done
