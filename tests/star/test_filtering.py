"""The STaR-SFT filter, the STaR-DPO pair builder and the rationalizer prompt, on hand-made samples."""

from __future__ import annotations

import pytest

from genrm_exp.star.filtering import (
    balance_verdicts,
    dpo_rows,
    hint_text,
    keys_without_right,
    sample_stats,
    sft_rows,
    split_chains,
)
from genrm_exp.star.sampling import Item


def row(pair_id: str, order: str, *texts: str) -> dict:
    return Item.make(pair_id, order, f"P[{pair_id}{order}]").row(texts)


# p1 AB: label A. Two distinct right chains (one repeated), one wrong, one invalid.
# p1 BA: label B. Only wrong chains.      p2 AB: only right.      p3 AB: only invalid.
SAMPLES = [
    row("p1", "AB", "good [[A]]", "good [[A]]", "also [[A]]", "bad [[B]]", "no verdict"),
    row("p1", "BA", "x [[A]]", "y [[A]]"),
    row("p2", "AB", "fine [[A]]"),
    row("p3", "AB", "hmm", "[[C]]"),
]


def test_label_is_the_verdict_as_shown():
    assert SAMPLES[0]["label"] == "A" and SAMPLES[1]["label"] == "B"
    assert SAMPLES[1]["verdicts"] == ["A", "A"]


def test_split_chains_dedupes_and_uses_the_one_parser():
    assert split_chains(SAMPLES[0]) == (["good [[A]]", "also [[A]]"], ["bad [[B]]"], 1)
    assert split_chains(SAMPLES[3]) == ([], [], 2)  # "[[C]]" is not a verdict
    # The last marker wins: a chain that quotes the format then commits to B is wrong for label A.
    assert split_chains(row("q", "AB", "answer [[A]] or [[B]]: [[B]]"))[1] == ["answer [[A]] or [[B]]: [[B]]"]


def test_sample_stats_yield_per_pair_and_per_key():
    s = sample_stats(SAMPLES)
    assert s["pairs"] == 3 and s["keys"] == 4
    assert s["yield"] == pytest.approx(2 / 3)  # p1 (via AB) and p2 have a right chain; p3 none
    assert s["yield_keys"] == pytest.approx(2 / 4)
    assert (s["chains"], s["right"], s["wrong"], s["invalid"], s["duplicates"]) == (10, 3, 3, 3, 1)


def test_sft_keeps_at_most_keep_right_chains_per_key_and_counts_drops():
    rows, stats = sft_rows(SAMPLES, keep=1)
    assert [(r["key"], r["completion"]) for r in rows] == [("p1|AB", "good [[A]]"), ("p2|AB", "fine [[A]]")]
    assert rows[0]["prompt"] == "P[p1AB]"
    assert stats["kept"] == 2 and stats["kept_keys"] == 2 and stats["dropped_keys_no_right"] == 2
    assert stats["kept_verdicts"] == {"A": 2, "B": 0}  # the two AB keys; no BA key had a right chain
    rows, stats = sft_rows(SAMPLES, keep=5)
    assert [r["completion"] for r in rows] == ["good [[A]]", "also [[A]]", "fine [[A]]"]  # duplicate once
    assert stats["rationale_words_mean"] == pytest.approx((2 + 2 + 2) / 3)


def test_dpo_pairs_right_against_wrong_and_counts_each_drop_reason():
    rows, stats = dpo_rows(SAMPLES, keep=3)
    assert rows == [{"key": "p1|AB", "prompt": "P[p1AB]", "chosen": "good [[A]]", "rejected": "bad [[B]]"}]
    assert stats["kept"] == 1 and stats["kept_keys"] == 1 and stats["kept_verdicts"] == {"A": 1, "B": 0}
    assert stats["dropped_keys_only_wrong"] == 1  # p1|BA
    assert stats["dropped_keys_only_right"] == 1  # p2|AB
    assert stats["dropped_keys_neither"] == 1  # p3|AB: invalid chains are neither right nor wrong


