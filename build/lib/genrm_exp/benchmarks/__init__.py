"""Benchmark scoring from judged pairs, and each benchmark's own results layout.

Pure: standard library and the pairs' fields only, so the tests run in milliseconds. ``BENCHMARKS``
is keyed by the ``Pair.source`` that each benchmark's eval option stamps (conf/eval/*.yaml).

    result = score("rmbench", pairs, records)  # {"score", "sections", "n_items", "rule", ...extras}
    layout = leaderboard_json("rmbench", "my-model", "Seq. Classifier", pairs, records)

``records`` are one per pair, in the pairs' order, as genrm_exp/judges write them: ``id``,
``subset``, ``score`` (1 / 0 / 0.5 tie or invalid), ``p_chosen``; scalar reward models add
``r_chosen`` and ``r_rejected`` (then used in place of ``score``); pairwise judges judged in both
orders add ``orders`` and ``order_verdicts`` ("A" = the chosen response). Best-of-N items are the
pairs sharing a ``Pair.group``; an item is right when its chosen response wins every comparison.

| source | benchmark | module |
|---|---|---|
| rewardbench | allenai/reward-bench | rewardbench |
| rewardbench2 | allenai/reward-bench-2 | rewardbench2 |
| rmbench | THU-KEG/RM-Bench | rmbench |
| judgebench | ScalerLab/JudgeBench | judgebench |
| ppe_human | lmarena-ai/PPE-Human-Preference-V1 | ppe |
| ppe_correctness | lmarena-ai/PPE-*-Best-of-K | ppe |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from genrm_exp.benchmarks import judgebench, ppe, rewardbench, rewardbench2, rmbench


@dataclass(frozen=True)
class Benchmark:
    """``score(pairs, records)`` and ``leaderboard(model_name, model_type, pairs, records)``;
    ``orders``: the order policy its rule needs of a pairwise judge (``"both"``: JudgeBench scores
    both orders of every pair), None when any does; a run with another ``judge.order`` is refused."""

    hub: str
    score: Callable[[Sequence, Sequence[Mapping]], dict]
    leaderboard: Callable[[str, str, Sequence, Sequence[Mapping]], dict]
    orders: str | None = None


BENCHMARKS: dict[str, Benchmark] = {
    rewardbench.SOURCE: Benchmark("allenai/reward-bench", rewardbench.score, rewardbench.leaderboard_json),
    rewardbench2.SOURCE: Benchmark("allenai/reward-bench-2", rewardbench2.score, rewardbench2.leaderboard_json),
    rmbench.SOURCE: Benchmark("THU-KEG/RM-Bench", rmbench.score, rmbench.leaderboard_json),
    judgebench.SOURCE: Benchmark("ScalerLab/JudgeBench", judgebench.score, judgebench.leaderboard_json, orders="both"),
    ppe.HUMAN: Benchmark(
        "lmarena-ai/PPE-Human-Preference-V1", ppe.human_score, partial(ppe.leaderboard_json, ppe.HUMAN)
    ),
    ppe.CORRECTNESS: Benchmark(
        "lmarena-ai/PPE-*-Best-of-K", ppe.correctness_score, partial(ppe.leaderboard_json, ppe.CORRECTNESS)
    ),
}


def _get(source: str) -> Benchmark:
    if source not in BENCHMARKS:
        raise KeyError(f"no benchmark scores source {source!r} (expected one of {sorted(BENCHMARKS)})")
    return BENCHMARKS[source]


def score(source: str, pairs: Sequence, records: Sequence[Mapping]) -> dict:
    """{"score": float | None, "sections": {name: float}, "n_items": int, "rule": str, ...extras}."""
    return _get(source).score(pairs, records)


def leaderboard_json(
    source: str, model_name: str, model_type: str, pairs: Sequence, records: Sequence[Mapping]
) -> dict:
    """The benchmark's own results layout (see each module), for ``<source>_results.json``."""
    return _get(source).leaderboard(model_name, model_type, pairs, records)
