"""The verdict parser, vote, scoring convention and order mapping."""

import dataclasses
import json

import pytest

from genrm_exp.orders import verdict_as_stored
from genrm_exp.verdicts import (
    INVALID,
    TIE,
    A,
    B,
    Vote,
    closes_answer,
    is_correct,
    majority_vote,
    parse_verdict,
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
    with pytest.raises(ValueError, match="unknown verdict 'The answer is \\[\\[A\\]\\]'"):
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


QUOTING = (
    'The instructions say to output "[[A]]" if assistant A is better, "[[B]]" if assistant B is better.\n'
    "Assistant A ignores the word limit; Assistant B answers in two sentences, as asked.\n"
    "[[B]]\n"
)


def test_a_chain_quoting_the_format_stops_where_the_parser_agrees():
    """Stopping at the first marker would cut this chain at its quote of the format and read A; the
    closing rule stops at the verdict that ends its line, and the stopped text parses as the whole."""
    stopped = next(QUOTING[:n] for n in range(1, len(QUOTING) + 1) if closes_answer(QUOTING[:n]))
    assert stopped.endswith("[[B]]\n") and parse_verdict(stopped) == parse_verdict(QUOTING) == B
    first_marker = QUOTING[: QUOTING.index("[[A]]") + 5]
    assert parse_verdict(first_marker) == A and not closes_answer(first_marker)  # the old rule's lean to A
    assert not closes_answer('Format: "[[A]]" if A is better') and closes_answer("So: **[[A]]**.\n")
    assert not closes_answer("[[A]] because")  # a verdict that goes on is not closed yet


def test_closes_answer_is_monotone():
    prefixes = [QUOTING[:n] for n in range(len(QUOTING) + 1)]
    flags = [closes_answer(p) for p in prefixes]
    assert flags == sorted(flags)  # False ... False True ... True: first_stop's bisection relies on it


def test_swapped_pair_scores_against_original_label():
    """Chosen shown as B, judge says B: mapped back it picked the chosen (A in stored order)."""
    shown = parse_verdict("The second answer is right. [[B]]")
    assert is_correct(verdict_as_stored(shown, "BA"), preferred_is_a=True) == 1.0
    assert is_correct(shown, preferred_is_a=True) == 0.0
