"""Deterministic splits keyed on pair ids: a held-out slice, and equal fresh parts for STaR.

Every pair gets the key ``sha256(f"{salt}:{seed}:{pair.id}")``; sorting by that key orders the
pairs the same way whatever order they came in, so a split depends only on the ids and the seed.

    train, heldout = split_heldout(pairs, fraction=0.1, seed=0)   # heldout: round(0.1 * n) pairs
    parts = thirds(train, n_parts=3, seed=0)                      # 3 parts of len(train) // 3
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from genrm_exp.data.schema import Pair


def _key(salt: str, seed: int, pair_id: str) -> str:
    return hashlib.sha256(f"{salt}:{seed}:{pair_id}".encode()).hexdigest()


def _ranked(pairs: Sequence[Pair], salt: str, seed: int) -> list[int]:
    """Indices of ``pairs`` sorted by their hashed ids; ids must be unique."""
    ids = [p.id for p in pairs]
    if len(set(ids)) != len(ids):
        raise ValueError("pair ids must be unique to split deterministically")
    return sorted(range(len(pairs)), key=lambda i: _key(salt, seed, ids[i]))


def split_heldout(pairs: Sequence[Pair], fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """``(train, heldout)``: disjoint, together all pairs, each in input order.

    ``heldout`` holds exactly ``floor(fraction * n + 0.5)`` pairs (rounding half up), those whose
    hashed ids come first; the same ids and seed give the same split in any input order.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction is {fraction!r} (expected a number in [0, 1])")
    ranked = _ranked(pairs, "heldout", seed)
    chosen = set(ranked[: int(fraction * len(pairs) + 0.5)])
    train = [p for i, p in enumerate(pairs) if i not in chosen]
    heldout = [p for i, p in enumerate(pairs) if i in chosen]
    return train, heldout


def thirds(pairs: Sequence[Pair], n_parts: int, seed: int) -> list[list[Pair]]:
    """``n_parts`` disjoint parts of exactly ``len(pairs) // n_parts`` pairs each, in input order.

    Part ``k`` holds ranks ``[k * size, (k + 1) * size)`` of the hashed ids (a salt different from
    ``split_heldout``'s); the ``len(pairs) % n_parts`` last-ranked pairs are left out so every
    STaR iteration trains on the same amount of fresh data.
    """
    if n_parts < 1:
        raise ValueError(f"n_parts is {n_parts!r} (expected a positive integer)")
    ranked = _ranked(pairs, "parts", seed)
    size = len(pairs) // n_parts
    parts = []
    for k in range(n_parts):
        members = set(ranked[k * size : (k + 1) * size])
        parts.append([p for i, p in enumerate(pairs) if i in members])
    return parts
