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
ORDER_RULES = {
    "both": "both: each pair is judged as (a, b) and as (b, a) and P(a better) averaged, so position bias "
    "cancels; two judge calls per pair (2k chains for a CoT judge)",
    "fixed": "fixed: each pair is judged once as sent, a (the response) first; the judge's position bias "
    "stays in every reward",
    "random": "random: each pair is judged once, in an order drawn from the seed and the pair's texts; "
    "position bias averages out over many pairs only",
}


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
        model: dict | None = None,
        **judge: Any,
    ) -> RewardModel:
        """The judge a finished run ends with (judges.factory.for_run), `order` and any other
        `judge.*` values (k, batch_size, ...) overriding the run's, and `model.*` values (e.g.
        use_safetensors) its model's."""
        from genrm_exp.judges.factory import for_run

        settings = {**judge, **({"order": order} if order is not None else {})}
        overrides = {**({"judge": settings} if settings else {}), **({"model": model} if model else {})}
        judge_obj, cfg, tokenizer = for_run(run_dir, checkpoint=checkpoint, overrides=overrides or None, device=device)
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

    def order_rule(self) -> str:
        """In words: in which order(s) a pair (response, reference) is read, and what it costs."""
        scorer = str(self.cfg.objective.scorer)
        if scorer == "reward":
            return "none: a scalar reward model scores each response alone, so no order enters"
        if scorer == "classifier":
            return "both: the PairRM classifier always reads (a, b) and (b, a) and averages them"
        return ORDER_RULES[str(self.cfg.judge.order)]

    def info(self) -> dict:
        judge = self.cfg.judge
        return {
            "kind": self.kind,
            "order_rule": self.order_rule(),
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

    def fit(self, pairs: Sequence[Pair]) -> list[Pair | None]:
        """The pairs fitted as offline evaluation fits them (eval.fit within eval.max_length,
        data/fitting.py): the same text, so the same probability; None where eval.truncation=drop
        drops one."""
        from genrm_exp.data.fitting import fit_each

        return fit_each(pairs, self.tokenizer, self.cfg.eval)

    def judge_pairs(self, prompts: Sequence, responses_a: Sequence, responses_b: Sequence) -> list[dict | None]:
        """Per comparison, fitted as evaluation fits it (`fit`): p_a (P(a is better)), verdict (A, B,
        tie or invalid), votes (CoT judges' counts, else None) and invalid (unparsable chains); None
        for a pair that eval.truncation=drop drops."""
        fitted = self.fit(pairs_for(prompts, responses_a, responses_b))
        kept = [p for p in fitted if p is not None]
        records = iter(self._judge.predict(kept, "api") if kept else [])
        return [None if p is None else self._result(next(records)) for p in fitted]

    @staticmethod
    def _result(r: dict) -> dict:
        votes = r.get("votes")
        return {
            "p_a": float(r["p_chosen"]),
            "verdict": _verdict_of(r),
            "votes": {A: votes["counts_a"], B: votes["counts_b"], INVALID: votes["invalid"]} if votes else None,
            "invalid": int(r.get("invalid", 0)),
        }

    def preferences(self, prompts: Sequence, responses_a: Sequence, responses_b: Sequence) -> list[float]:
        """P(response a is better than response b) for each triple."""
        results = self.judge_pairs(prompts, responses_a, responses_b)
        _none_dropped(results, self.cfg.eval)
        return [r["p_a"] for r in results]

    def preference(self, prompt, response_a, response_b) -> float:
        return self.preferences([prompt], [response_a], [response_b])[0]

    def rewards(self, prompts: Sequence, responses: Sequence) -> list[float]:
        """The scalar reward of each (prompt, response): a scalar reward model only."""
        out = self.rewards_or_none(prompts, responses)
        _none_dropped(out, self.cfg.eval)
        return out

    def rewards_or_none(self, prompts: Sequence, responses: Sequence) -> list[float | None]:
        """`rewards`, each (prompt, response) fitted as evaluation fits a pair's text (`fit`, the
        response beside an empty one); None where eval.truncation=drop drops it."""
        if self.kind != "reward":
            raise ConfigError(
                f"{self.cfg.objective.name} is a pairwise judge: it has no reward of a lone response; "
                "compare against a reference (preferences, reward_fn)"
            )
        lone = pairs_for(prompts, responses, [""] * len(responses))
        fitted = self.fit(lone)
        kept = [p for p in fitted if p is not None]
        scores = iter(self._judge.rewards_for([(p.prompt_messages(), p.chosen) for p in kept]) if kept else [])
        return [None if p is None else float(next(scores)) for p in fitted]

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


def _none_dropped(results: Sequence, eval_cfg) -> None:
    dropped = [i for i, r in enumerate(results) if r is None]
    if dropped:
        raise ConfigError(
            f"items {dropped[:10]} exceed eval.max_length={eval_cfg.max_length} and eval.truncation=drop "
            "drops them (as evaluation does); set eval.truncation=truncate to cut them instead"
        )


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
