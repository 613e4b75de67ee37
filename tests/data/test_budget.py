"""Token budgets on hand-made id lists; the arithmetic follows the policy in budget.py.

``M`` is max_tokens, ``P`` the prompt length, ``R_i`` the response lengths. Together:
prompt keeps ``min(P, max(M - sum R, M // 2))`` (its last tokens), the responses share the rest,
shortest first, each ``min(R_i, floor(left / responses left))``. Separate: prompt keeps
``min_i min(P, max(M - R_i, M // 2))`` and each response ``min(R_i, M - kept prompt)``.
"""

from __future__ import annotations

import pytest

from genrm_exp.data.budget import Budget, TruncationCounter, fit_pair_text, fit_token_ids, truncate_pair_text
from genrm_exp.data.schema import Message, Pair


def test_nothing_is_cut_when_it_fits():
    r = fit_token_ids([1, 2, 3], [[4, 5], [6]], 6)
    assert (r.prompt_ids, r.response_ids, r.truncated) == ([1, 2, 3], [[4, 5], [6]], False)


def test_docstring_example():
    """M=10, P=8, R=(6, 2): prompt min(8, max(2, 5)) = 5; responses share 5: 2 -> min(2, 5//2) = 2,
    6 -> min(6, 3//1) = 3."""
    r = fit_token_ids(list(range(8)), [list(range(100, 106)), [200, 201]], 10)
    assert r.prompt_ids == [3, 4, 5, 6, 7]
    assert r.response_ids == [[100, 101, 102], [200, 201]]
    assert (r.prompt_cut, r.response_cuts, r.truncated) == (3, (3, 0), True)


def test_prompt_is_cut_only_as_far_as_needed():
    """M=10, P=9, R=(1, 1): prompt min(9, max(8, 5)) = 8, responses untouched."""
    r = fit_token_ids(list(range(9)), [[100], [200]], 10)
    assert (r.prompt_ids, r.response_ids) == (list(range(1, 9)), [[100], [200]])


def test_long_responses_share_equally():
    """M=10, P=2, R=(10, 10): prompt min(2, max(-10, 5)) = 2; 8 left: 8//2 = 4, then 4//1 = 4."""
    r = fit_token_ids([1, 2], [list(range(10)), list(range(10, 20))], 10)
    assert (len(r.prompt_ids), [len(x) for x in r.response_ids]) == (2, [4, 4])


def test_separate_sequences():
    """M=10, P=8, R=(6, 2): prompt min(min(8, max(4, 5)), min(8, max(8, 5))) = 5; responses
    min(6, 5) = 5 and min(2, 5) = 2."""
    r = fit_token_ids(list(range(8)), [list(range(6)), [0, 1]], 10, separate=True)
    assert (len(r.prompt_ids), [len(x) for x in r.response_ids]) == (5, [5, 2])


class CharTokenizer:
    """One token per character: ``tokenizer(text, add_special_tokens=False)["input_ids"]``, ``decode``."""

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [ord(c) for c in text]}

    def decode(self, ids):
        return "".join(chr(i) for i in ids)


PAIR = Pair(
    "s:0",
    (Message("system", "sys"), Message("user", "hello"), Message("assistant", "ok"), Message("user", "question?")),
    "good answer",
    "bad",
    "s",
    "s",
)


def test_truncate_pair_text_cuts_prompt_start_and_response_tail():
    """Prompt 3+5+2+9 = 19 chars, responses 11 and 3. M = 24 with overhead 4 leaves 20: prompt
    keeps min(19, max(20 - 14, 10)) = 10 = "k" + "question?"; responses share 10: "bad" keeps 3,
    "good answer" keeps 7."""
    fitted, cut = truncate_pair_text(CharTokenizer(), PAIR, 24, n_responses=2, template_overhead=4)
    assert cut is True
    assert fitted.prompt == (Message("assistant", "k"), Message("user", "question?"))
    assert (fitted.chosen, fitted.rejected, fitted.id) == ("good an", "bad", "s:0")


def test_drop_policy_and_counter():
    counter = TruncationCounter()
    for budget in (Budget(40, "drop"), Budget(24, "drop"), Budget(24)):
        fitted, result = fit_pair_text(CharTokenizer(), PAIR, budget, template_overhead=4)
        counter.add(result)
        if budget.max_tokens == 40:
            assert fitted is PAIR and not result.truncated
        elif budget.policy == "drop":
            assert fitted is None and result.dropped
    assert counter.to_dict() == {"pairs": 3, "truncated": 1, "dropped": 1, "prompts_cut": 1, "responses_cut": 1}


def test_one_response_per_sequence():
    fitted, _ = truncate_pair_text(CharTokenizer(), PAIR, Budget(20), n_responses=1)
    # separate: prompt min(min(19, max(9, 10)), min(19, max(17, 10))) = 10; responses min(11, 10), min(3, 10)
    assert (fitted.prompt[-1].content, fitted.chosen, fitted.rejected) == ("question?", "good answe", "bad")


def test_budget_errors():
    with pytest.raises(ValueError, match=r"policy is 'cut' \(expected one of \['truncate', 'drop'\]\)"):
        Budget(10, "cut")
    with pytest.raises(ValueError, match=r"max_tokens is 1 \(expected an integer >= 2\)"):
        Budget(1)
    with pytest.raises(ValueError, match="template_overhead 9 leaves 1 of 10 tokens"):
        truncate_pair_text(CharTokenizer(), PAIR, 10, template_overhead=9)
    with pytest.raises(ValueError, match=r"n_responses is 3 \(expected 1 or 2\)"):
        truncate_pair_text(CharTokenizer(), PAIR, 10, n_responses=3)
