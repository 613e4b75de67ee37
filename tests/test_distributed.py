"""Ranks from each launcher's variables, shard / gather over two real gloo processes, and a
two-process run of the CLI (torchrun, CPU) whose predictions match a one-process run's.

    python -m pytest tests/test_distributed.py -q
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import TINY, run_group

from genrm_exp import distributed

LAUNCHER_VARS = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "GENRM_LAUNCHER",
    "SUBMITIT_EXECUTOR",
)


@pytest.fixture
def env(monkeypatch):
    """A private copy of os.environ without launcher variables (the module exports into it)."""
    copy = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS and not k.startswith(("SLURM_", "SUBMITIT_"))}
    monkeypatch.setattr(os, "environ", copy)
    return copy


def test_one_process_is_a_world_of_one(env):
    assert distributed.ranks() == distributed.Ranks(0, 0, 1, "single")
    assert distributed.is_main()
    items = list("abcde")
    assert distributed.shard(items, even=True) == items
    assert distributed.gather(items, total=5) == items
    assert distributed.broadcast({"x": 1}) == {"x": 1}


def test_torchrun_variables(env):
    env.update(RANK="3", WORLD_SIZE="8", LOCAL_RANK="3")
    assert distributed.ranks() == distributed.Ranks(3, 3, 8, "torchrun")
    assert not distributed.is_main()


@pytest.mark.parametrize(
    ("rank", "world", "message"), [("8", "8", "RANK=8 is not in [0, WORLD_SIZE=8)"), ("x", "2", "must be integers")]
)
def test_bad_torchrun_variables_are_named(env, rank, world, message):
    env.update(RANK=rank, WORLD_SIZE=world)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        distributed.ranks()


def test_slurm_job_through_submitit(env):
    """Task 9 of a 2-node x 8-GPU SLURM job started by the submitit launcher: submitit reads the
    SLURM variables, and the torchrun variables that transformers / DeepSpeed read are exported."""
    env.update(
        SUBMITIT_EXECUTOR="slurm",
        SLURM_JOB_ID="77",
        SLURM_NTASKS="16",
        SLURM_PROCID="9",
        SLURM_LOCALID="1",
        SLURM_JOB_NUM_NODES="2",
        SLURM_NODEID="1",
        SLURM_JOB_NODELIST="gpu-[001-002]",
    )
    assert distributed.ranks() == distributed.Ranks(9, 1, 16, "submitit")
    assert env["MASTER_ADDR"] == "gpu-001" and env["WORLD_SIZE"] == "16" and env["LOCAL_RANK"] == "1"
    assert "CUDA_VISIBLE_DEVICES" not in env or env["CUDA_VISIBLE_DEVICES"] == os.environ.get("CUDA_VISIBLE_DEVICES")


def test_single_task_submitit_job_stays_single(env):
    env.update(
        SUBMITIT_EXECUTOR="local",
        SUBMITIT_LOCAL_JOB_ID="5",
        SUBMITIT_LOCAL_NTASKS="1",
        SUBMITIT_LOCAL_GLOBALID="0",
        SUBMITIT_LOCAL_LOCALID="0",
        SUBMITIT_LOCAL_JOB_NUM_NODES="1",
    )
    assert distributed.ranks().launcher == "single"
    assert "RANK" not in env


def test_deepspeed_gets_a_world_of_one(env):
    r = distributed.setup(deepspeed=True)
    assert r == distributed.Ranks(0, 0, 1, "single")
    assert env["RANK"] == "0" and env["WORLD_SIZE"] == "1" and env["MASTER_ADDR"] == "127.0.0.1"
    assert 0 < int(env["MASTER_PORT"]) < 65536


WORKER = """
import json, os, sys
from genrm_exp import distributed
r = distributed.setup()
items = list(range(7))
mine = distributed.shard(items, even=True)
back = distributed.gather([x * 10 for x in mine], total=len(items))
plain = distributed.gather(distributed.shard(items))
path = distributed.broadcast(sys.argv[1] + "/from_rank_" + str(r.rank))
json.dump({"rank": r.rank, "mine": mine, "back": back, "plain": plain, "path": path},
          open(sys.argv[1] + f"/rank{r.rank}.json", "w"))
