"""Files written whole or not at all: a temporary name in the same folder, then os.replace, so a
process killed at any point leaves the old file or the new one, never half of one.

    write_json_atomic(run_dir / "metrics.json", results)
    write_jsonl_atomic(run_dir / "predictions" / "heldout.jsonl", records)
    rows = read_jsonl(path)
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path


def write_jsonl_atomic(path: Path, rows: Sequence[dict]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_json_atomic(path: Path, value) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
