"""The paper's grids (conf/experiment/paper_*.yaml) and their rows (conf/method/*.yaml): every cell
composes with the paper's values, overlays set no key the groups lack, and the offline twin runs
every method for one tiny step as one sweep, then reports.

    python -m pytest tests/test_experiments.py -q
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from conftest import CONF
from omegaconf import OmegaConf
from test_distributed import run_group
from test_launch import ENV, compose_with_hydra, genrm

from genrm_exp.objectives import OBJECTIVES

GRIDS = ["paper_ultrafeedback", "paper_ultrainteract"]
EXPERIMENTS = [*GRIDS, *(f"{g}_offline" for g in GRIDS)]
# The paper's rows: method -> (objective, judge style used to evaluate).
METHODS = {"zero_shot_direct": ("zero_shot", "direct"), "zero_shot_cot": ("zero_shot", "cot"), "bt": ("bt", None),
           "pair_rm": ("pair_rm", None), "genrm": ("genrm", "direct"), "star_sft": ("star_sft", "cot"),
           "star_dpo": ("star_dpo", "cot"), "star_rationalizer": ("star_rationalizer", "cot")}
CELLS = [(e, m) for e in EXPERIMENTS for m in METHODS]


def test_grid_and_method_files_exist_and_agree():
    for name in EXPERIMENTS:
        assert (CONF / "experiment" / f"{name}.yaml").is_file(), name
    assert sorted(p.stem for p in (CONF / "method").glob("*.yaml")) == sorted(METHODS)
    for name in EXPERIMENTS:
        body = yaml.safe_load((CONF / "experiment" / f"{name}.yaml").read_text())
        assert body["hydra"]["mode"] == "MULTIRUN"
        assert body["hydra"]["sweeper"]["params"]["+method"].split(",") == list(METHODS), name
    missing = sorted({obj for obj, _ in METHODS.values()} - set(OBJECTIVES))
    assert not missing, f"methods name objectives that are not registered: {missing}"


@pytest.mark.parametrize(("experiment", "method"), CELLS)
def test_cell_composes_with_the_papers_values(experiment, method):
    cfg = compose_with_hydra([f"experiment={experiment}", f"+method={method}"])
    objective, style = METHODS[method]
    assert cfg.objective.name == objective
    if style:
        assert cfg.judge.style == style
    assert (cfg.star.iterations, cfg.star.temperature, cfg.star.top_p) == (3, 1.0, 0.95)
    assert (cfg.trainer.args.adam_beta1, cfg.trainer.args.adam_beta2, cfg.trainer.args.weight_decay) == (0.9, 0.95, 0.1)
    assert (cfg.trainer.args.lr_scheduler_type, cfg.trainer.args.warmup_steps) == ("cosine", 0.1)
    if method == "star_dpo":
        assert cfg.objective.args.beta == 1.0
    if method == "star_rationalizer":
        assert cfg.objective.args.learning_rate == 2.0e-5
    if experiment.endswith("_offline"):
        assert cfg.model.source == "embedded_gguf" and cfg.deepspeed.name == "none"
        assert cfg.judge.temperature == 1.0 and cfg.judge.top_p == 0.95
    else:
        assert cfg.model.path == "meta-llama/Llama-3.1-8B-Instruct" and cfg.deepspeed.name == "zero3"
        assert cfg.trainer.args.learning_rate == 1.0e-6 and not cfg.peft.enabled
        assert (cfg.judge.k, cfg.judge.temperature, cfg.judge.top_p) == (32, 1.0, 0.95)
        assert cfg.data.name == experiment.removeprefix("paper_") and "rewardbench" in cfg.eval.sets


def _leaves(node, prefix=""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaves(value, path + ".")
        else:
            yield path


@pytest.mark.parametrize(("experiment", "method"), [(e, "star_dpo") for e in EXPERIMENTS])
def test_overlay_sets_only_keys_its_groups_define(experiment, method):
    """Hydra merges an overlay's values without checking them, so a misspelt key would be added
    silently: every value an experiment sets must exist in the same groups composed without it."""
    cfg = compose_with_hydra([f"experiment={experiment}", f"+method={method}"])
    choices = {g: c for g, c in cfg.hydra.runtime.choices.items() if "/" not in g and g not in ("experiment", "method", "local")}
    base = compose_with_hydra([f"{g}={c}" for g, c in choices.items() if c is not None])
    body = yaml.safe_load((CONF / "experiment" / f"{experiment}.yaml").read_text())
    for key in _leaves({k: v for k, v in body.items() if k not in ("defaults", "hydra")}):
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(base, parent) if parent else base
        assert node is not None and leaf in list(node.keys()), f"{experiment}.yaml sets {key}: no such key"


def test_offline_twin_runs_every_method_and_reports(tmp_path):
    """python -m genrm_exp experiment=paper_ultrafeedback_offline (a sweep over the eight methods)
    with a tiny model and one STaR iteration: every cell finishes, the report has a row per cell."""
    sweep = tmp_path / "grid"
    out = genrm("experiment=paper_ultrafeedback_offline", "model=tiny_random", "trainer=debug", "data.max_train_pairs=6",
                "data.max_length=256", "eval=heldout", "eval.max_pairs_per_set=3", "eval.bootstrap_samples=100",
                "star.iterations=1", "star.k=1", "star.max_new_tokens=8", "judge.k=2", "judge.max_new_tokens=8",
                f"paths.outputs={tmp_path}", f"hydra.sweep.dir={sweep}", timeout=600)
    errors = {d.name: (d / "error.txt").read_text().strip().splitlines()[-1] for d in sweep.glob("*") if (d / "error.txt").is_file()}
    assert out.returncode == 0 and not errors, (errors, out.stderr[-2000:])
    runs = [json.loads(m.read_text())["_run"] for m in sweep.glob("*/metrics.json")]
    assert sorted(r["objective"] for r in runs) == sorted(obj for obj, _ in METHODS.values())
    # Cost: tokens are counted where they are sampled; a judge that samples nothing has no count.
    tokens = {next(o for o in r["overrides"] if o.startswith("+method=")).split("=")[1]: r["generated_tokens"] for r in runs}
    assert all(tokens[m] > 0 for m in ("zero_shot_cot", "star_sft", "star_dpo", "star_rationalizer")), tokens
    assert tokens["bt"] is None and tokens["zero_shot_direct"] is None, tokens
    rep = run_group([sys.executable, "-m", "genrm_exp.report", str(sweep)], env=ENV, timeout=120)
    assert rep.returncode == 0, rep.stderr[-2000:]
    text = (sweep / "report.md").read_text()
    for method in METHODS:
        assert f"+method={method} |" in text, method
    assert "FAILED" not in text and "## STaR iterations" in text
