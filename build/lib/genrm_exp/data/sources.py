"""Raw rows from a local file or a Hugging Face Hub split, each with its location.

``read_rows(spec)`` yields ``(where, row)``: ``where`` is ``"<path> line N"`` (1-based physical
line) for JSONL and ``"<path> index N"`` (0-based) for JSON lists, Parquet and Hub splits; ``row``
is the decoded object, or a ``BadRow("malformed_json")`` for a JSONL line that is not JSON (the
loader decides whether that stops the load). Whole-file problems (missing file, unknown suffix, a
JSON file that is not a list) raise ``DataError`` at once. Text files are UTF-8, with or without a
byte-order mark (as some Windows tools write it). ``datasets`` and ``pyarrow`` are
imported only when a Hub split or a Parquet file is read.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from genrm_exp.data.fields import BadRow
from genrm_exp.data.schema import DataError

SUFFIXES = (".json", ".jsonl", ".jsonl.gz", ".parquet")
BOM = b"\xef\xbb\xbf"


def describe(spec: Mapping[str, Any]) -> str:
    """The name used for the input in messages: the path as given, or ``hub <id> split <split>``."""
    has_path, has_hub = spec.get("path") is not None, spec.get("hub") is not None
    if has_path == has_hub:
        raise DataError(
            "data spec needs exactly one of 'path' (a local file) or 'hub' (a dataset "
            f"id), got {'both' if has_path else 'neither'}"
        )
    if has_path:
        if spec.get("split") is not None or spec.get("hub_config") is not None:
            raise DataError(f"data spec for path {spec['path']}: 'split' and 'hub_config' apply only to 'hub' datasets")
        return str(spec["path"])
    if spec.get("split") is None:
        raise DataError(f"data spec for hub {spec['hub']}: 'split' is missing (expected e.g. 'train')")
    config = f" config {spec['hub_config']}" if spec.get("hub_config") is not None else ""
    return f"hub {spec['hub']}{config} split {spec['split']}"


def read_rows(spec: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Rows of the spec's ``path`` or ``hub``/``split`` (see the module docstring)."""
    name = describe(spec)
    if spec.get("hub") is not None:
        return _hub_rows(spec, name)
    path = Path(spec["path"])
    if not path.is_file():
        raise DataError(f"{name}: no such file (expected one of {list(SUFFIXES)})")
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    if suffix in (".jsonl", ".jsonl.gz"):
        return _jsonl_rows(path, name)
    if suffix == ".json":
        return _indexed(name, _json_list(path, name))
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return _indexed(name, pq.read_table(path).to_pylist())
    raise DataError(f"{name}: unsupported file suffix {suffix!r} (expected one of {list(SUFFIXES)})")


def _indexed(name: str, rows) -> Iterator[tuple[str, Any]]:
    for index, row in enumerate(rows):
        yield f"{name} index {index}", row


def _jsonl_rows(path: Path, name: str) -> Iterator[tuple[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    offset = 0
    with opener(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            line = _decode(raw[3:] if number == 1 and raw.startswith(BOM) else raw, name, offset)
            offset += len(raw)
            if not line.strip():
                continue
            try:
                row = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as e:
                row = BadRow(
                    "malformed_json",
                    f"malformed JSON ({e.msg} at character {e.pos + 1}) (expected one JSON object per line)",
                )
            yield f"{name} line {number}", row


def _json_list(path: Path, name: str) -> list:
    raw = path.read_bytes()
    text = _decode(raw[3:], name, 3) if raw.startswith(BOM) else _decode(raw, name, 0)
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(
            f"{name}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg} (expected a JSON list of objects)"
        ) from None
    if not isinstance(rows, list):
        raise DataError(f"{name}: top level is a {type(rows).__name__} (expected a JSON list of objects)")
    return rows


def _decode(raw: bytes, name: str, offset: int) -> str:
    """UTF-8 text of `raw`, which starts at byte `offset` of the file (of the uncompressed stream for
    .gz); bytes that are not UTF-8 are a DataError naming the file and the byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{name}: byte {offset + e.start} ({raw[e.start : e.start + 1]!r}) is not UTF-8 ({e.reason}); "
            "expected a UTF-8 text file (re-encode it, e.g. iconv -f latin1 -t utf-8)"
        ) from None


def _hub_rows(spec: Mapping[str, Any], name: str) -> Iterator[tuple[str, Any]]:
    import datasets

    dataset = datasets.load_dataset(spec["hub"], spec.get("hub_config"), split=spec["split"])
    return _indexed(name, dataset)
