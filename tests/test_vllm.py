"""judge.backend=vllm on a real vLLM engine on CPU (the sampler environment, `make setup-vllm`): one
STaR iteration samples and is evaluated by the CoT judge through vLLM, every text parsed by the one
verdict parser; the same sampling run twice gives the same samples; each failure a user can hit
ends in one message that says what to change.

Four engine starts in all (about 10 s each on 2 cores). Test: python -m pytest tests/test_vllm.py -q
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import CACHE, compose, make_ctx

from genrm_exp.sampling import vllm_backend
from genrm_exp.sampling.generation import Generator, SamplingParams
from genrm_exp.verdicts import parse_verdict

pytestmark = pytest.mark.skipif(
    not vllm_backend.DEFAULT_PYTHON.is_file(), reason="no sampler environment (make setup-vllm)"
)

# tiny_random with 32-wide attention heads: vLLM's CPU attention takes head sizes from 32 up.
WIDE = ["model.config.hidden_size=64", "model.config.num_attention_heads=2", "model.config.intermediate_size=128"]
STAR = [
    *WIDE,
    "objective=star_sft",
    "judge.backend=vllm",
    "data.max_length=330",
    "eval=heldout",
    "eval.max_pairs_per_set=3",
    "star.iterations=1",
    "star.k=2",
    "star.max_new_tokens=16",
    "star.chunk_size=6",
    "star.eval_base=false",
    "star.close_verdict=' Verdict: [['",
    "judge.close_verdict=' Verdict: [['",
    "judge.k=2",
    "judge.max_new_tokens=16",
]


def workers() -> list[int]:
    """Sampler processes this test process started and that are still running."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes()
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"genrm_exp.sampling.vllm_worker" in cmd and ppid == os.getpid():
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def star_run(tmp_path_factory):
    """One STaR iteration (sample -> build -> train -> CoT evaluation) with judge.backend=vllm; the
    sampler processes alive when training starts are recorded."""
    from genrm_exp.objectives import build
    from genrm_exp.star.iteration import Iteration

    seen = []
    train = Iteration.train

    def spy(self, *args, **kwargs):
        seen.append(workers())
        return train(self, *args, **kwargs)

    Iteration.train = spy
    try:
        ctx = make_ctx(STAR, tmp_path_factory.mktemp("star"))
        build("star_sft", ctx)
    finally:
        Iteration.train = train
    return ctx, seen


def test_star_iteration_and_cot_evaluation_sample_with_vllm(star_run):
    from genrm_exp.star.stages import read_jsonl

    ctx, seen = star_run
    it = ctx.run_dir / "iter_1"
    samples = read_jsonl(it / "samples.jsonl")
    assert len(samples) == 2 * len(ctx.train) and all(len(r["texts"]) == 2 for r in samples)
    assert all(r["verdicts"] == [parse_verdict(t) for t in r["texts"]] for r in samples)  # the one parser
    assert all(v in ("A", "B") for r in samples for v in r["verdicts"])  # every chain closed
    assert (it / "checkpoint" / "adapter_config.json").is_file()
    preds = read_jsonl(it / "eval" / "predictions" / "heldout.jsonl")
    assert len(preds) == 3 and all("closed" in p for p in preds)  # CoT evaluation through the engine
    assert seen == [[]], "the sampling stage's engine must be stopped before training starts"
    assert workers() == []  # the evaluation's engine is gone with its stage
    assert list((ctx.run_dir / "vllm").glob("vllm_worker.*.log"))


@pytest.mark.slow  # a second engine start, ~20 s (make test-slow)
def test_same_sampling_run_twice_gives_the_same_samples(star_run, tmp_path):
    """A fresh engine (a new sampler process) on the same settings writes the same samples.jsonl."""
    from genrm_exp.data.splits import fresh_parts
    from genrm_exp.star.iteration import Iteration
    from genrm_exp.star.stages import read_jsonl

    ctx, _ = star_run
    again = make_ctx(STAR, tmp_path)
    part = fresh_parts(again.train, 1, int(again.cfg.seed))[0]
    Iteration(again, 1, part, again.run_dir / "iter_1", None, None).sample()
    first = read_jsonl(ctx.run_dir / "iter_1" / "samples.jsonl")
    second = read_jsonl(again.run_dir / "iter_1" / "samples.jsonl")
    assert [r["texts"] for r in second] == [r["texts"] for r in first]


def _judge(*overrides):
    return compose(["model=tiny_random", "judge=cot", *overrides]).judge


def test_missing_sampler_environment_says_what_to_do(tmp_path):
    with pytest.raises(vllm_backend.VllmMissing, match="make setup-vllm"):
        Generator.from_judge(object(), None, _judge("judge.backend=vllm", f"judge.vllm.python={tmp_path}/none"))
    auto = Generator.from_judge(object(), None, _judge("judge.backend=auto", f"judge.vllm.python={tmp_path}/none"))
    assert auto.backend == "static"  # auto falls back to our loop


def test_out_of_memory_names_the_settings(tmp_path):
    """The sampler reports its failure in one protocol line; out of memory names the knobs."""
    stub = tmp_path / "python"
    stub.write_text("#!/bin/sh\necho 'error oom ValueError: Available memory on node 0 is less than requested'\n")
    stub.chmod(0o755)
    gen = Generator(
        None,
        None,
        batch_size=1,
        backend="vllm",
        vllm=_judge(f"judge.vllm.python={stub}").vllm,
        model_dir=tmp_path / "model",
        workdir=tmp_path,
    )
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    with pytest.raises(vllm_backend.VllmOutOfMemory, match="judge.vllm.gpu_memory_utilization"):
        gen._engine.generate([[1]], [0], n=1, temperature=1.0, top_p=1.0, max_tokens=2, stop=[])


@pytest.mark.slow  # a second engine start, ~15 s
def test_a_model_vllm_cannot_load_says_so(tokenizer):
    """tiny_random as it is has 4-wide heads, which vLLM's CPU attention does not take."""
    from genrm_exp.modeling import load_model

    cfg = compose(["model=tiny_random", "judge=cot", "judge.backend=vllm"])
    model = load_model(cfg.model, tokenizer, head="causal_lm", cache=CACHE).eval()
    gen = Generator.from_judge(model, tokenizer, cfg.judge)
    with pytest.raises(vllm_backend.VllmModelError, match="judge.backend=static"):
        gen.sample(["Hi"], SamplingParams(k=1, max_new_tokens=2))
    assert workers() == []
