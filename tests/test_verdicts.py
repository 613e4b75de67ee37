"""The verdict parser, vote, scoring convention and order mapping."""

import dataclasses
import json

import pytest

from genrm_exp.verdicts import (
    INVALID,
    TIE,
    A,
    B,
    Vote,
    is_correct,
    majority_vote,
    parse_verdict,
    to_original_order,
    verdict_for_label,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Assistant A is more accurate. [[A]]", A),
        ("[[B]]", B),
        ("I first thought [[A]] but on reflection [[B]]", B),
        ("I first thought [[B]] but on reflection [[A]]", A),
        (
            'Reply "[[A]]" if A is better, "[[B]]" if B is. A misses the point. Verdict: [[B]]',
            B,
        ),
        ("[[A]] is my verdict. Explanation: B ignored the question.", A),
        ("[[A]][[B]]", B),
        ("[[B]][[A]]", A),
        ("[[[A]]]", A),
        ("[[A]]]] trailing", A),
        ("Final: [[A]]\n\nNote: I would not choose [[b]].", A),
    ],
)
def test_parse_verdict_last_well_formed_marker_wins(text, expected):
    assert parse_verdict(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Both are fine.",
        "[[a]]",
        "[[b]]",
        "[[ A ]]",
        "[[C]]",
        "[A]",
        "[[A]",
        "[A]]",
        "[[AB]]",
        "A",
        "[[tie]]",
    ],
)
def test_parse_verdict_without_well_formed_marker_is_invalid(text):
    assert parse_verdict(text) == INVALID


def test_vote_majority_ignores_invalid_and_reports_share():
    vote = majority_vote([A, B, A, INVALID, A])
    assert (vote.counts_a, vote.counts_b, vote.invalid) == (3, 1, 1)
    assert vote.winner == A
    assert vote.prob_a == pytest.approx(0.75)
    assert vote.share_a == vote.prob_a


def test_vote_tie_has_no_winner_and_scores_half():
    vote = majority_vote([A, B, INVALID, B, A])
    assert vote.winner == TIE
    assert vote.prob_a == 0.5
    assert is_correct(vote.winner, preferred_is_a=True) == 0.5


def test_vote_with_only_invalid_or_nothing_is_invalid():
    for verdicts in ([INVALID, INVALID], []):
        vote = majority_vote(verdicts)
        assert vote.winner == INVALID
        assert vote.prob_a == 0.5


def test_vote_minority_b_wins_for_b():
    assert majority_vote([B, B, A]).winner == B
    assert majority_vote([B, B, A]).prob_a == pytest.approx(1 / 3)


def test_vote_is_json_friendly():
    vote = majority_vote([A, A, B])
    assert json.loads(json.dumps(dataclasses.asdict(vote))) == {
        "counts_a": 2,
        "counts_b": 1,
        "invalid": 0,
        "winner": "A",
        "prob_a": pytest.approx(2 / 3),
    }
    assert Vote(counts_a=2, counts_b=1, invalid=0) == vote


def test_vote_rejects_unparsed_text():
    with pytest.raises(
        ValueError, match="unknown verdict 'The answer is \\[\\[A\\]\\]'"
    ):
        majority_vote([A, "The answer is [[A]]"])


def test_is_correct_and_label():
    assert verdict_for_label(True) == A
    assert verdict_for_label(False) == B
    assert is_correct(A, preferred_is_a=True) == 1.0
    assert is_correct(B, preferred_is_a=True) == 0.0
    assert is_correct(B, preferred_is_a=False) == 1.0
    assert is_correct(A, preferred_is_a=False) == 0.0
    assert is_correct(INVALID, preferred_is_a=True) == 0.5
    assert is_correct(INVALID, preferred_is_a=False) == 0.5


def test_to_original_order_swaps_only_when_shown_swapped():
    assert to_original_order(A, swapped=False) == A
    assert to_original_order(A, swapped=True) == B
    assert to_original_order(B, swapped=True) == A
    assert to_original_order(INVALID, swapped=True) == INVALID
    assert to_original_order(TIE, swapped=True) == TIE


def test_swapped_pair_scores_against_original_label():
    """Chosen shown as B, judge says B: mapped back it picked the chosen (A in stored order)."""
    shown = parse_verdict("The second answer is right. [[B]]")
    assert (
        is_correct(to_original_order(shown, swapped=True), preferred_is_a=True) == 1.0
    )
    assert is_correct(shown, preferred_is_a=True) == 0.0
