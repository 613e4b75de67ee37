"""The static decoding backend against stock `generate`: the same greedy tokens, the same seeded
samples, the same log-probabilities of a fixed continuation (float32, tiny_random), and a compile
failure that falls back to eager decoding instead of crashing."""

from __future__ import annotations

import pytest
import torch
from support import tiny_lm as tiny_lm_of
from test_generation import _prompts

from genrm_exp.sampling.decoding import Decoder, choose, first_stop, uniforms, warp
from genrm_exp.sampling.generation import Generator, SamplingParams, left_pad
from genrm_exp.verdicts import closes_answer


@pytest.fixture(scope="module")
def tiny_lm(tokenizer):
    return tiny_lm_of(tokenizer, seed=3)


def _both(model, tokenizer, prompts, params, batch_size=4):
    fast = Generator(model, tokenizer, batch_size=batch_size, backend="static")
    stock = Generator(model, tokenizer, batch_size=batch_size, backend="hf_generate")
    return fast.sample(prompts, params), stock.sample(prompts, params), fast, stock


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_static_backend_equals_stock_generate(tiny_lm, tokenizer, temperature):
    """Greedy: the same tokens. Sampling: the same draws under the same seed (both backends draw
    through decoding.choose from the same per-(sample, step) uniform), over prompts of different lengths."""
    prompts = _prompts(tokenizer)
    params = SamplingParams(k=2, temperature=temperature, top_p=0.9, max_new_tokens=10, seed=3, stop_at_verdict=False)
    fast, stock, gf, gs = _both(tiny_lm, tokenizer, prompts, params)
    assert fast == stock
    assert gf.last_stats["new_tokens"] == gs.last_stats["new_tokens"] == 4 * 2 * 10
    assert gf.last_stats["backend"].startswith("static (dynamic eager")


def test_static_cache_on_cpu_equals_the_dynamic_loop(tiny_lm, tokenizer):
    ids, mask = left_pad(
        [tokenizer(p, add_special_tokens=False)["input_ids"] for p in _prompts(tokenizer)], tokenizer.pad_token_id
    )
    params = SamplingParams(k=2, temperature=1.0, top_p=0.95, max_new_tokens=9, seed=1, stop_at_verdict=False)
    seeds = list(range(8))
    a = Decoder(tiny_lm, tokenizer, static=True, check_every=4).run(ids, mask, k=2, params=params, seeds=seeds)
    b = Decoder(tiny_lm, tokenizer, static=False).run(ids, mask, k=2, params=params, seeds=seeds)
    assert a[0] == b[0]
    assert torch.allclose(torch.tensor(a[1]), torch.tensor(b[1]), atol=1e-5)


@pytest.mark.parametrize("static", [True, False])
def test_log_probs_of_a_fixed_continuation_equal_a_full_forward(tiny_lm, tokenizer, static):
    seqs = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in _prompts(tokenizer)[:3]]
    ids, mask = left_pad(seqs, tokenizer.pad_token_id)
    forced = torch.randint(100, 5000, (6, 7), generator=torch.Generator().manual_seed(0))
    toks, logps = Decoder(tiny_lm, tokenizer, static=static).run(
        ids, mask, k=2, params=SamplingParams(max_new_tokens=7), seeds=[0] * 6, forced=forced
    )
    assert toks == forced.tolist()
    for r in range(6):
        full = torch.tensor([seqs[r // 2] + forced[r].tolist()])
        with torch.no_grad():
            ref = torch.log_softmax(tiny_lm(input_ids=full).logits[0].float(), -1)
        want = ref[len(seqs[r // 2]) - 1 : -1].gather(1, forced[r][:, None])[:, 0]
        assert torch.allclose(torch.tensor(logps[r]), want, atol=1e-5), (r, logps[r], want)


def test_uniforms_are_deterministic_uniform_and_choose_samples_softmax():
    seeds = torch.arange(20000, dtype=torch.long) * 7919 + (1 << 40)
    u = uniforms(seeds, 5)
    assert torch.equal(u, uniforms(seeds.flip(0), 5).flip(0))  # per row, whatever the batch
    assert not torch.equal(u, uniforms(seeds, 6))
    assert 0 < u.min() and u.max() < 1 and abs(u.mean().item() - 0.5) < 0.01
    counts = torch.histc(u, bins=10, min=0, max=1)
    assert (counts - 2000).abs().max() < 200
    logits = torch.tensor([[0.0, 1.0, 2.0, -float("inf")]]).expand(20000, -1)
    freq = torch.bincount(choose(logits, u), minlength=4).float() / 20000
    assert torch.allclose(freq, torch.softmax(logits[0], -1), atol=0.015) and freq[3] == 0


def test_warp_equals_the_transformers_warpers():
    from transformers import TemperatureLogitsWarper, TopPLogitsWarper

    logits = torch.randn(5, 300, generator=torch.Generator().manual_seed(0))
    ref = TopPLogitsWarper(0.8)(None, TemperatureLogitsWarper(0.7)(None, logits.clone()))
    assert torch.equal(warp(logits, 0.7, 0.8), ref)


def test_first_stop(tokenizer):
    ids = tokenizer("Because x, output [[A]] if A is better.\nSo [[B]]\nand then [[A]]\n", add_special_tokens=False)[
        "input_ids"
    ]
    n = first_stop(tokenizer, ids, closes_answer)
    assert tokenizer.decode(ids[:n]).endswith("So [[B]]\n") and not closes_answer(tokenizer.decode(ids[: n - 1]))
    assert first_stop(tokenizer, ids[:3], closes_answer) is None and first_stop(tokenizer, ids, None) is None


@pytest.mark.slow  # ~30 s, most of it torch.compile
def test_compiled_forward_gives_the_eager_tokens_and_log_probs(tiny_lm, tokenizer):
    """compile=True (Inductor on CPU here; CUDA graphs on a GPU): the same samples, and the same
    log-probabilities to float32 rounding, as the eager static loop, on a second call too."""
    ids, mask = left_pad(
        [tokenizer(p, add_special_tokens=False)["input_ids"] for p in _prompts(tokenizer)], tokenizer.pad_token_id
    )
    params = SamplingParams(k=2, temperature=0.8, top_p=0.9, max_new_tokens=8, stop_at_verdict=False)
    eager = Decoder(tiny_lm, tokenizer, static=True).run(ids, mask, k=2, params=params, seeds=list(range(8)))
    dec = Decoder(tiny_lm, tokenizer, static=True, compile=True)
    for _ in range(2):
        toks, logps = dec.run(ids, mask, k=2, params=params, seeds=list(range(8)))
        assert dec.mode == "static+compiled" and toks == eager[0]
        assert all(torch.allclose(torch.tensor(a), torch.tensor(b), atol=1e-5) for a, b in zip(logps, eager[1]))


def test_a_compile_failure_falls_back_to_eager_with_the_same_result(tiny_lm, tokenizer, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")

    ids, mask = left_pad(
        [tokenizer(p, add_special_tokens=False)["input_ids"] for p in _prompts(tokenizer)], tokenizer.pad_token_id
    )
    params = SamplingParams(k=1, temperature=0.0, max_new_tokens=5, stop_at_verdict=False)
    want = Decoder(tiny_lm, tokenizer).run(ids, mask, k=1, params=params, seeds=[0] * 4)
    monkeypatch.setattr(torch, "compile", broken)
    dec = Decoder(tiny_lm, tokenizer, compile=True)
    assert dec.run(ids, mask, k=1, params=params, seeds=[0] * 4) == want
    assert dec.mode == "static eager (compile failed: RuntimeError)" and "no compiler here" in caplog.text
