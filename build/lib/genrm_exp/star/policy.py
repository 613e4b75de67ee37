"""The models of a STaR iteration: the sampler (the latest model, or a bootstrap model), where
training starts, and how a checkpoint is read back.

    model = latest_model(cfg, tokenizer, checkpoint)        # for sampling and evaluation
    model, peft_config = start_model(cfg, tokenizer, checkpoint)   # for the trainer

A checkpoint is what the trainer saved in iter_<i>/checkpoint, read by genrm_exp.checkpoints (the
loader the API and scoring use too): with `peft.enabled`, a LoRA adapter on the base model (the
whole change from the base, since `star.init=latest` keeps training the same adapter); without, a
full model folder.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from genrm_exp import checkpoints, distributed
from genrm_exp.errors import ConfigError
from genrm_exp.modeling import load_model, load_tokenizer, lora_config


def latest_model(cfg, tokenizer, checkpoint: Path | None):
    """The model that samples and is evaluated: the base model, or base + the checkpoint's adapter
    merged in, or the checkpoint's full model; in eval mode on this process's device."""
    return checkpoints.load(cfg, tokenizer, checkpoint, head="causal_lm")


def start_model(cfg, tokenizer, checkpoint: Path | None):
    """(model, peft_config) for a trainer. From a LoRA checkpoint the adapter is loaded trainable
    and peft_config is None; from scratch the trainer gets the base model and a fresh LoRA config."""
    if checkpoint is None:
        return checkpoints.base_model(cfg, tokenizer, head="causal_lm"), lora_config(
            cfg.peft, cfg.model.lora_targets, head="causal_lm"
        )
    adapter = checkpoints.is_adapter(checkpoints.check(checkpoint))
    if adapter != bool(cfg.peft.enabled):
        kind = "a LoRA adapter" if adapter else "a full model"
        raise ConfigError(
            f"{checkpoint} is {kind} but peft.enabled is {bool(cfg.peft.enabled)}; use a fresh run folder"
        )
    return checkpoints.load(cfg, tokenizer, checkpoint, head="causal_lm", trainable=True), None


def bootstrap_model_cfg(cfg):
    """The model config named by `star.bootstrap.model` (None when unset): a full model config
    (`+model@star.bootstrap.model=...`), or a Hub id / folder loaded like the run's model."""
    spec = cfg.star.bootstrap.model
    if spec is None:
        return None
    if isinstance(spec, str):
        base = OmegaConf.to_container(cfg.model, resolve=True)
        base.update(name=spec, source="hub", path=spec)
        return OmegaConf.create(base)
    if "source" not in spec or "path" not in spec:
        raise ValueError("star.bootstrap.model: expected a Hub id / folder, or a model config with source and path")
    return spec


def load_bootstrap(cfg):
    """(model, tokenizer) of the bootstrap model, on this process's device, in eval mode."""
    model_cfg = bootstrap_model_cfg(cfg)
    tokenizer = load_tokenizer(model_cfg, cache=cfg.paths.cache)
    import transformers

    checkpoints.whole_models()
    transformers.set_seed(int(cfg.seed))
    model = load_model(model_cfg, tokenizer, head="causal_lm", cache=cfg.paths.cache)
    return model.to(distributed.device()).eval(), tokenizer
