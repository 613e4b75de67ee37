"""Kill a STaR run (SIGKILL, as `kill -9` would) inside sampling and again right after training,
rerun the same command, and check that finished work is reused, not recomputed, and that the
result equals an uninterrupted run's.

The kills come from the documented test-only knobs star.fault.kill_after_chunks / kill_after_stage,
which stay out of the run folder's name (conf/config.yaml), so the rerun finds the same folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, TINY

ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HYDRA_FULL_ERROR": "1"}
COMMAND = [
    *TINY,
    "logger=none",
    "objective=star_sft",
    "eval=heldout",
    "eval.max_pairs_per_set=3",
    "star.iterations=2",
    "star.k=2",
    "star.max_new_tokens=16",
    "star.chunk_size=2",
    "star.eval_base=false",
    "star.close_verdict=' Verdict: [['",
    "judge.k=2",
    "judge.max_new_tokens=16",
]


def genrm(outputs: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genrm_exp", *COMMAND, f"paths.outputs={outputs}", *extra],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_dir(outputs: Path) -> Path:
    (found,) = (outputs / "runs" / "star_sft").iterdir()
    return found


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def comparable(iterations: Path) -> list[dict]:
    """iterations.json without the counts of reused and newly sampled chunks (they differ by design)."""
    history = json.loads(iterations.read_text())
    for entry in history:
        for key in ("chunks_reused", "chunks_sampled"):
            entry.get("sample", {}).pop(key, None)
    return history


@pytest.mark.slow  # ~50 s; stage-level resumption is in tests/star/test_stages.py
def test_kill_in_sampling_and_after_training_then_resume(tmp_path):
    outputs = tmp_path / "killed"
    # 1. Killed inside iteration 1's sampling, after 2 of its 4 chunks (8 keys, 2 per chunk).
    out = genrm(outputs, "star.fault.kill_after_chunks=2")
    assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]
    run = run_dir(outputs)
    partial = lines(run / "iter_1" / "samples.jsonl.partial")
    assert len(partial) == 4 and not (run / "iter_1" / "samples.jsonl").exists()

    # 2. The same command, killed right after iteration 1's training is marked done.
    out = genrm(outputs, "star.fault.kill_after_stage=1/train")
    assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]
    assert run_dir(outputs) == run
    sample = json.loads((run / "iter_1" / ".stages" / "sample.json").read_text())["info"]
    assert (sample["chunks_reused"], sample["chunks_sampled"]) == (2, 2)
    assert lines(run / "iter_1" / "samples.jsonl")[:4] == partial  # what was written before the kill is kept
    adapter = run / "iter_1" / "checkpoint" / "adapter_model.safetensors"
    stamp = adapter.stat().st_mtime_ns
    train_record = (run / "iter_1" / ".stages" / "train.json").read_text()

    # 3. The same command again: it completes, reusing iteration 1's stages.
    out = genrm(outputs)
    assert out.returncode == 0, out.stderr[-3000:]
    for stage in ("sample", "build", "train"):
        assert f"iter_1/{stage}: done earlier, reused" in out.stdout
    assert "iter_1/eval: running" in out.stdout  # killed before it ran
    assert adapter.stat().st_mtime_ns == stamp, "the checkpoint was trained again"
    assert (run / "iter_1" / ".stages" / "train.json").read_text() == train_record
    metrics = json.loads((run / "metrics.json").read_text())

    # 4. A fourth run finds everything done and recomputes nothing.
    out = genrm(outputs)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "running" not in "".join(line for line in out.stdout.splitlines() if line.startswith("[star]"))

    # 5. An uninterrupted run of the same command gives the same samples, training and metrics.
    fresh = tmp_path / "fresh"
    out = genrm(fresh)
    assert out.returncode == 0, out.stderr[-3000:]
    other = run_dir(fresh)
    assert other.name == run.name
    for i in (1, 2):
        assert (other / f"iter_{i}" / "samples.jsonl").read_bytes() == (
            run / f"iter_{i}" / "samples.jsonl"
        ).read_bytes()
        assert (other / f"iter_{i}" / "train_set.jsonl").read_bytes() == (
            run / f"iter_{i}" / "train_set.jsonl"
        ).read_bytes()
    assert comparable(other / "iterations.json") == comparable(run / "iterations.json")
    again = json.loads((other / "metrics.json").read_text())
    assert {k: v for k, v in again.items() if k != "_run"} == {k: v for k, v in metrics.items() if k != "_run"}


def test_run_folder_names_are_fixed_by_the_command_line():
    from genrm_exp.run_dirs import MAX_CHARS, run_id

    assert run_id("") == "default"
    assert run_id("seed=1,star.k=8") == "seed=1,star.k=8"
    long = ",".join(f"star.option_{i}=value" for i in range(30))
    assert len(run_id(long)) <= MAX_CHARS and run_id(long) == run_id(long) and run_id(long) != run_id(long + "x")
    with_path = run_id("star.bootstrap.rationales_file=/data/r.jsonl")
    assert "/" not in with_path and with_path.startswith("star.bootstrap.rationales_file=_data_r.jsonl-")


def test_one_list_of_settings_that_change_no_result():
    """What reuse ignores (resume.NOT_COMPARED) is what folder names leave out (Hydra's exclude_keys),
    and it covers every key under paths and star.fault as composed."""
    from omegaconf import OmegaConf
    from support import compose, compose_with_hydra

    from genrm_exp.resume import NOT_COMPARED, settings

    keys = list(compose_with_hydra(["model=tiny_random"]).hydra.job.config.override_dirname.exclude_keys)
    assert keys == ["objective", *NOT_COMPARED]
    cfg = compose(["model=tiny_random"])
    left = settings(OmegaConf.to_container(cfg))
    assert left["paths"] == {} and left["star"]["fault"] == {} and "logger" not in left, (
        left["paths"],
        left["star"]["fault"],
    )
