"""Close the chains that stopped without a verdict (`star.close_verdict` for STaR's sampling,
`judge.close_verdict` for CoT evaluation; both off by default).

A small model (SmolLM2-135M on the CPU demo) rarely writes "[[A]]" or "[[B]]" on its own, so STaR
would find no right chain to learn from and every CoT evaluation would score 0.5. With the setting
set to a text ending in "[[" (e.g. "\\n\\nFinal verdict: [["), every chain without a verdict gets
that text appended and a verdict letter drawn from the model's own P(A) against P(B) after it (one
forward pass, as direct scoring does), at the sampling temperature. The closed chain is what filtering, training and voting see, so training
teaches the model to end its rationale with a verdict. This is answer extraction as in zero-shot
chain of thought (Kojima et al. 2022), not part of the paper's STaR; rows mark closed chains.

The letter's draw is seeded by (seed, prompt text, sample index), so a resumed run closes a chain
the same way.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from tqdm.auto import tqdm

from genrm_exp.errors import ConfigError
from genrm_exp.prompts import VERDICT_CLOSE, VERDICT_OPEN
from genrm_exp.verdicts import INVALID, parse_verdict


def _uniform(seed: int, prompt: str, index: int) -> float:
    digest = hashlib.sha256(f"close\0{seed}\0{index}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64


def letter(p_a: float, temperature: float, u: float) -> str:
    """A or B drawn from P(A) = sigmoid(logit(p_a) / temperature) with the uniform `u`
    (temperature 0: the likelier letter, A on a tie)."""
    p_a = min(max(p_a, 1e-12), 1 - 1e-12)
    if temperature <= 0:
        return "A" if p_a >= 0.5 else "B"
    p = 1.0 / (1.0 + math.exp(-math.log(p_a / (1 - p_a)) / temperature))
    return "A" if u < p else "B"


def check_close(close: str, setting: str) -> str:
    """A closing text must open the verdict (end in "[["), so the letter drawn after it is one."""
    if not close.endswith(VERDICT_OPEN):
        raise ConfigError(f"{setting}={close!r}: must end with {VERDICT_OPEN!r}")
    return close


def close_verdicts(
    scorer,
    prompts: Sequence[str],
    texts: Sequence[list[str]],
    *,
    close: str,
    temperature: float,
    seed: int,
    setting: str = "star.close_verdict",
) -> tuple[list[list[str]], list[list[bool]]]:
    """(texts with every verdict-less chain closed, which ones were closed). `scorer` has
    `verdict_probs(rendered_open_texts) -> [(P(A) / (P(A) + P(B)), mass)]` (judges.direct.DirectJudge);
    `setting` names the config key in errors."""
    check_close(close, setting)
    todo = [(i, j) for i, chains in enumerate(texts) for j, t in enumerate(chains) if parse_verdict(t) == INVALID]
    out = [list(chains) for chains in texts]
    closed = [[False] * len(chains) for chains in texts]
    if not todo:
        return out, closed
    probs = _score(scorer, [(i, prompts[i] + texts[i][j] + close) for i, j in todo])
    for (i, j), (p_a, _) in zip(todo, probs):
        out[i][j] = f"{texts[i][j]}{close}{letter(p_a, temperature, _uniform(seed, prompts[i], j))}{VERDICT_CLOSE}"
        closed[i][j] = True
    return out, closed


def _score(scorer, rows: Sequence[tuple[int, str]]) -> list[tuple[float, float]]:
    """verdict_probs of the texts of `rows` ((prompt index, text)), in order, each distinct text
    scored once (the k chains of one prompt under max_new_tokens=0 are one text)."""
    index: dict[str, int] = {}
    unique: list[tuple[int, str]] = []
    for i, text in rows:
        if text not in index:
            index[text] = len(unique)
            unique.append((i, text))
    probs = _score_distinct(scorer, unique)
    return [probs[index[text]] for _, text in rows]


def _score_distinct(scorer, rows: Sequence[tuple[int, str]]) -> list[tuple[float, float]]:
    """verdict_probs of the texts of `rows` ((prompt index, text)), in order. On a CPU, one call per
    prompt, so its chains share the prompt's prefill (the scorer runs the prefix common to a call
    once): k chains cost one prompt and k continuations instead of k prompts. Elsewhere one call,
    for the largest batches."""
    device = next(scorer.model.parameters()).device
    if device.type != "cpu":
        return scorer.verdict_probs([text for _, text in rows], desc="close verdicts")
    groups: dict[int, list[int]] = {}
    for n, (i, _) in enumerate(rows):
        groups.setdefault(i, []).append(n)
    out: list[tuple[float, float]] = [(0.5, 0.0)] * len(rows)
    for members in tqdm(groups.values(), desc="close verdicts", leave=False):
        for n, prob in zip(members, scorer.verdict_probs([rows[n][1] for n in members], desc=None)):
            out[n] = prob
    return out
