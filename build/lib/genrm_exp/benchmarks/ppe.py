"""PPE, Preference Proxy Evaluations (lmarena-ai): human-preference pairs from Chatbot Arena
(lmarena-ai/PPE-Human-Preference-V1, split test) and best-of-K correctness sets
(lmarena-ai/PPE-{MMLU-Pro,MATH,GPQA,IFEval,MBPP-Plus}-Best-of-K, split train: one question
answered K times by one model, each answer graded correct or not).

Human preference (format ``ppe_human``, source ``ppe_human``): the accuracy of the judge against
the human vote, ties dropped at loading; a judge's tie counts 0.5.

Correctness (format ``ppe_correctness``, source ``ppe_correctness``, one set per benchmark named
by its subset): the pairs are each row's ``sampled_conflict_pairs`` (a correct answer against a
wrong one); a benchmark's accuracy is the mean score over them and the score the plain mean over
the benchmarks evaluated. For a scalar reward model also ``best_of_k``: per row, whether the answer
it rewards most is correct (a shared top splits the credit), averaged per benchmark.

These rules follow the PPE paper (arXiv 2410.14872); PPE's own scoring code (github.com/lmarena-ai/
PPE) could not be read here, so its other metrics (per-model Spearman / Kendall correlations,
separability, Brier score, best-of-K curves over K, ROC AUC) are not computed, and best-of-K here
ranks only the answers that appear in the sampled conflict pairs, not all K.

    python -m pytest tests/benchmarks/test_ppe.py -q
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genrm_exp.benchmarks.items import best_of_n_credit, cell, has_rewards, items, mean, outcome

HUMAN, CORRECTNESS = "ppe_human", "ppe_correctness"
BENCHMARKS = ("mmlu_pro", "math", "gpqa", "ifeval", "mbpp_plus")
HUMAN_RULE = "accuracy against the human vote over non-tie pairs (a judge's tie counts 0.5), per subset and overall"
CORRECTNESS_RULE = (
    "accuracy over each row's sampled conflict pairs, per benchmark; score = mean over benchmarks; "
    "best_of_k (scalar rewards): is the top-rewarded answer of a row correct"
)


def _accuracy_by_subset(pairs: Sequence, records: Sequence[Mapping]) -> tuple[dict[str, float], list[float]]:
    by_subset: dict[str, list[float]] = {}
    every = []
    for members in items(pairs, records).values():
        for pair, record in members:
            value = (outcome(record) + 1) / 2
            every.append(value)
            by_subset.setdefault(pair.subset, []).append(value)
    return {s: mean(v) for s, v in by_subset.items()}, every


def human_score(pairs: Sequence, records: Sequence[Mapping]) -> dict:
    sections, every = _accuracy_by_subset(pairs, records)
    return {"score": mean(every), "sections": sections, "n_items": len(every), "rule": HUMAN_RULE}


def top_answer_correct(members: list[tuple]) -> float | None:
    """Share of correct answers among those sharing the top reward, over the answers of one row seen
    in its pairs (chosen = correct); None without rewards."""
    rewards: dict[tuple[str, int], float] = {}
    for pair, record in members:
        where = cell(pair.id)
        if where is None or not has_rewards(record):
            return None
        rewards[("correct", where[0])] = float(record["r_chosen"])
        rewards[("wrong", where[1])] = float(record["r_rejected"])
    top = max(rewards.values())
    best = [kind for kind, r in rewards.items() if r == top]
    return sum(kind[0] == "correct" for kind in best) / len(best)


def correctness_score(pairs: Sequence, records: Sequence[Mapping]) -> dict:
    sections, every = _accuracy_by_subset(pairs, records)
    best, all_right = {}, {}
    for members in items(pairs, records).values():
        subset = members[0][0].subset
        best.setdefault(subset, []).append(top_answer_correct(members))
        all_right.setdefault(subset, []).append(best_of_n_credit(outcome(r) for _, r in members) == 1.0)
    ordered = [b for b in BENCHMARKS if b in sections] + sorted(set(sections) - set(BENCHMARKS))
    out = {
        "score": mean(sections[s] for s in ordered),
        "sections": {s: sections[s] for s in ordered},
        "n_items": sum(len(v) for v in best.values()),
        "n_pairs": len(every),
        "items_all_right": {s: mean(all_right[s]) for s in ordered},
        "partial": any(b not in sections for b in BENCHMARKS),
        "missing_sections": [b for b in BENCHMARKS if b not in sections],
        "rule": CORRECTNESS_RULE,
    }
    if all(v is not None for vs in best.values() for v in vs):
        out["best_of_k"] = {s: mean(best[s]) for s in ordered}
    return out


def leaderboard_json(
    source: str, model_name: str, model_type: str, pairs: Sequence, records: Sequence[Mapping]
) -> dict:
    """Not PPE's own layout (its code could not be read here): model, model_type, the benchmark
    and our numbers, named as in ``score``."""
    result = (human_score if source == HUMAN else correctness_score)(pairs, records)
    keep = ("score", "sections", "n_items", "best_of_k", "items_all_right")
    return {
        "model": model_name,
        "model_type": model_type,
        "benchmark": source,
        **{k: result[k] for k in keep if k in result},
    }
