"""Deterministic splits: a held-out slice that no prompt straddles, and equal fresh parts for STaR.

A held-out split is made of whole prompt groups (`group_key`): the pair's `group` where its source
names one (UltraInteract's instruction `parent_id`), else its prompt text, so an instruction with
several pairs (a preference tree, or a file that repeats a prompt) lands on one side only. Groups
are ordered by ``sha256(f"heldout:{seed}:{group key}")``, so a split depends only on the data and
the seed, not on the input order.

    train, heldout = split_heldout(pairs, fraction=0.1, seed=0)   # about 10% of the pairs, whole groups
    parts = thirds(train, n_parts=3, seed=0)                      # 3 parts of len(train) // 3
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from genrm_exp.data.schema import Pair
from genrm_exp.errors import ConfigError


def _key(salt: str, seed: int, pair_id: str) -> str:
    return hashlib.sha256(f"{salt}:{seed}:{pair_id}".encode()).hexdigest()


def group_key(pair: Pair) -> str:
    """What a split keeps together: the source's group id, else the prompt (all its messages)."""
    if pair.group is not None:
        return f"group\0{pair.group}"
    return "prompt\0" + json.dumps(pair.prompt_messages(), ensure_ascii=False)


def _ranked(pairs: Sequence[Pair], salt: str, seed: int) -> list[int]:
    """Indices of ``pairs`` sorted by their hashed ids; ids must be unique."""
    ids = [p.id for p in pairs]
    if len(set(ids)) != len(ids):
        raise ValueError("pair ids must be unique to split deterministically")
    return sorted(range(len(pairs)), key=lambda i: _key(salt, seed, ids[i]))


def split_heldout(pairs: Sequence[Pair], fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """``(train, heldout)``: disjoint, together all pairs, each in input order, no group on both sides.

    Groups are taken in hashed order until ``heldout`` holds at least ``floor(fraction * n + 0.5)``
    pairs (rounding half up); with one pair per group that is exactly that many. The same data and
    seed give the same split in any input order.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"fraction is {fraction!r} (expected a number in [0, 1])")
    if len({p.id for p in pairs}) != len(pairs):
        raise ValueError("pair ids must be unique to split deterministically")
    members: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        members.setdefault(group_key(p), []).append(i)
    target = int(fraction * len(pairs) + 0.5)
    chosen: set[int] = set()
    for key in sorted(members, key=lambda k: _key("heldout", seed, k)):
        if len(chosen) >= target:
            break
        chosen.update(members[key])
    train = [p for i, p in enumerate(pairs) if i not in chosen]
    heldout = [p for i, p in enumerate(pairs) if i in chosen]
    return train, heldout


def cap_whole_items(pairs: Sequence[Pair], limit: int) -> list[Pair]:
    """The first pairs of a set up to `limit`, taken item by item: pairs sharing a `group` (a
    best-of-N item, an RM-Bench prompt's style pairs) are kept or left out together, so a cap never
    scores half an item. The first item is kept whole even when it alone is over `limit`."""
    kept: list[Pair] = []
    order: list[str] = []
    members: dict[str, list[Pair]] = {}
    for p in pairs:
        key = p.group if p.group is not None else f"pair\0{p.id}"
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(p)
    for key in order:
        if kept and len(kept) + len(members[key]) > limit:
            break
        kept += members[key]
    return kept


def thirds(pairs: Sequence[Pair], n_parts: int, seed: int) -> list[list[Pair]]:
    """``n_parts`` disjoint parts of exactly ``len(pairs) // n_parts`` pairs each, in input order.

    Part ``k`` holds ranks ``[k * size, (k + 1) * size)`` of the hashed ids (a salt different from
    ``split_heldout``'s); the ``len(pairs) % n_parts`` last-ranked pairs are left out so every
    STaR iteration trains on the same amount of fresh data. Parts are all training data, so a prompt
    seen in two parts leaks nothing into evaluation.
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
