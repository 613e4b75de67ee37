"""Deterministic splits: a held-out slice and STaR's fresh parts that no prompt straddles, and caps.

A held-out split is made of whole prompt groups (`group_key`): the pair's `group` where its source
names one (UltraInteract's instruction `parent_id`), else its prompt text, so an instruction with
several pairs (a preference tree, or a file that repeats a prompt) lands on one side only. Groups
are ordered by ``sha256(f"heldout:{seed}:{group key}")``, so a split depends only on the data and
the seed, not on the input order.

    train, heldout = split_heldout(pairs, fraction=0.1, seed=0)   # about 10% of the pairs, whole groups
    parts = fresh_parts(train, n_parts=3, seed=0)                 # STaR's iterations: 3 parts of whole groups
    capped = sample_whole_items(heldout, limit=120, seed=0)       # eval.max_pairs_per_set: whole items, every subset
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


def item_key(pair: Pair) -> str:
    """The item a pair is scored in: its group (a best-of-N item, an RM-Bench prompt's style pairs),
    else the pair alone."""
    return pair.group if pair.group is not None else f"pair\0{pair.id}"


def sample_whole_items(pairs: Sequence[Pair], limit: int, seed: int) -> list[Pair]:
    """At most `limit` pairs of a set (eval.max_pairs_per_set), as a seeded sample of whole items
    spread over the set's subsets in proportion to their sizes, kept in input order. Items (pairs
    sharing a `group`) are kept or left out together, so a cap never scores half an item; within a
    subset items are taken in the order of ``sha256(f"cap:{seed}:{item}")``, and the next item always
    goes to the subset holding the smallest share of its own pairs so far. An item that no longer
    fits closes its subset. The first item is kept whole even when it alone is over `limit`. The
    same set and seed give the same sample in any input order."""
    members: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        members.setdefault(item_key(p), []).append(i)
    by_subset: dict[str, list[str]] = {}
    for key, idx in members.items():
        by_subset.setdefault(pairs[idx[0]].subset, []).append(key)
    queues = {s: sorted(keys, key=lambda k: _key("cap", seed, k)) for s, keys in by_subset.items()}
    size = {s: sum(len(members[k]) for k in keys) for s, keys in by_subset.items()}
    taken = dict.fromkeys(queues, 0)
    kept: set[int] = set()
    while queues:
        subset = min(queues, key=lambda s: (taken[s] / size[s], s))
        item = members[queues[subset][0]]
        if kept and len(kept) + len(item) > limit:
            del queues[subset]
            continue
        kept.update(item)
        taken[subset] += len(item)
        queues[subset].pop(0)
        if not queues[subset]:
            del queues[subset]
    return [p for i, p in enumerate(pairs) if i in kept]


def fresh_parts(pairs: Sequence[Pair], n_parts: int, seed: int) -> list[list[Pair]]:
    """``n_parts`` disjoint parts that together hold every pair, each in input order, made of whole
    prompt groups (`group_key`, as the held-out split), so no instruction is trained on in two STaR
    iterations. Groups are taken in the order of ``sha256(f"parts:{seed}:{group}")`` and each goes to
    the part with the fewest pairs so far (the lowest index on a tie): parts differ in size by at most
    the largest group (by at most one pair when every group is one pair). The same data and seed give
    the same parts in any input order."""
    if n_parts < 1:
        raise ConfigError(f"n_parts is {n_parts!r} (expected a positive integer)")
    if len({p.id for p in pairs}) != len(pairs):
        raise ValueError("pair ids must be unique to split deterministically")
    members: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        members.setdefault(group_key(p), []).append(i)
    part_of: dict[int, int] = {}
    sizes = [0] * n_parts
    for key in sorted(members, key=lambda k: _key("parts", seed, k)):
        k = min(range(n_parts), key=lambda j: (sizes[j], j))
        sizes[k] += len(members[key])
        part_of.update((i, k) for i in members[key])
    return [[p for i, p in enumerate(pairs) if part_of[i] == k] for k in range(n_parts)]
