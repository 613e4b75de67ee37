"""Fit a prompt and its responses into a token budget, and count what was cut.

No tokenizer import: the core ``fit_token_ids`` is list arithmetic on token ids, and
``truncate_pair_text`` takes any tokenizer with ``tokenizer(text, add_special_tokens=False)
["input_ids"]`` and ``tokenizer.decode(ids)``.

Policy, for ``M = max_tokens``, a prompt of ``P`` tokens and responses of ``R_i`` tokens:

1. Nothing is cut when everything fits.
2. The prompt is cut from its START (its end holds the question), only as far as the responses
   need, and never below ``min(P, M // 2)``: it keeps ``min(P, max(M - sum(R_i), M // 2))``.
3. The responses share what the prompt leaves, ``M - kept prompt``, equally: each keeps its first
   ``min(R_i, share)`` tokens (tail dropped), where a short response leaves its unused share to the
   longer ones (the shortest is served first, each getting ``floor(space left / responses left)``).

Example: ``M = 10``, ``P = 8``, responses of 6 and 2 tokens in one sequence: the prompt keeps
``min(8, max(10 - 8, 5)) = 5`` (its last 5 tokens); the responses share 5: the 2-token one keeps
``min(2, 5 // 2) = 2``, the 6-token one ``min(6, 3 // 1) = 3``; total 10.

With ``separate=True`` each response forms its own sequence with the (common) prompt, as in
Bradley-Terry reward models: the prompt keeps ``min over i of min(P, max(M - R_i, M // 2))`` and
each response ``min(R_i, M - kept prompt)``.

``Budget.policy = "drop"`` drops an over-budget pair instead of cutting it. Decoding cut ids and
encoding the text again can shift the count by a token or so at the cut; leave a small margin.

Evaluation fits whole items (``fit_item_ids`` / ``fit_item_text``: one pair, or every pair of a
best-of-N item, which share one prompt) by one of ``RULES`` (``eval.fit``), so a response shared by
several pairs of an item is cut once, the same in all of them:

- ``shared`` (ours): as rule 1-3 above for a lone pair; for an item, the prompt keeps what its most
  demanding pair allows and every response keeps at most the largest common cap ``c`` with
  ``min(R_i, c) + min(R_j, c) <= M - kept prompt`` for each of its pairs.
- ``per_response_left`` (RewardBench's and RM-Bench's scalar runners: each chat-templated
  prompt + response tokenized with ``truncation_side = "left"`` at ``max_length``): each prompt +
  response within ``M`` with the start cut: the prompt keeps its last ``min(P, max(0, M - max R))``
  tokens (what the item's longest response leaves), each response its last ``min(R_i, M - kept prompt)``.
- ``per_response_right`` (RewardBench 2's runner: the tokenizer's default right side): the end cut:
  the prompt keeps its first ``min(P, M)`` tokens, each response its first ``min(R_i, M - kept prompt)``.

Upstream cuts each prompt + response sequence alone, so under the left rule a short response's
sequence keeps more of the prompt there; here one prompt is shared by the item's responses (a judge
reads them side by side), the cut the longest response needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from genrm_exp.data.schema import Message, Pair

POLICIES = ("truncate", "drop")
RULES = ("shared", "per_response_left", "per_response_right")


@dataclass(frozen=True)
class Budget:
    """``max_tokens`` for one formatted sequence; ``policy`` "truncate" cuts, "drop" drops."""

    max_tokens: int
    policy: str = "truncate"

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 2:
            raise ValueError(f"max_tokens is {self.max_tokens!r} (expected an integer >= 2)")
        if self.policy not in POLICIES:
            raise ValueError(f"policy is {self.policy!r} (expected one of {list(POLICIES)})")


@dataclass(frozen=True)
class FitResult:
    """Kept ids; ``prompt_cut``/``response_cuts`` count removed tokens; ``dropped`` under "drop"."""

    prompt_ids: list[int]
    response_ids: list[list[int]]
    prompt_cut: int
    response_cuts: tuple[int, ...]
    dropped: bool = False

    @property
    def truncated(self) -> bool:
        """Whether anything was (or, when dropped, would have been) cut."""
        return self.prompt_cut > 0 or any(self.response_cuts)


def fit_token_ids(
    prompt_ids: Sequence[int], response_ids: Sequence[Sequence[int]], max_tokens: int, *, separate: bool = False
) -> FitResult:
    """Cut ``prompt_ids`` and ``response_ids`` to fit ``max_tokens`` (policy: module docstring)."""
    if not response_ids:
        raise ValueError("response_ids is empty (expected at least one response)")
    P, R, M = len(prompt_ids), [len(r) for r in response_ids], max_tokens
    if separate:
        keep_prompt = min(min(P, max(M - r, M // 2)) for r in R)
        keep = [min(r, M - keep_prompt) for r in R]
    else:
        keep_prompt = min(P, max(M - sum(R), M // 2))
        keep, left = [0] * len(R), M - keep_prompt
        for served, i in enumerate(sorted(range(len(R)), key=R.__getitem__)):
            keep[i] = min(R[i], left // (len(R) - served))
            left -= keep[i]
    return FitResult(
        list(prompt_ids[P - keep_prompt :]),
        [list(r[:k]) for r, k in zip(response_ids, keep, strict=True)],
        P - keep_prompt,
        tuple(r - k for r, k in zip(R, keep, strict=True)),
    )


@dataclass
class TruncationCounter:
    """Running counts over many fits, e.g. ``{"pairs": 1000, "truncated": 12, "dropped": 0, ...}``."""

    pairs: int = 0
    truncated: int = 0
    dropped: int = 0
    prompts_cut: int = 0
    responses_cut: int = 0

    def add(self, result: FitResult) -> None:
        self.pairs += 1
        self.dropped += result.dropped
        if result.truncated and not result.dropped:
            self.truncated += 1
            self.prompts_cut += result.prompt_cut > 0
            self.responses_cut += sum(c > 0 for c in result.response_cuts)

    def to_dict(self) -> dict[str, int]:
        return {
            "pairs": self.pairs,
            "truncated": self.truncated,
            "dropped": self.dropped,
            "prompts_cut": self.prompts_cut,
            "responses_cut": self.responses_cut,
        }


def truncate_pair_text(
    tokenizer: Any, pair: Pair, budget: Budget | int, n_responses: int = 2, template_overhead: int = 0
) -> tuple[Pair | None, bool]:
    """``(pair with cut texts, or None when dropped, whether it was over budget)``.

    The contract-level form of ``fit_pair_text`` (same arguments; an int budget means
    ``Budget(max_tokens, "truncate")``); use ``fit_pair_text`` to feed a ``TruncationCounter``.
    """
    fitted, result = fit_pair_text(tokenizer, pair, budget, n_responses, template_overhead)
    return fitted, result.truncated


def fit_pair_text(
    tokenizer: Any, pair: Pair, budget: Budget | int, n_responses: int = 2, template_overhead: int = 0
) -> tuple[Pair | None, FitResult]:
    """``(pair with cut texts, or None when dropped, FitResult)``.

    ``n_responses=2``: both responses share one sequence (a pairwise judge prompt);
    ``n_responses=1``: each goes with the prompt on its own (``separate=True``).
    ``template_overhead`` tokens (chat template, judge instructions) come off the budget first.
    The prompt's token ids are the concatenated message contents; messages cut away entirely are
    removed, the earliest kept one may be cut, and untouched texts are kept byte-exact.
    """
    budget = Budget(budget) if isinstance(budget, int) else budget
    if n_responses not in (1, 2):
        raise ValueError(f"n_responses is {n_responses!r} (expected 1 or 2)")
    space = budget.max_tokens - template_overhead
    if space < 2:
        raise ValueError(f"template_overhead {template_overhead} leaves {space} of {budget.max_tokens} tokens")

    def encode(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    message_ids = [encode(m.content) for m in pair.prompt]
    responses = [encode(pair.chosen), encode(pair.rejected)]
    result = fit_token_ids([t for ids in message_ids for t in ids], responses, space, separate=n_responses == 1)
    if not result.truncated:
        return pair, result
    if budget.policy == "drop":
        return None, replace(result, dropped=True)
    return replace(
        pair,
        prompt=_cut_prompt(tokenizer, pair.prompt, message_ids, len(result.prompt_ids)),
        chosen=_cut_text(tokenizer, pair.chosen, result, 0),
        rejected=_cut_text(tokenizer, pair.rejected, result, 1),
    ), result


def _cut_prompt(
    tokenizer: Any, prompt: tuple[Message, ...], message_ids: list[list[int]], keep: int, side: str = "start"
) -> tuple[Message, ...]:
    """The messages holding the last (side "start": the start is cut) or the first (side "end")
    ``keep`` prompt tokens; only the message at the cut is cut. With nothing kept, the last user
    message stays with an empty text (a Pair's prompt ends in a user message)."""
    if keep == sum(len(ids) for ids in message_ids):
        return prompt
    if keep == 0:
        return (Message("user", ""),)
    pairs = list(zip(prompt, message_ids))
    walk = reversed(pairs) if side == "start" else iter(pairs)
    kept: list[Message] = []
    for message, ids in walk:
        if keep == 0:
            break
        if keep >= len(ids):
            kept.append(message)
            keep -= len(ids)
        else:
            part = ids[len(ids) - keep :] if side == "start" else ids[:keep]
            kept.append(Message(message.role, tokenizer.decode(part)))
            keep = 0
    kept = list(reversed(kept)) if side == "start" else kept
    if kept[-1].role != "user":  # the end cut away the last user turn: the question is what remains
        kept.append(Message("user", ""))
    return tuple(kept)


def _cut_text(tokenizer: Any, text: str, result: FitResult, i: int) -> str:
    return text if result.response_cuts[i] == 0 else tokenizer.decode(result.response_ids[i])


def fit_item_ids(
    prompt_ids: Sequence[int],
    response_ids: Sequence[Sequence[int]],
    pairs: Sequence[tuple[int, int]],
    max_tokens: int,
    rule: str,
) -> tuple[list[int], list[list[int]]]:
    """(kept prompt ids, kept ids of each response) of an item: its prompt, its distinct responses
    and its pairs as (index, index) into them, fitted by `rule` (module docstring)."""
    if rule not in RULES:
        raise ValueError(f"rule is {rule!r} (expected one of {list(RULES)})")
    P, R, M = len(prompt_ids), [len(r) for r in response_ids], max_tokens
    if rule == "shared":
        if len(pairs) == 1:  # a lone pair: the unused share of a short response goes to the other
            i, j = pairs[0]
            fit = fit_token_ids(prompt_ids, [response_ids[i], response_ids[j]], M)
            kept = [list(r) for r in response_ids]
            kept[i], kept[j] = fit.response_ids
            return fit.prompt_ids, kept
        keep_prompt = min(min(P, max(M - R[i] - R[j], M // 2)) for i, j in pairs)
        room = M - keep_prompt
        cap = max(R, default=0)
        while cap > 0 and any(min(R[i], cap) + min(R[j], cap) > room for i, j in pairs):
            cap -= 1
        return list(prompt_ids[P - keep_prompt :]), [list(r[: min(len(r), cap)]) for r in response_ids]
    if rule == "per_response_left":
        keep_prompt = min(P, max(0, M - max(R)))
        room = M - keep_prompt
        return list(prompt_ids[P - keep_prompt :]), [list(r[len(r) - min(len(r), room) :]) for r in response_ids]
    keep_prompt = min(P, M)
    room = M - keep_prompt
    return list(prompt_ids[:keep_prompt]), [list(r[: min(len(r), room)]) for r in response_ids]


def fit_item_text(
    tokenizer: Any, pairs: Sequence[Pair], budget: Budget, rule: str
) -> list[tuple[Pair | None, FitResult]]:
    """``fit_pair_text`` for one item: pairs sharing one prompt (a best-of-N item, or a lone pair),
    each response cut once by `rule`, whatever pair it stands in. Under ``budget.policy == "drop"``
    a pair that would be cut is dropped (None)."""

    def encode(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    prompt = pairs[0].prompt
    if any(p.prompt != prompt for p in pairs):
        raise ValueError(f"item of pair {pairs[0].id!r}: its pairs do not share one prompt")
    texts: list[str] = []
    for p in pairs:
        texts += [t for t in (p.chosen, p.rejected) if t not in texts]
    message_ids = [encode(m.content) for m in prompt]
    response_ids = [encode(t) for t in texts]
    index = [(texts.index(p.chosen), texts.index(p.rejected)) for p in pairs]
    flat = [t for ids in message_ids for t in ids]
    kept_prompt, kept = fit_item_ids(flat, response_ids, index, budget.max_tokens, rule)
    side = "end" if rule == "per_response_right" else "start"
    new_prompt = _cut_prompt(tokenizer, prompt, message_ids, len(kept_prompt), side)
    new_texts = [t if len(k) == len(ids) else tokenizer.decode(k) for t, ids, k in zip(texts, response_ids, kept)]
    out = []
    for pair, (i, j) in zip(pairs, index):
        result = FitResult(
            kept_prompt,
            [kept[i], kept[j]],
            len(flat) - len(kept_prompt),
            (len(response_ids[i]) - len(kept[i]), len(response_ids[j]) - len(kept[j])),
        )
        if not result.truncated:
            out.append((pair, result))
        elif budget.policy == "drop":
            out.append((None, replace(result, dropped=True)))
        else:
            out.append((replace(pair, prompt=new_prompt, chosen=new_texts[i], rejected=new_texts[j]), result))
    return out
