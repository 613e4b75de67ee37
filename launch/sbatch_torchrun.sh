#!/usr/bin/env bash
# Plain sbatch fallback, for clusters where the submitit launcher cannot be used: one job = one run,
# torchrun on every node (one srun task per node), 8 GPUs per node, the run folder fixed up front so
# that every rank writes to the same place. Arguments after the script are genrm_exp overrides.
#
#   sbatch launch/sbatch_torchrun.sh experiment=paper_ultrafeedback objective=star_dpo
#   sbatch --nodes=2 launch/sbatch_torchrun.sh experiment=paper_ultrafeedback objective=star_dpo
#   sbatch --partition=debug --nodes=1 --gpus-per-node=2 --time=00:30:00 \
#       --export=ALL,GPUS_PER_NODE=2 launch/sbatch_torchrun.sh experiment=paper_ultrafeedback_offline objective=bt
#
# A grid is one sbatch per objective (the paper grids sweep `objective`; a plain job runs one cell):
#   for m in zero_shot_direct zero_shot_cot bt pair_rm genrm star_sft star_dpo star_rationalizer; do
#     sbatch launch/sbatch_torchrun.sh experiment=paper_ultrafeedback objective=$m; done
#
# Edit the #SBATCH lines (partition, account) or pass them to sbatch; setup lines go in SETUP below.
#SBATCH --job-name=genrm_exp
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=80
#SBATCH --time=48:00:00
#SBATCH --output=slurm-%j.out
#SBATCH --signal=USR2@120
set -euo pipefail

cd "${SLURM_SUBMIT_DIR:-$(pwd)}"
# SETUP: modules and the virtualenv (the same lines as cluster.setup in conf/local/default.yaml).
# shellcheck disable=SC1091
[ -f .venv/bin/activate ] && source .venv/bin/activate

GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
NNODES="${SLURM_NNODES:-1}"
HEAD=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
PORT=$(( 20000 + SLURM_JOB_ID % 20000 ))
OUTPUTS="${GENRM_OUTPUTS:-outputs}"
RUN_DIR="${RUN_DIR:-$OUTPUTS/slurm/${SLURM_JOB_ID}}"

# A multi-node job needs the run folder on storage every node sees.
echo "genrm_exp job $SLURM_JOB_ID: $NNODES node(s) x $GPUS_PER_NODE GPUs, rendezvous $HEAD:$PORT, run folder $RUN_DIR"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-8}" TOKENIZERS_PARALLELISM=false

# hydra.mode=RUN: the paper grids are sweeps (hydra.mode: MULTIRUN); under torchrun each job is one cell.
srun --ntasks-per-node=1 --kill-on-bad-exit=1 \
  torchrun --nnodes "$NNODES" --nproc_per_node "$GPUS_PER_NODE" \
    --rdzv_backend c10d --rdzv_endpoint "$HEAD:$PORT" --rdzv_id "$SLURM_JOB_ID" \
    -m genrm_exp hydra.mode=RUN "hydra.run.dir=$RUN_DIR" "$@"
