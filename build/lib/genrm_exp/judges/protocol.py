"""What evaluation asks of a judge.

records = judge.predict(pairs, "llmbar-natural")
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from genrm_exp.data.schema import Pair


class Judge(Protocol):
    def predict(self, pairs: Sequence[Pair], set_name: str) -> list[dict]:
        """One record per pair, in order, with at least `id`, `subset`, `score` (1 right, 0 wrong,
        0.5 tie or invalid) and `p_chosen` (the probability that the chosen response is preferred,
        or None)."""
