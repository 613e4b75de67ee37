"""The one vocabulary for the order in which a judge is shown a pair, and the policies that pick it.

A pair is stored as (first, second): for a scored pair, first = the chosen response. It is shown in
one of two orders:

    AB    first shown as A, second as B (a chosen-first pair shows the chosen response as A)
    BA    swapped: second shown as A

Every file and record says "AB" / "BA" (predictions' `orders`, samples.jsonl's `order`, sample keys
`<pair id>|AB`). A policy (`judge.order`, `star.order`, `objective.train_orders`, the API's `order`)
picks the orders of each pair:

    fixed       ["AB"]
    both        ["AB", "BA"] (judged twice, pooled)
    random      one order per pair drawn from (seed, pair id): the same pair, seed and policy show the
                same order in every method, run and rank
    alternate   one order per pair, exactly half of a list shown "BA" (pairs ranked by a seeded hash
                of their id, every second one swapped): balanced A/B labels for training

Standard library only (and the project's error classes).

    >>> orders_for("uf:3", seed=0, policy="both")
    ['AB', 'BA']
    >>> verdict_as_stored("A", "BA")
    'B'

Test: python -m pytest tests/test_orders.py -q
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from genrm_exp.errors import ConfigError

AB, BA = "AB", "BA"
ORDERS = (AB, BA)
POLICIES = ("random", "fixed", "both", "alternate")


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise ValueError(f"order {order!r}: expected one of {list(ORDERS)}")
    return order


def check_policy(policy: str, setting: str = "order", allowed: Sequence[str] = POLICIES) -> str:
    """`policy` if it is one of `allowed`; otherwise a ValueError naming the setting."""
    if policy not in allowed:
        raise ConfigError(f"{setting}={policy!r}: expected one of {list(allowed)}")
    return policy


def _coin(seed: int, pair_id: str) -> bool:
    return hashlib.sha256(f"{seed}\0{pair_id}".encode()).digest()[0] & 1 == 1


def orders_for(pair_id: str, seed: int, policy: str, setting: str = "judge.order") -> list[str]:
    """The orders one pair is shown in under a per-pair policy (random, fixed or both)."""
    check_policy(policy, setting, ("random", "fixed", "both"))
    if policy == "fixed":
        return [AB]
    if policy == "both":
        return [AB, BA]
    return [BA if _coin(seed, pair_id) else AB]


def orders_for_all(pair_ids: Sequence[str], seed: int, policy: str, setting: str = "order") -> list[list[str]]:
    """Orders per pair for a list: the per-pair policies, or `alternate` (exactly half swapped)."""
    check_policy(policy, setting)
    if policy != "alternate":
        return [orders_for(i, seed, policy, setting) for i in pair_ids]
    rank = sorted(range(len(pair_ids)), key=lambda i: hashlib.sha256(f"{seed}\0{pair_ids[i]}".encode()).hexdigest())
    out: list[list[str]] = [[AB] for _ in pair_ids]
    for r, i in enumerate(rank):
        if r % 2 == 1:
            out[i] = [BA]
    return out


def shown(first: str, second: str, order: str) -> tuple[str, str]:
    """(response A, response B) as the judge sees them."""
    return (first, second) if check_order(order) == AB else (second, first)


def label_as_shown(order: str) -> str:
    """The right verdict, as shown, for a pair whose first response is the better one."""
    return "A" if check_order(order) == AB else "B"


def verdict_as_stored(verdict: str, order: str) -> str:
    """A verdict on the pair as shown, mapped back to the pair as stored (A = first). Tie and
    invalid stay as they are."""
    if check_order(order) == AB or verdict not in ("A", "B"):
        return verdict
    return "B" if verdict == "A" else "A"


def prob_as_stored(p_a_shown: float, order: str) -> float:
    """P(A preferred) as shown -> P(first preferred)."""
    return p_a_shown if check_order(order) == AB else 1.0 - p_a_shown
