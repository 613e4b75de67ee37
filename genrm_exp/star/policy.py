"""The models of a STaR iteration: the sampler (the latest model, or a bootstrap model), where
training starts, and how a checkpoint is read back.

    model = latest_model(cfg, tokenizer, checkpoint)        # for sampling and evaluation
    model, peft_config = start_model(cfg, tokenizer, checkpoint)   # for the trainer

A checkpoint is what the trainer saved in iter_<i>/checkpoint: with `peft.enabled`, a LoRA adapter
on the base model (the whole change from the base, since `star.init=latest` keeps training the same
adapter); without, a full model folder. The base model is rebuilt the same way every time
(`model=tiny_random` is initialised under `seed`), so an adapter always lands on the same weights.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from genrm_exp import distributed
from genrm_exp.modeling import load_model, load_tokenizer, lora_config


def _whole_models() -> None:
    """Load the next model whole. A trainer under ZeRO-3 leaves a global weak reference to its
    DeepSpeed config in transformers, alive as long as its arguments are, and while it lives every
    from_pretrained partitions the weights (a merge of LoRA into them then fails). The sampler and
    the judge are whole models on one device, and the next trainer partitions its own model."""
    from transformers.integrations import deepspeed

    deepspeed.unset_hf_deepspeed_config()


def load_base(cfg, tokenizer):
    """The base causal LM of `cfg.model` (random weights of tiny_random drawn under `seed`)."""
    import transformers

    _whole_models()
    transformers.set_seed(int(cfg.seed))
    return load_model(cfg.model, tokenizer, head="causal_lm", cache=cfg.paths.cache)


def _is_adapter(checkpoint: Path) -> bool:
    return (checkpoint / "adapter_config.json").is_file()


def _check(checkpoint: Path) -> None:
    if not (_is_adapter(checkpoint) or (checkpoint / "config.json").is_file()):
        raise FileNotFoundError(f"{checkpoint}: neither a LoRA adapter (adapter_config.json) nor a model (config.json)")


def latest_model(cfg, tokenizer, checkpoint: Path | None):
    """The model that samples and is evaluated: the base model, or base + the checkpoint's adapter
    merged in, or the checkpoint's full model; in eval mode on this process's device."""
    if checkpoint is None:
        model = load_base(cfg, tokenizer)
    else:
        _check(checkpoint)
        if _is_adapter(checkpoint):
            from peft import PeftModel

            model = PeftModel.from_pretrained(load_base(cfg, tokenizer), str(checkpoint)).merge_and_unload()
        else:
            model = _full(cfg, checkpoint)
    return model.to(distributed.device()).eval()


def start_model(cfg, tokenizer, checkpoint: Path | None):
    """(model, peft_config) for a trainer. From a LoRA checkpoint the adapter is loaded trainable
    and peft_config is None; from scratch the trainer gets the base model and a fresh LoRA config."""
    if checkpoint is None:
        return load_base(cfg, tokenizer), lora_config(cfg.peft, cfg.model.lora_targets, head="causal_lm")
    _check(checkpoint)
    if _is_adapter(checkpoint):
        if not cfg.peft.enabled:
            raise ValueError(f"{checkpoint} is a LoRA adapter but peft.enabled is false; use a fresh run folder")
        from peft import PeftModel

        return PeftModel.from_pretrained(load_base(cfg, tokenizer), str(checkpoint), is_trainable=True), None
    if cfg.peft.enabled:
        raise ValueError(f"{checkpoint} is a full model but peft.enabled is true; use a fresh run folder")
    return _full(cfg, checkpoint), None


def _full(cfg, checkpoint: Path):
    import torch
    from transformers import AutoModelForCausalLM

    _whole_models()
    return AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=getattr(torch, str(cfg.model.dtype)))


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

    _whole_models()
    transformers.set_seed(int(cfg.seed))
    model = load_model(model_cfg, tokenizer, head="causal_lm", cache=cfg.paths.cache)
    return model.to(distributed.device()).eval(), tokenizer
