#!/bin/bash
# Segment a cohort with Delineate on a Slurm cluster: one array task per shard.
#
#   sbatch --array=0-7 docs/cluster/slurm-batch.sh /shared/cohort/imagesTs /shared/cohort/labels my-model
#
# Shards are 0-based, so the array is 0..N-1 and N is the array size (SLURM_ARRAY_TASK_COUNT). Cases are sorted by
# id and task i takes cases i, i+N, i+2N, … — disjoint shards that together cover the cohort. Every task writes its
# outputs into the same folder and its own run record (run.shard-<i>-of-<N>.json). A failed or pre-empted task is
# simply resubmitted (`sbatch --array=<i> …`): --resume skips the cases it already finished.
#
#SBATCH --job-name=delineate-batch
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=12:00:00
#SBATCH --output=delineate-%A_%a.log
# For a GPU partition (onnxruntime-node installed with --onnxruntime-node-install=cuda12), add
#   #SBATCH --gres=gpu:1     and pass --device cuda below.
set -euo pipefail

INPUT=${1:?usage: sbatch --array=0-<N-1> slurm-batch.sh <input-dir-or-list> <output-dir> <model-id-or-dir>}
OUTPUT=${2:?output folder}
MODEL=${3:?model id or folder}
N=${SLURM_ARRAY_TASK_COUNT:?submit as an array job: sbatch --array=0-<N-1>}
I=${SLURM_ARRAY_TASK_ID:?submit as an array job}

# Where Delineate is installed (a checkout with `npm ci` done), or use the container image instead:
#   apptainer exec delineate.sif node --import tsx /app/main/cli/index.ts batch …
DELINEATE_HOME=${DELINEATE_HOME:-$HOME/delineate}
cd "$DELINEATE_HOME"

# Exit status: 0 all cases of the shard succeeded, 1 some case failed (see the run record), 2 usage error.
exec npx tsx main/cli/index.ts batch "$INPUT" \
  --model "$MODEL" \
  --output "$OUTPUT" \
  --shard "$I/$N" \
  --threads "${SLURM_CPUS_PER_TASK:-8}" \
  --resume
