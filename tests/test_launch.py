"""Sweeps as a cluster user runs them: the launcher presets and the git-ignored local settings up to
the SLURM job script submitit writes; submitit_local sweeps (two jobs; one job of two ranks); a
failing cell that leaves the others to finish, closes its W&B run and shows as FAILED in the report;
W&B offline files with group, job type and config.

    python -m pytest tests/test_launch.py -q
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from pathlib import Path

import pytest
import yaml
from support import CONF, ENV, REPO, TINY, compose_with_hydra, genrm, run_group

PRESETS = {"slurm_1node_8gpu": (1, 8, 8), "slurm_2node": (2, 8, 8), "slurm_debug": (1, 2, 2), "local": (1, 1, 0)}


def test_every_launcher_preset_is_known():
    assert sorted(p.stem for p in (CONF / "hydra" / "launcher").glob("*.yaml")) == sorted(PRESETS)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_launcher_preset_composes(preset):
    cfg = compose_with_hydra([f"hydra/launcher={preset}"])
    launcher = cfg.hydra.launcher
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == PRESETS[preset]
    assert launcher._target_.endswith("SlurmLauncher" if preset.startswith("slurm") else "LocalLauncher")
    if preset.startswith("slurm"):  # no conf/local here: every cluster value is left to SLURM
        assert launcher.partition is None and launcher.account is None and launcher.setup is None


def _slurm_script(launcher_cfg, folder: Path) -> str:
    """The sbatch script submitit would submit for these launcher settings, mapped to submitit's
    parameters as hydra_plugins.hydra_submitit_launcher does (BaseSubmititLauncher.launch)."""
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    from omegaconf import OmegaConf

    params = OmegaConf.to_container(launcher_cfg, resolve=True)
    params.pop("_target_")
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor = submitit.AutoExecutor(
        folder=str(folder), cluster="slurm", slurm_max_num_timeout=params.pop("max_num_timeout")
    )
    params.pop("submitit_folder")
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in params.items()})
    return executor._executor._make_submission_file_text("python -u -m submitit.core._submit", "uid")


def test_local_settings_reach_the_slurm_job_script(tmp_path, monkeypatch):
    """conf/local/default.yaml (from launch/local.example.yaml) fills partition, account and setup
    lines; submitit accepts every preset value and writes the sbatch header of a 2 x 8-GPU job."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf, ignore=shutil.ignore_patterns("local"))
    (conf / "local").mkdir()
    shutil.copy(REPO / "launch" / "local.example.yaml", conf / "local" / "default.yaml")
    cfg = compose_with_hydra(["hydra/launcher=slurm_2node", "hydra.sweep.dir=" + str(tmp_path / "sweep")], conf)
    assert cfg.paths.outputs == "/scratch/me/genrm-exp/outputs" and cfg.logger.entity == "my-team"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    script = _slurm_script(cfg.hydra.launcher, tmp_path / "submitit")
    for line in (
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=8",
        "#SBATCH --gpus-per-node=8",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=my-account",
        "#SBATCH --cpus-per-task=10",
        "#SBATCH --time=2880",
        "module load cuda/12.8",
        "source .venv/bin/activate",
    ):
        assert line in script, line
    debug = compose_with_hydra(["hydra/launcher=slurm_debug", "hydra.sweep.dir=" + str(tmp_path / "sweep")], conf)
    assert debug.hydra.launcher.partition == "debug" and debug.hydra.launcher.timeout_min == 30


