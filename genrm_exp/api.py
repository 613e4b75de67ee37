"""A trained reward model or judge from Python, e.g. as the reward in RLHF code: a thin face over
genrm_exp/judges (the same judges, prompts, orders and checkpoint loader as offline evaluation, so a
pair gets the same probability here as in predictions/<set>.jsonl under the same order rule).

    from genrm_exp.api import RewardModel
    rm = RewardModel.from_run("outputs/runs/genrm/<run>")   # any finished run: bt, pair_rm, genrm, zero_shot_*, star_*
    rm.preference("What is 2+2?", "4", "5")                 # P(first response is better), e.g. 0.93
    rm.judge_pairs(prompts, responses_a, responses_b)       # [{p_a, verdict, votes, invalid}, ...]
    rm.rewards(prompts, responses)                          # a scalar reward model (rm.kind == "reward")
    reward = rm.reward_fn()                                 # TRL reward function: P(completion beats reference)
    rm.judge(prompts, [[a, b], ...])                        # TRL pairwise-judge protocol: index of the better one

    rm = RewardModel.from_pretrained("meta-llama/Llama-3.1-8B-Instruct", judge="cot")  # a zero-shot judge

Prompts are a string (one user turn) or a list of chat messages; responses are strings or TRL's
conversational completions ([{"role": "assistant", "content": ...}]). `order` is the run's
`judge.order` unless given (`both` judges each comparison in both orders and averages them, so the
probability has no position bias; `fixed` halves the cost; `random` draws an order per pair from
(seed, pair id) as evaluation does). A PairRM classifier always reads both orders.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from genrm_exp.data.schema import Message, Pair
from genrm_exp.errors import ConfigError
from genrm_exp.verdicts import INVALID, A, B

CONF = Path(__file__).resolve().parents[1] / "conf"


def _messages(prompt: str | Sequence[dict]) -> tuple[Message, ...]:
    if isinstance(prompt, str):
        return (Message("user", prompt),)
    return tuple(Message(m["role"], m["content"]) for m in prompt)


def _text(response: str | Sequence[dict]) -> str:
    """A completion as text: a string, or the content of TRL's conversational completion."""
    if isinstance(response, str):
        return response
    return "".join(m["content"] for m in response if m["role"] == "assistant")


def pairs_for(prompts: Sequence, responses_a: Sequence, responses_b: Sequence) -> list[Pair]:
    """The comparisons as pairs (a = the first response). A pair's id hashes its texts, so an order
    drawn by `judge.order=random` depends on the comparison, not on its place in a batch."""
    out = []
    for prompt, a, b in zip(prompts, responses_a, responses_b, strict=True):
        messages, a, b = _messages(prompt), _text(a), _text(b)
        key = hashlib.sha256(repr(([m.to_dict() for m in messages], a, b)).encode()).hexdigest()[:16]
        out.append(Pair(f"api:{key}", messages, a, b, "api", "api"))
    return out


def _verdict_of(record: dict) -> str:
    """The record's verdict; a scalar reward model's records have none: the side its P favours."""
    from genrm_exp.judges.records import verdict_from_prob

    return record["verdict"] if "verdict" in record else verdict_from_prob(record["p_chosen"])


