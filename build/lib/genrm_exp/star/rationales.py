"""A file of rationales that stands in for sampling (`star.bootstrap.rationales_file`): chains of
thought from another model or from people, e.g. the paper's GPT-4 bootstrap (its Table 1).

One JSON object per line:

    {"id": "ultrafeedback:17", "order": "AB", "text": "A answers the question ... [[A]]"}
    {"id": "ultrafeedback:17", "order": "BA", "texts": ["B is accurate ... [[B]]", "..."]}

`id` is the pair id (as in predictions/*.jsonl), `order` the order the judge saw ("AB": the chosen
response shown as A; "BA": shown as B; genrm_exp/orders.py), `text` or `texts` the judge's output
for that order; several rows for one (id, order) add up. The verdict is parsed from the text by the one verdict parser.
"""

from __future__ import annotations

import json
from pathlib import Path

from genrm_exp.data.schema import DataError
from genrm_exp.orders import ORDERS
from genrm_exp.star.sampling import key_of


def read_rationales(path: str | Path) -> dict[str, list[str]]:
    """Texts by sample key. Errors name the file, the line and the key."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"star.bootstrap.rationales_file={str(path)!r}: no such file")
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path} line {n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{where}: not JSON ({err.msg})") from err
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object with id, order and text / texts")
            if not isinstance(row.get("id"), str):
                raise DataError(f"{where}: key 'id' is missing or not a string (expected the pair id)")
            if row.get("order") not in ORDERS:
                raise DataError(f"{where}: key 'order' is {row.get('order')!r} (expected one of {list(ORDERS)})")
            texts = [row["text"]] if "text" in row else row.get("texts")
            if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
                raise DataError(f"{where}: expected key 'text' (a string) or 'texts' (a non-empty list of strings)")
            out.setdefault(key_of(row["id"], row["order"]), []).extend(texts)
    return out
