"""The rewards of objective=grpo_judge: one number per sampled judgement, read by the one verdict
parser (genrm_exp/verdicts.py). TRL's GRPOTrainer calls each with the batch's completions and the
dataset's columns, and logs each under its name (rewards/<name>/mean in trainer_state.json).

    verdict_correct        1 if the verdict names the better response as shown, else 0 (invalid: 0)
    both_orders_correct    1 only when this judgement and its partner in the other order are both right
    verdict_format         1 if the verdict read closes its line (verdicts.verdict_closes_line), else 0

Columns (genrm_exp/objectives/grpo_judge.py builds them): `answer` (the right verdict as shown, A or
B), `pair_id`, `order` (AB or BA) and `closing` (the text the prompt ends in, read before each
completion: the closing of a chain of no thought, else empty; absent means empty).
both_orders_correct needs both orders of a pair in the same call: the trainer's sampler keeps them
together (grpo_judge.PairSampler). Within a pair, the i-th completion of order AB is partnered with
the i-th completion of order BA, in batch order, so each completion's expected reward is P(right in
this order) x P(right in the other); a pair found in one order only is an error, not a zero.

Standard library only. Test: python -m pytest tests/objectives/test_judge_rewards.py -q
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from genrm_exp.verdicts import parse_verdict, verdict_closes_line


def _text(completion) -> str:
    """A completion as TRL hands it: text, or (conversational data) a list with one assistant message."""
    if isinstance(completion, str):
        return completion
    return "".join(m["content"] for m in completion)


def _judgements(completions: Sequence, closing: Sequence[str] | None) -> list[str]:
    """What the judge said: each completion after its prompt's closing text (if any)."""
    closing = closing if closing is not None else [""] * len(completions)
    return [c0 + _text(c) for c0, c in zip(closing, completions, strict=True)]


def _right(completions: Sequence, answer: Sequence[str], closing: Sequence[str] | None) -> list[bool]:
    return [parse_verdict(t) == a for t, a in zip(_judgements(completions, closing), answer, strict=True)]


def verdict_correct(completions, answer, closing=None, **_) -> list[float]:
    return [float(r) for r in _right(completions, answer, closing)]


def both_orders_correct(completions, answer, pair_id, order, closing=None, **_) -> list[float]:
    right = _right(completions, answer, closing)
    slots: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (p, o) in enumerate(zip(pair_id, order, strict=True)):
        slots[(p, o)].append(i)
    out = [0.0] * len(right)
    for p in dict.fromkeys(pair_id):
        ab, ba = slots.get((p, "AB"), []), slots.get((p, "BA"), [])
        if len(ab) != len(ba) or not ab:
            raise ValueError(
                f"both_orders_correct: pair {p!r} has {len(ab)} AB and {len(ba)} BA completions in this batch; "
                "both orders must be present in equal numbers (grpo_judge.PairSampler keeps them together)"
            )
        for i, j in zip(ab, ba):
            out[i] = out[j] = float(right[i] and right[j])
    return out


def verdict_format(completions, closing=None, **_) -> list[float]:
    return [float(verdict_closes_line(t)) for t in _judgements(completions, closing)]


# objective.rewards names -> function; the name is what TRL logs (rewards/<name>/mean).
REWARDS = {f.__name__: f for f in (verdict_correct, both_orders_correct, verdict_format)}
