"""The paper's grids (conf/experiment/paper_*.yaml) and their rows (objectives): every cell composes
with the paper's values, overlays set no key the groups lack, every experiment runs one tiny step,
and the offline twin's methods all score the same evaluation inputs (equal fingerprints), which the
report checks: a cell made different on purpose is flagged.

    python -m pytest tests/test_experiments.py -q
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from omegaconf import OmegaConf
from support import CONF, ENV, compose_with_hydra, genrm, run_group

from genrm_exp.objectives import OBJECTIVES

GRIDS = ["paper_ultrafeedback", "paper_ultrainteract"]
EXPERIMENTS = [*GRIDS, *(f"{g}_offline" for g in GRIDS)]
# The paper's rows: objective -> judge style used to evaluate.
METHODS = {
    "zero_shot_direct": "direct",
    "zero_shot_cot": "cot",
    "bt": None,
    "pair_rm": None,
    "genrm": "direct",
    "star_sft": "cot",
    "star_dpo": "cot",
    "star_rationalizer": "cot",
    "grpo_judge": "cot",  # beyond the paper: J1's GRPO-trained CoT judge
}
CELLS = [(e, m) for e in EXPERIMENTS for m in METHODS]


def test_grid_files_exist_and_sweep_registered_objectives():
    for name in EXPERIMENTS:
        assert (CONF / "experiment" / f"{name}.yaml").is_file(), name
        cfg = compose_with_hydra([f"experiment={name}"])
        assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
        assert cfg.hydra.sweeper.params["objective"].split(",") == list(METHODS), name
    assert not (CONF / "method").exists(), "the rows are objectives: one group to sweep"
    missing = sorted(set(METHODS) - set(OBJECTIVES))
    assert not missing, f"grids name objectives that are not registered: {missing}"


@pytest.mark.parametrize(("experiment", "method"), CELLS)
def test_cell_composes_with_the_papers_values(experiment, method):
    cfg = compose_with_hydra([f"experiment={experiment}", f"objective={method}"])
    style = METHODS[method]
    assert cfg.objective.name == method
    if style:
        assert cfg.judge.style == style
    assert (cfg.star.iterations, cfg.star.temperature, cfg.star.top_p) == (3, 1.0, 0.95)
    assert (cfg.trainer.args.adam_beta1, cfg.trainer.args.adam_beta2, cfg.trainer.args.weight_decay) == (0.9, 0.95, 0.1)
    assert (cfg.trainer.args.lr_scheduler_type, cfg.trainer.args.warmup_steps) == ("cosine", 0.1)
    if method == "star_dpo":
        assert cfg.objective.args.beta == 1.0
    if method == "star_rationalizer":
        assert cfg.objective.lr_scale == 20.0
    if experiment.endswith("_offline"):
        assert cfg.model.source == "embedded_gguf" and cfg.deepspeed.name == "none"
        assert cfg.judge.temperature == 1.0 and cfg.judge.top_p == 0.95
    else:
        assert cfg.model.path == "meta-llama/Llama-3.1-8B-Instruct" and cfg.deepspeed.name == "zero3"
        assert cfg.trainer.args.learning_rate == 1.0e-6 and not cfg.peft.enabled
        assert (cfg.judge.k, cfg.judge.temperature, cfg.judge.top_p) == (32, 1.0, 0.95)
        assert cfg.data.name == experiment.removeprefix("paper_") and "rewardbench" in cfg.eval.sets
        # Unverified against the appendix (see the YAML): 3 epochs on UltraFeedback, 1 on UltraInteract.
        assert cfg.trainer.args.num_train_epochs == (3 if experiment == "paper_ultrafeedback" else 1)
        assert cfg.logger.tags[1] == experiment.removeprefix("paper_")


def test_trainer_presets_resolve_to_the_pinned_values():
    """demo and debug state only what differs from paper (Hydra defaults lists); the values they
    resolve to are pinned here so that a change to a base is seen."""
    paper = {
        "learning_rate": 1.0e-6,
        "adam_beta1": 0.9,
        "adam_beta2": 0.95,
        "weight_decay": 0.1,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.1,
        "num_train_epochs": 1,
        "max_steps": -1,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "gradient_accumulation_steps": 8,
        "activation_checkpointing": False,
        "bf16": True,
        "logging_steps": 10,
        "train_sampling_strategy": "group_by_length",
        "save_strategy": "no",
        "dataloader_num_workers": 2,
    }
    demo = {
        **paper,
        "learning_rate": 2.0e-4,
        "gradient_accumulation_steps": 1,
        "bf16": False,
        "logging_steps": 5,
        "dataloader_num_workers": 0,
    }
    debug = {
        **demo,
        "learning_rate": 1.0e-3,
        "warmup_steps": 0.0,
        "max_steps": 2,
        "per_device_train_batch_size": 2,
        "per_device_eval_batch_size": 4,
        "logging_steps": 1,
    }
    for name, expected in (("paper", paper), ("demo", demo), ("debug", debug)):
        assert OmegaConf.to_container(compose_with_hydra([f"trainer={name}"]).trainer.args) == expected, name


@pytest.mark.parametrize("trainer", ["paper", "demo", "debug"])
def test_the_rationalizer_trains_at_twenty_times_star_sft_under_every_trainer(trainer):
    """The paper's 2e-5 against 1e-6: the rationalizer's resolved rate is 20x STaR-SFT's whatever the
    trainer preset (trainer=paper gives the paper's own values)."""
    from genrm_exp.objectives.trl_args import learning_rate

    sft = learning_rate(compose_with_hydra([f"trainer={trainer}", "objective=star_sft"]))
    rationalizer = learning_rate(compose_with_hydra([f"trainer={trainer}", "objective=star_rationalizer"]))
    assert rationalizer == pytest.approx(20 * sft)
    if trainer == "paper":
        assert (sft, rationalizer) == (pytest.approx(1e-6), pytest.approx(2e-5))


def test_an_objective_may_not_set_an_absolute_learning_rate():
    from genrm_exp.errors import ConfigError
    from genrm_exp.objectives.trl_args import learning_rate

    with pytest.raises(ConfigError, match="objective.args.learning_rate=.*objective.lr_scale"):
        learning_rate(compose_with_hydra(["objective=star_sft", "+objective.args.learning_rate=1e-3"]))


def test_the_ultrainteract_grids_differ_from_the_ultrafeedback_ones_only_where_stated():
    for online in (True, False):
        suffix = "" if online else "_offline"
        uf = OmegaConf.to_container(
            compose_with_hydra([f"experiment=paper_ultrafeedback{suffix}", "objective=star_dpo"])
        )
        ui = OmegaConf.to_container(
            compose_with_hydra([f"experiment=paper_ultrainteract{suffix}", "objective=star_dpo"])
        )
        for d in (uf, ui):
            d.pop("hydra")
        differ = sorted(k for k in uf if uf[k] != ui[k])
        assert differ == (["data", "logger", "trainer"] if online else ["data", "logger"]), differ


def _leaves(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaves(value, path + ".")
        else:
            yield path


@pytest.mark.parametrize(("experiment", "method"), [(e, "star_dpo") for e in [*EXPERIMENTS, "star_demo"]])
def test_overlay_sets_only_keys_its_groups_define(experiment, method):
    """Hydra merges an overlay's values without checking them, so a misspelt key would be added
    silently: every value an experiment sets must exist in the same groups composed without it."""
    cfg = compose_with_hydra([f"experiment={experiment}", f"objective={method}"])
    choices = {g: c for g, c in cfg.hydra.runtime.choices.items() if "/" not in g and g not in ("experiment", "local")}
    base = compose_with_hydra([f"{g}={c}" for g, c in choices.items() if c is not None])
    body = yaml.safe_load((CONF / "experiment" / f"{experiment}.yaml").read_text())
    for key in _leaves({k: v for k, v in body.items() if k not in ("defaults", "hydra")}):
        if key.startswith("eval.sets."):  # adding an evaluation set is what eval.sets is for
            continue
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(base, parent) if parent else base
        assert node is not None and leaf in list(node.keys()), f"{experiment}.yaml sets {key}: no such key"


TINY_GRID = [
    "model=tiny_random",
    "trainer=debug",
    "data.max_train_pairs=6",
    "data.max_length=320",
    "eval=heldout",
    "eval.max_pairs_per_set=3",
    "eval.max_length=96",
    "eval.bootstrap_samples=100",
    "star.iterations=1",
    "star.k=1",
    "star.max_new_tokens=8",
    "judge.k=2",
    "judge.max_new_tokens=8",
    "judge.backend=static",
]  # tiny_random's 4-wide heads are below what vLLM's CPU attention loads


@pytest.mark.slow  # ~60 s; tests/test_cli.py sweeps and reports a grid in the suite
def test_offline_twin_runs_every_method_on_the_same_inputs_and_reports(tmp_path):
    """python -m genrm_exp -m experiment=paper_ultrafeedback_offline (a sweep over the grid's nine
    objectives, grpo_judge the last) with a tiny model and one STaR iteration: every cell finishes,
    every cell scored the same evaluation pairs with the same text (equal fingerprints), and the
    report has a row per cell, the length baselines, and a flag on a cell scored on other inputs on
    purpose."""
    sweep = tmp_path / "grid"
    out = genrm(
        "experiment=paper_ultrafeedback_offline",
        *TINY_GRID,
        f"paths.outputs={tmp_path}",
        f"hydra.sweep.dir={sweep}",
        timeout=600,
    )
    errors = {
        d.name: (d / "error.txt").read_text().strip().splitlines()[-1]
        for d in sweep.glob("*")
        if (d / "error.txt").is_file()
    }
    assert out.returncode == 0 and not errors, (errors, out.stderr[-2000:])
    metrics = [json.loads(m.read_text()) for m in sweep.glob("*/metrics.json")]
    assert sorted(m["_run"]["objective"] for m in metrics) == sorted(METHODS)
    prints = {m["_run"]["objective"]: m["heldout"]["fingerprint"] for m in metrics}
    assert len(set(prints.values())) == 1, prints  # BT, the judges and STaR all scored the same text
    data = [json.loads(d.read_text()) for d in sweep.glob("*/data.json")]
    assert (
        len({json.dumps(d["truncated_eval"]) for d in data}) == 1
        and data[0]["truncated_eval"]["heldout"]["truncated"] > 0
    )
    # Cost: tokens are counted where they are sampled; a judge that samples nothing has no count.
    tokens = {m["_run"]["objective"]: m["_run"]["generated_tokens"] for m in metrics}
    assert all(tokens[m] > 0 for m in ("zero_shot_cot", "star_sft", "star_dpo", "star_rationalizer")), tokens
    assert tokens["bt"] is None and tokens["zero_shot_direct"] is None, tokens
    shorter = [o.replace("eval.max_length=96", "eval.max_length=48") for o in TINY_GRID]
    odd = genrm(
        "experiment=paper_ultrafeedback_offline",
        "hydra.mode=RUN",
        "objective=zero_shot_direct",
        *shorter,
        f"paths.outputs={tmp_path}",
        f"hydra.run.dir={sweep}/odd",
        timeout=300,
    )
    assert odd.returncode == 0, odd.stderr[-2000:]
    rep = run_group([sys.executable, "-m", "genrm_exp.report", str(sweep)], env=ENV, timeout=120)
    assert rep.returncode == 0, rep.stderr[-2000:]
    text = (sweep / "report.md").read_text()
    for method in METHODS:
        assert f"| {method} |" in text or f"| {method}," in text, method
    assert "FAILED" not in text and "## STaR iterations" in text
    assert "| baseline: longer response |" in text and "| baseline: shorter response |" in text
    flagged = [line for line in text.splitlines() if line.startswith("- ") and "heldout" in line]
    # The odd cell alone is marked, once for what it scored and once for how (its fit budget);
    # the sweep's cells differ only in the objective, the axis it varies, and carry no mark.
    assert len(flagged) == 2 and all(
        line.startswith("- zero_shot_direct,eval.max_length=48 / heldout: ") for line in flagged
    ), flagged
    assert "fit: shared 48 (truncate)" in flagged[1] and "most of the column" in flagged[0], flagged


@pytest.mark.slow  # ~30 s
def test_ultrainteract_twin_and_star_demo_run_a_tiny_step(tmp_path):
    """The other offline experiments, one tiny cell each: the UltraInteract twin (its stand-in data,
    a STaR cell) and the STaR demo."""
    ui = genrm(
        "experiment=paper_ultrainteract_offline",
        "hydra.mode=RUN",
        "objective=star_dpo",
        *TINY_GRID,
        f"paths.outputs={tmp_path}",
        f"hydra.run.dir={tmp_path}/ui",
        timeout=300,
    )
    assert ui.returncode == 0, ui.stderr[-2000:]
    assert json.loads((tmp_path / "ui" / "data.json").read_text())["train"]["source"] == "llamafactory"
    demo = genrm(
        "experiment=star_demo",
        *TINY_GRID,
        "star.iterations=1",
        f"paths.outputs={tmp_path}",
        f"hydra.run.dir={tmp_path}/demo",
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert [e["iteration"] for e in json.loads((tmp_path / "demo" / "iterations.json").read_text())] == [0, 1]


@pytest.mark.parametrize("experiment", [*EXPERIMENTS, "star_demo", "smoke"])
def test_training_budget_leaves_room_for_the_texts_after_the_judge_prompt(experiment, tokenizer):
    """The tiny steps above override data.max_length; the experiments' own budgets must still hold
    the CoT judge prompt (STaR trains on it) with room for the prompt and responses."""
    from genrm_exp.prompts import judge_overhead

    cfg = compose_with_hydra([f"experiment={experiment}", "objective=star_dpo"])
    room = int(cfg.data.max_length) - judge_overhead(tokenizer, cfg.judge)
    assert room >= 200, f"{experiment}: data.max_length={cfg.data.max_length} leaves {room} tokens for the texts"
