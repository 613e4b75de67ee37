"""A fingerprint of an evaluation set as scored: the same pairs with the same texts give the same
fingerprint, whatever method scores them; a pair cut differently, dropped, reordered or relabelled
changes it. metrics.json keeps one per set, and the report flags cells whose sets differ.

    fingerprint(pairs)   # 'sha256:3f2a9c0b1d4e5f60' (16 hex digits)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from genrm_exp.data.schema import Pair


def fingerprint(pairs: Sequence[Pair]) -> str:
    h = hashlib.sha256()
    for p in pairs:
        h.update(json.dumps([p.id, p.prompt_messages(), p.chosen, p.rejected], ensure_ascii=False).encode())
        h.update(b"\n")
    return f"sha256:{h.hexdigest()[:16]}"
