"""The one checkpoint loader: the model a run trained, read back for scoring, for STaR's next
iteration, for the API and for the server.

    model = load(cfg, tokenizer, run_dir / "checkpoint", head="causal_lm")   # merged, eval mode, this rank's device
    model = load(cfg, tokenizer, None, head="reward")                        # the base model
    ckpt = latest(run_dir)        # <run>/checkpoint, or the last iter_<i>/checkpoint of a STaR run

A checkpoint is what a trainer saved: with LoRA (`peft.enabled`) an adapter on the base model
(adapter_config.json; a classifier's or reward model's trained head is saved in it), without a full
model folder (config.json). The base model is rebuilt the same way every time (`model=tiny_random`
is initialised under `seed`), so an adapter always lands on the weights it was trained on.
"""

from __future__ import annotations

import re
from pathlib import Path

from genrm_exp import distributed
from genrm_exp.errors import UserError
from genrm_exp.modeling import HEADS, load_model, safetensors_only, weights_dtype


class CheckpointError(UserError, FileNotFoundError):
    """A folder that holds no checkpoint this run could have written."""


def whole_models() -> None:
    """Load the next model whole. A trainer under ZeRO-3 leaves a global weak reference to its
    DeepSpeed config in transformers, alive as long as its arguments are, and while it lives every
    from_pretrained partitions the weights (a merge of LoRA into them then fails). Judges are whole
    models on one device, and the next trainer partitions its own model."""
    from transformers.integrations import deepspeed

    deepspeed.unset_hf_deepspeed_config()


def base_model(cfg, tokenizer, *, head: str):
    """The base model of `cfg.model` with `head` (random weights of tiny_random drawn under `seed`)."""
    import transformers

    whole_models()
    transformers.set_seed(int(cfg.seed))
    return load_model(cfg.model, tokenizer, head=head, cache=cfg.paths.cache)


def is_adapter(checkpoint: Path) -> bool:
    return (Path(checkpoint) / "adapter_config.json").is_file()


def check(checkpoint: Path) -> Path:
    checkpoint = Path(checkpoint)
    if not (is_adapter(checkpoint) or (checkpoint / "config.json").is_file()):
        raise CheckpointError(f"{checkpoint}: neither a LoRA adapter (adapter_config.json) nor a model (config.json)")
    return checkpoint


def load(cfg, tokenizer, checkpoint: Path | None, *, head: str, trainable: bool = False):
    """The model of `checkpoint` (None: the base model). For scoring (trainable=False) a LoRA adapter
    is merged in and the model is put in eval mode on this process's device; for training
    (trainable=True) the adapter stays a trainable PeftModel and the model stays where it was built."""
    if head not in HEADS:
        raise ValueError(f"head={head!r}: expected one of {HEADS}")
    if checkpoint is None:
        model = base_model(cfg, tokenizer, head=head)
    elif is_adapter(check(checkpoint)):
        from peft import PeftModel

        model = PeftModel.from_pretrained(
            base_model(cfg, tokenizer, head=head), str(checkpoint), is_trainable=trainable
        )
        if not trainable:
            model = model.merge_and_unload()
    else:
        model = _full(cfg, checkpoint, head)
    return model if trainable else model.to(distributed.device()).eval()


def _full(cfg, checkpoint: Path, head: str):
    import torch
    import transformers

    whole_models()
    auto = transformers.AutoModelForCausalLM if head == "causal_lm" else transformers.AutoModelForSequenceClassification
    return auto.from_pretrained(
        str(checkpoint), dtype=getattr(torch, weights_dtype(cfg.model)), use_safetensors=safetensors_only(cfg.model)
    )


def latest(run_dir: Path) -> Path | None:
    """The checkpoint a finished run ends with: <run>/checkpoint, else the highest-numbered
    iter_<i>/checkpoint (a STaR run; an iteration that trained nothing has none), else None (a
    zero-shot run: the base model)."""
    run_dir = Path(run_dir)
    if (run_dir / "checkpoint").is_dir():
        return check(run_dir / "checkpoint")
    iters = sorted(
        (int(m.group(1)), p)
        for p in run_dir.glob("iter_*/checkpoint")
        if (m := re.fullmatch(r"iter_(\d+)", p.parent.name)) and p.is_dir()
    )
    return check(iters[-1][1]) if iters else None
