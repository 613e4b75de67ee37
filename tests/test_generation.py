"""The sampling engine: k samples per prompt in input order, one prefill shared by the k samples,
stopping at a verdict, and draws that depend on the seed but not on batching."""

from __future__ import annotations

import pytest
from support import ALWAYS_A, scripted_lm
from support import tiny_lm as tiny_lm_of

from genrm_exp.sampling.generation import Generator, SamplingParams, sample_seed


@pytest.fixture(scope="module")
def tiny_lm(tokenizer):
    return tiny_lm_of(tokenizer, seed=0)


def _prompts(tokenizer):
    texts = ["Hi", "Tell me a story about a cat.", "Q: 2+2? A:", "Name three colours, please, with reasons."]
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True)
        for t in texts
    ]


@pytest.mark.parametrize("backend", ["static", "hf_generate"])
def test_k_samples_per_prompt_in_input_order_and_stop_at_the_verdict(tokenizer, backend):
    """Sampling stops at a verdict that closes its line (verdicts.closes_answer), not at a marker
    the text goes on after: "[[A]] x" is not a closed answer, "[[A]]\n" is."""
    closing = Generator(
        scripted_lm(tokenizer, {"[[": "A", "A": "]]", "]]": "\n"}, "[["), tokenizer, batch_size=4, backend=backend
    )
    prompts = _prompts(tokenizer)
    out = closing.sample(prompts, SamplingParams(k=3, temperature=1.0, max_new_tokens=12, seed=0))
    assert [len(o) for o in out] == [3, 3, 3, 3]
    assert all(text == "[[A]]\n" for o in out for text in o), out
    gen = Generator(scripted_lm(tokenizer, *ALWAYS_A), tokenizer, batch_size=4, backend=backend)
    running = gen.sample(prompts[:1], SamplingParams(k=1, temperature=0.0, max_new_tokens=7))
    full = gen.sample(prompts[:1], SamplingParams(k=1, temperature=0.0, max_new_tokens=7, stop_at_verdict=False))
    assert running == full == [["[[A]] x[[A]]"]]  # "[[A]] x" quotes a verdict and goes on: no stop
    assert gen.last_stats["new_tokens"] == 7 and gen.last_stats["samples"] == 1


@pytest.mark.parametrize("backend", ["static", "hf_generate"])
def test_samples_depend_on_seed_not_on_batching(tiny_lm, tokenizer, backend):
    prompts = _prompts(tokenizer)
    params = SamplingParams(k=3, temperature=1.0, top_p=0.9, max_new_tokens=6, seed=7)
    a = Generator(tiny_lm, tokenizer, batch_size=12, backend=backend).sample(prompts, params)
    b = Generator(tiny_lm, tokenizer, batch_size=3, backend=backend).sample(prompts[::-1], params)[::-1]
    c = Generator(tiny_lm, tokenizer, batch_size=12, backend=backend).sample(prompts[1:2], params)
    assert a == b and c == [a[1]]
    assert all(len(set(o)) > 1 for o in a), "the k samples of a prompt should differ"
    other = Generator(tiny_lm, tokenizer, batch_size=12, backend=backend).sample(
        prompts, SamplingParams(**{**params.__dict__, "seed": 8})
    )
    assert other != a
    assert sample_seed(7, "p", 0) != sample_seed(7, "p", 1) != sample_seed(8, "p", 1)


@pytest.mark.parametrize("backend", ["static", "hf_generate"])
def test_shared_prefill_gives_the_same_samples_and_runs_each_prompt_once(tiny_lm, tokenizer, backend):
    prompts = _prompts(tokenizer)
    greedy1 = Generator(tiny_lm, tokenizer, batch_size=8, backend=backend).sample(
        prompts, SamplingParams(k=1, temperature=0.0, max_new_tokens=5)
    )
    seen: list[tuple[int, int]] = []
    hook = tiny_lm.register_forward_pre_hook(
        lambda m, args, kw: seen.append(tuple(kw["input_ids"].shape)), with_kwargs=True
    )
    try:
        greedy2 = Generator(tiny_lm, tokenizer, batch_size=8, backend=backend).sample(
            prompts, SamplingParams(k=2, temperature=0.0, max_new_tokens=5)
        )
    finally:
        hook.remove()
    assert greedy2 == [[g[0], g[0]] for g in greedy1]
    longest = max(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    prefill = longest if backend == "static" else longest - 1  # generate feeds the last prompt token itself
    assert seen[0] == (4, prefill), "the prompt prefill should run once per prompt, not per sample"
    assert all(shape[0] == 8 and shape[1] == 1 for shape in seen[1:]), seen


def test_a_chain_of_no_thought_is_empty_and_runs_no_model(tokenizer):
    """max_new_tokens=0: k empty chains per prompt, without a forward pass (the model is None)."""
    gen = Generator(None, tokenizer, batch_size=4)
    assert gen.sample(["one", "two"], SamplingParams(k=3, max_new_tokens=0)) == [[""] * 3, [""] * 3]
    assert gen.last_stats["new_tokens"] == 0 and gen.last_stats["samples"] == 6


def test_bad_parameters_fail_clearly():
    with pytest.raises(ValueError, match="k=0"):
        SamplingParams(k=0)
    with pytest.raises(ValueError, match="max_new_tokens=-1"):
        SamplingParams(max_new_tokens=-1)
    with pytest.raises(ValueError, match="top_p=0"):
        SamplingParams(top_p=0.0)
    with pytest.raises(ValueError, match="batch_size=0"):
        Generator(None, None, batch_size=0)
    with pytest.raises(ValueError, match="backend='sglang'"):  # an unknown backend (vllm is one now)
        Generator(None, None, batch_size=1, backend="sglang")


def test_auto_resolves_once_to_an_engine_that_can_run_here(tmp_path):
    """judge.backend=auto: vllm where the sampler environment exists and vLLM can load the model,
    else static with the reason; a named backend is taken as given (vllm then stops when it cannot run)."""
    from support import compose

    from genrm_exp.sampling.generation import resolve_engine

    def engine(*overrides, head_dim=64):
        cfg = compose(["model=tiny_random", "judge=cot", *overrides])
        return resolve_engine(cfg.judge, cfg.model, "cpu", head_dim)

    stub = tmp_path / "python"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    assert engine("judge.backend=auto", f"judge.vllm.python={stub}") == {
        "backend": "vllm",
        "dtype": "bfloat16",
        "reason": "auto: the sampler environment is installed",
    }
    narrow = engine("judge.backend=auto", f"judge.vllm.python={stub}", head_dim=4)  # tiny_random's heads
    assert narrow["backend"] == "static" and "this model's heads are 4 wide" in narrow["reason"]
    assert narrow["dtype"] == "float32"  # static samples in the judge's own dtype on CPU
    missing = engine("judge.backend=auto", f"judge.vllm.python={tmp_path / 'none'}")
    assert missing["backend"] == "static" and missing["reason"].startswith("auto: no sampler environment at ")
    assert engine("judge.backend=vllm", f"judge.vllm.python={tmp_path / 'none'}", head_dim=4)["backend"] == "vllm"
