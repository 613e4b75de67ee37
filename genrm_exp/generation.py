"""The one sampling engine: every rationale the project samples (CoT evaluation, STaR) comes from here.

    gen = Generator(model, tokenizer, batch_size=16)
    texts = gen.sample(rendered_prompts, SamplingParams(k=4, temperature=0.7, seed=0))  # [[str] * k]

What it does, on stock `transformers.generate`:
- prompts are encoded once, sorted longest first and batched with left padding; `batch_size` counts
  sequences (prompts x k) per call;
- the k samples of a prompt share one prefill: the prompt is run once, its KV cache repeated k times,
  and generation continues from it (no re-encoding of the prompt per sample);
- generation stops at EOS and, with `stop_at_verdict`, once `[[A]]` or `[[B]]` has been written;
- sampling is temperature + nucleus (top-p) through the Gumbel-max trick: each sample draws its
  noise from its own generator seeded by (seed, prompt text, sample index), so a sample does not
  depend on which other prompts share its batch, nor on batch_size. What can still change a draw is
  floating-point drift in the logits between batch shapes (padding width, kernels) when two tokens
  are within rounding of each other. temperature=0 is greedy.

A faster backend (vLLM, SGLang) slots in as another class with the same `sample` signature.

Test: python -m pytest tests/test_generation.py -q
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

VERDICT_STOPS = ("[[A]]", "[[B]]")


@dataclass(frozen=True)
class SamplingParams:
    k: int = 1
    temperature: float = 1.0
    top_p: float = 0.95
    max_new_tokens: int = 256
    seed: int = 0
    stop_at_verdict: bool = True

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_new_tokens < 1:
            raise ValueError(f"SamplingParams: k={self.k} and max_new_tokens={self.max_new_tokens} must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams: temperature={self.temperature} must be >= 0, top_p={self.top_p} in (0, 1]")

    @classmethod
    def from_judge(cls, judge_cfg, *, seed: int) -> SamplingParams:
        """The sampling fields of a conf/judge/*.yaml node."""
        return cls(
            k=int(judge_cfg["k"]),
            temperature=float(judge_cfg["temperature"]),
            top_p=float(judge_cfg["top_p"]),
            max_new_tokens=int(judge_cfg["max_new_tokens"]),
            seed=int(seed),
        )


def sample_seed(seed: int, prompt: str, index: int) -> int:
    """The seed of sample `index` of `prompt`: independent of batch composition and order."""
    digest = hashlib.sha256(f"{seed}\0{index}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class _GumbelNoise:
    """Adds Gumbel(0, 1) noise, one generator per row, to processed logits; the argmax is then a
    sample from softmax(logits) (Gumbel-max). Masked (-inf) tokens stay masked."""

    def __init__(self, seeds: Sequence[int], device: torch.device):
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        u = torch.stack([torch.rand(scores.shape[-1], generator=g, device=scores.device) for g in self.generators])
        gumbel = -torch.log(-torch.log(u.clamp(1e-20, 1.0 - 1e-7)))
        return scores.float() + gumbel


def left_pad(seqs: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[i, width - len(s) :] = 1
    return ids, mask


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids for left-padded rows, as `generate` computes them."""
    return (mask.cumsum(-1) - 1).clamp(min=0)


class Generator:
    """Batched sampling from a causal LM (plain or PEFT-wrapped) with a tokenizer."""

    def __init__(self, model, tokenizer, *, batch_size: int):
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1")
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self._stop = None
        self.last_stats: dict[str, float] = {}

    def _stop_criteria(self):
        from transformers import StopStringCriteria

        if self._stop is None:  # building it scans the vocabulary once
            self._stop = StopStringCriteria(tokenizer=self.tokenizer, stop_strings=list(VERDICT_STOPS))
        return self._stop

    @torch.inference_mode()
    def sample(self, prompts: Sequence[str], params: SamplingParams, desc: str = "sample") -> list[list[str]]:
        """k completions per rendered prompt, in input order (completion text only, special tokens
        stripped). Deterministic under params.seed whatever the batch composition (module docstring)."""
        started, new_tokens = time.time(), 0
        encoded = [list(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        per_batch = max(1, self.batch_size // params.k)
        out: list[list[str]] = [[] for _ in prompts]
        self.model.eval()
        for start in tqdm(range(0, len(order), per_batch), desc=desc, leave=False, disable=not prompts):
            idx = order[start : start + per_batch]
            rows = self._generate([encoded[i] for i in idx], [prompts[i] for i in idx], params)
            for n, i in enumerate(idx):
                for ids in rows[n * params.k : (n + 1) * params.k]:
                    new_tokens += int((ids != self.tokenizer.pad_token_id).sum())
                    out[i].append(self.tokenizer.decode(ids, skip_special_tokens=True))
        seconds = time.time() - started
        self.last_stats = {"prompts": len(prompts), "samples": len(prompts) * params.k, "new_tokens": new_tokens,
                           "seconds": round(seconds, 2), "tokens_per_s": round(new_tokens / max(seconds, 1e-9), 1)}
        return out

    def _generate(self, seqs: list[list[int]], texts: list[str], params: SamplingParams) -> torch.Tensor:
        """Rows grouped by prompt (k each), holding only the new tokens (pad after a stop)."""
        from transformers import GenerationConfig, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

        device = next(self.model.parameters()).device
        ids, mask = left_pad(seqs, self.tokenizer.pad_token_id)
        ids, mask = ids.to(device), mask.to(device)
        k = params.k
        cache = None
        if k > 1 and ids.shape[1] > 1:  # one prefill shared by the k samples of each prompt
            out = self.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions(mask)[:, :-1],
                             use_cache=True)
            cache = out["cache"] if "cache" in out else out["past_key_values"]
            cache.batch_repeat_interleave(k)
        ids, mask = ids.repeat_interleave(k, 0), mask.repeat_interleave(k, 0)
        processors = LogitsProcessorList()
        if params.temperature > 0:
            if params.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(params.temperature))
            if params.top_p < 1.0:
                processors.append(TopPLogitsWarper(params.top_p))
            seeds = [sample_seed(params.seed, t, j) for t in texts for j in range(k)]
            processors.append(_GumbelNoise(seeds, device))
        config = GenerationConfig(
            do_sample=False,  # the argmax over Gumbel-perturbed logits is the sample
            num_beams=1,
            max_new_tokens=params.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        extra = {"stopping_criteria": [self._stop_criteria()]} if params.stop_at_verdict else {}
        if cache is not None:
            extra["cache"] = cache
        result = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                     logits_processor=processors, **extra)
        return result[:, ids.shape[1] :].cpu()
