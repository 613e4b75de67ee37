"""The record of one judged pair (predictions/<set>.jsonl), from probabilities or sampled texts.

id, subset, orders (["AB"], ["BA"] or both, genrm_exp/orders.py), verdicts_shown (every single
verdict in the order shown: one per order for a probability, k per order for CoT),
order_verdicts (the decision of each order, in stored order), p_chosen, verdict, score
(1 / 0 / 0.5), correct, invalid (invalid single verdicts) and n_verdicts; from probabilities
also p_a_shown; from texts also texts, verdicts (in stored order), votes and score_maj1 (the
first chain of each order shown, pooled like the rest).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from genrm_exp.data.schema import Pair
from genrm_exp.metrics import score_from_prob
from genrm_exp.orders import prob_as_stored, verdict_as_stored
from genrm_exp.verdicts import INVALID, TIE, A, B, is_correct, majority_vote, parse_verdict


def verdict_from_prob(p_a: float) -> str:
    return A if p_a > 0.5 else B if p_a < 0.5 else TIE


def from_probs(
    pairs: Sequence[Pair],
    orders: Sequence[list[str]],
    probs_a_shown: Sequence[list[float]],
    extra: Sequence[dict] | None = None,
) -> list[dict]:
    """Records for a judge that gives P(A preferred) per order shown (direct scoring, PairRM).
    P(chosen) averages the orders; the verdict is the side it favours (0.5 exactly is a tie)."""
    records = []
    for i, (pair, pair_orders, probs) in enumerate(zip(pairs, orders, probs_a_shown, strict=True)):
        p_chosen_each = [prob_as_stored(p, o) for o, p in zip(pair_orders, probs, strict=True)]
        p_chosen = sum(p_chosen_each) / len(p_chosen_each)
        score = score_from_prob(p_chosen)
        records.append(
            {
                "id": pair.id,
                "subset": pair.subset,
                "orders": list(pair_orders),
                "p_a_shown": list(probs),
                "verdicts_shown": [verdict_from_prob(p) for p in probs],
                "order_verdicts": [verdict_from_prob(p) for p in p_chosen_each],
                "p_chosen": p_chosen,
                "verdict": verdict_from_prob(p_chosen),
                "score": score,
                "correct": score == 1.0,
                "invalid": 0,
                "n_verdicts": len(probs),
                **(extra[i] if extra else {}),
            }
        )
    return records


def from_texts(pairs: Sequence[Pair], orders: Sequence[list[str]], texts: Sequence[list[list[str]]]) -> list[dict]:
    """Records for a judge that writes k rationales per order shown: each is parsed, mapped back to
    the stored order and pooled into one majority vote; P(chosen) is the vote share."""
    records = []
    for pair, pair_orders, per_order in zip(pairs, orders, texts, strict=True):
        shown_v = [[parse_verdict(t) for t in samples] for samples in per_order]
        stored = [[verdict_as_stored(v, o) for v in vs] for o, vs in zip(pair_orders, shown_v, strict=True)]
        flat = [v for vs in stored for v in vs]
        vote = majority_vote(flat)
        score = is_correct(vote.winner, True)
        records.append(
            {
                "id": pair.id,
                "subset": pair.subset,
                "orders": list(pair_orders),
                "texts": [list(samples) for samples in per_order],
                "verdicts_shown": [v for vs in shown_v for v in vs],
                "verdicts": flat,
                "order_verdicts": [majority_vote(vs).winner for vs in stored],
                "votes": dataclasses.asdict(vote),
                "p_chosen": vote.prob_a,
                "verdict": vote.winner,
                "score": score,
                # maj@1: the first chain of every order shown, pooled as maj@k pools them; the
                # first chain of the first order alone would score an always-"A" judge 1.0 in
                # both orders, since the stored order (A = chosen) comes first.
                "score_maj1": is_correct(majority_vote([vs[0] for vs in stored]).winner, True),
                "correct": score == 1.0,
                "invalid": sum(v == INVALID for v in flat),
                "n_verdicts": len(flat),
            }
        )
    return records
