"""The model a server holds, from conf/serve.yaml: a finished run's judge (genrm_exp.api.RewardModel),
or a model as a zero-shot judge, after the safety checks (weights from safetensors only and no remote
code, unless configured: use_safetensors, trust_remote_code).

    rm = load(cfg)        # cfg: conf/serve.yaml as composed
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from genrm_exp.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"
PICKLED = ("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt")


def judge_overrides(cfg) -> dict:
    """judge.order, judge.k and judge.dtype where set (null keeps the run's or the judge file's)."""
    return {k: cfg.judge[k] for k in ("order", "k", "dtype") if cfg.judge[k] is not None}


def check_weights(folder: Path, use_safetensors: bool) -> None:
    """Refuse a local weights folder that holds pickled weights and no safetensors (unpickling runs code)."""
    if not use_safetensors or not folder.is_dir():
        return
    pickled = sorted(p.name for pattern in PICKLED for p in folder.rglob(pattern))
    if pickled and not any(folder.rglob("*.safetensors")):
        raise ConfigError(
            f"{folder} holds pickled weights only ({', '.join(pickled[:3])}): loading them can run "
            "code; convert them to safetensors, or serve with use_safetensors=false if you trust them"
        )


def check_remote_code(model_cfg, allowed: bool) -> None:
    if bool(model_cfg.trust_remote_code) and not allowed:
        raise ConfigError(
            f"model {model_cfg.name} asks for trust_remote_code: serve with trust_remote_code=true "
            "only if you trust its code"
        )


def load(cfg):
    from genrm_exp.api import RewardModel

    if cfg.run_dir is not None:
        from genrm_exp import checkpoints

        run_dir = Path(str(cfg.run_dir))
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(
                f"run_dir={run_dir}: no config.yaml (expected a run folder written by `python -m genrm_exp`)"
            )
        check_remote_code(OmegaConf.load(run_dir / "config.yaml").model, bool(cfg.trust_remote_code))
        ckpt = checkpoints.latest(run_dir) if cfg.checkpoint is None else checkpoints.check(Path(str(cfg.checkpoint)))
        if ckpt is not None:
            check_weights(ckpt, bool(cfg.use_safetensors))
        return RewardModel.from_run(
            run_dir,
            checkpoint=ckpt,
            device=cfg.device,
            model={"use_safetensors": bool(cfg.use_safetensors)},  # the base model too
            **judge_overrides(cfg),
        )
    return zero_shot(cfg)


def zero_shot(cfg):
    """cfg.model (a conf/model entry), or the Hub id / local folder `pretrained`, as a zero-shot judge
    of judge.style (genrm_exp.api.RewardModel.zero_shot)."""
    from genrm_exp.api import RewardModel

    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    if cfg.pretrained is not None:
        name = str(cfg.pretrained)
        model_cfg.update(name=name, source="hub", path=name, trust_remote_code=bool(cfg.trust_remote_code))
        check_weights(Path(name), bool(cfg.use_safetensors))
    model_cfg["use_safetensors"] = bool(cfg.use_safetensors)
    check_remote_code(OmegaConf.create(model_cfg), bool(cfg.trust_remote_code))
    return RewardModel.zero_shot(
        model_cfg,
        judge=str(cfg.judge.style),
        device=cfg.device,
        source=str(cfg.pretrained or model_cfg["name"]),
        **judge_overrides(cfg),
    )
