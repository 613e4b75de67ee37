"""Every YAML under conf/ composes, and a misspelt key or option fails with Hydra's message."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from support import CONF, compose

GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name not in ("hydra", "local", "local.example"))


DEFAULTS = {next(iter(d)) for d in OmegaConf.load(CONF / "config.yaml").defaults if not isinstance(d, str)}


def group_options() -> list[tuple[str, str]]:
    return [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


@pytest.mark.parametrize(("group", "option"), group_options())
def test_every_option_composes_and_resolves(group, option, tmp_path):
    # A group outside the defaults list is added with `+`.
    cfg = compose([f"{'' if group in DEFAULTS else '+'}{group}={option}"], tmp_path)
    # Every interpolation resolves; only values marked ??? (to be given on the command line) may stay.
    resolved = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    assert resolved["objective"]["name"] and resolved["model"]["name"]


def test_groups_cover_the_sweep_axes():
    assert {"model", "peft", "data", "eval", "objective", "trainer", "logger", "deepspeed"} <= set(GROUPS)


def test_misspelt_key_fails_with_hydra_message(tmp_path):
    with pytest.raises(ConfigCompositionException, match="lerning_rate"):
        compose(["trainer.args.lerning_rate=1e-5"], tmp_path)


def test_unknown_option_fails_with_hydra_message(tmp_path):
    with pytest.raises(ConfigCompositionException, match="bt_typo"):
        compose(["objective=bt_typo"], tmp_path)
