"""Where judges are built: around a model an objective trained, or for a finished run folder.

    judge = generative(model, tokenizer, cfg)          # judge.style: direct (DirectJudge) or cot (CoTJudge)
    judge = for_model(model, tokenizer, cfg)           # by objective.scorer: reward, classifier or judge
    judge, cfg, tokenizer = for_run(run_dir)           # the judge a finished run ends with (the API, the server)

`objective.scorer` (conf/objective/*.yaml) says what an objective's model is: `reward` (a scalar head,
Bradley-Terry), `classifier` (PairRM's two-label head) or `judge` (a causal LM judged by
`judge.style`); `objective.trains` whether a finished run must hold a checkpoint. Every generative judge gets the same dtype and device rule (`judge_dtype`), whether
it is zero-shot, freshly trained or loaded from a checkpoint, so no two cells of a grid differ in
precision for a reason nobody chose.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genrm_exp.errors import ConfigError

SCORERS = ("reward", "classifier", "judge")
HEAD = {"reward": "reward", "classifier": "classifier", "judge": "causal_lm"}


def judge_dtype(judge_cfg, model_cfg, device: torch.device) -> torch.dtype:
    """`judge.dtype` as a torch dtype (generation.judge_dtype_name: `auto` is the model's dtype, except
    float32 when a CoT judge decodes on CPU)."""
    from genrm_exp.sampling.generation import judge_dtype_name

    return getattr(torch, judge_dtype_name(judge_cfg, model_cfg, device.type))


def scorer_of(cfg) -> str:
    scorer = str(cfg.objective.scorer)
    if scorer not in SCORERS:
        raise ConfigError(f"objective.scorer={scorer!r}: expected one of {list(SCORERS)}")
    return scorer


def _partitioned(model) -> bool:
    """ZeRO-3 weights: partitioned over ranks, so neither cast nor merged."""
    return any(hasattr(p, "ds_id") for p in model.parameters())


def scoring_model(model):
    """A trained model made ready to score: LoRA adapters folded in (plain matmuls) unless the weights
    are partitioned (ZeRO-3: scoring then runs with the adapters, the same function)."""
    if hasattr(model, "merge_and_unload") and not _partitioned(model):
        model = model.merge_and_unload()
    return model.eval()


def generative(model, tokenizer, cfg):
    """The judge of `cfg.judge.style` around a causal LM, in judge_dtype on the model's device."""
    from genrm_exp.judges.cot import CoTJudge
    from genrm_exp.judges.direct import DirectJudge
    from genrm_exp.sampling.generation import Generator

    if not _partitioned(model):
        model = model.to(judge_dtype(cfg.judge, cfg.model, next(model.parameters()).device))
    if cfg.judge.style == "cot":
        return CoTJudge(Generator.from_judge(model, tokenizer, cfg.judge), tokenizer, cfg.judge, seed=int(cfg.seed))
    return DirectJudge(model, tokenizer, cfg.judge, seed=int(cfg.seed))


def for_model(model, tokenizer, cfg):
    """The judge of `objective.scorer` around a model (trained, or loaded by genrm_exp.checkpoints)."""
    scorer = scorer_of(cfg)
    if scorer == "judge":
        return generative(model, tokenizer, cfg)
    if scorer == "reward":
        from genrm_exp.judges.reward import RewardJudge

        return RewardJudge(model, tokenizer, batch_size=int(cfg.judge.batch_size))
    from genrm_exp.judges.classifier import PairClassifierJudge

    return PairClassifierJudge(model, tokenizer, cfg.judge, batch_size=int(cfg.judge.batch_size), seed=int(cfg.seed))


def for_run(run_dir, *, checkpoint: str | Path | None = None, overrides: dict | None = None, device: str | None = None):
    """(judge, cfg, tokenizer) of a finished run folder: its resolved config.yaml, `overrides` merged
    in (e.g. {"judge": {"order": "both"}}), and the weights of `checkpoint` (default: the run's last,
    genrm_exp.checkpoints.latest; none for a zero-shot run: the base model)."""
    from omegaconf import OmegaConf

    from genrm_exp import checkpoints
    from genrm_exp.modeling import load_tokenizer

    run_dir = Path(run_dir)
    config = run_dir / "config.yaml"
    if not config.is_file():
        raise checkpoints.CheckpointError(f"{config} not found: expected a run folder written by `python -m genrm_exp`")
    cfg = OmegaConf.load(config)
    if overrides:
        cfg = OmegaConf.merge(cfg, overrides)
    ckpt = Path(checkpoint) if checkpoint is not None else checkpoints.latest(run_dir)
    # A run that trains but left no checkpoint would be served as the untrained base model (a random
    # head for BT and PairRM). A STaR run whose iterations all trained nothing is the exception: its
    # judge is the base model, as its own evaluation was.
    if ckpt is None and cfg.objective.trains and not any(run_dir.glob("iter_*")):
        raise checkpoints.CheckpointError(
            f"{run_dir}: objective={cfg.objective.name} trains, but the run has no "
            "checkpoint/ (unfinished, or its files were moved)"
        )
    tokenizer = load_tokenizer(cfg.model, cache=cfg.paths.cache)
    model = checkpoints.load(cfg, tokenizer, ckpt, head=HEAD[scorer_of(cfg)])
    if device is not None:
        model = model.to(device)
    return for_model(model, tokenizer, cfg), cfg, tokenizer
