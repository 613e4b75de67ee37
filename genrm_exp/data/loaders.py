"""Load preference pairs from a data spec: ``load_pairs(spec) -> (pairs, report)``.

    pairs, report = load_pairs({"format": "llmbar", "subset": "llmbar-natural",
                                "path": "../shared/data/rewardbench_llmbar/LLMBar_Natural.json"})
    pairs, report = load_pairs({"format": "rewardbench", "hub": "allenai/reward-bench",
                                "split": "filtered"})

Spec keys (a plain mapping, e.g. ``OmegaConf.to_container(cfg.data)``; ``None`` values count as
absent, any other key is an error):

- ``format``: a key of ``formats.FORMATS``;
- ``path`` (``.json`` list, ``.jsonl``, ``.jsonl.gz``, ``.parquet``) or ``hub`` + ``split``
  (+ ``hub_config``), exactly one of them;
- ``source``: source name stamped on pairs (default: ``formats.DEFAULT_SOURCES`` or the format);
- ``subset``: subset stamped on pairs; a subset carried by the row itself (RewardBench) wins;
  default: the source name;
- ``limit``: keep the first N valid pairs and stop reading;
- ``columns``: format ``local`` only, canonical field -> column name (``prompt``, ``chosen``,
  ``rejected`` required; ``id``, ``subset`` optional);
- ``on_bad_row``: ``"error"`` (default) or ``"skip"``.

Bad rows (missing key, wrong type, empty response, identical responses, malformed JSONL line,
duplicate id, format-specific checks) raise ``DataError`` naming the file, the row, the key and
what was expected, or with ``on_bad_row="skip"`` are dropped and counted by reason in the
``LoadReport``. The keyword ``on_bad_row`` of ``load_pairs`` wins over the spec key when it is not
None. Documented policies (``pandalm_tie``) drop and count rows in both modes.

Pair ids are ``"<subset>:<upstream id>"`` when the format has an id field, else
``"<subset>:<row index>"`` (0-based, counting every row read).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genrm_exp.data.fields import BadRow, DropRow, kind
from genrm_exp.data.formats import DEFAULT_SOURCES, FORMATS, LOCAL_COLUMNS, Parsed
from genrm_exp.data.schema import DataError, LoadReport, Pair
from genrm_exp.data.sources import describe, read_rows

SPEC_KEYS = ("format", "path", "hub", "split", "hub_config", "source", "subset", "limit", "columns", "on_bad_row")
BAD_ROW_MODES = ("error", "skip")


def load_pairs(spec: Mapping[str, Any], *, on_bad_row: str | None = None) -> tuple[list[Pair], LoadReport]:
    """Pairs of the spec's file or Hub split, in input order, and what loading did."""
    spec = {k: v for k, v in spec.items() if v is not None}
    name = describe(_check_spec(spec))
    mode = on_bad_row if on_bad_row is not None else spec.get("on_bad_row", "error")
    if mode not in BAD_ROW_MODES:
        raise DataError(f"{name}: on_bad_row is {mode!r} (expected one of {list(BAD_ROW_MODES)})")
    parse = FORMATS[spec["format"]]
    source = spec.get("source", DEFAULT_SOURCES.get(spec["format"], spec["format"]))
    limit = spec.get("limit")
    report, pairs, seen = LoadReport(source), [], set()
    for index, (where, row) in enumerate(read_rows(spec)):
        if limit is not None and len(pairs) >= limit:
            break
        report.rows_read += 1
        try:
            if isinstance(row, BadRow):
                raise row
            if not isinstance(row, Mapping):
                raise BadRow("wrong_type", f"row is {kind(row)} (expected an object)")
            parsed = parse(row, spec)
            pair = _pair(parsed, index, source, spec.get("subset", source))
            if pair.id in seen:
                raise BadRow(
                    "duplicate_id",
                    f"key {parsed.id_key!r} gives id {pair.id!r} again (expected ids unique within the file)",
                )
        except DropRow as drop:
            report.skip(drop.reason)
            continue
        except BadRow as bad:
            if mode == "error":
                raise DataError(f"{where}: {bad}") from None
            report.skip(bad.reason)
            continue
        seen.add(pair.id)
        pairs.append(pair)
    report.kept = len(pairs)
    return pairs, report


def _pair(parsed: Parsed, index: int, source: str, subset: str) -> Pair:
    if parsed.chosen == parsed.rejected:
        raise BadRow(
            "identical_responses",
            f"keys {parsed.keys[0]!r} and {parsed.keys[1]!r} are identical (expected two different responses)",
        )
    subset = parsed.subset if parsed.subset is not None else subset
    key = parsed.id if parsed.id is not None else str(index)
    group = f"{subset}:{parsed.group}" if parsed.group is not None else None
    return Pair(f"{subset}:{key}", parsed.prompt, parsed.chosen, parsed.rejected, source, subset, group)


def _check_spec(spec: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise DataError(f"data spec has unknown keys {unknown} (expected some of {list(SPEC_KEYS)})")
    if spec.get("format") not in FORMATS:
        raise DataError(f"data spec format is {spec.get('format')!r} (expected one of {sorted(FORMATS)})")
    limit = spec.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise DataError(f"data spec limit is {limit!r} (expected a non-negative integer)")
    for key in ("source", "subset"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key]):
            raise DataError(f"data spec {key} is {spec[key]!r} (expected a non-empty string)")
    columns = spec.get("columns")
    if (spec["format"] == "local") != (columns is not None):
        raise DataError(
            "data spec 'columns' is required by format 'local' and used by no other "
            f"(format {spec['format']!r}, columns {columns!r})"
        )
    if columns is not None:
        allowed = LOCAL_COLUMNS["required"] + LOCAL_COLUMNS["optional"]
        missing = [k for k in LOCAL_COLUMNS["required"] if k not in columns]
        extra = [k for k in columns if k not in allowed]
        if missing or extra or not all(isinstance(v, str) and v for v in columns.values()):
            raise DataError(
                f"data spec columns {dict(columns)!r}: expected column names (strings) for "
                f"{list(LOCAL_COLUMNS['required'])} and optionally "
                f"{list(LOCAL_COLUMNS['optional'])}"
            )
    return spec
