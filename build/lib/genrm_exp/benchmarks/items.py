"""Scored pairs back into benchmark items: the pairs of one group with their records, the cell of
a pair in its item, and the outcome of each comparison. Standard library only.

    groups = items(pairs, records)            # {group: [(pair, record), ...]} in input order
    outcome(record)                           # +1 chosen wins, -1 it loses, 0 tie or invalid
    best_of_n_credit([+1, +1, 0])             # 0.5: wins all but one tie, shares the top with it
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

_CELL = re.compile(r"/c(\d+)r(\d+)$")


def cell(pair_id: str) -> tuple[int, int] | None:
    """(chosen index, rejected index) of a best-of-N pair id ``<subset>:<row>/c<i>r<j>``."""
    m = _CELL.search(pair_id)
    return (int(m.group(1)), int(m.group(2))) if m else None


def row_key(group: str, subset: str) -> str:
    """The row id inside a group ``<subset>:<row id>`` (RewardBench 2's Ties: ``ref:3``)."""
    prefix = f"{subset}:"
    return group[len(prefix) :] if group.startswith(prefix) else group


def has_rewards(record: Mapping) -> bool:
    return record.get("r_chosen") is not None and record.get("r_rejected") is not None


def outcome(record: Mapping) -> int:
    """+1 when the chosen response wins, -1 when it loses, 0 for a tie or an invalid verdict. A
    scalar reward model's record is read from its two rewards (an exact tie is 0), any other from
    its score (1 / 0 / 0.5)."""
    if has_rewards(record):
        margin = float(record["r_chosen"]) - float(record["r_rejected"])
        return (margin > 0) - (margin < 0)
    score = float(record["score"])
    return 1 if score > 0.5 else -1 if score < 0.5 else 0


def items(pairs: Sequence, records: Sequence[Mapping]) -> dict[str, list[tuple]]:
    """Pairs with their records grouped by ``pair.group`` (a pair without one is its own item),
    groups and pairs in input order. Records must be one per pair, in the same order."""
    if len(pairs) != len(records):
        raise ValueError(f"{len(records)} records for {len(pairs)} pairs (expected one record per pair, same order)")
    out: dict[str, list[tuple]] = {}
    for pair, record in zip(pairs, records):
        if record.get("id", pair.id) != pair.id:
            raise ValueError(f"record {record.get('id')!r} stands where pair {pair.id!r} is (expected the same order)")
        out.setdefault(pair.group if pair.group is not None else pair.id, []).append((pair, record))
    return out


def best_of_n_credit(outcomes: Iterable[int]) -> float:
    """An item's credit from its chosen response's comparisons: 0 if it loses any, else 1 / (1 + the
    number of ties). For a scalar reward model this is RewardBench 2's rule (1 / the number of
    responses sharing the top score when the chosen one has it, else 0)."""
    outcomes = list(outcomes)
    return 0.0 if any(o < 0 for o in outcomes) else 1.0 / (1 + sum(o == 0 for o in outcomes))


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return math.fsum(values) / len(values) if values else None
