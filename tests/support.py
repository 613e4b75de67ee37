"""What the tests share that is not a fixture: paths, the quick-run overrides (TINY), composed
configs (with or without the hydra node), a RunContext as the pipeline builds it, the environment
and runner of `python -m genrm_exp` subprocesses, and tiny models (random, or scripted to write a
fixed text). tests/conftest.py holds the fixtures.

    from support import TINY, compose, make_ctx, ENV, genrm, run_group, tiny_lm, scripted_lm, ALWAYS_A
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
CACHE = Path(os.environ.get("GENRM_CACHE", REPO / ".cache"))
SHARED = Path(os.environ.get("GENRM_SHARED_DATA", REPO.parent / "shared" / "data"))

# A quick run: tiny model, two steps, small evaluation sets, W&B offline into the run folder.
TINY = [
    "model=tiny_random",
    "trainer=debug",
    "data.max_train_pairs=8",
    "data.max_length=320",
    "eval.max_length=128",
    "eval.max_pairs_per_set=6",
    "eval.bootstrap_samples=200",
]


def compose(overrides: list[str], tmp_path: Path | None = None):
    """The real config tree composed as `python -m genrm_exp <overrides>` would, without running."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    extra = [f"paths.root={REPO}"] + ([f"paths.outputs={tmp_path}"] if tmp_path else [])
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=[*overrides, *extra], return_hydra_config=False)


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


def make_ctx(overrides: list[str], tmp_path: Path):
    """A RunContext as the pipeline builds it (data loaded and fitted to the budget), W&B off."""
    from genrm_exp import code_version
    from genrm_exp.context import RunContext
    from genrm_exp.modeling import load_tokenizer
    from genrm_exp.pipeline import fit, load_data, resolve_engine
    from genrm_exp.tracking import Tracker

    cfg = compose([*TINY, "logger=none", *overrides], tmp_path)
    resolve_engine(cfg, "cpu")
    tok = load_tokenizer(cfg.model, cache=CACHE)
    train, eval_sets, report = load_data(cfg)
    train, eval_sets, fits = fit(cfg, tok, train, eval_sets, report)
    return RunContext(
        cfg,
        tmp_path / "run",
        tok,
        train,
        eval_sets,
        Tracker(None, "test"),
        report,
        fits=fits,
        code=code_version.current(),
    )


def assert_all_trainable_changed(trainer) -> None:
    """Train, then check every trainable parameter moved (TRL's own test pattern)."""
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert before, "no trainable parameters"
    trainer.train()
    after = dict(trainer.model.named_parameters())
    unchanged = [n for n, p in before.items() if torch_equal(p, after[n])]
    assert not unchanged, f"parameters did not change: {unchanged[:5]}"


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b.detach()))
