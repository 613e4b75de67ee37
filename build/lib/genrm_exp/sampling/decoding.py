"""The decode loop of the `static` sampling backend, and the sampling maths both backends share.

    dec = Decoder(model, tokenizer)                              # CUDA: static cache, eager steps
    rows = dec.run(ids, mask, k=4, params=params, seeds=seeds)   # k rows per prompt, new tokens only

What it does per batch of left-padded prompts:
- one prefill per prompt; its KV cache is copied k times into a static cache (transformers
  StaticCache, reused across batches of the same shape) or, off CUDA, repeated in a DynamicCache;
- each step is one forward of one token per row plus sampling on device; with `compile=True` the
  forward is wrapped in torch.compile(mode="reduce-overhead") (CUDA graphs; opt-in, see Decoder); a
  compile failure is logged, the batch rerun eagerly, and `Decoder.mode` says so;
- EOS is tracked on device; the host looks at the tokens every `check_every` steps only (the stop
  rule, e.g. a verdict that closes the answer, and whether every row is done), then cuts each row
  where it first stopped.

Sampling draws one uniform per (sample, step) from a counter-based hash of (sample seed, step) and
inverts the CDF of the warped distribution in token-id order: a draw depends on the seed, the prompt
and the sample index only (not on the batch), takes no generator call per row, and runs inside a
CUDA graph. Temperature and top-p are computed exactly as transformers' warpers compute them.

Test: python -m pytest tests/test_decoding.py -q
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

log = logging.getLogger(__name__)
# A monotone predicate on a row's decoded new text: generation stops once it holds
# (verdicts.closes_answer for chains of thought).
StopFn = Callable[[str], bool]
_M32 = 0xFFFFFFFF


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """(x * c) mod 2**32 for int64 x in [0, 2**32), without int64 overflow (products stay < 2**49)."""
    return (x * (c & 0xFFFF) + (((x * (c >> 16)) & 0xFFFF) << 16)) & _M32


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer finaliser (lowbias32): every input bit flips about half the output bits."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def uniforms(seeds: torch.Tensor, step: torch.Tensor | int) -> torch.Tensor:
    """One uniform in (0, 1) per row from (seed, step): float32 with 24 random bits."""
    step = torch.as_tensor(step, device=seeds.device) & _M32
    h = _mix32(_mix32(_mix32(step + 0x9E3779B9 & _M32) ^ ((seeds >> 32) & _M32)) ^ (seeds & _M32))
    return ((h >> 8).float() + 0.5) * (1.0 / (1 << 24))


def warp(logits: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """Temperature, then nucleus filtering: the arithmetic of TemperatureLogitsWarper and
    TopPLogitsWarper (float32 logits in, -inf for removed tokens)."""
    if temperature != 1.0:
        logits = logits / temperature
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=False)
        remove = sorted_logits.softmax(dim=-1).cumsum(dim=-1) <= (1 - top_p)
        remove[..., -1:] = False
        logits = logits.masked_fill(remove.scatter(1, sorted_idx, remove), -float("inf"))
    return logits


def choose(scores: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The token whose CDF interval (token-id order) holds u: a sample from softmax(scores)."""
    cdf = scores.softmax(dim=-1).cumsum(dim=-1)
    idx = (cdf < u[:, None] * cdf[:, -1:]).sum(dim=-1)
    return idx.clamp(max=scores.shape[-1] - 1)


