"""The command line as a user types it: a run end to end, clear failures, a sweep and its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import REPO, TINY

ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HYDRA_FULL_ERROR": "0"}


def genrm(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genrm_exp", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600
    )


def test_run_end_to_end_writes_every_output(tmp_path):
    out = genrm(*TINY, f"paths.outputs={tmp_path}", "hydra.run.dir=" + str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    for name in ("heldout", "llmbar-natural", "llmbar-adver-manual"):
        assert set(metrics[name]) >= {"accuracy", "ci95", "n"}
        assert metrics[name]["n"] == 6
        lines = (run / "predictions" / f"{name}.jsonl").read_text().splitlines()
        assert len(lines) == 6 and "score" in json.loads(lines[0])
    rb = metrics["_benchmarks"]["rewardbench"]  # section scores, apart from the sets
    assert rb["partial"] is True and "Chat Hard" in rb["sections"]
    assert (run / "config.yaml").is_file() and (run / "data.json").is_file()
    # The engine judge.backend resolved to, once, in both files (tiny_random's 4-wide heads: static).
    engine = yaml.safe_load((run / "config.yaml").read_text())["judge"]["engine"]
    assert engine == metrics["_run"]["engine"] and engine["backend"] in ("static", "vllm") and engine["reason"]
    assert list((run / "wandb").glob("offline-run-*/run-*.wandb")), "no offline W&B run"
    assert "RewardBench" in out.stdout and "heldout" in out.stdout

    # The same command again reuses the finished run; other settings in the same folder run again.
    stamp = (run / "metrics.json").stat().st_mtime_ns
    again = genrm(*TINY, f"paths.outputs={tmp_path}", "hydra.run.dir=" + str(run))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "finished earlier, reused" in again.stdout and "heldout" in again.stdout
    assert (run / "metrics.json").stat().st_mtime_ns == stamp and len(list((run / "wandb").glob("offline-run-*"))) == 1
    other = genrm(*TINY, "seed=1", f"paths.outputs={tmp_path}", "hydra.run.dir=" + str(run))
    assert other.returncode == 0, other.stderr[-3000:]
    assert "other settings (seed): running again" in other.stdout
    assert (run / "metrics.json").stat().st_mtime_ns != stamp


def test_misspelt_override_exits_nonzero_with_hydra_message(tmp_path):
    out = genrm(*TINY, "trainer.args.lerning_rate=1", f"paths.outputs={tmp_path}")
    assert out.returncode != 0
    assert "lerning_rate" in out.stderr and "not in struct" in out.stderr


@pytest.mark.slow  # ~10 s; tests/data/test_bad_rows.py checks the same errors in process
def test_broken_data_file_names_file_line_and_key(tmp_path):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "q", "chosen": "c"}\n')
    out = genrm(*TINY, "data=local", f"data.train.path={bad}", f"paths.outputs={tmp_path}")
    assert out.returncode != 0
    assert "pairs.jsonl line 2" in out.stderr and "'rejected'" in out.stderr


def sweep_and_report(tmp_path, *args: str) -> tuple[Path, str]:
    """`python -m genrm_exp -m ARGS` into tmp_path/sweep (two cells), then the report over it:
    the sweep folder and report.md's text."""
    sweep = tmp_path / "sweep"
    out = genrm("-m", *args, f"paths.outputs={tmp_path}", f"hydra.sweep.dir={sweep}")
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(list(sweep.glob("*/metrics.json"))) == 2
    rep = subprocess.run(
        [sys.executable, "-m", "genrm_exp.report", str(sweep)], env=ENV, capture_output=True, text=True, timeout=300
    )
    assert rep.returncode == 0, rep.stderr[-3000:]
    return sweep, (sweep / "report.md").read_text()


def test_sweep_then_report(tmp_path):
    sweep, text = sweep_and_report(tmp_path, *TINY, "peft=none,lora")
    assert "peft=none" in text and "peft=lora" in text and "llmbar-natural" in text
    assert (sweep / "report.png").stat().st_size > 1000


# Two smoke runs and the report, scored on the held-out set alone: 93 s with the smoke run's five
# LLMBar sets as well, 66 s without them (beside another job).
def test_a_star_and_grpo_sweep_reports_both_curves_with_no_protocol_mark(tmp_path):
    """`-m objective=star_sft,grpo_judge experiment=smoke eval=heldout`: one report with STaR's
    accuracy per iteration and GRPO's reward per step (report.md and one chart), and, the cells
    differing only in the swept objective, no protocol mark."""
    from genrm_exp.report.protocols import MARK

    sweep, text = sweep_and_report(tmp_path, "experiment=smoke", "eval=heldout", "objective=star_sft,grpo_judge")
    assert "## STaR iterations" in text and "## GRPO rewards" in text
    assert "| verdict_correct |" in text and "| both_orders_correct |" in text
    assert MARK not in text, text
    assert (sweep / "star.png").stat().st_size > 1000


@pytest.mark.slow  # ~20 s; tests/test_validate.py checks the one-line errors in process
def test_user_error_is_one_line_without_traceback(tmp_path):
    """A missing data file: `error: <message>` and where the traceback was kept, exit status 2, no
    traceback on the console. The config check finds it before any data loads: the folder gets
    config.yaml and error.txt (no data.json), and GENRM_TRACEBACK=1 prints the traceback as well."""
    args = (
        *TINY,
        "data=local",
        f"data.train.path={tmp_path / 'missing.jsonl'}",
        f"paths.outputs={tmp_path}",
        "hydra.run.dir=" + str(tmp_path / "run"),
        "logger.mode=disabled",
    )
    out = genrm(*args)
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: data.train.path='{tmp_path / 'missing.jsonl'}': no such file"), out.stderr[
        -2000:
    ]
    assert "Traceback" not in out.stderr and "HYDRA_FULL_ERROR" not in out.stderr
    assert f"traceback in {tmp_path / 'run' / 'error.txt'}" in out.stderr
    assert "Traceback (most recent call last)" in (tmp_path / "run" / "error.txt").read_text()
    assert not (tmp_path / "run" / "data.json").exists()
    shown = subprocess.run(
        [sys.executable, "-m", "genrm_exp", *args],
        cwd=REPO,
        env={**ENV, "GENRM_TRACEBACK": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert shown.returncode == 2 and "Traceback (most recent call last)" in shown.stderr


@pytest.mark.slow
@pytest.mark.parametrize("objective", [["objective=zero_shot", "judge=cot"], ["objective=star_dpo"]])
def test_smoke_run_finishes_in_under_a_minute(objective, tmp_path):
    """experiment=smoke caps evaluation pairs, chains and new tokens: measured 24 s (zero_shot cot)
    and 46 s (star_dpo) on a shared 2-core CPU, every other objective between 9 and 48 s."""
    out = genrm("experiment=smoke", *objective, f"paths.outputs={tmp_path}", "hydra.run.dir=" + str(tmp_path / "run"))
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["_run"]["seconds_total"] < 60 and metrics["llmbar-natural"]["n"] == 6
