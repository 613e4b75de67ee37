"""Every conf/deepspeed/*.yaml is accepted by the TRL configs of every objective, with its "auto"
values filled from trainer.args; one CPU process trains a tiny BT model under each ZeRO stage, and
the GPU check's BT and DPO (with its reference model) cases run on CPU with a tiny shape.

    python -m pytest tests/test_deepspeed_configs.py -q

Two CPU processes cannot run DeepSpeed here: accelerate 1.15 chooses a CPU process group only when
told to use the CPU (use_cpu), and then it never selects DeepSpeed (the trainer would silently run
DDP); without it accelerate sees a world of 1 while DeepSpeed sees 2, and DeepSpeed's batch check
fails ("train_batch_size ... 2 != 2 * 1 * 2"). So that combination stops with a clear error
(trl_args._cpu_ranks); multi-process DeepSpeed needs GPUs. Two CPU processes without DeepSpeed
(DDP over gloo): tests/test_distributed.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf
from support import CONF, REPO, SHARED, TINY, compose
from test_distributed import run_group

STAGES = {"zero2": 2, "zero3": 3, "zero3_offload": 3}


def test_every_deepspeed_option_is_known():
    assert sorted(p.stem for p in (CONF / "deepspeed").glob("*.yaml")) == sorted(["none", *STAGES])


@pytest.mark.parametrize("option", ["none", *STAGES])
def test_deepspeed_config_composes(option):
    cfg = compose([f"deepspeed={option}"])
    assert cfg.deepspeed.name == option
    if option == "none":
        assert cfg.deepspeed.config is None
        return
    ds = OmegaConf.to_container(cfg.deepspeed.config)
    assert ds["zero_optimization"]["stage"] == STAGES[option]
    # The trainer owns these values; a number here could silently disagree with trainer.args.
    for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping"):
        assert ds[key] == "auto", key
    assert ds["bf16"]["enabled"] == "auto"


@pytest.fixture
def isolated_env(monkeypatch):
    """TrainingArguments exports ACCELERATE_USE_DEEPSPEED; keep it out of later tests."""
    monkeypatch.setattr(os, "environ", dict(os.environ))


@pytest.mark.parametrize("option", list(STAGES))
@pytest.mark.parametrize("config_name", ["RewardConfig", "SFTConfig", "DPOConfig"])
def test_trl_configs_accept_and_fill_the_deepspeed_config(option, config_name, tmp_path, isolated_env):
    import trl

    from genrm_exp.objectives.trl_args import trl_config

    cfg = compose(
        ["model=tiny_random", "trainer=debug", f"deepspeed={option}", "trainer.args.gradient_accumulation_steps=3"]
    )
    ctx = SimpleNamespace(
        cfg=cfg, tracker=SimpleNamespace(active=False, run_name="t"), path=lambda *p: tmp_path.joinpath(*p)
    )
    args = trl_config(getattr(trl, config_name), ctx)
    ds = args.hf_deepspeed_config
    assert ds.is_zero3() == (STAGES[option] == 3)
    assert ds.is_offload() == (option == "zero3_offload")
    filled = ds.config
    assert filled["train_micro_batch_size_per_gpu"] == cfg.trainer.args.per_device_train_batch_size
    assert filled["gradient_accumulation_steps"] == 3
    assert filled["gradient_clipping"] == args.max_grad_norm
    assert filled["bf16"]["enabled"] is False  # trainer=debug: bf16 false
    if "optimizer" in filled:  # zero3_offload: DeepSpeed's CPU Adam with the trainer's values
        assert filled["optimizer"]["params"]["betas"] == [cfg.trainer.args.adam_beta1, cfg.trainer.args.adam_beta2]
        assert filled["optimizer"]["params"]["weight_decay"] == cfg.trainer.args.weight_decay
    # What is left "auto" is sized from the model at trainer start (hidden size), nothing else.
    left = {k for k, v in filled["zero_optimization"].items() if v == "auto"} | {
        k for k, v in filled.items() if v == "auto"
    }
    assert left <= {"reduce_bucket_size", "stage3_prefetch_bucket_size", "stage3_param_persistence_threshold"}


def _genrm(tmp_path: Path, *args: str):
    env = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    return run_group(
        [
            sys.executable,
            "-m",
            "genrm_exp",
            *TINY,
            f"paths.outputs={tmp_path}",
            f"hydra.run.dir={tmp_path / 'run'}",
            *args,
        ],
        env=env,
        timeout=400,
    )


# make test-slow (16-60 s each): one CPU process under each DeepSpeed option; the suite keeps the configs'
# composition and checks above.
@pytest.mark.slow
@pytest.mark.parametrize("option", ["zero2", "zero3", "zero3_offload"])
def test_one_cpu_process_trains_bt_under_deepspeed(option, tmp_path):
    """python -m genrm_exp deepspeed=<option>: no launcher, so genrm_exp.distributed gives DeepSpeed
    a world of one. (zero3_offload compiles DeepSpeed's CPU Adam once, about 2 minutes here: slow.)"""
    out = _genrm(tmp_path, "objective=bt", f"deepspeed={option}", "logger=none")
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["heldout"]["n"] == 6 and metrics["_run"]["world_size"] == 1
    log = out.stdout + out.stderr
    assert "'loss'" in log  # the trainer logged its steps


# A STaR-DPO run of seconds on the tiny model: short chains closed by the verdict's opening.
STAR_DPO_SHORT = [
    "logger=none",
    "data.max_length=330",
    "eval=heldout",
    "star.k=2",
    "star.max_new_tokens=12",
    "star.eval_base=false",
    "star.close_verdict=' Verdict: [['",
    "judge.k=2",
    "judge.max_new_tokens=12",
]


@pytest.mark.slow  # ~30 s; BT under ZeRO-3 stays in the suite
def test_star_dpo_iterates_under_zero3(tmp_path):
    """Two STaR-DPO iterations in one process under ZeRO-3: the trainer partitions its model, then
    the next iteration's sampler and judge load whole (base + the saved adapter, merged), and the
    second iteration trains on from the first one's adapter, which it changes."""
    from safetensors.torch import load_file

    out = _genrm(
        tmp_path,
        "objective=star_dpo",
        "deepspeed=zero3",
        *STAR_DPO_SHORT,
        "star.iterations=2",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "run"
    history = json.loads((run / "iterations.json").read_text())
    assert [e["train"]["started_from"] for e in history] == ["base", "iter_1/checkpoint"]
    first, second = (load_file(run / f"iter_{i}" / "checkpoint" / "adapter_model.safetensors") for i in (1, 2))
    assert first.keys() == second.keys() and all(t.numel() > 0 for t in first.values())  # gathered, not partitioned
    assert any(not (first[k] == second[k]).all() for k in first)


@pytest.mark.slow  # ~30 s
def test_star_dpo_precomputes_its_reference_under_zero3_with_full_fine_tuning(tmp_path):
    """STaR-DPO as shipped (precompute_ref_log_probs) without LoRA under ZeRO-3: TRL computes the
    reference's log-probs once, through a DeepSpeed inference engine over the partitioned starting
    model, then trains it (tests/star/test_star_objectives.py checks that no copy is built)."""
    out = _genrm(
        tmp_path,
        "objective=star_dpo",
        "peft=none",
        "deepspeed=zero3",
        *STAR_DPO_SHORT,
        "star.iterations=1",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert "Computing reference log probs for train dataset" in log and "'loss'" in log
    assert (tmp_path / "run" / "iter_1" / "checkpoint" / "model.safetensors").is_file()


GPU_CHECK = [sys.executable, str(REPO / "launch" / "gpu_check.py")]


@pytest.fixture(scope="module")
def gpu_check_assets(tmp_path_factory) -> Path:
    assets = tmp_path_factory.mktemp("gpu_check") / "assets"
    out = run_group([*GPU_CHECK, "--export-assets", str(assets)], timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (assets / "tokenizer" / "tokenizer.json").is_file() and SHARED.is_dir()
    assert len((assets / "pairs.jsonl").read_text().splitlines()) == 64
    return assets


@pytest.mark.slow  # ~20 s a case: launch/gpu_check.py on CPU, before the GPU minutes are spent
@pytest.mark.parametrize("case", ["bt-zero2", "dpo-zero3"])
def test_gpu_check_cases_run_on_cpu(case, tmp_path, gpu_check_assets):
    """launch/gpu_check.py with a tiny shape on CPU: the same code the GPU check runs (TRL trainers,
    DeepSpeed, DPO's reference model under ZeRO-3), so the GPU minutes are not spent on a typo."""
    py, assets = GPU_CHECK, gpu_check_assets
    results = tmp_path / "results.jsonl"
    out = run_group(
        [
            *py,
            "--case",
            case,
            "--shape",
            "tiny",
            "--cpu",
            "--assets",
            str(assets),
            "--results",
            str(results),
            "--workdir",
            str(tmp_path / "work"),
            "--max-length",
            "256",
        ],
        timeout=300,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    record = json.loads(results.read_text().splitlines()[-1])
    assert record["ok"] and record["deepspeed"] and record["weights_changed"] and record["steps"] == 3
    assert record["zero_stage"] == int(case[-1]) and record["ref_model"] == case.startswith("dpo")
    table = run_group([*py, "--table", str(results)], timeout=60).stdout
    assert f"| {case} | True | {case[-1]} |" in table


@pytest.mark.slow  # ~16 s
def test_gpu_check_sampling_case_shards_over_two_cpu_ranks(tmp_path, gpu_check_assets):
    """The GPU check's sampling case under torchrun --nproc_per_node 2 (gloo): every prompt's k
    samples come back to rank 0, which alone writes the record."""
    results = tmp_path / "results.jsonl"
    out = run_group(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            *GPU_CHECK[1:],
            "--case",
            "sample",
            "--shape",
            "tiny",
            "--cpu",
            "--assets",
            str(gpu_check_assets),
            "--results",
            str(results),
            "--prompts",
            "6",
            "--k",
            "2",
            "--new-tokens",
            "8",
        ],
        timeout=300,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert record["ok"] and record["world_size"] == 2 and record["samples"] == 12, record


@pytest.mark.parametrize("option", ["none", "zero2"])
def test_several_cpu_ranks_train_data_parallel_or_say_why_not(option, monkeypatch):
    """On CPU under several ranks the TRL config asks accelerate for its gloo data parallelism;
    with DeepSpeed, which accelerate runs over several processes on GPUs only, it stops and says so."""
    import torch

    from genrm_exp import distributed
    from genrm_exp.objectives.trl_args import _cpu_ranks

    cfg = compose(["model=tiny_random", "trainer=debug", f"deepspeed={option}"])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _cpu_ranks(cfg) == {}  # one process: nothing to ask
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    if option == "none":
        assert _cpu_ranks(cfg) == {"use_cpu": True}
    else:
        with pytest.raises(ValueError, match="deepspeed=zero2 over 2 CPU processes: .* use deepspeed=none"):
            _cpu_ranks(cfg)
