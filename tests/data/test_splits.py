"""Held-out split and STaR parts: deterministic, disjoint, independent of input order."""

from __future__ import annotations

import random

import pytest

from genrm_exp.data.schema import Message, Pair
from genrm_exp.data.splits import fresh_parts, sample_whole_items, split_heldout


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


def test_fresh_parts_are_balanced_disjoint_and_order_free():
    pairs = make_pairs(100)
    parts = fresh_parts(pairs, n_parts=3, seed=1)
    assert sorted(len(p) for p in parts) == [33, 33, 34]  # every pair, sizes within one pair
    flat = [i for part in parts for i in ids(part)]
    assert sorted(flat) == sorted(ids(pairs))
    assert all(ids(p) == sorted(ids(p), key=lambda i: int(i[2:])) for p in parts)  # input order
    shuffled = random.Random(1).sample(pairs, len(pairs))
    assert [set(ids(p)) for p in fresh_parts(shuffled, 3, seed=1)] == [set(ids(p)) for p in parts]


def test_no_instruction_is_trained_on_in_two_star_iterations():
    """UltraInteract-like groups (several pairs per instruction) and a repeated prompt text: each
    group lands in one part, and the parts stay within a group's size of each other."""
    pairs = [
        Pair(f"ui:{t}-{j}", (Message("user", f"task {t}"),), f"good {j}", f"bad {j}", "ui", "ui", f"ui:{t}")
        for t in range(20)
        for j in range(1 + t % 4)
    ]
    pairs += [Pair(f"rep:{j}", (Message("user", "the same question"),), f"a{j}", f"b{j}", "s", "s") for j in range(3)]
    parts = fresh_parts(pairs, 3, seed=0)
    for a in range(3):
        for b in range(a + 1, 3):
            assert {p.question for p in parts[a]}.isdisjoint({p.question for p in parts[b]})
    sizes = [len(p) for p in parts]
    assert sum(sizes) == len(pairs) and max(sizes) - min(sizes) <= 4


def test_split_errors():
    with pytest.raises(ValueError, match="unique"):
        split_heldout(make_pairs(3) + make_pairs(1), 0.5, seed=0)
    with pytest.raises(ValueError, match=r"fraction is 1.5 \(expected a number in \[0, 1\]\)"):
        split_heldout(make_pairs(3), 1.5, seed=0)
    with pytest.raises(ValueError, match=r"n_parts is 0 \(expected a positive integer\)"):
        fresh_parts(make_pairs(3), 0, seed=0)


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
                trajectory += [
                    {"from": "assistant", "value": f"Attempt {turn}"},
                    {"from": "user", "value": "Try again."},
                ]
            rows.append(
                {
                    "id": f"t{tree}-{turn}",
                    "parent_id": f"inst{tree}",
                    "task": "Math_CoT",
                    "dataset": "gsm8k",
                    "trajectory": trajectory,
                    "chosen": f"right {tree}.{turn}",
                    "rejected": f"wrong {tree}.{turn}",
                }
            )
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
    items = [
        Pair(f"b:{i}/{j}", (Message("user", f"q{i}"),), "c", f"r{j}", "b", "b", f"b:{i}")
        for i in range(4)
        for j in range(3)
    ]
    capped = sample_whole_items(items, 7, seed=0)
    assert len(capped) == 6  # two whole items, not 7 pairs
    assert all(sum(p.group == f"b:{i}" for p in capped) in (0, 3) for i in range(4))
    assert len(sample_whole_items(items, 2, seed=0)) == 3  # the first item whole, even over the cap
    loose = make_pairs(5)
    assert len(sample_whole_items(loose, 3, seed=0)) == 3


def test_a_cap_samples_every_subset_in_proportion_and_by_seed():
    """JudgeBench's shape: 154 / 98 / 56 / 42 pairs in four sources, listed one source after the
    other. A cap of 120 takes each source in proportion (not the first 120 rows, all mmlu-pro), the
    same pairs in any input order, other pairs under another seed."""
    counts = {"mmlu-pro": 154, "livebench-reasoning": 98, "livebench-math": 56, "livecodebench": 42}
    pairs = [
        Pair(f"{s}:{i}", (Message("user", f"{s} {i}"),), "c", "r", "judgebench", s)
        for s, n in counts.items()
        for i in range(n)
    ]
    capped = sample_whole_items(pairs, 120, seed=0)
    got = {s: sum(p.subset == s for p in capped) for s in counts}
    assert sum(got.values()) == 120
    assert all(abs(got[s] - 120 * n / 350) <= 1 for s, n in counts.items()), got
    assert ids(capped) == [i for i in ids(pairs) if i in set(ids(capped))]  # input order
    shuffled = random.Random(0).sample(pairs, len(pairs))
    assert set(ids(sample_whole_items(shuffled, 120, seed=0))) == set(ids(capped))
    assert set(ids(sample_whole_items(pairs, 120, seed=1))) != set(ids(capped))