@pytest.mark.slow  # ~18 s: two submitit subprocesses; the presets' composition above stays in the suite
def test_submitit_local_two_job_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    out = genrm(
        "-m", "hydra/launcher=local", *TINY, "peft=none,lora", f"paths.outputs={tmp_path}", f"hydra.sweep.dir={sweep}"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(list(sweep.glob("*/metrics.json"))) == 2
    assert list(sweep.glob(".submitit/*/*_log.out")), "submitit wrote no job logs"


@pytest.mark.slow  # ~30 s; a two-job submitit sweep stays in the suite
def test_submitit_job_with_two_ranks(tmp_path):
    """tasks_per_node=2: submitit starts two processes for the one job, as SLURM starts one per GPU;
    genrm_exp.distributed turns submitit's variables into one gloo group of two ranks."""
    sweep = tmp_path / "sweep"
    out = genrm(
        "-m",
        "hydra/launcher=local",
        "hydra.launcher.tasks_per_node=2",
        *TINY,
        f"paths.outputs={tmp_path}",
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((sweep / "0" / "metrics.json").read_text())
    assert metrics["_run"]["world_size"] == 2 and metrics["heldout"]["n"] == 6
    assert len((sweep / "0" / "predictions" / "heldout.jsonl").read_text().splitlines()) == 6


def wandb_records(run_dir: Path) -> list:
    """The records of the offline W&B run in run_dir (its .wandb file: LevelDB-style log blocks of
    32 KiB, each record a wandb_internal_pb2.Record)."""
    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    data, out, buf, i = path.read_bytes(), [], b"", 7
    assert data[:4] == b":W&B", f"{path}: not a W&B log"
    while i + 7 <= len(data):
        if 32768 - i % 32768 < 7:  # block trailer
            i += 32768 - i % 32768
            continue
        _crc, length, kind = struct.unpack("<IHB", data[i : i + 7])
        if kind == 0 and length == 0:
            break
        buf += data[i + 7 : i + 7 + length]
        i += 7 + length
        if kind in (1, 4):  # FULL or LAST
            record = pb.Record()
            record.ParseFromString(buf)
            out.append(record)
            buf = b""
    return out


# make test-slow (~17 s each): a Hydra sweep with a failing cell under each launcher.
@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "local"])
def test_failed_cell_leaves_the_sweep_to_finish(launcher, tmp_path):
    """One cell of a two-cell sweep fails while loading its data (the real sample holds a pair whose
    two responses are identical, and data.on_bad_row=error stops there): the other still runs, the
    sweep exits non-zero, the failed cell keeps config.yaml and error.txt and closes its W&B run, the
    report marks it FAILED, and both W&B runs carry group (experiment / sweep), job type and config."""
    sweep = tmp_path / "sweep_x"
    out = genrm(
        "-m",
        f"hydra/launcher={launcher}",
        "experiment=paper_ultrafeedback_offline",
        "objective=bt",
        *TINY,
        "data.on_bad_row=error,skip",
        f"paths.outputs={tmp_path}",
        f"hydra.sweep.dir={sweep}",
    )
    assert out.returncode != 0
    by_mode = {yaml.safe_load((d / "config.yaml").read_text())["data"]["on_bad_row"]: d for d in sweep.glob("[0-9]*")}
    bad, good = by_mode["error"], by_mode["skip"]
    assert (good / "metrics.json").is_file() and not (bad / "metrics.json").exists()
    assert "ultrafeedback_sample_1k.jsonl" in (bad / "error.txt").read_text()
    for run_dir, exit_code in ((good, 0), (bad, 1)):
        records = wandb_records(run_dir)
        (run,) = [r.run for r in records if r.HasField("run")]
        assert run.run_group == "paper_ultrafeedback_offline/sweep_x" and run.job_type == "bt"
        config = {item.key: json.loads(item.value_json) for item in run.config.update}
        assert config["objective"]["name"] == "bt" and config["model"]["name"] == "tiny-random-llama"
        assert run.display_name.startswith("bt")
        assert [r.exit.exit_code for r in records if r.HasField("exit")] == [exit_code]
    history = [r.history for r in wandb_records(good) if r.HasField("history")]
    keys = {"/".join(item.nested_key) or item.key for h in history for item in h.item}
    assert "train/loss" in keys, sorted(keys)[:20]  # per-step training metrics from the TRL trainer
    rep = run_group([sys.executable, "-m", "genrm_exp.report", str(sweep)], env=ENV, timeout=120)
    assert rep.returncode == 0, rep.stderr[-2000:]
    text = (sweep / "report.md").read_text()
    assert "| bt,data.on_bad_row=error | FAILED: genrm_exp.data.schema.DataError: " in text
    assert "| bt,data.on_bad_row=skip | " in text and "1 of 2 runs FAILED" in text


@pytest.mark.slow  # ~25 s
def test_sbatch_fallback_runs_torchrun_with_a_fixed_run_folder(tmp_path):
    """launch/sbatch_torchrun.sh under bash with stand-ins for srun and scontrol (no SLURM here):
    torchrun starts two CPU ranks that meet at the head node's rendezvous and write one run folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text('#!/bin/sh\nwhile [ "${1#-}" != "$1" ]; do shift; done\nexec "$@"\n')
    (bin_dir / "scontrol").write_text("#!/bin/sh\necho localhost\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {
        **ENV,
        "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NODELIST": "localhost",
        "SLURM_NNODES": "1",
        "SLURM_SUBMIT_DIR": str(REPO),
        "GPUS_PER_NODE": "2",
        "RUN_DIR": str(tmp_path / "run"),
    }
    out = run_group(
        [
            "bash",
            str(REPO / "launch" / "sbatch_torchrun.sh"),
            "experiment=paper_ultrafeedback_offline",
            "objective=bt",
            *TINY,
            f"paths.outputs={tmp_path}",
        ],
        env=env,
        timeout=400,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["_run"]["world_size"] == 2 and metrics["_run"]["objective"] == "bt"
    assert "rendezvous localhost:" in out.stdout
