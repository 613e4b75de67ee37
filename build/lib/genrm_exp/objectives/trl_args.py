"""Build a TRL config (RewardConfig, SFTConfig, DPOConfig, ...) from the run's config groups.

`trainer.args` (the optimiser, schedule, batch) and `objective.args` (what the objective adds) are
field names of the TRL config class, so a misspelt key fails with the dataclass's own TypeError.
The learning rate is `trainer.args.learning_rate x objective.lr_scale` (`learning_rate(cfg)`): an
objective states its rate relative to the trainer's, so the paper's ratios (the rationalizer at 20x)
hold under every trainer preset.
"""

from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from genrm_exp.errors import ConfigError


def learning_rate(cfg) -> float:
    """The objective's learning rate: the trainer's times `objective.lr_scale`."""
    objective_args = OmegaConf.to_container(cfg.objective.args, resolve=True) or {}
    if "learning_rate" in objective_args:
        raise ConfigError(
            f"objective.args.learning_rate={objective_args['learning_rate']}: an objective states its rate "
            f"relative to the trainer's (objective.lr_scale, now {cfg.objective.lr_scale}); set "
            "trainer.args.learning_rate or objective.lr_scale instead"
        )
    scale = float(cfg.objective.lr_scale)
    if not scale > 0:
        raise ConfigError(f"objective.lr_scale={cfg.objective.lr_scale}: expected a positive number")
    return float(cfg.trainer.args.learning_rate) * scale


def trl_config(config_cls, ctx, *, stage: str = "train", **overrides: Any):
    cfg = ctx.cfg
    values: dict[str, Any] = {}
    values.update(OmegaConf.to_container(cfg.trainer.args, resolve=True))
    values.update(OmegaConf.to_container(cfg.objective.args, resolve=True) or {})
    values["learning_rate"] = learning_rate(cfg)
    if cfg.deepspeed.config is not None:
        values["deepspeed"] = OmegaConf.to_container(cfg.deepspeed.config, resolve=True)
    values.update(_cpu_ranks(cfg))
    values.update(
        output_dir=str(ctx.path(stage, "trainer")),
        seed=int(cfg.seed),
        data_seed=int(cfg.seed),
        report_to=["wandb"] if ctx.tracker.active else [],
        run_name=ctx.tracker.run_name,
        max_length=int(cfg.data.max_length),
        disable_tqdm=False,
    )
    values.update(overrides)
    values = {k: v for k, v in values.items() if v is not None}
    try:
        return config_cls(**values)
    except TypeError as err:
        raise TypeError(f"trainer.args / objective.args do not fit {config_cls.__name__}: {err}") from err


def _cpu_ranks(cfg) -> dict[str, Any]:
    """Several ranks without GPUs (torchrun on CPU, tests): accelerate trains data parallel over
    gloo only when told the run is on CPU; otherwise every rank would train alone on all the data.
    Accelerate has no DeepSpeed over several CPU processes, so that combination stops here."""
    import torch

    from genrm_exp import distributed

    if distributed.world_size() == 1 or torch.cuda.is_available():
        return {}
    if cfg.deepspeed.config is not None:
        raise ConfigError(
            f"deepspeed={cfg.deepspeed.name} over {distributed.world_size()} CPU processes: accelerate "
            "runs DeepSpeed across processes on GPUs only; use deepspeed=none (DDP over gloo), "
            "or one process (DeepSpeed in a world of one)"
        )
    return {"use_cpu": True}
