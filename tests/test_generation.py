"""The sampling engine: k samples per prompt in input order, one prefill shared by the k samples,
stopping at a verdict, and draws that depend on the seed but not on batching."""

from __future__ import annotations

import pytest
import torch
from conftest import CACHE, compose

from genrm_exp.generation import Generator, SamplingParams, sample_seed
from genrm_exp.modeling import load_model


@pytest.fixture(scope="module")
def tiny_lm(tokenizer):
    torch.manual_seed(0)
    cfg = compose(["model=tiny_random"])
    return load_model(cfg.model, tokenizer, head="causal_lm", cache=CACHE)


def scripted_lm(tokenizer, script: dict[str, str], default: str):
    """A tiny Llama whose next token is fixed by its last input token: script[token] (or `default`),
    with probability ~1. E.g. {"[[": "A", "A": "]]"} writes "[[A]]" forever. Its output head alone
    (what direct scoring reads) always favours script["[["]."""
    from transformers import LlamaForCausalLM

    ids = {text: tokenizer(text, add_special_tokens=False)["input_ids"] for text in [*script, *script.values(), default]}
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


ALWAYS_A = ({"[[": "A", "A": "]]", "]]": " x"}, "[[")


def _prompts(tokenizer):
    texts = ["Hi", "Tell me a story about a cat.", "Q: 2+2? A:", "Name three colours, please, with reasons."]
    return [tokenizer.apply_chat_template([{"role": "user", "content": t}], tokenize=False, add_generation_prompt=True) for t in texts]


@pytest.mark.parametrize("backend", ["static", "hf_generate"])
def test_k_samples_per_prompt_in_input_order_and_stop_at_the_verdict(tokenizer, backend):
    gen = Generator(scripted_lm(tokenizer, *ALWAYS_A), tokenizer, batch_size=4, backend=backend)
    prompts = _prompts(tokenizer)
    out = gen.sample(prompts, SamplingParams(k=3, temperature=1.0, max_new_tokens=12, seed=0))
    assert [len(o) for o in out] == [3, 3, 3, 3]
    assert all(text == "[[A]]" for o in out for text in o), out
    full = gen.sample(prompts[:1], SamplingParams(k=1, temperature=0.0, max_new_tokens=7, stop_at_verdict=False))
    assert full == [["[[A]] x[[A]]"]]
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
    other = Generator(tiny_lm, tokenizer, batch_size=12, backend=backend).sample(prompts, SamplingParams(**{**params.__dict__, "seed": 8}))
    assert other != a
    assert sample_seed(7, "p", 0) != sample_seed(7, "p", 1) != sample_seed(8, "p", 1)


@pytest.mark.parametrize("backend", ["static", "hf_generate"])
def test_shared_prefill_gives_the_same_samples_and_runs_each_prompt_once(tiny_lm, tokenizer, backend):
    prompts = _prompts(tokenizer)
    greedy1 = Generator(tiny_lm, tokenizer, batch_size=8, backend=backend).sample(prompts, SamplingParams(k=1, temperature=0.0, max_new_tokens=5))
    seen: list[tuple[int, int]] = []
    hook = tiny_lm.register_forward_pre_hook(lambda m, args, kw: seen.append(tuple(kw["input_ids"].shape)), with_kwargs=True)
    try:
        greedy2 = Generator(tiny_lm, tokenizer, batch_size=8, backend=backend).sample(prompts, SamplingParams(k=2, temperature=0.0, max_new_tokens=5))
    finally:
        hook.remove()
    assert greedy2 == [[g[0], g[0]] for g in greedy1]
    longest = max(len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
    prefill = longest if backend == "static" else longest - 1  # generate feeds the last prompt token itself
    assert seen[0] == (4, prefill), "the prompt prefill should run once per prompt, not per sample"
    assert all(shape[0] == 8 and shape[1] == 1 for shape in seen[1:]), seen


def test_bad_parameters_fail_clearly():
    with pytest.raises(ValueError, match="k=0"):
        SamplingParams(k=0)
    with pytest.raises(ValueError, match="top_p=0"):
        SamplingParams(top_p=0.0)
    with pytest.raises(ValueError, match="batch_size=0"):
        Generator(None, None, batch_size=0)
    with pytest.raises(ValueError, match="backend='vllm'"):
        Generator(None, None, batch_size=1, backend="vllm")
