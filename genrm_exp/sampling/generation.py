"""The one sampling engine: every rationale the project samples (CoT evaluation, STaR) comes from here.

    gen = Generator(model, tokenizer, batch_size=16)
    texts = gen.sample(rendered_prompts, SamplingParams(k=4, temperature=0.7, seed=0))  # [[str] * k]

Three backends (`Generator(..., backend=...)`); the first two give the same tokens:
- `static` (default): genrm_exp.sampling.decoding's own loop: a static KV cache on CUDA, sampling on device,
  the host looking at the tokens every 16 steps only; with `compile=True` (`judge.compile`, opt-in
  until measured on a GPU) the per-step forward is captured in CUDA graphs by torch.compile;
- `hf_generate`: stock `transformers.generate`, kept to compare against and as a fallback.

What both do:
- prompts are encoded once, sorted longest first and batched with left padding; `batch_size` counts
  sequences (prompts x k) per call;
- the k samples of a prompt share one prefill: the prompt is run once, its KV cache repeated k times,
  and generation continues from it (no re-encoding of the prompt per sample);
- generation stops at EOS and, with `stop_at_verdict`, once a verdict closes the answer (a `[[A]]`
  or `[[B]]` that ends its line: verdicts.closes_answer), so the stopped text parses to the verdict
  the whole chain would (a chain quoting the format does not stop at the quote);
- sampling is temperature + nucleus (top-p), then one uniform per (sample, step) drawn from a hash
  of (seed, prompt text, sample index, step) inverts the CDF (genrm_exp.sampling.decoding), so a sample does
  not depend on which other prompts share its batch, nor on batch_size, nor on the backend. What can still change a draw is
  floating-point drift in the logits between batch shapes (padding width, kernels) when two tokens
  are within rounding of each other. temperature=0 is greedy;
- max_new_tokens=0 samples nothing: every chain is empty, and a closing (star.close_verdict,
  judge.close_verdict) draws its verdict at once (a chain of no thought; validate.py requires the closing).

- `vllm`: a vLLM engine in the sampler environment (genrm_exp/sampling/vllm_backend.py; `make setup-vllm`), one
  request per prompt with n = k, prefix caching over the shared judge template. The engine's stop
  strings are only an early exit that implies the stop rule; every returned row is cut here by the
  same rule as above (decoding.first_stop), so the verdict never depends on where the engine stopped.
  Its draws come from vLLM's sampler, seeded per prompt by (seed, prompt text): not the tokens of
  the static and hf_generate backends above (launch/README.md says what a seed fixes there);
- `auto`: vllm where it can run, else static. A run resolves it once (`resolve_engine`, written
  into config.yaml as `judge.engine` and into metrics.json's protocol): vllm when the sampler
  environment is installed and the model is one vLLM can load here, else static with the reason.

Test: python -m pytest tests/test_generation.py -q
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from genrm_exp import costs
from genrm_exp.errors import ConfigError
from genrm_exp.sampling.decoding import Decoder, StopFn, choose, first_stop, uniforms
from genrm_exp.verdicts import closes_answer

BACKENDS = ("static", "hf_generate", "vllm")
DTYPES = ("float32", "bfloat16", "float16")


def judge_dtype_name(judge_cfg, model_cfg, device_type: str) -> str:
    """`judge.dtype`, where `auto` is the weights' dtype on `device_type` (modeling.weights_dtype:
    model.dtype on a GPU, model.cpu_dtype on CPU), except float32 when a CoT judge decodes on CPU:
    small-batch bfloat16 matmuls there decoded about 10x slower than float32."""
    from genrm_exp.modeling import weights_dtype

    name = str(judge_cfg["dtype"])
    if name == "auto":
        cot_on_cpu = judge_cfg["style"] == "cot" and device_type == "cpu"
        name = "float32" if cot_on_cpu else weights_dtype(model_cfg, device_type)
    if name not in DTYPES:
        raise ConfigError(f"judge.dtype={name!r}: expected auto or one of {list(DTYPES)}")
    return name


def resolve_engine(judge_cfg, model_cfg, device_type: str, head_dim: int | None = None) -> dict:
    """The sampling engine a judge config gets on this machine, decided once per run:
    {"backend", "dtype" (of the weights it samples with), "reason"}. `auto` is vllm where the sampler
    environment is installed and the model is one vLLM can load here (`head_dim`, when known, is
    checked against vLLM's CPU attention), else static; every other backend is taken as given."""
    from genrm_exp.sampling import vllm_backend

    backend = str(judge_cfg["backend"])
    if backend not in (*BACKENDS, "auto"):
        raise ConfigError(f"judge.backend={backend!r}: expected one of {[*BACKENDS, 'auto']}")
    reason = f"judge.backend={backend}"
    if backend == "auto":
        unloadable = vllm_backend.unloadable(head_dim, device_type)
        if not vllm_backend.available(judge_cfg["vllm"]):
            backend, reason = "static", f"auto: no sampler environment at {vllm_backend.python_of(judge_cfg['vllm'])}"
        elif unloadable:
            backend, reason = "static", f"auto: {unloadable}"
        else:
            backend, reason = "vllm", "auto: the sampler environment is installed"
    dtype = (
        str(judge_cfg["vllm"]["dtype"]) if backend == "vllm" else judge_dtype_name(judge_cfg, model_cfg, device_type)
    )
    return {"backend": backend, "dtype": dtype, "reason": reason}


def head_dim_of(config) -> int | None:
    """Attention head size of a transformers config (or a model config's `config` mapping)."""
    get = config.get if hasattr(config, "get") else lambda k: getattr(config, k, None)
    if get("head_dim"):
        return int(get("head_dim"))
    if get("hidden_size") and get("num_attention_heads"):
        return int(get("hidden_size")) // int(get("num_attention_heads"))
    return None


@dataclass(frozen=True)
class SamplingParams:
    k: int = 1
    temperature: float = 1.0
    top_p: float = 0.95
    max_new_tokens: int = 256
    seed: int = 0
    stop_at_verdict: bool = True

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_new_tokens < 0:
            raise ConfigError(f"SamplingParams: k={self.k} must be >= 1 and max_new_tokens={self.max_new_tokens} >= 0")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ConfigError(
                f"SamplingParams: temperature={self.temperature} must be >= 0, top_p={self.top_p} in (0, 1]"
            )

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


class _SeededChoice:
    """A logits processor for `generate`: keeps only the token `decoding.choose` draws for each row
    (the seeded draw of the static backend), so the argmax `generate` takes is that sample."""

    def __init__(self, seeds: Sequence[int], prompt_width: int, device: torch.device):
        self.seeds, self.width = torch.tensor(list(seeds), dtype=torch.long, device=device), prompt_width

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        tok = choose(scores.float(), uniforms(self.seeds, input_ids.shape[1] - self.width))
        return torch.full_like(scores, -float("inf"), dtype=torch.float32).scatter_(1, tok[:, None], 0.0)


def _stop_rule(params: SamplingParams) -> StopFn | None:
    return closes_answer if params.stop_at_verdict else None


class _TextStop:
    """A stopping criterion for `generate`: a row is done once the stop rule holds for its decoded new
    text (checked every `every` steps; rows are cut at the exact token afterwards, as in `static`)."""

    def __init__(self, tokenizer, stop: StopFn, prompt_width: int, every: int = 16):
        self.tokenizer, self.stop, self.width, self.every = tokenizer, stop, prompt_width, every

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        new = input_ids.shape[1] - self.width
        if new % self.every:
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        rows = input_ids[:, self.width :].tolist()
        return torch.tensor([self.stop(self.tokenizer.decode(r)) for r in rows], device=input_ids.device)


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

    def __init__(
        self,
        model,
        tokenizer,
        *,
        batch_size: int,
        backend: str = "static",
        compile: bool = False,
        vllm=None,
        model_dir=None,
        workdir=None,
    ):
        """`vllm` (the judge.vllm settings), `model_dir` (a folder holding exactly `model`'s weights)
        and `workdir` (where the engine's request files and log go) serve backend vllm / auto only."""
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        if backend not in BACKENDS:
            raise ConfigError(f"backend={backend!r}: expected one of {[*BACKENDS, 'auto']}")
        self.model, self.tokenizer, self.batch_size, self.backend = model, tokenizer, batch_size, backend
        self.compile = bool(compile)
        self._decoder = self._engine = None
        self.last_stats: dict[str, float] = {}
        if backend == "vllm":
            from genrm_exp.sampling.vllm_backend import VllmEngine

            self._engine = VllmEngine(model, tokenizer, vllm, model_dir=model_dir, workdir=workdir)

    @classmethod
    def from_judge(
        cls, model, tokenizer, judge_cfg, *, batch_size: int | None = None, model_dir=None, workdir=None
    ) -> Generator:
        """The engine a judge config asks for (judge.compile, judge.batch_size, judge.vllm): the run's
        resolved `judge.engine`, or `judge.backend` resolved here for this model (the API, the server)."""
        engine = judge_cfg["engine"]
        if engine is None:
            params = getattr(model, "parameters", None)
            device = next(params()).device.type if params is not None else "cpu"
            config = getattr(model, "config", None)
            head_dim = head_dim_of(config) if config is not None else None
            engine = resolve_engine(judge_cfg, {"dtype": "float32"}, device, head_dim)
        return cls(
            model,
            tokenizer,
            batch_size=int(batch_size or judge_cfg["batch_size"]),
            backend=str(engine["backend"]),
            compile=bool(judge_cfg["compile"]),
            vllm=judge_cfg["vllm"],
            model_dir=model_dir,
            workdir=workdir,
        )

    def close(self) -> None:
        """Stop the vLLM engine, if any (its memory is freed); static and hf_generate hold nothing."""
        if self._engine is not None:
            self._engine.close()

    @torch.inference_mode()
    def sample(self, prompts: Sequence[str], params: SamplingParams, desc: str = "sample") -> list[list[str]]:
        """k completions per rendered prompt, in input order (completion text only, special tokens
        stripped). Deterministic under params.seed whatever the batch composition (module docstring).
        `last_stats` then holds the new tokens made (EOS and stop tokens included) and the time."""
        started, new_tokens = time.perf_counter(), 0
        if params.max_new_tokens == 0:  # no thought: every chain is empty, for a closing to answer at once
            self._record(prompts, params, 0, 0.0, self.backend)
            return [[""] * params.k for _ in prompts]
        encoded = self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"] if prompts else []
        if self._engine is not None:
            return self._sample_vllm(prompts, encoded, params, started)
        order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
        per_batch = max(1, self.batch_size // params.k)
        out: list[list[str]] = [[] for _ in prompts]
        self.model.eval()
        cache_len = None
        if self.backend == "static" and prompts:
            if self._decoder is None:
                self._decoder = Decoder(self.model, self.tokenizer, compile=self.compile)
            cache_len = self._decoder.cache_len(len(encoded[order[0]]), params.max_new_tokens)
        for start in tqdm(range(0, len(order), per_batch), desc=desc, leave=False, disable=not prompts):
            idx = order[start : start + per_batch]
            seqs, texts = [encoded[i] for i in idx], [prompts[i] for i in idx]
            if self.backend == "hf_generate":
                rows = [self._cut_hf(r, params) for r in self._generate(seqs, texts, params).tolist()]
            else:
                rows = self._decode(seqs, texts, params, per_batch, cache_len)
            for n, i in enumerate(idx):
                for ids in rows[n * params.k : (n + 1) * params.k]:
                    new_tokens += len(ids)
                    out[i].append(self.tokenizer.decode(ids, skip_special_tokens=True))
        backend = self.backend if self._decoder is None else f"{self.backend} ({self._decoder.mode})"
        self._record(prompts, params, new_tokens, time.perf_counter() - started, backend)
        return out

    def _sample_vllm(
        self, prompts: Sequence[str], encoded: list[list[int]], params: SamplingParams, started: float
    ) -> list[list[str]]:
        """One request per prompt with n = k; every row cut after EOS or where the stop rule first holds."""
        from genrm_exp.sampling.vllm_backend import STOP_STRINGS

        before = self._engine.startup_s
        # vLLM seeds sample j of a request with seed + j: 62 bits leave room for k.
        seeds = [sample_seed(params.seed, t, 0) >> 1 for t in prompts]
        rows = (
            self._engine.generate(
                encoded,
                seeds,
                n=params.k,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
                stop=STOP_STRINGS if params.stop_at_verdict else [],
            )
            if prompts
            else []
        )
        out, new_tokens = [], 0
        for samples in rows:
            cut = [self._cut_hf(ids, params) for ids in samples]
            new_tokens += sum(len(ids) for ids in cut)
            out.append([self.tokenizer.decode(ids, skip_special_tokens=True) for ids in cut])
        seconds = time.perf_counter() - started
        startup = 0.0 if before is not None else (self._engine.startup_s or 0.0)  # this call started the engine
        self._record(prompts, params, new_tokens, seconds, "vllm", startup=startup)
        return out

    def _record(self, prompts, params: SamplingParams, new_tokens: int, seconds: float, backend: str, startup=None):
        """last_stats of a sample() call (tokens per second net of an engine start made by it), and
        the generated tokens added to the run's cost (metrics.json, report)."""
        self.last_stats = {
            "prompts": len(prompts),
            "samples": len(prompts) * params.k,
            "new_tokens": new_tokens,
            "seconds": round(seconds, 3),
            **({} if startup is None else {"startup_s": round(startup, 3)}),
            "tokens_per_s": round(new_tokens / max(seconds - (startup or 0.0), 1e-9), 1),
            "backend": backend,
        }
        costs.add("generated_tokens", new_tokens)

    def _decode(
        self, seqs: list[list[int]], texts: list[str], params: SamplingParams, per_batch: int, cache_len: int | None
    ) -> list[list[int]]:
        """The static backend: rows grouped by prompt (k each), new tokens cut at the stop. Compiled, a
        short last batch is filled with copies of its first prompt so every batch has one shape."""
        real = len(seqs)
        if self._decoder.compile and real < per_batch:
            seqs, texts = seqs + [seqs[0]] * (per_batch - real), texts + [texts[0]] * (per_batch - real)
        ids, mask = left_pad(seqs, self.tokenizer.pad_token_id)
        seeds = [sample_seed(params.seed, t, j) for t in texts for j in range(params.k)]
        rows, _ = self._decoder.run(
            ids, mask, k=params.k, params=params, seeds=seeds, stop=_stop_rule(params), cache_len=cache_len
        )
        return rows[: real * params.k]

    def _cut_hf(self, row: list[int], params: SamplingParams) -> list[int]:
        """A `generate` row: padding removed, cut after EOS or where the stop rule first holds."""
        row = [t for t in row if t != self.tokenizer.pad_token_id]
        eos = self.tokenizer.eos_token_id
        row = row[: row.index(eos) + 1] if eos in row else row
        cut = first_stop(self.tokenizer, row, _stop_rule(params))
        return row if cut is None else row[:cut]

    def _generate(self, seqs: list[list[int]], texts: list[str], params: SamplingParams) -> torch.Tensor:
        """Rows grouped by prompt (k each), holding only the new tokens (pad after a stop)."""
        from transformers import GenerationConfig, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

        device = next(self.model.parameters()).device
        ids, mask = left_pad(seqs, self.tokenizer.pad_token_id)
        ids, mask = ids.to(device), mask.to(device)
        k = params.k
        cache = None
        if k > 1 and ids.shape[1] > 1:  # one prefill shared by the k samples of each prompt
            out = self.model(
                input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions(mask)[:, :-1], use_cache=True
            )
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
            processors.append(_SeededChoice(seeds, ids.shape[1], device))
        config = GenerationConfig(
            do_sample=False,  # _SeededChoice leaves one token standing: the argmax is the sample
            num_beams=1,
            max_new_tokens=params.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        extra = (
            {"stopping_criteria": [_TextStop(self.tokenizer, _stop_rule(params), ids.shape[1])]}
            if params.stop_at_verdict
            else {}
        )
        if cache is not None:
            extra["cache"] = cache
        result = self.model.generate(
            input_ids=ids, attention_mask=mask, generation_config=config, logits_processor=processors, **extra
        )
        return result[:, ids.shape[1] :].cpu()
