"""Chain-of-thought judging: k sampled rationales per order shown, each parsed by the one verdict
parser and pooled into a majority vote (maj@k); P(chosen) is the vote share.

    judge = CoTJudge(Generator.from_judge(model, tokenizer, cfg.judge), tokenizer, cfg.judge, seed=cfg.seed)
    records = judge.predict(pairs, "heldout")   # genrm_exp/judges/records.py; adds closed with judge.close_verdict

Test: python -m pytest tests/judges/test_judges.py -q
"""

from __future__ import annotations

from collections.abc import Sequence

from genrm_exp.data.schema import Pair
from genrm_exp.judges.direct import DirectJudge
from genrm_exp.judges.records import from_texts
from genrm_exp.orders import orders_for
from genrm_exp.prompts import check_judge_cfg, render_pair
from genrm_exp.sampling.closing import close_verdicts
from genrm_exp.sampling.generation import Generator, SamplingParams


class CoTJudge:
    """k sampled rationales per order shown, each ending in [[A]] or [[B]]; majority vote. With
    judge.close_verdict set, chains without a verdict are closed first (genrm_exp/sampling/closing.py) and
    records count them in `closed`."""

    rewardbench_model_type = "Generative RM"

    def __init__(self, generator: Generator, tokenizer, judge_cfg, *, seed: int):
        check_judge_cfg(judge_cfg)
        orders_for("", seed, judge_cfg["order"])
        self.generator, self.tokenizer, self.judge_cfg, self.seed = generator, tokenizer, judge_cfg, int(seed)
        self.params = SamplingParams.from_judge(judge_cfg, seed=seed)

    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        orders = [orders_for(p.id, self.seed, self.judge_cfg["order"]) for p in pairs]
        prompts = [
            render_pair(
                self.tokenizer, self.judge_cfg, p.prompt_messages(), p.chosen, p.rejected, o, open_verdict=False
            )
            for p, oo in zip(pairs, orders)
            for o in oo
        ]
        sampled = self.generator.sample(prompts, self.params, desc=f"judge {set_name}")
        closed = None
        if self.judge_cfg["close_verdict"] is not None:
            scorer = DirectJudge(self.generator.model, self.tokenizer, self.judge_cfg, seed=self.seed)
            sampled, closed = close_verdicts(
                scorer,
                prompts,
                sampled,
                close=str(self.judge_cfg["close_verdict"]),
                temperature=float(self.judge_cfg["temperature"]),
                seed=self.seed,
                setting="judge.close_verdict",
            )
        flat = iter(sampled)
        texts = [[next(flat) for _ in oo] for oo in orders]
        records = from_texts(pairs, orders, texts)
        if closed is not None:
            flat_closed = iter(closed)
            for record, oo in zip(records, orders):
                record["closed"] = sum(sum(next(flat_closed)) for _ in oo)
        return records
