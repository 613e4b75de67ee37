"""What one run hands its objective: the resolved config, its folder, the tokenizer and the data.

An objective is a function `build(ctx: RunContext) -> Judge` (see genrm_exp/objectives); a judge
(genrm_exp/judges/protocol.py) says, for each pair, how likely the chosen response is preferred.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genrm_exp.data.schema import Pair


@dataclass
class RunContext:
    cfg: Any  # the resolved omegaconf DictConfig
    run_dir: Path
    tokenizer: Any
    train: list[Pair]
    eval_sets: dict[str, list[Pair]]
    tracker: Any
    data_report: dict[str, Any] = field(default_factory=dict)
    # Per evaluation set, its fit as the protocol records it; the code version (code_version.current()).
    fits: dict[str, dict] = field(default_factory=dict)
    code: dict | None = None

    def path(self, *parts: str) -> Path:
        p = self.run_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
