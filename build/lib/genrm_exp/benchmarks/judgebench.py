"""JudgeBench (ScalerLab/JudgeBench, splits gpt and claude: 350 and 270 pairs of responses by one
model, the better one objectively correct; no ties).

Upstream's rule (``utils/metrics.py: compute_final_metrics``, called by ``run_judge.py``): each
pair is judged in both orders, the second decision flipped back; each decision equal to the label
counts +1, the opposite label -1, anything else (a tie, a failed judgment) 0; the pair is right
when the sum is positive, so one right decision and one tie is right, one right and one wrong is
not. The score is the share of right pairs (upstream prints a percentage; ours is a fraction), over
all pairs and per source prefix: mmlu-pro (Knowledge), livebench-reasoning, livebench-math,
livecodebench (Coding). Judged in one order only (upstream's ``--single_game``), a pair is right
when that decision equals the label.

Here ``order_verdicts`` (two orders, "A" the chosen response) give the two decisions; a scalar
reward model's pair is right when the chosen response's reward is strictly higher (upstream's
reward-model judges give the same decision in both orders, so a tie is never right); any other
record is right when its score is 1.

    python -m pytest tests/benchmarks/test_judgebench.py -q
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genrm_exp.benchmarks.items import has_rewards, items, mean, outcome

SOURCE = "judgebench"
CATEGORIES = {
    "mmlu-pro": "knowledge",
    "livebench-reasoning": "reasoning",
    "livebench-math": "math",
    "livecodebench": "coding",
}
RULE = (
    "both orders: +1 per decision for the better response, -1 against it, 0 tie/invalid; right when the sum > 0; "
    "score = share of right pairs overall; sections by source prefix"
)


def category(subset: str) -> str | None:
    return next((name for prefix, name in CATEGORIES.items() if subset.startswith(prefix)), None)


def right(record: Mapping) -> bool:
    verdicts = record.get("order_verdicts") or []
    if len(verdicts) == 2 and not has_rewards(record):
        return sum(1 if v == "A" else -1 if v == "B" else 0 for v in verdicts) > 0
    return outcome(record) > 0


def score(pairs: Sequence, records: Sequence[Mapping]) -> dict:
    by_category: dict[str, list[bool]] = {}
    every, unknown = [], set()
    for members in items(pairs, records).values():
        for pair, record in members:
            ok = right(record)
            every.append(ok)
            name = category(pair.subset)
            if name is None:
                unknown.add(pair.subset)
            else:
                by_category.setdefault(name, []).append(ok)
    sections = {name: mean(by_category[name]) for name in CATEGORIES.values() if name in by_category}
    both = sum(len(r.get("order_verdicts") or []) == 2 for r in records)
    return {
        "score": mean(every),
        "sections": sections,
        "n_items": len(every),
        "both_orders": both,
        "partial": len(sections) < len(CATEGORIES),
        "missing_sections": [n for n in CATEGORIES.values() if n not in sections],
        "unknown_subsets": sorted(unknown),
        "rule": RULE,
    }


def _decision(verdict: str) -> str | None:
    return {"A": "A>B", "B": "B>A", "tie": "A=B"}.get(verdict)


def leaderboard_json(model_name: str, model_type: str, pairs: Sequence, records: Sequence[Mapping]) -> dict:
    """Upstream writes one JSONL line per pair (the pair's fields plus ``judge_name`` and
    ``judgments``: one ``{"decision": "A>B" | "B>A" | "A=B" | null}`` per order) and prints the
    score per source prefix. Ours: ``pairs`` holds those lines, ``scores`` what it prints (as
    fractions: Overall and each prefix). Positions are ours (response_A is the better response,
    label A>B, the second judgment is of the swapped order as upstream writes it); the score does
    not depend on them."""
    result = score(pairs, records)
    lines = []
    for pair, record in zip(pairs, records):
        verdicts = record.get("order_verdicts") or [{1: "A", -1: "B", 0: "tie"}[outcome(record)]]
        orders = record.get("orders") or ["AB"] * len(verdicts)
        judgments = []
        for v, order in zip(verdicts, orders):
            decision = _decision(v)
            if order == "BA" and decision in ("A>B", "B>A"):  # the swapped order, in its own positions
                decision = "B>A" if decision == "A>B" else "A>B"
            judgments.append({"decision": decision})
        lines.append(
            {
                "pair_id": pair.id.split(":", 1)[1],
                "source": pair.subset,
                "label": "A>B",
                "judge_name": model_type,
                "judge_model": model_name,
                "judgments": judgments,
            }
        )
    prefixes = {prefix: result["sections"][name] for prefix, name in CATEGORIES.items() if name in result["sections"]}
    return {
        "model": model_name,
        "model_type": model_type,
        "scores": {**prefixes, "Overall": result["score"]},
        "pairs": lines,
    }
