"""Weights & Biases tracking: one run per job, offline unless configured, always closed.

    tracker = Tracker.start(cfg, run_dir, run_name)   # logger=none gives an inactive tracker
    tracker.summary(metrics); tracker.table("predictions/heldout", rows); tracker.finish(exit_code)

The TRL trainers log their per-step metrics into the same run (report_to=["wandb"] reuses it).
Runs are grouped by experiment and sweep (group_from), job_type is the objective, the name comes
from the overrides, and the resolved config is the run's config. Only rank 0 logs.
Offline runs are written under <run_dir>/wandb; upload them later with `wandb sync <run_dir>/wandb`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf


def run_name_from(cfg, overrides: Sequence[str]) -> str:
    """`cfg.run_name`, or the objective plus the other command-line overrides (what a sweep varies)."""
    if cfg.run_name:
        return str(cfg.run_name)
    kept = [o for o in overrides if not o.startswith(("hydra.", "paths.", "logger.", "objective="))]
    return ",".join([str(cfg.objective.name)] + kept)[:128]


def group_from(cfg) -> str | None:
    """The W&B group: `logger.group`, else the experiment (conf/experiment/<name>.yaml) and, in a
    sweep, the sweep folder's name, so one launch of a grid is one group; None outside both."""
    if cfg.logger.group:
        return str(cfg.logger.group)
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    parts = [hc.runtime.choices.get("experiment")]
    if hc.mode == RunMode.MULTIRUN:
        parts.append(Path(str(hc.sweep.dir)).name)
    return "/".join(str(p) for p in parts if p) or None


class Tracker:
    def __init__(self, run=None, run_name: str = ""):
        self.run, self.run_name = run, run_name

    @property
    def active(self) -> bool:
        return self.run is not None

    @classmethod
    def start(cls, cfg, run_dir: Path, run_name: str, *, job_type: str = "train") -> Tracker:
        """A W&B run on rank 0 (other ranks get an inactive tracker); `group` from group_from()."""
        from genrm_exp import distributed

        if cfg.logger.name == "none" or cfg.logger.mode == "disabled" or not distributed.is_main():
            return cls(None, run_name)
        import wandb

        # W&B's caches go under paths.cache rather than $HOME; the run itself is written in run_dir.
        for var, sub in (("WANDB_CACHE_DIR", "cache"), ("WANDB_DATA_DIR", "data"), ("WANDB_CONFIG_DIR", "config")):
            os.environ.setdefault(var, str(Path(cfg.paths.cache) / "wandb" / sub))
        run = wandb.init(
            project=cfg.logger.project,
            entity=cfg.logger.entity,
            mode=cfg.logger.mode,
            group=group_from(cfg),
            tags=list(cfg.logger.tags),
            job_type=job_type,
            name=run_name,
            dir=str(run_dir),
            config=OmegaConf.to_container(cfg, resolve=True),
            reinit="finish_previous",
        )
        return cls(run, run_name)

    def log(self, values: dict[str, Any]) -> None:
        if self.run is not None:
            self.run.log(values)

    def summary(self, values: dict[str, Any]) -> None:
        if self.run is not None:
            self.run.summary.update(values)

    def table(self, key: str, rows: Sequence[dict]) -> None:
        if self.run is None or not rows:
            return
        import wandb

        columns = list(rows[0].keys())
        data = [[_cell(r.get(c)) for c in columns] for r in rows]
        self.run.log({key: wandb.Table(columns=columns, data=data)})

    def finish(self, exit_code: int = 0) -> None:
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None


def _cell(value):
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
