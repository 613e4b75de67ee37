"""Held-out split and STaR parts: deterministic, disjoint, independent of input order."""

from __future__ import annotations

import random

import pytest

from genrm_exp.data.schema import Message, Pair
from genrm_exp.data.splits import split_heldout, thirds


def make_pairs(n: int) -> list[Pair]:
    return [Pair(f"s:{i}", (Message("user", f"q{i}"),), "a", "b", "s", "s") for i in range(n)]


def ids(pairs) -> list[str]:
    return [p.id for p in pairs]


def test_heldout_is_deterministic_disjoint_and_order_free():
    pairs = make_pairs(101)
    train, heldout = split_heldout(pairs, 0.1, seed=3)
    assert len(heldout) == 10 and len(train) == 91  # floor(0.1 * 101 + 0.5) = 10
    assert set(ids(train)).isdisjoint(ids(heldout)) and set(ids(train)) | set(ids(heldout)) == set(ids(pairs))
    assert ids(heldout) == sorted(ids(heldout), key=lambda i: int(i[2:]))  # kept in input order
    shuffled = random.Random(0).sample(pairs, len(pairs))
    assert set(ids(split_heldout(shuffled, 0.1, seed=3)[1])) == set(ids(heldout))
    assert split_heldout(pairs, 0.1, seed=3) == (train, heldout)
    assert set(ids(split_heldout(pairs, 0.1, seed=4)[1])) != set(ids(heldout))


def test_heldout_rounds_half_up_and_covers_the_ends():
    assert len(split_heldout(make_pairs(5), 0.5, seed=0)[1]) == 3  # 2.5 -> 3
    assert split_heldout(make_pairs(4), 0.0, seed=0)[1] == []
    assert split_heldout(make_pairs(4), 1.0, seed=0)[0] == []


def test_thirds_are_equal_fresh_and_order_free():
    pairs = make_pairs(100)
    parts = thirds(pairs, n_parts=3, seed=1)
    assert [len(p) for p in parts] == [33, 33, 33]  # 100 // 3; the last-ranked pair is left out
    flat = [i for part in parts for i in ids(part)]
    assert len(set(flat)) == 99
    shuffled = random.Random(1).sample(pairs, len(pairs))
    assert [set(ids(p)) for p in thirds(shuffled, 3, seed=1)] == [set(ids(p)) for p in parts]


def test_split_errors():
    with pytest.raises(ValueError, match="unique"):
        split_heldout(make_pairs(3) + make_pairs(1), 0.5, seed=0)
    with pytest.raises(ValueError, match=r"fraction is 1.5 \(expected a number in \[0, 1\]\)"):
        split_heldout(make_pairs(3), 1.5, seed=0)
    with pytest.raises(ValueError, match=r"n_parts is 0 \(expected a positive integer\)"):
        thirds(make_pairs(3), 0, seed=0)


def test_no_instruction_lands_on_both_sides_of_the_heldout_split(tmp_path):
    """UltraInteract_pair in its Hub schema: several pairs per instruction (one preference tree,
    `parent_id`), plus a file that repeats a prompt text. The held-out split takes whole groups."""
    import json

    from genrm_exp.data.loaders import load_pairs

    rows = []
    for tree in range(12):
        for turn in range(1 + tree % 4):  # 1 to 4 pairs per instruction
            trajectory = [{"from": "user", "value": f"Solve problem {tree}."}]
            if turn:
                trajectory += [{"from": "assistant", "value": f"Attempt {turn}"}, {"from": "user", "value": "Try again."}]
            rows.append({"id": f"t{tree}-{turn}", "parent_id": f"inst{tree}", "task": "Math_CoT", "dataset": "gsm8k",
                         "trajectory": trajectory, "chosen": f"right {tree}.{turn}", "rejected": f"wrong {tree}.{turn}"})
    path = tmp_path / "ui.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs, _ = load_pairs({"format": "ultrainteract", "path": str(path)})
    assert len({p.group for p in pairs}) == 12 and pairs[0].group == "ultrainteract:inst0"
    for seed in range(5):
        train, heldout = split_heldout(pairs, 0.25, seed=seed)
        assert {p.group for p in train}.isdisjoint({p.group for p in heldout}), seed
        assert len(heldout) >= round(0.25 * len(pairs)) and len(train) + len(heldout) == len(pairs)
    # Without a group id, the prompt text is the group: a repeated prompt stays on one side.
    repeated = [Pair(f"r:{i}", (Message("user", f"q{i % 7}"),), f"a{i}", f"b{i}", "r", "r") for i in range(30)]
    for seed in range(5):
        train, heldout = split_heldout(repeated, 0.2, seed=seed)
        assert {p.question for p in train}.isdisjoint({p.question for p in heldout}), seed


def test_a_cap_keeps_best_of_n_items_whole():
    from genrm_exp.data.splits import cap_whole_items

    items = [Pair(f"b:{i}/{j}", (Message("user", f"q{i}"),), "c", f"r{j}", "b", "b", f"b:{i}") for i in range(4) for j in range(3)]
    assert [p.id for p in cap_whole_items(items, 7)] == [p.id for p in items[:6]]  # two whole items, not 7 pairs
    assert len(cap_whole_items(items, 2)) == 3  # the first item whole, even over the cap
    loose = make_pairs(5)
    assert cap_whole_items(loose, 3) == loose[:3]  # ungrouped pairs: a plain cap