distributed.teardown()
"""


def test_shard_gather_broadcast_over_two_gloo_ranks(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = run_group(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(script),
            str(tmp_path),
        ],
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["mine"] == [0, 2, 4, 6] and r1["mine"] == [1, 3, 5, 1]  # padded to equal length
    assert r0["back"] == r1["back"] == [0, 10, 20, 30, 40, 50, 60]
    assert r0["plain"] == r1["plain"] == list(range(7))
    assert r0["path"] == r1["path"] == str(tmp_path / "from_rank_0")


def _genrm(args: list[str], launcher: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    return run_group([*launcher, "-m", "genrm_exp", *TINY, *args], env=env)


@pytest.mark.slow  # ~40 s; two gloo ranks shard and gather in the suite
def test_two_process_run_matches_one_process_run(tmp_path: Path):
    """torchrun --nproc_per_node 2 on CPU (gloo, DDP): rank 0 alone writes; the sharded, gathered
    predictions are the one-process run's pairs in the same order, and training is data parallel
    (each step takes 2 ranks x 2 of the 8 training pairs: half an epoch, against a quarter alone)."""
    one, two = tmp_path / "one", tmp_path / "two"
    out = _genrm([f"hydra.run.dir={one}", f"paths.outputs={tmp_path}"], [sys.executable])
    assert out.returncode == 0, out.stderr[-3000:]
    assert "'epoch': '0.25'" in out.stdout + out.stderr
    out = _genrm(
        [f"hydra.run.dir={two}", f"paths.outputs={tmp_path}"],
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "'epoch': '0.5'" in out.stdout + out.stderr and "'epoch': '0.25'" not in out.stdout + out.stderr
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (one, two))
    assert m2["_run"]["world_size"] == 2 and m1["_run"]["world_size"] == 1
    for name in ("heldout", "llmbar-natural"):
        ids = [
            [json.loads(line)["id"] for line in (d / "predictions" / f"{name}.jsonl").read_text().splitlines()]
            for d in (one, two)
        ]
        assert ids[0] == ids[1] and len(ids[0]) == 6
        assert m2[name]["n"] == 6
    assert len(list((two / "wandb").glob("offline-run-*"))) == 1, "only rank 0 logs to W&B"


@pytest.mark.slow  # ~30 s
def test_star_over_two_ranks_samples_what_one_rank_samples(tmp_path: Path):
    """STaR-Rationalizer under torchrun --nproc_per_node 2: the four chunks of sampling are dealt out
    over the ranks and rank 0 writes them, so samples.jsonl (and the hinted rationalized.jsonl that
    every rank reads next) is byte for byte the one-process file; training is data-parallel and
    evaluation sharded; one W&B run."""
    star = [
        "objective=star_rationalizer",
        "data.max_length=330",
        "eval=heldout",
        "star.iterations=1",
        "star.k=2",
        "star.max_new_tokens=12",
        "star.chunk_size=4",
        "star.eval_base=false",
        "star.close_verdict=' Verdict: [['",
        "judge.k=2",
        "judge.max_new_tokens=12",
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    out = _genrm([*star, f"hydra.run.dir={one}", f"paths.outputs={tmp_path}"], [sys.executable])
    assert out.returncode == 0, out.stderr[-3000:]
    out = _genrm(
        [*star, f"hydra.run.dir={two}", f"paths.outputs={tmp_path}"],
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("samples.jsonl", "rationalized.jsonl"):
        assert (two / "iter_1" / name).read_bytes() == (one / "iter_1" / name).read_bytes()
    history = [json.loads((d / "iterations.json").read_text())[-1] for d in (one, two)]
    assert history[1]["sample"]["chunks_sampled"] == 4 and history[1]["build"] == history[0]["build"]
    assert history[1]["train"]["rows"] == history[0]["train"]["rows"] > 0
    assert (two / "iter_1" / "checkpoint" / "adapter_config.json").is_file()
    assert not (two / "iter_1" / ".checkpoint.tmp").exists()
    m2 = json.loads((two / "metrics.json").read_text())
    assert m2["_run"]["world_size"] == 2 and m2["heldout"]["n"] == 6
    ids = [
        [json.loads(line)["id"] for line in (d / "predictions" / "heldout.jsonl").read_text().splitlines()]
        for d in (one, two)
    ]
    assert ids[0] == ids[1]
    assert len(list((two / "wandb").glob("offline-run-*"))) == 1, "only rank 0 logs to W&B"