def test_dpo_keep_bounds_pairs_per_key():
    many = [row("m", "AB", "r1 [[A]]", "r2 [[A]]", "w1 [[B]]", "w2 [[B]]", "w3 [[B]]")]
    assert [(r["chosen"], r["rejected"]) for r in dpo_rows(many, keep=5)[0]] == [
        ("r1 [[A]]", "w1 [[B]]"),
        ("r2 [[A]]", "w2 [[B]]"),
    ]
    assert len(dpo_rows(many, keep=1)[0]) == 1


def test_rationalized_chains_fill_keys_without_right_and_train_on_the_plain_prompt():
    assert keys_without_right(SAMPLES) == ["p1|BA", "p3|AB"]
    hinted = [
        Item.make("p1", "BA", "HINTED", train_prompt="P[p1BA]").row(["because [[B]]", "oops [[A]]"]),
        Item.make("p3", "AB", "HINTED", train_prompt="P[p3AB]").row(["still nothing"]),
    ]
    rows, stats = sft_rows(SAMPLES, keep=1, rationalized=hinted)
    by_key = {r["key"]: r for r in rows}
    assert by_key["p1|BA"] == {
        "key": "p1|BA",
        "prompt": "P[p1BA]",
        "completion": "because [[B]]",
        "source": "rationalized",
    }
    assert "p3|AB" not in by_key  # the rationalized chain must still reach the right verdict
    assert stats["kept_rationalized"] == 1 and stats["dropped_keys_no_right"] == 1
    # For DPO a rationalized chain can be the chosen side of a key that only had wrong chains.
    rows, _ = dpo_rows(SAMPLES, keep=1, rationalized=hinted)
    assert {"key": "p1|BA", "prompt": "P[p1BA]", "chosen": "because [[B]]", "rejected": "x [[A]]"} in rows


def test_rationalizer_prompt_carries_the_known_answer(tokenizer):
    from omegaconf import OmegaConf

    from genrm_exp.prompts import render_pair

    hint = "Explain why response {winner} is better than response {loser}."
    assert hint_text(hint, "B") == "Explain why response B is better than response A."
    judge = OmegaConf.load("conf/judge/direct.yaml")
    plain = render_pair(tokenizer, judge, [{"role": "user", "content": "Q?"}], "good", "bad", "BA", open_verdict=False)
    hinted = render_pair(
        tokenizer,
        judge,
        [{"role": "user", "content": "Q?"}],
        "good",
        "bad",
        "BA",
        open_verdict=False,
        instruction=hint_text(hint, "B"),
    )
    end = "[The End of Assistant B's Answer]"
    assert hinted.replace(f"{end}\n\n{hint_text(hint, 'B')}", end) == plain  # the hint closes the user turn
    with pytest.raises(ValueError, match="label"):
        hint_text(hint, "tie")


def test_keep_must_be_positive():
    with pytest.raises(ValueError, match="keep_per_pair"):
        sft_rows(SAMPLES, keep=0)


def test_balance_keeps_as_many_a_as_b_verdicts_by_a_seeded_draw():
    """star.balance_verdicts: 3 A chains and 1 B chain kept -> 1 of each; the same draw every time."""
    samples = [row(f"p{i}", "AB", f"ok {i} [[A]]") for i in range(3)] + [row("q", "BA", "ok [[B]]")]
    rows, stats = sft_rows(samples, keep=1)
    assert stats["kept_verdicts"] == {"A": 3, "B": 1}
    balanced, after = balance_verdicts(rows, stats, text="completion", seed=0)
    assert after["kept_verdicts"] == {"A": 1, "B": 1} and after["kept"] == after["kept_keys"] == 2
    assert after["balanced_away"] == 2 and balanced[-1]["key"] == "q|BA"
    assert balanced == balance_verdicts(rows, stats, text="completion", seed=0)[0]
    draws = {balance_verdicts(rows, stats, text="completion", seed=s)[0][0]["key"] for s in range(20)}
    assert len(draws) > 1  # the seed decides which A row stays
    pairs, pair_stats = dpo_rows([row("d", "AB", "r [[A]]", "w [[B]]")], keep=1)
    _, pair_after = balance_verdicts(pairs, pair_stats, text="chosen", seed=0)  # chosen says A
    assert pair_after["kept_verdicts"] == {"A": 0, "B": 0}
