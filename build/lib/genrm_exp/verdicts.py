"""The one verdict parser and vote: zero-shot and GenRM evaluation, STaR filtering, majority voting.

A judge ends its rationale with ``[[A]]`` or ``[[B]]`` (RewardBench's MT-Bench pairwise format,
ties removed). Verdicts are plain strings so they go into JSON as they are:

    >>> parse_verdict("A is vague. [[B]]")
    'B'
    >>> majority_vote(["A", "B", "A", "invalid"]).prob_a
    0.6666666666666666

Verdicts are read in the order shown; genrm_exp.orders.verdict_as_stored maps them back to the pair
as stored (A = the first response of the record, for a scored pair the chosen one).

Test: python -m pytest tests/test_verdicts.py -q
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

A = "A"
B = "B"
INVALID = "invalid"
TIE = "tie"  # only ever produced by a vote, never by the parser

_SINGLE = (A, B, INVALID)
_MARKER = re.compile(r"\[\[([AB])\]\]")
# A verdict that closes the answer: a marker ending its line (closing quotes, brackets, stars or a
# full stop may follow it on that line). "... output [[A]] if A is better" does not close anything.
_TRAIL = r"[ \t\"'*.!)\]]*"
_CLOSING = re.compile(r"\[\[[AB]\]\]" + _TRAIL + r"\n")


def parse_verdict(text: str) -> str:
    """Return A, B or INVALID: the LAST well-formed marker in `text` wins.

    Well-formed is exactly ``[[A]]`` or ``[[B]]``: two opening brackets, an uppercase letter,
    two closing brackets, nothing in between. So ``[[a]]``, ``[[ A ]]``, ``[[C]]``, ``[A]`` and
    ``[[A]`` are not verdicts. A marker embedded in more brackets still counts: ``[[[A]]]``
    contains ``[[A]]`` and parses as A. ``[[A]][[B]]`` parses as B. Text after the last marker is
    ignored. The last marker wins because judges often quote the format ("answer [[A]] or [[B]]")
    or an option inside the rationale before committing to a final verdict.

    Unlike RewardBench's ``process_judgement`` (which returns A whenever ``[[A]]`` appears
    anywhere), this does not favour A when both markers occur.
    """
    found = _MARKER.findall(text)
    return found[-1] if found else INVALID


def closes_answer(text: str) -> bool:
    """True once `text` holds a verdict that closes the answer: a well-formed marker that ends its
    line. Sampling stops there (generation.SamplingParams.stop_at_verdict), and the stopped text
    parses to that marker: it is the last one in the text up to the line end. So early stopping
    never decides a verdict the parser would not, unlike stopping at the first marker, which a
    chain quoting the format ('output [[A]] if A is better, [[B]] if B is') would hit. A chain that
    ends at EOS right after its verdict stops there anyway. Monotone: true for every longer text."""
    return _CLOSING.search(text) is not None


def verdict_closes_line(text: str) -> bool:
    """True when the verdict the parser reads (the last marker) closes its line: only closing
    quotes, brackets, stars or a full stop follow it before the line or the text ends. "[[A]] if A
    is better" does not; nor does a closed "[[A]]" followed later by a bare "[[B]]" (B is read)."""
    markers = list(_MARKER.finditer(text))
    if not markers:
        return False
    last = markers[-1]
    return re.fullmatch(_TRAIL, text[last.end() :].split("\n", 1)[0]) is not None


def _check(verdict: str, allowed: Sequence[str]) -> None:
    if verdict not in allowed:
        raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(allowed)}")


@dataclass(frozen=True)
class Vote:
    """Counts of sampled verdicts and what they decide.

    `winner` is A or B by strict majority of valid votes, TIE when A and B are level, INVALID
    when there is no valid vote. `prob_a` is A's share of the valid votes (0.5 when none): the
    preference probability used for calibration. `dataclasses.asdict` gives its JSON form.
    """

    counts_a: int
    counts_b: int
    invalid: int
    winner: str = field(init=False)
    prob_a: float = field(init=False)

    def __post_init__(self) -> None:
        a, b = self.counts_a, self.counts_b
        if a + b == 0:
            winner, prob = INVALID, 0.5
        else:
            winner, prob = (A if a > b else B if b > a else TIE), a / (a + b)
        object.__setattr__(self, "winner", winner)
        object.__setattr__(self, "prob_a", prob)

    @property
    def share_a(self) -> float:
        """Alias of `prob_a`."""
        return self.prob_a


def majority_vote(verdicts: Sequence[str]) -> Vote:
    """Tally parsed verdicts (A, B or INVALID; anything else raises ValueError)."""
    for verdict in verdicts:
        _check(verdict, _SINGLE)
    return Vote(
        counts_a=sum(v == A for v in verdicts),
        counts_b=sum(v == B for v in verdicts),
        invalid=sum(v == INVALID for v in verdicts),
    )


def verdict_for_label(preferred_is_a: bool) -> str:
    """The correct verdict for a pair whose better response is A (True) or B (False)."""
    return A if preferred_is_a else B


def is_correct(verdict: str, preferred_is_a: bool) -> float:
    """1.0 if the verdict names the better response, 0.0 if the other, 0.5 for INVALID or TIE.

    0.5 is RewardBench's convention: an unparsable or tied judgement counts as a coin flip.
    """
    _check(verdict, (A, B, INVALID, TIE))
    if verdict in (INVALID, TIE):
        return 0.5
    return 1.0 if verdict == verdict_for_label(preferred_is_a) else 0.0
