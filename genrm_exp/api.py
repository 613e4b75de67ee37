"""A trained GenRM (or any chat LM) as a pairwise preference model from Python, e.g. as the reward in
RLHF code.

    from genrm_exp.api import GenRM
    rm = GenRM.from_run("outputs/runs/genrm/<run>")          # a run of objective=genrm (or zero_shot)
    rm.preference("What is 2+2?", "4", "5")                  # P(first response is better), e.g. 0.93
    rm.preferences(prompts, responses_a, responses_b)        # batched
    reward = rm.reward_fn()                                  # TRL reward function: P(completion beats reference)
    rm.judge(prompts, [[a, b], ...])                         # TRL pairwise-judge protocol: index of the better one

    rm = GenRM.from_pretrained("meta-llama/Llama-3.1-8B-Instruct", judge="cot")  # a zero-shot judge

Prompts are a string (one user turn) or a list of chat messages; responses are strings or TRL's
conversational completions ([{"role": "assistant", "content": ...}]). By default each comparison is
judged in both orders and averaged, so the probability has no position bias (`order="fixed"` halves
the cost). Direct judges give P(A) / (P(A) + P(B)) of the verdict token; CoT judges the vote share of
judge.k sampled rationales.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from genrm_exp.generation import Generator, SamplingParams
from genrm_exp.judging import DirectJudge
from genrm_exp.prompts import judge_messages, render_judge
from genrm_exp.verdicts import majority_vote, parse_verdict, to_original_order

CONF = Path(__file__).resolve().parents[1] / "conf"
API_ORDERS = ("both", "fixed")


def _messages(prompt: str | Sequence[dict]) -> list[dict]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]


def _text(response: str | Sequence[dict]) -> str:
    """A completion as text: a string, or the content of TRL's conversational completion."""
    if isinstance(response, str):
        return response
    return "".join(m["content"] for m in response if m["role"] == "assistant")