def next_tokens(logits: torch.Tensor, seeds: torch.Tensor, step, temperature: float, top_p: float) -> torch.Tensor:
    """Greedy at temperature 0, else one seeded draw per row."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    return choose(warp(logits.float(), temperature, top_p), uniforms(seeds, step))


def first_stop(tokenizer, tokens: Sequence[int], stop: StopFn | None) -> int | None:
    """Number of tokens up to and including the first one after which `stop(decoded text)` holds, or
    None. `stop` must be monotone (once true for a prefix, true for every longer one)."""

    def hit(n: int) -> bool:
        return stop(tokenizer.decode(tokens[:n]))

    if stop is None or not tokens or not hit(len(tokens)):
        return None
    lo, hi = 1, len(tokens)  # the smallest n with hit(n)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if hit(mid) else (mid + 1, hi)
    return lo


class Decoder:
    """Batched decoding from left-padded prompts, k samples per prompt (see the module docstring).

    `compile`: off unless asked for. Only the model's forward is compiled (on CUDA, captured as a CUDA
    graph over the static cache); sampling stays eager. On an H200 with torch 2.11, Inductor failed to
    generate code for the top-p scan over a 49k vocabulary when the whole step was compiled, so the
    scan was taken out; compiled decoding stays opt-in until it is measured on a GPU (on CPU it gives
    the eager path's tokens and log-probabilities, tested). `static`: None = a StaticCache on CUDA, a
    DynamicCache elsewhere (on CPU the full-length masked attention of a static cache costs more)."""

    def __init__(
        self,
        model,
        tokenizer,
        *,
        compile: bool | None = None,
        static: bool | None = None,
        check_every: int = 16,
        cache_bucket: int = 256,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.device = next(model.parameters()).device
        cuda = self.device.type == "cuda"
        self.compile = bool(compile)
        self.static = cuda if static is None else static
        self.check_every, self.cache_bucket = check_every, cache_bucket
        self.mode = "static+compiled" if self.compile else ("static" if self.static else "dynamic") + " eager"
        self._cache, self._cache_key, self._forward_fn = None, None, None

    def cache_len(self, prompt_width: int, max_new_tokens: int) -> int:
        """Static cache length: rounded up so that batches and calls of similar lengths share one graph."""
        need = prompt_width + max_new_tokens
        return -(-need // self.cache_bucket) * self.cache_bucket

    def _forward(self, cache, tok, pos, mask) -> torch.Tensor:
        """One token per row through the model: the next-token logits (float32)."""
        return (
            self.model(
                input_ids=tok[:, None],
                position_ids=pos[:, None],
                attention_mask=mask,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            .logits[:, -1]
            .float()
        )

    def _step(self, forward, cache, tok, pos, mask, seeds, step, temperature: float, top_p: float):
        logits = forward(cache, tok, pos, mask)
        return next_tokens(logits, seeds, step, temperature, top_p), torch.log_softmax(logits, dim=-1)

    def _static_cache(self, rows: int, length: int):
        from transformers import StaticCache

        key = (rows, length)
        if self._cache_key != key:  # a new shape: a new cache (and, compiled, a new graph)
            self._cache, self._cache_key = StaticCache(config=self.model.config, max_cache_len=length), key
        else:
            self._cache.reset()
        return self._cache

    @torch.inference_mode()
    def run(
        self,
        ids: torch.Tensor,
        mask: torch.Tensor,
        *,
        k: int,
        params,
        seeds: Sequence[int],
        stop: StopFn | None = None,
        cache_len: int | None = None,
        forced: torch.Tensor | None = None,
    ) -> tuple[list[list[int]], list[list[float]]]:
        """New tokens of each of the len(ids) * k rows (grouped by prompt) cut after EOS or where
        `stop` first holds, and each token's log-probability under the model (before temperature / top-p).
        `forced` (rows x steps) feeds given tokens instead of sampling: scoring a fixed continuation."""
        if self.compile:
            try:
                return self._run(ids, mask, k, params, seeds, stop, cache_len, forced, compiled=True)
            except Exception as err:  # noqa: BLE001 - one try on a machine we cannot test on: fall back, say why
                log.warning("compiled decoding failed (%s: %s); decoding eagerly", type(err).__name__, str(err)[:300])
                self.compile, self.mode = False, f"static eager (compile failed: {type(err).__name__})"
                self._cache, self._cache_key, self._forward_fn = None, None, None
        return self._run(ids, mask, k, params, seeds, stop, cache_len, forced, compiled=False)

    def _run(self, ids, mask, k, params, seeds, stop, cache_len, forced, *, compiled: bool):
        dev, pad = self.device, self.tokenizer.pad_token_id
        ids, mask = ids.to(dev), mask.to(dev)
        rows, width, new = ids.shape[0] * k, ids.shape[1], params.max_new_tokens
        if forced is not None:
            new = forced.shape[1]
            forced = forced.to(dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1)
        prefill = out["cache"] if "cache" in out else out["past_key_values"]
        logits = out.logits[:, -1].float().repeat_interleave(k, 0)
        pos = pos[:, -1].repeat_interleave(k, 0)
        if self.static or compiled:
            length = cache_len or self.cache_len(width, new)
            cache = self._static_cache(rows, length)
            for i, layer in enumerate(prefill.layers):
                cache.update(layer.keys.repeat_interleave(k, 0), layer.values.repeat_interleave(k, 0), i)
            full = torch.ones(rows, length, dtype=mask.dtype, device=dev)
            full[:, :width] = mask.repeat_interleave(k, 0)
        else:
            cache = prefill
            cache.batch_repeat_interleave(k)
            full = torch.ones(rows, width + new, dtype=mask.dtype, device=dev)
            full[:, :width] = mask.repeat_interleave(k, 0)
        del prefill, out
        forward = self._forward
        if compiled:  # the model's forward only: sampling (a sort and scans over the vocabulary) stays eager
            if self._forward_fn is None:
                self._forward_fn = torch.compile(self._forward, mode="reduce-overhead", dynamic=False)
            forward = self._forward_fn
        seed_t = torch.tensor(list(seeds), dtype=torch.long, device=dev)
        eos = torch.tensor([self.tokenizer.eos_token_id], device=dev)
        step = torch.zeros((), dtype=torch.long, device=dev)
        done = torch.zeros(rows, dtype=torch.bool, device=dev)
        tokens = torch.full((rows, new), pad, dtype=torch.long, device=dev)
        logps = torch.zeros(rows, new, dtype=torch.float32, device=dev)
        logp = torch.log_softmax(logits, dim=-1)
        tok = next_tokens(logits, seed_t, step, params.temperature, params.top_p) if forced is None else forced[:, 0]
        stopped: set[int] = set()
        for t in range(new):
            tok = torch.where(done, pad, tok)
            tokens[:, t] = tok
            logps[:, t] = logp.gather(1, tok[:, None])[:, 0]
            done |= torch.isin(tok, eos)
            last = t == new - 1
            if last or (t + 1) % self.check_every == 0:  # the only host synchronisation
                stopped |= self._stopped(tokens[:, : t + 1], done, stop)
                if stopped:
                    done[list(stopped)] = True
                if last or bool(done.all()):
                    break
            pos = pos + 1
            step += 1
            mask_now = full if self.static or compiled else full[:, : width + t + 1]
            nxt, logp = self._step(forward, cache, tok, pos, mask_now, seed_t, step, params.temperature, params.top_p)
            tok = nxt.clone() if forced is None else forced[:, t + 1]
            logp = logp.clone()
        return self._cut(tokens.cpu(), logps.cpu(), stop)

    def _stopped(self, tokens: torch.Tensor, done: torch.Tensor, stop: StopFn | None) -> set[int]:
        if stop is None:
            return set()
        live = (~done).nonzero()[:, 0].tolist()
        rows = tokens[live].cpu().tolist()
        return {r for r, toks in zip(live, rows, strict=True) if stop(self.tokenizer.decode(toks))}

    def _cut(
        self, tokens: torch.Tensor, logps: torch.Tensor, stop: StopFn | None
    ) -> tuple[list[list[int]], list[list[float]]]:
        eos, pad = self.tokenizer.eos_token_id, self.tokenizer.pad_token_id
        out_t, out_l = [], []
        for row, lp in zip(tokens.tolist(), logps.tolist(), strict=True):
            n = row.index(eos) + 1 if eos in row else len(row)
            cut = first_stop(self.tokenizer, row[:n], stop)
            n = cut if cut is not None else n
            while n and row[n - 1] == pad and pad != eos:  # rows done before the end
                n -= 1
            out_t.append(row[:n])
            out_l.append(lp[:n])
        return out_t, out_l
