"""Ranks: the one place that reads the launcher's environment. Everything else is rank-agnostic.

    torchrun --nproc_per_node 8 -m genrm_exp hydra.run.dir=outputs/runs/x ...   # torchrun / deepspeed / accelerate
    python -m genrm_exp -m hydra/launcher=slurm_1node_8gpu ...                  # submitit: 8 tasks per job

    ranks = distributed.setup()            # idempotent; one process is world 1 and needs nothing
    mine = distributed.shard(pairs, even=True)
    records = distributed.gather(judge.predict(mine, name), total=len(pairs))   # input order, every rank
    if distributed.is_main(): write(...)

Where the ranks come from, first match wins:
- `RANK` / `WORLD_SIZE` / `LOCAL_RANK` already set (torchrun, the deepspeed launcher, accelerate launch);
- a submitit job with several tasks (SLURM through hydra/launcher=slurm_*, or submitit_local): submitit
  reads SLURM_PROCID / SLURM_LOCALID / SLURM_NTASKS / SLURM_JOB_NODELIST and we export them as the
  torchrun variables, so that transformers, accelerate and DeepSpeed see one launcher only;
- otherwise one process.
A plain `srun python -m genrm_exp` with several tasks is not recognised (an interactive allocation
looks the same); wrap torchrun in srun instead (launch/sbatch_torchrun.sh).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from genrm_exp.errors import ConfigError

T = TypeVar("T")

# Set by _export_submitit so that ranks() can say which launcher started the job.
_LAUNCHER_VAR = "GENRM_LAUNCHER"


@dataclass(frozen=True)
class Ranks:
    rank: int
    local_rank: int
    world_size: int
    launcher: str  # "single", "torchrun" (any launcher that sets RANK), or "submitit"

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _from_env() -> Ranks:
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        try:
            rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
            local = int(os.environ.get("LOCAL_RANK", rank))
        except ValueError as err:
            raise ConfigError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers: {err}") from err
        if not 0 <= rank < world:
            raise ConfigError(f"RANK={rank} is not in [0, WORLD_SIZE={world})")
        return Ranks(rank, local, world, os.environ.get(_LAUNCHER_VAR, "torchrun"))
    return Ranks(0, 0, 1, "single")


def _export_submitit() -> None:
    """Inside a submitit job with more than one task, export the torchrun-style variables."""
    if not os.environ.get("SUBMITIT_EXECUTOR") or "RANK" in os.environ:
        return
    import submitit

    if submitit.JobEnvironment().num_tasks <= 1:
        return
    # Each task keeps every GPU of its node visible and picks cuda:LOCAL_RANK, as under torchrun.
    submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    os.environ[_LAUNCHER_VAR] = "submitit"


def ranks() -> Ranks:
    """This process's rank, local rank and world size, as the launcher set them."""
    _export_submitit()
    return _from_env()


def _export_single() -> None:
    """The variables of a world of one on this host, on a free port (DeepSpeed wants a process
    group even for one process, and otherwise goes looking for MPI)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(
        RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    os.environ[_LAUNCHER_VAR] = "single"


def setup(*, deepspeed: bool = False) -> Ranks:
    """Pin this process's GPU and join the process group (NCCL on GPUs, gloo on CPU). Call it
    before the first collective; safe to call again; a world of one initialises nothing, except
    that with deepspeed=True a lone process gets the variables of a world of one."""
    r = ranks()
    if deepspeed and r.launcher == "single" and "RANK" not in os.environ:
        _export_single()
    if r.world_size > 1:
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            if torch.cuda.is_available():
                torch.cuda.set_device(r.local_rank % torch.cuda.device_count())
            dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return r


def world_size() -> int:
    return ranks().world_size


def rank() -> int:
    return ranks().rank


def is_main() -> bool:
    """True on the process that writes files, prints and logs to W&B (rank 0, or the only one)."""
    return rank() == 0


def device():
    """This rank's device: cuda:LOCAL_RANK when GPUs are visible, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", ranks().local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def shard(items: Sequence[T], *, even: bool = False) -> list[T]:
    """This rank's share, strided (rank r gets items r, r+W, ...) so lengths stay balanced when the
    input is sorted. even=True pads every share to the same length with the share's first item (or
    the list's), for code that must run in lockstep (ZeRO-3 forwards, generate(synced_gpus=True));
    gather(..., total=len(items)) drops the padding."""
    items = list(items)
    w, r = world_size(), rank()
    mine = items[r::w]
    if even and w > 1 and items:
        size = -(-len(items) // w)
        mine += [mine[0] if mine else items[0]] * (size - len(mine))
    return mine


def gather(local: Sequence[T], *, total: int | None = None) -> list[T]:
    """The inverse of shard(): every rank's share, back in input order, on every rank.
    `total` is the length of the list that was sharded (required after shard(even=True))."""
    local = list(local)
    w = world_size()
    if w == 1:
        return local if total is None else local[:total]
    import torch.distributed as dist

    setup()
    parts: list[list[T]] = [[] for _ in range(w)]
    dist.all_gather_object(parts, local)
    n = sum(len(p) for p in parts) if total is None else total
    if total is None and any(len(parts[i]) < len(parts[i + 1]) for i in range(w - 1)):
        raise ValueError(f"gather: shares of lengths {[len(p) for p in parts]} are not a strided shard")
    return [parts[i % w][i // w] for i in range(n)]


def broadcast(value: T) -> T:
    """Rank 0's value on every rank (for example the run folder, whose name holds a timestamp)."""
    if world_size() == 1:
        return value
    import torch.distributed as dist

    setup()
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if world_size() > 1:
        import torch.distributed as dist

        setup()
        dist.barrier()


def teardown() -> None:
    """Leave the process group once a rank's work is done (after a barrier). Exiting with it still
    open lets the interpreter tear down the backend's threads mid-flight (seen as SIGABRT with
    gloo); a world of one has nothing to close."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
