"""Shared fixtures: composed configs with CPU overrides, and the tokenizer of the embedded model.

The converted SmolLM2 folder (about 20 s to build once) is cached in GENRM_CACHE, default
<repo>/.cache, so every test and every later run reuses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from genrm_exp import runtime_env

runtime_env.apply()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
CACHE = Path(os.environ.get("GENRM_CACHE", REPO / ".cache"))
SHARED = Path(os.environ.get("GENRM_SHARED_DATA", REPO.parent / "shared" / "data"))

# A quick run: tiny model, two steps, small evaluation sets, W&B offline into the run folder.
TINY = [
    "model=tiny_random",
    "trainer=debug",
    "data.max_train_pairs=8",
    "data.max_length=320",
    "eval.max_length=128",
    "eval.max_pairs_per_set=6",
    "eval.bootstrap_samples=200",
]


def compose(overrides: list[str], tmp_path: Path | None = None):
    """The real config tree composed as `python -m genrm_exp <overrides>` would, without running."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    extra = [f"paths.root={REPO}"] + ([f"paths.outputs={tmp_path}"] if tmp_path else [])
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=[*overrides, *extra], return_hydra_config=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}: set GENRM_SHARED_DATA or put shared/ beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def tokenizer():
    from genrm_exp.modeling import load_tokenizer

    cfg = compose(["model=tiny_random"])
    return load_tokenizer(cfg.model, cache=CACHE)


def make_ctx(overrides: list[str], tmp_path: Path):
    """A RunContext as the pipeline builds it (data loaded and fitted to the budget), W&B off."""
    from genrm_exp import code_version
    from genrm_exp.context import RunContext
    from genrm_exp.modeling import load_tokenizer
    from genrm_exp.pipeline import fit, load_data, resolve_engine
    from genrm_exp.tracking import Tracker

    cfg = compose([*TINY, "logger=none", *overrides], tmp_path)
    resolve_engine(cfg, "cpu")
    tok = load_tokenizer(cfg.model, cache=CACHE)
    train, eval_sets, report = load_data(cfg)
    train, eval_sets, fits = fit(cfg, tok, train, eval_sets, report)
    return RunContext(
        cfg,
        tmp_path / "run",
        tok,
        train,
        eval_sets,
        Tracker(None, "test"),
        report,
        fits=fits,
        code=code_version.current(),
    )


def assert_all_trainable_changed(trainer) -> None:
    """Train, then check every trainable parameter moved (TRL's own test pattern)."""
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert before, "no trainable parameters"
    trainer.train()
    after = dict(trainer.model.named_parameters())
    unchanged = [n for n, p in before.items() if torch_equal(p, after[n])]
    assert not unchanged, f"parameters did not change: {unchanged[:5]}"


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b.detach()))
