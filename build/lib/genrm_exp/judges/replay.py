"""A judge that reads back the records of a finished evaluation (predictions/<set>.jsonl), matched by
pair id so any subset or rank shard works; a set without a file goes to the judge `make_inner()`
builds, once, on first need. STaR's evaluation stage resumes with it, and a STaR run's final
evaluation replays its last iteration's.

    judge = ReplayJudge(run_dir / "iter_3" / "eval" / "predictions")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from genrm_exp.data.schema import DataError


class ReplayJudge:
    rewardbench_model_type = "Generative RM"  # what it replays: a STaR run's chain-of-thought judge

    def __init__(self, folder: Path, make_inner: Callable | None = None):
        self.folder, self.make_inner, self._inner = Path(folder), make_inner, None

    def predict(self, pairs: Sequence, set_name: str) -> list[dict]:
        path = self.folder / f"{set_name}.jsonl"
        if path.is_file():
            with open(path, encoding="utf-8") as f:
                by_id = {r["id"]: r for r in map(json.loads, f)}
            missing = [p.id for p in pairs if p.id not in by_id]
            if missing:
                raise DataError(
                    f"{path} has no prediction for pair {missing[0]!r} ({len(missing)} missing); "
                    "the evaluation sets changed since it was written"
                )
            return [by_id[p.id] for p in pairs]
        if self.make_inner is None:
            raise FileNotFoundError(f"{path}: no predictions to replay")
        if self._inner is None:
            self._inner = self.make_inner()
        return self._inner.predict(pairs, set_name)
