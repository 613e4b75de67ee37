"""The rewards of objective=grpo_judge on hand-written judgements (milliseconds, no model).

python -m pytest tests/objectives/test_judge_rewards.py -q
"""

from __future__ import annotations

import pytest

from genrm_exp.objectives.judge_rewards import REWARDS, both_orders_correct, verdict_correct, verdict_format
from genrm_exp.verdicts import verdict_closes_line


def test_rewards_are_named_as_trl_logs_them():
    assert list(REWARDS) == ["verdict_correct", "both_orders_correct", "verdict_format"]
    assert all(f.__name__ == name for name, f in REWARDS.items())


def test_correctness_reads_the_last_marker_and_gives_invalid_nothing():
    completions = ["A is vague. [[B]]", "[[B]] no, [[A]]", "no verdict", "[[a]]", "[[A]]"]
    answer = ["B", "B", "A", "A", "A"]
    assert verdict_correct(completions, answer) == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_correctness_reads_conversational_completions():
    assert verdict_correct([[{"role": "assistant", "content": "ok [[B]]"}]], ["B"]) == [1.0]


def test_a_chain_of_no_thought_is_read_after_the_closing_its_prompt_ends_in():
    """judge.max_new_tokens=0: the prompt ends in " Final verdict: [[", the completion is the rest."""
    closing = [" Final verdict: [["] * 3
    completions = ["A]]", "B]]\nmore", "A"]
    assert verdict_correct(completions, ["A", "A", "A"], closing=closing) == [1.0, 0.0, 0.0]
    assert verdict_format(completions, closing=closing) == [1.0, 1.0, 0.0]
    assert verdict_correct(completions, ["A", "A", "A"]) == [0.0, 0.0, 0.0]  # no closing: no marker


def test_consistency_is_one_only_when_right_in_both_orders():
    """Batch order partners the i-th AB completion of a pair with its i-th BA one. Pair p (two per
    order): AB[0] right & BA[0] right -> 1, 1; AB[1] right & BA[1] wrong -> 0, 0. Pair q (one per
    order): right as AB, wrong as BA -> 0, 0, though verdict_correct gives the AB one 1."""
    completions = ["[[A]]", "[[B]]", "[[A]]", "[[B]]", "[[B]]", "[[A]]"]
    pair_id = ["p", "p", "p", "p", "q", "q"]
    order = ["AB", "BA", "AB", "BA", "AB", "BA"]
    answer = ["A", "B", "A", "A", "B", "B"]
    assert verdict_correct(completions, answer) == [1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    assert both_orders_correct(completions, answer, pair_id, order) == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_consistency_refuses_a_pair_seen_in_one_order():
    with pytest.raises(ValueError, match="pair 'p' has 2 AB and 0 BA"):
        both_orders_correct(["[[A]]", "[[A]]"], ["A", "A"], ["p", "p"], ["AB", "AB"])


@pytest.mark.parametrize(
    ("text", "closes"),
    [
        ("Reasons.\n\n[[A]]", True),
        ('Final verdict: "[[B]]".\nThanks', True),
        ("**[[A]]**", True),
        ("Output [[A]] if A is better", False),
        ("[[A]]\nthen again [[B]] maybe", False),
        ("no verdict", False),
    ],
)
def test_format_rewards_a_verdict_that_closes_its_line(text, closes):
    assert verdict_closes_line(text) is closes
    assert verdict_format([text]) == [float(closes)]