def _device(device: str | None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


class GenRM:
    """A pairwise judge around a causal LM: `preference(prompt, a, b)` = P(a is better than b)."""

    def __init__(self, model, tokenizer, judge_cfg, *, order: str = "both", seed: int = 0):
        if order not in API_ORDERS:
            raise ValueError(f"order={order!r}: expected one of {list(API_ORDERS)}")
        self.model, self.tokenizer, self.judge_cfg, self.order, self.seed = model, tokenizer, judge_cfg, order, seed
        self._direct = DirectJudge(model, tokenizer, judge_cfg, seed=seed)
        self._generator = Generator.from_judge(model, tokenizer, judge_cfg)

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, *, checkpoint: str | os.PathLike | None = None,
                 device: str | None = None, **kwargs: Any) -> GenRM:
        """The judge of a run folder: its resolved config.yaml (model, judge prompt) and the weights in
        `checkpoint` (default <run_dir>/checkpoint; a LoRA adapter or a full model). A run without a
        checkpoint (objective=zero_shot) gives the base model."""
        from genrm_exp.modeling import load_model, load_tokenizer

        run_dir = Path(run_dir)
        config = run_dir / "config.yaml"
        if not config.is_file():
            raise FileNotFoundError(f"{config} not found: expected a run folder written by `python -m genrm_exp`")
        cfg = OmegaConf.load(config)
        if cfg.judge.style == "direct" and cfg.objective.name not in ("genrm", "zero_shot"):
            raise ValueError(f"{run_dir}: objective={cfg.objective.name} did not train a generative judge")
        ckpt = Path(checkpoint) if checkpoint else run_dir / "checkpoint"
        tokenizer = load_tokenizer(cfg.model, cache=cfg.paths.cache)
        if (ckpt / "adapter_config.json").is_file():
            from peft import PeftModel

            model = PeftModel.from_pretrained(load_model(cfg.model, tokenizer, head="causal_lm", cache=cfg.paths.cache), str(ckpt))
        elif (ckpt / "config.json").is_file():
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(str(ckpt), dtype=getattr(torch, str(cfg.model.dtype)))
        elif checkpoint is None and cfg.objective.name == "zero_shot":
            model = load_model(cfg.model, tokenizer, head="causal_lm", cache=cfg.paths.cache)
        else:
            raise FileNotFoundError(f"{ckpt}: no adapter_config.json or config.json (expected a saved checkpoint)")
        from genrm_exp.objectives.zero_shot import judge_dtype

        device = _device(device)
        model = model.to(device=device, dtype=judge_dtype(cfg.judge, cfg.model, device))
        return cls(model, tokenizer, cfg.judge, seed=int(cfg.seed), **kwargs)

    @classmethod
    def from_pretrained(cls, path: str, *, judge: str | dict = "direct", adapter: str | None = None,
                        dtype: str = "bfloat16", device: str | None = None, **kwargs: Any) -> GenRM:
        """Any chat model (Hub id or folder) as a judge, with conf/judge/<judge>.yaml or a judge dict."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if isinstance(judge, str):
            judge_cfg = OmegaConf.load(CONF / "judge" / "direct.yaml")
            if judge != "direct":
                extra = OmegaConf.load(CONF / "judge" / f"{judge}.yaml")
                extra.pop("defaults", None)
                judge_cfg = OmegaConf.merge(judge_cfg, extra)
        else:
            judge_cfg = OmegaConf.create(judge)
        tokenizer = AutoTokenizer.from_pretrained(adapter or path)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # only padding positions read it (left padding, masked)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
        if adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter)
        return cls(model.to(_device(device)), tokenizer, judge_cfg, **kwargs)

    def _rendered(self, prompts, responses_a, responses_b, *, open_verdict: bool) -> tuple[list[str], list[bool]]:
        swaps = [False, True] if self.order == "both" else [False]
        texts = []
        for prompt, a, b in zip(prompts, responses_a, responses_b, strict=True):
            a, b = _text(a), _text(b)
            for swapped in swaps:
                shown = (b, a) if swapped else (a, b)
                texts.append(render_judge(self.tokenizer, judge_messages(self.judge_cfg, _messages(prompt), *shown), open_verdict=open_verdict))
        return texts, swaps

    def preferences(self, prompts: Sequence, responses_a: Sequence, responses_b: Sequence) -> list[float]:
        """P(response a is better than response b) for each triple."""
        if self.judge_cfg["style"] == "direct":
            texts, swaps = self._rendered(prompts, responses_a, responses_b, open_verdict=True)
            probs = [p for p, _ in self._direct.verdict_probs(texts, desc="preference")]
            n = len(swaps)
            return [sum(1.0 - p if s else p for s, p in zip(swaps, probs[i : i + n])) / n for i in range(0, len(probs), n)]
        texts, swaps = self._rendered(prompts, responses_a, responses_b, open_verdict=False)
        samples = self._generator.sample(texts, SamplingParams.from_judge(self.judge_cfg, seed=self.seed), desc="preference")
        n = len(swaps)
        out = []
        for i in range(0, len(samples), n):
            verdicts = [to_original_order(parse_verdict(t), s) for s, texts_k in zip(swaps, samples[i : i + n]) for t in texts_k]
            out.append(majority_vote(verdicts).prob_a)
        return out

    def preference(self, prompt, response_a, response_b) -> float:
        """P(response_a is better than response_b)."""
        return self.preferences([prompt], [response_a], [response_b])[0]

    def judge(self, prompts: Sequence, completions: Sequence[Sequence], shuffle_order: bool = True) -> list[int]:
        """TRL's pairwise-judge protocol (BasePairwiseJudge.judge): for each prompt and its two
        completions, the index of the better one. Orders are already controlled by `order`, so
        `shuffle_order` is accepted for compatibility and has no further effect."""
        probs = self.preferences(prompts, [c[0] for c in completions], [c[1] for c in completions])
        return [0 if p >= 0.5 else 1 for p in probs]

    def reward_fn(self, reference_key: str = "reference") -> Callable[..., list[float]]:
        """A TRL-style reward function `f(prompts, completions, **columns) -> list[float]`: the
        probability that each completion beats the dataset's reference response in `reference_key`."""

        def reward(prompts, completions, **columns) -> list[float]:
            if reference_key not in columns:
                raise KeyError(f"reward_fn needs a {reference_key!r} column with reference responses; got {sorted(columns)}")
            return self.preferences(prompts, completions, columns[reference_key])

        reward.__name__ = "genrm_preference"
        return reward
