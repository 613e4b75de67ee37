"""What the tests share: the environment and runner of `python -m genrm_exp` subprocesses, Hydra
composition with the hydra node, and tiny models (random, or scripted to write a fixed text).

    from support import ENV, genrm, run_group, compose_with_hydra, tiny_lm, scripted_lm, ALWAYS_A
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import CACHE, CONF, REPO, compose

ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HYDRA_FULL_ERROR": "0"}


def run_group(cmd: list[str], *, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command in its own process group and, on a timeout, kill the whole group (torchrun's
    workers, submitit's jobs)."""
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"{' '.join(cmd[:6])} ... timed out after {timeout} s:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def genrm(*args: str, timeout: int = 400, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m genrm_exp ARGS` as a user runs it, from the repository root."""
    return run_group([sys.executable, "-m", "genrm_exp", *args], env=env or ENV, timeout=timeout)


def compose_with_hydra(overrides: list[str], conf: Path = CONF):
    """The config with its `hydra` node (launcher, sweeper params), as a multirun sees it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides, return_hydra_config=True)


def tiny_lm(tokenizer, seed: int = 0):
    """A random tiny Llama causal LM (model=tiny_random) drawn under `seed`, in eval mode."""
    from genrm_exp.modeling import load_model

    torch.manual_seed(seed)
    return load_model(compose(["model=tiny_random"]).model, tokenizer, head="causal_lm", cache=CACHE).eval()


def scripted_lm(tokenizer, script: dict[str, str], default: str):
    """A tiny Llama whose next token is fixed by its last input token: script[token] (or `default`),
    with probability ~1. E.g. {"[[": "A", "A": "]]"} writes "[[A]]" forever. Its output head alone
    (what direct scoring reads) always favours script["[["]."""
    from transformers import LlamaForCausalLM

    from genrm_exp.modeling import load_model

    ids = {
        text: tokenizer(text, add_special_tokens=False)["input_ids"] for text in [*script, *script.values(), default]
    }
    for text, toks in ids.items():
        assert len(toks) == 1, f"{text!r} is not one token"
    table = torch.full((len(tokenizer),), ids[default][0], dtype=torch.long)
    for src, dst in script.items():
        table[ids[src][0]] = ids[dst][0]

    class Scripted(LlamaForCausalLM):
        def forward(self, input_ids=None, **kwargs):
            out = super().forward(input_ids=input_ids, **kwargs)
            last = out.logits[:, -1, :]
            last.fill_(-30.0)
            last.scatter_(1, table[input_ids[:, -1]].unsqueeze(1), 30.0)
            return out

    base = load_model(compose(["model=tiny_random"]).model, tokenizer, head="causal_lm", cache=CACHE)
    model = Scripted(base.config)
    model.load_state_dict(base.state_dict())
    if "[[" in script:  # direct scoring recomputes the head from hidden states: make the head itself say script["[["]
        head = torch.nn.Linear(base.config.hidden_size, len(tokenizer), bias=True)
        torch.nn.init.zeros_(head.weight)
        head.bias.data.fill_(-30.0)
        head.bias.data[ids[script["[["]][0]] = 30.0
        model.lm_head = head
    return model


# Writes "[[A]] x [[A]] x ..." after "[[": a judge that always answers A as shown.
ALWAYS_A = ({"[[": "A", "A": "]]", "]]": " x"}, "[[")