class RewardModel:
    """A judge of genrm_exp/judges behind a small API; `kind` is "reward" (a scalar head) or "pairwise"."""

    def __init__(self, judge, cfg, tokenizer, *, run_dir: Path | None = None, source: str | None = None):
        self._judge, self.cfg, self.tokenizer, self.run_dir, self.source = judge, cfg, tokenizer, run_dir, source
        self.kind = "reward" if str(cfg.objective.scorer) == "reward" else "pairwise"

    @classmethod
    def from_run(
        cls,
        run_dir: str | os.PathLike,
        *,
        checkpoint: str | os.PathLike | None = None,
        order: str | None = None,
        device: str | None = None,
        **judge: Any,
    ) -> RewardModel:
        """The judge a finished run ends with (judges.factory.for_run), `order` and any other
        `judge.*` values (k, batch_size, ...) overriding the run's."""
        from genrm_exp.judges.factory import for_run

        settings = {**judge, **({"order": order} if order is not None else {})}
        judge_obj, cfg, tokenizer = for_run(
            run_dir, checkpoint=checkpoint, overrides={"judge": settings} if settings else None, device=device
        )
        return cls(judge_obj, cfg, tokenizer, run_dir=Path(run_dir))

    @classmethod
    def zero_shot(
        cls,
        model_cfg,
        *,
        judge: str = "direct",
        device: str | None = None,
        seed: int = 0,
        source: str | None = None,
        **judge_values: Any,
    ) -> RewardModel:
        """A model (a conf/model entry, as a mapping) as a zero-shot judge with conf/judge/<judge>.yaml
        and `judge_values` (order, k, dtype, ...) over it: the config objective=zero_shot_<judge>
        composes, and the judge the factory builds for it (the server uses this too)."""
        from omegaconf import OmegaConf, open_dict

        from genrm_exp import checkpoints
        from genrm_exp.judges.factory import for_model
        from genrm_exp.modeling import load_tokenizer

        if judge not in ("direct", "cot"):
            raise ConfigError(f"judge={judge!r}: expected direct or cot")
        cfg = compose_config(
            [f"objective=zero_shot_{judge}", "logger=none", f"seed={seed}", f"paths.root={CONF.parent}"]
        )
        cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
        with open_dict(cfg):
            cfg.model = OmegaConf.create(OmegaConf.to_container(OmegaConf.create(model_cfg), resolve=True))
            cfg.judge.update(judge_values)
        tokenizer = load_tokenizer(cfg.model, cache=cfg.paths.cache)
        model = checkpoints.base_model(cfg, tokenizer, head="causal_lm")
        model = model.to(device or ("cuda" if _cuda() else "cpu")).eval()
        return cls(for_model(model, tokenizer, cfg), cfg, tokenizer, source=source or str(cfg.model.name))

    @classmethod
    def from_pretrained(
        cls,
        path: str,
        *,
        judge: str = "direct",
        order: str = "both",
        dtype: str = "bfloat16",
        trust_remote_code: bool = False,
        **kwargs: Any,
    ) -> RewardModel:
        """Any chat model (a Hub id or a local folder) as a zero-shot judge with conf/judge/<judge>.yaml:
        the default model entry's settings (pad token, attention) with `path` as its weights."""
        from omegaconf import OmegaConf

        model_cfg = OmegaConf.to_container(compose_config([f"paths.root={CONF.parent}"]).model, resolve=True)
        model_cfg.update(name=path, source="hub", path=path, dtype=dtype, trust_remote_code=trust_remote_code)
        return cls.zero_shot(model_cfg, judge=judge, order=order, source=path, **kwargs)

    @property
    def batch_size(self) -> int:
        return int(self.cfg.judge.batch_size)

    def info(self) -> dict:
        judge = self.cfg.judge
        return {
            "kind": self.kind,
            "objective": str(self.cfg.objective.name),
            "model": str(self.cfg.model.name),
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "source": self.source,
            "judge": {
                "style": str(judge.style),
                "order": str(judge.order),
                "k": int(judge.k),
                "temperature": float(judge.temperature),
                "close_verdict": judge.close_verdict,
            },
        }

    def judge_pairs(self, prompts: Sequence, responses_a: Sequence, responses_b: Sequence) -> list[dict]:
        """Per comparison: p_a (P(a is better)), verdict (A, B, tie or invalid), votes (CoT judges'
        counts, else None) and invalid (unparsable chains)."""
        pairs = pairs_for(prompts, responses_a, responses_b)
        records = self._judge.predict(pairs, "api") if pairs else []
        out = []
        for r in records:
            votes = r.get("votes")
            out.append(
                {
                    "p_a": float(r["p_chosen"]),
                    "verdict": _verdict_of(r),
                    "votes": {A: votes["counts_a"], B: votes["counts_b"], INVALID: votes["invalid"]} if votes else None,
                    "invalid": int(r.get("invalid", 0)),
                }
            )
        return out

    def preferences(self, prompts: Sequence, responses_a: Sequence, responses_b: Sequence) -> list[float]:
        """P(response a is better than response b) for each triple."""
        return [r["p_a"] for r in self.judge_pairs(prompts, responses_a, responses_b)]

    def preference(self, prompt, response_a, response_b) -> float:
        return self.preferences([prompt], [response_a], [response_b])[0]

    def rewards(self, prompts: Sequence, responses: Sequence) -> list[float]:
        """The scalar reward of each (prompt, response): a scalar reward model only."""
        if self.kind != "reward":
            raise ConfigError(
                f"{self.cfg.objective.name} is a pairwise judge: it has no reward of a lone response; "
                "compare against a reference (preferences, reward_fn)"
            )
        return self._judge.rewards_for(
            [([m.to_dict() for m in _messages(p)], _text(r)) for p, r in zip(prompts, responses, strict=True)]
        )

    def judge(self, prompts: Sequence, completions: Sequence[Sequence], shuffle_order: bool = True) -> list[int]:
        """TRL's pairwise-judge protocol (BasePairwiseJudge.judge): for each prompt and its two
        completions, the index of the better one. Orders follow `judge.order`, so `shuffle_order`
        is accepted for compatibility and has no further effect."""
        probs = self.preferences(prompts, [c[0] for c in completions], [c[1] for c in completions])
        return [0 if p >= 0.5 else 1 for p in probs]

    def reward_fn(self, reference_key: str = "reference") -> Callable[..., list[float]]:
        """A TRL-style reward function `f(prompts, completions, **columns) -> list[float]`: a scalar
        model's reward, or for a pairwise judge the probability that each completion beats the
        dataset's reference response in `reference_key`."""

        def reward(prompts, completions, **columns) -> list[float]:
            if self.kind == "reward":
                return self.rewards(prompts, completions)
            if reference_key not in columns:
                raise KeyError(
                    f"reward_fn needs a {reference_key!r} column with reference responses; got {sorted(columns)}"
                )
            return self.preferences(prompts, completions, columns[reference_key])

        reward.__name__ = "genrm_preference"
        return reward


GenRM = RewardModel  # the earlier name


def compose_config(overrides: list[str]):
    """conf/config.yaml with `overrides`, inside a Hydra app (which already holds conf/) or not."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose(config_name="config", overrides=overrides)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
